"""Every error a client can cause, mapped to one status and one JSON body, in one table."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import (
    CaptchaUnverified,
    ConcurrentUpdate,
    Conflict,
    DomainError,
    MalformedInput,
    NotAuthentic,
    NotFound,
    NotPermitted,
    ValidationFailed,
)
from chalicelib.domain.opportunities import StaleVersion
from chalicelib.domain.ratelimits import RateLimited


class ApiError(Exception):
    """An HTTP-level problem with the request itself (size, type, syntax, credentials)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}


class MalformedBody(ApiError):
    status, code = 400, "malformed_body"


class Unauthenticated(ApiError):
    status, code = 401, "unauthenticated"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class SignInUnavailable(ApiError):
    """The user pool's keys cannot be read, or the stage has no user pool (a token cannot be checked)."""

    status, code = 503, "sign_in_unavailable"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class IdempotencyKeyReused(ApiError):
    status, code = 422, "idempotency_key_reused"


class PreconditionRequired(ApiError):
    """A change that must name the version it was made from (``If-Match``) came without one."""

    status, code = 428, "precondition_required"


class RequestInProgress(ApiError):
    status, code = 409, "request_in_progress"


_DOMAIN_STATUS: list[tuple[type[DomainError], int]] = [
    (MalformedInput, 400),
    (ValidationFailed, 422),
    (NotAuthentic, 401),
    (CaptchaUnverified, 403),
    (NotPermitted, 403),
    (NotFound, 404),
    (StaleVersion, 412),
    (ConcurrentUpdate, 409),
    (Conflict, 409),
]


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    error.update(extra)
    return {"error": error}


def translate(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """``(status, body, headers)`` for an error a client caused; ``None`` for a fault of ours."""
    if isinstance(exc, ApiError):
        return exc.status, error_body(exc.code, exc.message, exc.field), exc.headers
    if isinstance(exc, RateLimited):
        return 429, error_body(exc.code, exc.message), {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, ValidationFailed):
        fields = [e.as_dict() for e in exc.errors]
        return 422, error_body(exc.code, exc.message, exc.field, fields=fields), {}
    for kind, status in _DOMAIN_STATUS:
        if isinstance(exc, kind):
            return status, error_body(exc.code, exc.message, exc.field, **exc.details), {}
    return _translate_idempotency(exc)


def _translate_idempotency(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    error: ApiError
    if isinstance(exc, IdempotencyValidationError):
        error = IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request body", "Idempotency-Key"
        )
    elif isinstance(exc, IdempotencyAlreadyInProgressError):
        error = RequestInProgress(
            "a request with this Idempotency-Key is still in progress; retry shortly",
            "Idempotency-Key",
            {"Retry-After": "1"},
        )
    else:
        return None
    return error.status, error_body(error.code, error.message, error.field), error.headers
