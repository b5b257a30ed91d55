"""LinkedIn Lead Sync: the webhook's validation challenge and signature, lead notifications, and the
form responses they point at.

What LinkedIn documents, and where (read November 2026):

* Validation challenge (learn.microsoft.com/linkedin/shared/api-guide/webhook-validation): LinkedIn
  sends ``GET <webhook>?challengeCode=<uuid4>`` and expects, within 3 seconds, JSON
  ``{"challengeCode", "challengeResponse"}`` where ``challengeResponse`` is the hex HMAC-SHA256 of the
  code keyed with the app's client secret. Re-validated every 2 hours; 3 failures in a row block the
  endpoint. Since 16 March 2026 lead notifications go only to validated webhooks.
* ``X-LI-Signature`` (same page): "the HMACSHA256 hash of the JSON-encoded string representation of the
  POST body prefixed by ``hmacsha256=`` ... computed using your app's clientSecret", and "compute the
  signature on the POST body prefixed by ``hmacsha256=``". That second sentence, the catalogue built
  from those docs (github.com/api-evangelist/linkedin, ``asyncapi/linkedin-webhooks.yml``:
  ``hex(HMAC(secret, "hmacsha256=" + body))``, the header carrying the bare digest) and most published
  receivers sign the prefixed body; some receivers instead expect ``"hmacsha256=" + hex(HMAC(secret,
  body))``. No first-party sample code settles it, so :func:`signature_valid` accepts both readings,
  with or without the ``hmacsha256=`` prefix on the header, hex in either case.
* Lead notification (learn.microsoft.com/linkedin/marketing/lead-sync/leadsync, as catalogued in the
  same file): ``type`` (always ``LEAD_ACTION``), ``leadGenFormResponse`` (URN of the response),
  ``leadGenForm`` (URN of the *versioned* form: ``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:3162,1)``),
  ``owner`` (``{"sponsoredAccount": urn}`` or ``{"organization": urn}``), ``associatedEntity``,
  ``leadType`` (``SPONSORED``, ``EVENT``, ``COMPANY``, ``ORGANIZATION_PRODUCT``), ``leadAction``
  (``CREATED`` or ``DELETED``) and the time of the action. The time is spelt ``occuredAt`` in LinkedIn's
  sample and ``occurredAt`` elsewhere; both are read, as epoch milliseconds (a value small enough to be
  seconds is read as seconds). Notifications can arrive more than once: the response id is the
  idempotency key.
* Form response (``GET https://api.linkedin.com/rest/leadFormResponses/{id}`` with
  ``Authorization: Bearer``, ``LinkedIn-Version: YYYYMM`` and ``X-Restli-Protocol-Version: 2.0.0``;
  example in LinkedIn's Lead Sync Postman collection, mirrored as ``openapi/linkedin-marketing-leads.yml``
  in the repository above): ``id`` (e.g. ``249592fc-d272-44ba-a7db-c2bdce579507-6``), ``submittedAt``
  (epoch ms), ``testLead``, ``versionedLeadGenFormUrn``, ``owner``, ``leadType``,
  ``formResponse.answers[]`` of ``{questionId: long, answerDetails: {textQuestionAnswer: {answer}} |
  {multipleChoiceAnswer: {options: [option ids]}}}`` and ``formResponse.consentResponses[]`` of
  ``{consentId: long, accepted: bool}``. Multiple-choice answers carry option *ids*; their labels live
  in the form (``GET /rest/leadForms/{id}``), so they are kept as id strings here.

Parsing is strict where Leadflow depends on a value (the action and the URNs) and lenient elsewhere:
an unreadable optional value (time, owner, lead type, one malformed answer) is dropped, not fatal.

Imports stay light (stdlib only; ``urllib.request`` loads on the first API call): the webhook route
imports this module, and LinkedIn gives it 3 seconds, cold start included.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from chalicelib.domain import jsontext
from chalicelib.domain.errors import FieldError, MalformedInput, ValidationFailed

SIGNATURE_PREFIX = "hmacsha256="
DEFAULT_BASE_URL = "https://api.linkedin.com/rest"
DEFAULT_VERSION = "202509"

_RESPONSE_URN = "urn:li:leadGenFormResponse:"
_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,200}")
_FORM_ID = r"[A-Za-z0-9_\-.]{1,100}"
_FORM_URN = re.compile(rf"urn:li:leadGenForm:({_FORM_ID})")
_VERSIONED_FORM_URN = re.compile(
    rf"urn:li:versionedLeadGenForm:\(\s*urn:li:leadGenForm:({_FORM_ID})\s*,\s*\d+\s*\)"
)
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
#: question and consent ids become field names (``FormDefinition`` allows ``[A-Za-z0-9_.\-\[\]]{1,100}``;
#: ``consent_`` takes 8 of those characters)
_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,90}")
#: epoch values below this are seconds, not milliseconds (1e11 s is the year 5138; 1e11 ms is 1973)
_MILLIS_THRESHOLD = 100_000_000_000


# ---------------------------------------------------------------- errors


class LinkedInError(Exception):
    """LinkedIn answered something Leadflow cannot use. Permanent: retrying gives the same answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class InvalidFormResponse(LinkedInError):
    """A form response that is not an object or has no answers at all."""


