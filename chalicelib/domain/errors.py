"""Typed domain errors. ``chalicelib/api/errors.py`` maps each to one HTTP status, once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        #: More of the error's body, beside code, message and field (``reasons`` of a refused publish).
        self.details: dict[str, object] = {}


class ValidationFailed(DomainError):
    """Well-formed input that breaks a rule; names every offending field."""

    code = "validation_error"

    def __init__(self, errors: list[FieldError]) -> None:
        first = errors[0]
        message = first.message if len(errors) == 1 else f"{len(errors)} fields are invalid"
        super().__init__(message, first.field)
        self.errors = errors


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} does not exist")
        self.kind = kind


class Conflict(DomainError):
    code = "conflict"


class PersonErased(Conflict):
    """The person was erased (or is being erased): nothing about them is captured or recorded again.
    Public routes answer as if accepted (the answer must not tell who was erased); authenticated ones
    say so (409 ``erased``)."""

    code = "erased"

    def __init__(self) -> None:
        super().__init__("this person was erased: nothing about them is kept", "contact.email")


class NotPermitted(DomainError):
    """The caller's person may not do this (a sales rep acting on another team's lead): 403."""

    code = "forbidden"


class ConcurrentUpdate(Conflict):
    """Another writer changed the same entity first; safe to retry from a fresh read."""

    code = "concurrent_update"


class AlreadyReceived(DomainError):
    """An event with this receipt (a webhook delivery, a LinkedIn response, an imported row) was
    captured before; the capture it made is in :attr:`detail`."""

    code = "duplicate"

    def __init__(self, receipt: str, detail: dict[str, object] | None = None) -> None:
        super().__init__(f"{receipt} was received before")
        self.receipt = receipt
        self.detail = detail or {}


class NotAuthentic(DomainError):
    """A provider's request whose signature, timestamp or delivery does not check out (401)."""

    code = "invalid_signature"


class Replayed(NotAuthentic):
    """A signed delivery that was received before: a replay, refused like a forgery (401)."""

    code = "replayed"


class MalformedInput(DomainError):
    """Text that is not acceptable input at all (not JSON, not finite, not text, too deep): 400."""

    code = "malformed_body"


class CaptchaUnverified(DomainError):
    """The CAPTCHA could not be verified (the provider cannot be asked, answers something unreadable,
    or no secret is configured): 403 and nothing stored. Not a 5xx: the browser's retry with a fresh
    token is the way forward, not a retry of ours."""

    code = "captcha_unverified"

    def __init__(self) -> None:
        super().__init__("the CAPTCHA could not be verified; nothing was stored")