class ResponseGone(LinkedInError):
    """404/410: the lead's response was deleted (the member withdrew, or LinkedIn's 365-day retention
    ended). Permanent: there is nothing to ingest."""


class RetryLater(LinkedInError):
    """LinkedIn is busy or unreachable (5xx, 429, timeouts, refused connections): try the whole fetch
    again in ``retry_after`` seconds. Safe to retry, a fetch changes nothing."""

    def __init__(self, retry_after: float, message: str | None = None, status: int | None = None) -> None:
        super().__init__(message or f"LinkedIn is unavailable; retry in {retry_after:g} s", status)
        self.retry_after = retry_after


class LinkedInAuthFailed(RetryLater):
    """401/403: the access token was refused (expired, revoked, or missing a permission). A subclass of
    :class:`RetryLater` because the token can be renewed and the same fetch will then succeed; it is
    never retried within one call."""


# ---------------------------------------------------------------- webhook validation and signature


def challenge_response(code: str, secret: str) -> str:
    """The ``challengeResponse`` for LinkedIn's ``challengeCode``: hex HMAC-SHA256 of the code."""
    return hmac.new(secret.encode(), code.encode(), hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """Whether ``X-LI-Signature`` signs ``body`` with one of ``secrets`` (more than one while a client
    secret is being rotated).

    Both readings of LinkedIn's wording pass: the digest of ``"hmacsha256=" + body`` and the digest of
    the body alone, the header with or without the ``hmacsha256=`` prefix, hex in either case. Every
    candidate is compared in constant time and none is skipped, so timing says nothing about which
    secret or reading came close.
    """
    given = _digest_in(header)
    if given is None:
        return False
    if isinstance(secrets, str):  # one secret passed bare would otherwise be read as its characters
        secrets = (secrets,)
    prefixed = SIGNATURE_PREFIX.encode() + body
    matched = False
    for secret in secrets:
        if not secret:
            continue
        key = secret.encode()
        for message in (prefixed, body):
            expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
            matched |= hmac.compare_digest(expected, given)
    return matched


def _digest_in(header: str | None) -> bytes | None:
    if not isinstance(header, str):
        return None
    value = header.strip().lower()
    if value.startswith(SIGNATURE_PREFIX):
        value = value[len(SIGNATURE_PREFIX) :].strip()
    if not _HEX_DIGEST.fullmatch(value):
        return None
    return value.encode()


# ---------------------------------------------------------------- lead notifications


@dataclass(frozen=True)
class LeadNotification:
    action: Literal["CREATED", "DELETED"]
    response_id: str
    response_urn: str
    form_urn: str
    occurred_at: datetime | None
    owner: str | None
    lead_type: str | None


def parse_notification(body: bytes) -> LeadNotification | None:
    """The lead notification in a webhook body, or ``None`` for a notification of another ``type``
    (acknowledge it with 200 and do nothing). Raises :class:`ValidationFailed` naming the field that is
    missing or malformed (``body`` when it is not a JSON object)."""
    try:
        data = jsontext.loads(body, "body")
    except MalformedInput as exc:
        raise _invalid(
            exc.field or "body", f"the notification is not acceptable JSON: {exc.message}"
        ) from None
    if not isinstance(data, dict):
        raise _invalid("body", "the notification must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise _invalid("type", "type must be a string")
    if kind != "LEAD_ACTION":
        return None
    action = data.get("leadAction")
    if action not in ("CREATED", "DELETED"):
        raise _invalid("leadAction", "leadAction must be CREATED or DELETED")
    response_urn, response_id = _response_urn(data.get("leadGenFormResponse"))
    return LeadNotification(
        action=action,
        response_id=response_id,
        response_urn=response_urn,
        form_urn=_notified_form(data.get("leadGenForm")),
        occurred_at=_instant(data.get("occuredAt", data.get("occurredAt"))),
        owner=_owner(data.get("owner")),
        lead_type=_text(data.get("leadType")),
    )


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(name, message)])


def _response_urn(value: Any) -> tuple[str, str]:
    if not isinstance(value, str) or not value.startswith(_RESPONSE_URN):
        raise _invalid("leadGenFormResponse", f"leadGenFormResponse must be a {_RESPONSE_URN}<id> URN")
    response_id = value[len(_RESPONSE_URN) :]
    if not _ID.fullmatch(response_id):
        raise _invalid("leadGenFormResponse", "leadGenFormResponse does not hold a usable response id")
    return value, response_id


def _notified_form(value: Any) -> str:
    urn = form_urn(value)
    if urn is None:
        raise _invalid("leadGenForm", "leadGenForm must be a lead form URN, versioned or not")
    return urn


def form_urn(value: Any) -> str | None:
    """The unversioned ``urn:li:leadGenForm:<id>`` of a form URN. Form mappings are kept per form, not
    per version: LinkedIn versions a form on every edit, and question ids survive edits."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    found = _FORM_URN.fullmatch(value) or _VERSIONED_FORM_URN.fullmatch(value)
    return f"urn:li:leadGenForm:{found.group(1)}" if found else None


def _instant(value: Any) -> datetime | None:
    """Epoch milliseconds (or seconds, when too small to be milliseconds) as UTC; else ``None``."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    seconds = value / 1000 if value >= _MILLIS_THRESHOLD else float(value)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _owner(value: Any) -> str | None:
    """``{"sponsoredAccount": urn}`` or ``{"organization": urn}`` (a plain URN is taken as it is)."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        for key in ("sponsoredAccount", "organization"):
            if isinstance(value.get(key), str):
                return _text(value[key])
        for item in value.values():
            if isinstance(item, str):
                return _text(item)
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None


# ---------------------------------------------------------------- form responses


@dataclass
class FormResponse:
    response_id: str
    form_urn: str | None
    submitted_at: datetime | None
    test_lead: bool
    answers: dict[str, str | list[str]] = field(default_factory=dict)
    consents: dict[str, bool] = field(default_factory=dict)


def parse_form_response(data: Any) -> FormResponse:
    """A ``leadFormResponses`` entity. Raises :class:`InvalidFormResponse` when it is not an object, has
    no usable ``id`` or no ``formResponse.answers`` list; anything else unreadable is skipped."""
    if not isinstance(data, dict):
        raise InvalidFormResponse("the form response is not a JSON object")
    response_id = data.get("id")
    if isinstance(response_id, int) and not isinstance(response_id, bool):
        response_id = str(response_id)
    if not isinstance(response_id, str) or not _ID.fullmatch(response_id):
        raise InvalidFormResponse("the form response has no usable id")
    content = data.get("formResponse")
    if not isinstance(content, dict) or not isinstance(content.get("answers"), list):
        raise InvalidFormResponse(f"form response {response_id} has no answers")
    return FormResponse(
        response_id=response_id,
        form_urn=form_urn(data.get("versionedLeadGenFormUrn")) or form_urn(data.get("leadGenFormUrn")),
        submitted_at=_instant(data.get("submittedAt")),
        test_lead=data.get("testLead") is True,
        answers=_answers(content["answers"]),
        consents=_consents(content.get("consentResponses")),
    )


def _answers(items: list[Any]) -> dict[str, str | list[str]]:
    answers: dict[str, str | list[str]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        key = _key(item.get("questionId"))
        value = _answer_value(item.get("answerDetails"))
        if key is not None and value is not None:
            answers[key] = value
    return answers


def _answer_value(details: Any) -> str | list[str] | None:
    if not isinstance(details, dict):
        return None
    text = details.get("textQuestionAnswer")
    if isinstance(text, dict) and isinstance(text.get("answer"), str):
        return str(text["answer"])
    choice = details.get("multipleChoiceAnswer")
    if isinstance(choice, dict) and isinstance(choice.get("options"), list):
        return [str(option) for option in choice["options"] if _scalar(option)]
    return None


def _consents(items: Any) -> dict[str, bool]:
    consents: dict[str, bool] = {}
    for item in items if isinstance(items, list) else []:
        key = _key(item.get("consentId")) if isinstance(item, dict) else None
        if key is not None:
            consents[key] = item.get("accepted") is True
    return consents


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _key(value: Any) -> str | None:
    if not _scalar(value):
        return None
    key = str(value)
    return key if _KEY.fullmatch(key) else None


def submitted_fields(response: FormResponse) -> dict[str, Any]:
    """The response as a form submission: each answer under its question id (``"107234246"``), each
    consent as ``"consent_<consentId>": True/False``. A LinkedIn form's mapping is a ``FormDefinition``
    whose field names are these keys.

    Chosen options are joined with ", " (one option stays a plain string): a submission reads a list as
    a field posted several times and keeps the last value, which would drop the other choices.
    """
    fields: dict[str, Any] = {}
    for key, value in response.answers.items():
        fields[key] = ", ".join(value) if isinstance(value, list) else value
    for key, accepted in response.consents.items():
        fields[f"consent_{key}"] = accepted
    return fields


# ---------------------------------------------------------------- the API client


@dataclass(frozen=True)
class _Transient:
    """One attempt that may succeed if repeated; ``wait`` is LinkedIn's own ``Retry-After``, if any."""

    reason: str
    wait: float | None = None
    status: int | None = None


class _Repeat(Exception):
    """An attempt to repeat (carries its :class:`_Transient`)."""

    def __init__(self, transient: _Transient) -> None:
        super().__init__(transient.reason)
        self.transient = transient


class LinkedInClient:
    """Reads lead form responses from LinkedIn's REST API.

    Retried within one call: 5xx answers, 429 (after its ``Retry-After`` when that is at most
    ``max_wait`` seconds), timeouts and connection failures, with exponential backoff and jitter, for
    ``max_attempts`` attempts in all; then :class:`RetryLater`. Each retry repeats a GET, so it is safe.
    Never retried: 404/410 (:class:`ResponseGone`), 401/403 (:class:`LinkedInAuthFailed`), other 4xx
    and unreadable bodies (:class:`LinkedInError`). The token appears in no message and no log.
    """

    #: first backoff wait, doubled on each further attempt
    BACKOFF_SECONDS = 0.5
    #: how long a caller is told to wait after the attempts are used up, at most
    SUGGEST_CAP_SECONDS = 60.0
    #: how long a caller is told to wait after the token was refused
    AUTH_RETRY_SECONDS = 300.0

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token: str,
        version: str = DEFAULT_VERSION,
        timeout: float = 3.0,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 10.0,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._version = version
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._max_wait = max_wait
        self._opener: Any = None

    def __repr__(self) -> str:
        return f"LinkedInClient(base_url={self._base_url!r}, version={self._version!r})"

    def form_response(self, response_id: str) -> FormResponse:
        """The form response with this id (the id part of its ``urn:li:leadGenFormResponse`` URN)."""
        if not isinstance(response_id, str) or not _ID.fullmatch(response_id):
            raise LinkedInError("not a LinkedIn form response id")
        from urllib.parse import quote

        url = f"{self._base_url}/leadFormResponses/{quote(response_id, safe='')}"
        return parse_form_response(self._get_json(url, f"form response {response_id}"))

    def _get_json(self, url: str, what: str) -> Any:
        """The GET, repeated (``store/retry.py``, like every retry here) while it fails in a way that
        may pass: after LinkedIn's ``Retry-After`` when it gives one, else :meth:`_backoff`. A wait longer
        than ``max_wait``, or the last attempt, raises :class:`RetryLater` for the queue to wait instead."""
        from chalicelib.store.retry import retrying

        def attempt() -> Any:
            outcome = self._attempt(url, what)
            if not isinstance(outcome, _Transient):
                return outcome
            if outcome.wait is not None and outcome.wait > self._max_wait:
                raise RetryLater(outcome.wait, f"{what}: {outcome.reason}", outcome.status)
            raise _Repeat(outcome)

        def wait(number: int, repeat: _Repeat) -> float:
            outcome = repeat.transient
            return outcome.wait if outcome.wait is not None else self._backoff(number)

        def give_up(repeat: _Repeat, attempts: int) -> Exception:
            outcome = repeat.transient
            suggested = outcome.wait if outcome.wait is not None else self._suggestion()
            return RetryLater(
                suggested,
                f"{what}: {outcome.reason} after {attempts} attempts; retry in {suggested:g} s",
                outcome.status,
            )

        return retrying(attempt, _Repeat, self._max_attempts, wait, give_up, self._sleep)

    def _backoff(self, attempt: int) -> float:
        """Exponential with "equal jitter": between half and all of 0.5 s, 1 s, 2 s, ..."""
        ceiling = min(self._max_wait, self.BACKOFF_SECONDS * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _suggestion(self) -> float:
        return min(self.SUGGEST_CAP_SECONDS, self.BACKOFF_SECONDS * 2**self._max_attempts)

    def _attempt(self, url: str, what: str) -> Any:
        """One GET: the decoded JSON, a :class:`_Transient` to retry, or a permanent error raised."""
        import http.client
        import urllib.error
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            url,
            headers={
                "Authorization": f"Bearer {self._token}",
                "LinkedIn-Version": self._version,
                "X-Restli-Protocol-Version": "2.0.0",
                "Accept": "application/json",
            },
            method="GET",
        )
        try:
            with self._open(request) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            retry_after = exc.headers.get("Retry-After") if exc.headers is not None else None
            if exc.fp is not None:
                exc.close()
            return self._refused(exc.code, retry_after, what)
        except TimeoutError:
            return _Transient("LinkedIn did not answer in time")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", None)
            if isinstance(reason, TimeoutError):
                return _Transient("LinkedIn did not answer in time")
            return _Transient(f"could not reach LinkedIn ({type(exc).__name__})")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise LinkedInError(f"{what}: LinkedIn's answer is not JSON") from None

    def _open(self, request: Any) -> Any:
        if self._opener is None:
            import urllib.request

            class _NoRedirect(urllib.request.HTTPRedirectHandler):
                """A redirect would carry the bearer token to another host: treat it as an error."""

                def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
                    return None

            self._opener = urllib.request.build_opener(_NoRedirect())
        return self._opener.open(request, timeout=self._timeout)

    def _refused(self, status: int, retry_after: str | None, what: str) -> _Transient:
        if status == 429:
            return _Transient("LinkedIn is throttling requests (429)", _retry_after(retry_after), status)
        if status >= 500:
            return _Transient(f"LinkedIn answered {status}", _retry_after(retry_after), status)
        if status in (404, 410):
            raise ResponseGone(f"{what} no longer exists ({status})", status)
        if status in (401, 403):
            raise LinkedInAuthFailed(
                self.AUTH_RETRY_SECONDS, f"{what}: LinkedIn refused the access token ({status})", status
            )
        raise LinkedInError(f"{what}: LinkedIn answered {status}", status)


def _retry_after(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; ``None`` when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now()).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
