"""Abuse protection on the public routes: rate limits, minimum fill time, CAPTCHA, quarantine.

- **Rate limits** (before the body is read): a token bucket per source IP (``ip#<ip>``, API Gateway's
  ``requestContext.identity.sourceIp``, never a header the client writes) and per form (``form#<id>``;
  the form's ``rate_limit`` or the settings' default); webhook deliveries per source IP
  (``hook#<ip>``, taken only once the source is known to exist: nothing is stored about made-up
  source names, and rotating the name does not reset the limit); LinkedIn notifications per source IP
  (``linkedin#<ip>``). Refused: 429 ``rate_limited`` with ``Retry-After`` in seconds, nothing
  stored. A limiter that cannot reach its table lets the request through (lead capture matters more
  than the limit) and counts ``RateLimiterUnavailable``.
- **Screening** (inside the replay-safe submission, so a retry with the same key gets the first
  answer and a single-use CAPTCHA token is checked once): a CAPTCHA the provider rejects, or **two**
  weak signals — faster than the form's ``min_fill_ms`` (``_fill_ms``, which the capture script
  measures from page load), a ``_fill_ms`` that is not a number, no browser ``Origin`` although the
  form lists its pages — is **quarantined**: 202 like a real submission, a quarantine record (held for
  review: ``GET /v1/quarantine``, ``POST /v1/quarantine/{id}/release``), and no contact, account, lead
  or claim, exactly like a filled honeypot. One weak signal alone (autofill is fast; a page may
  prefill) never sets a person aside: the submission is captured and the signal noted on its
  ``form_submitted`` interaction. The timer and CAPTCHA tokens are not part of what an attempt
  submits (``SIGNAL_FIELDS``): a retry with a new timer is the same attempt.
- **CAPTCHA fails closed**: no token is a 422 naming the token field (a person can solve it and send
  again); a provider that cannot be asked or answers something unreadable is a 403
  ``captcha_unverified`` and nothing is stored: the request lacks the proof the form requires, and it
  is not a 5xx because nothing is wrong with our side that a retry of ours would fix — the browser's
  retry (with a fresh token) is the way forward.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalice.app import Request

from chalicelib.api.errors import ApiError
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.forms import CaptchaSpec, FormDefinition
from chalicelib.observability import count, logger
from chalicelib.store.ratelimits import Limit, RateLimits

if TYPE_CHECKING:
    from chalicelib.settings import Settings

FILL_FIELD = "_fill_ms"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class CaptchaUnverified(ApiError):
    status, code = 403, "captcha_unverified"


def source_ip(request: Request) -> str:
    identity = (getattr(request, "context", None) or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def _limits(settings: Settings) -> RateLimits:
    return RateLimits(settings.rate_limits_table, settings.region, settings.aws_endpoint_url)


def _take(settings: Settings, buckets: list[tuple[str, Limit | None]]) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    limits = _limits(settings)
    for bucket, limit in buckets:
        if limit is None:
            continue
        try:
            decision = limits.take(bucket, limit)
        except (BotoCoreError, ClientError) as exc:
            count("RateLimiterUnavailable")
            logger.warning("rate limiter unavailable; let through", extra={"error": type(exc).__name__})
            return
        if not decision.allowed:
            count("RateLimited")
            kind = bucket.split("#", 1)[0]
            raise RateLimited(
                f"too many requests ({kind} limit); retry after {decision.retry_after} s",
                None,
                {"Retry-After": str(decision.retry_after)},
            )


def _limit(per_minute: int, burst: int) -> Limit | None:
    return Limit(per_minute, burst) if per_minute > 0 else None


def limit_submission(request: Request, form_id: str, form: FormDefinition, settings: Settings) -> None:
    """One token from the caller's IP bucket and one from the form's; 429 when either is empty."""
    form_limit = (
        Limit(form.rate_limit.per_minute, form.rate_limit.burst)
        if form.rate_limit is not None
        else _limit(settings.rate_limit_form_per_minute, settings.rate_limit_form_burst)
    )
    _take(
        settings,
        [
            (
                f"ip#{source_ip(request)}",
                _limit(settings.rate_limit_ip_per_minute, settings.rate_limit_ip_burst),
            ),
            (f"form#{form_id}", form_limit),
        ],
    )


def limit_webhook(request: Request, settings: Settings) -> None:
    """One token from the caller's webhook bucket (per source IP, whatever the source it names)."""
    limit = _limit(settings.rate_limit_webhook_per_minute, settings.rate_limit_webhook_burst)
    _take(settings, [(f"hook#{source_ip(request)}", limit)])


def limit_linkedin(request: Request, settings: Settings) -> None:
    """LinkedIn's notifications share the webhook limit, in a bucket of their own per source IP."""
    limit = _limit(settings.rate_limit_webhook_per_minute, settings.rate_limit_webhook_burst)
    _take(settings, [(f"linkedin#{source_ip(request)}", limit)])


# ---------------------------------------------------------------- screening a submission

#: What the capture script adds beside the person's fields: never part of what the attempt submits
#: (a retry re-sends the same fields with the same timer, but the timer must not make it another request).
SIGNAL_FIELDS = (FILL_FIELD, "cf-turnstile-response", "g-recaptcha-response")
#: Alone, none of these is enough to set a person aside (autofill is fast, a page may prefill, a
#: server posts without an Origin); two together are.
WEAK_SIGNALS = ("too_fast", "fill_time_invalid", "no_browser_origin")


def split_signals(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(the person's fields, the capture script's signals)``."""
    signals = {k: fields[k] for k in SIGNAL_FIELDS if k in fields}
    return {k: v for k, v in fields.items() if k not in SIGNAL_FIELDS}, signals


@dataclass(frozen=True)
class Screening:
    """``quarantine``: the 202 answer when the submission is set aside; ``signals``: what looked
    suspicious either way (recorded on the capture, for review)."""

    quarantine: dict[str, Any] | None
    signals: tuple[str, ...] = ()


def suspicion(
    form: FormDefinition, signals: dict[str, Any], from_page: bool, settings: Settings
) -> tuple[str | None, list[str]]:
    """``(decisive reason, weak signals)``: a CAPTCHA the provider rejects is decisive; the fill time
    (``too_fast``, ``fill_time_invalid``) and a post without a browser ``Origin`` to a form that lists
    its pages (``no_browser_origin``) are weak."""
    weak = []
    timer = _fill_time(form, signals)
    if timer is not None:
        weak.append(timer)
    if form.allowed_origins and not from_page:
        weak.append("no_browser_origin")
    decisive = _captcha(form.captcha, signals, settings) if form.captcha is not None else None
    return decisive, weak


def _one(raw: Any) -> Any:
    return raw[-1] if isinstance(raw, list) and raw else raw


def _fill_time(form: FormDefinition, submitted: dict[str, Any]) -> str | None:
    if form.min_fill_ms is None:
        return None
    raw = _one(submitted.get(FILL_FIELD))
    if raw is None or raw == "":
        if form.fill_time_required:
            raise ValidationFailed([FieldError(FILL_FIELD, f"{FILL_FIELD} is required", "required")])
        return None
    try:
        elapsed = float(raw)
    except (TypeError, ValueError):
        return "fill_time_invalid"  # the capture script sends a number; anything else is made up
    if math.isnan(elapsed):
        return "fill_time_invalid"
    return "too_fast" if elapsed < form.min_fill_ms else None


def _captcha(spec: CaptchaSpec, submitted: dict[str, Any], settings: Settings) -> str | None:
    token = _one(submitted.get(spec.token_field))
    if not isinstance(token, str) or not token.strip():
        raise ValidationFailed([FieldError(spec.token_field, "solve the CAPTCHA and send again", "required")])
    if len(token) > 2048:  # both providers document tokens of at most 2048 characters
        return "captcha_failed"
    from chalicelib.secrets import secret as stage_secret

    secret = dict(stage_secret("CAPTCHA_SECRETS", settings) or {}).get(spec.secret_ref or spec.provider)
    if not secret:
        logger.error("CAPTCHA secret missing", extra={"secret_ref": spec.secret_ref or spec.provider})
        raise CaptchaUnverified("the CAPTCHA could not be verified; nothing was stored")
    return None if verify_captcha(spec.provider, secret, token, settings) else "captcha_failed"


def verify_captcha(provider: str, secret: str, token: str, settings: Settings) -> bool:
    """Ask the provider's siteverify: ``True`` when it says ``success``; :class:`CaptchaUnverified`
    when it cannot be asked or its answer cannot be read (fail closed)."""
    import urllib.error  # only forms with a CAPTCHA pay for these imports
    import urllib.parse
    import urllib.request

    url = settings.turnstile_verify_url if provider == "turnstile" else settings.recaptcha_verify_url
    if not url.startswith(("https://", "http://")):
        raise CaptchaUnverified("the CAPTCHA could not be verified; nothing was stored")
    data = urllib.parse.urlencode({"secret": secret, "response": token}).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=data, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.captcha_timeout_seconds) as answer:  # noqa: S310
            verdict = json.loads(answer.read(65536))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        count("CaptchaUnverified")
        logger.warning("CAPTCHA unverified", extra={"provider": provider, "error": type(exc).__name__})
        raise CaptchaUnverified("the CAPTCHA could not be verified; nothing was stored") from None
    if not isinstance(verdict, dict) or not isinstance(verdict.get("success"), bool):
        count("CaptchaUnverified")
        raise CaptchaUnverified("the CAPTCHA could not be verified; nothing was stored")
    if not verdict["success"]:
        logger.info("CAPTCHA rejected", extra={"provider": provider, "codes": verdict.get("error-codes")})
    return bool(verdict["success"])


def quarantined(
    form_id: str, reason: str, submitted: dict[str, Any], deps: Any, signals: list[str] | None = None
) -> dict[str, Any]:
    """Keep the submission aside (never a contact) and answer like success, so a bot learns nothing."""
    quarantine_id = deps.store.quarantine(form_id, reason, submitted, datetime.now(UTC), signals or [reason])
    count("SubmissionRejected")
    logger.info(
        "submission quarantined", extra={"form_id": form_id, "quarantine_id": quarantine_id, "reason": reason}
    )
    from chalicelib.services.capture import quarantine_answer

    return quarantine_answer(quarantine_id, reason)


def screen_submission(request: dict[str, Any], deps: Any) -> Screening:
    """Set a suspected bot's submission aside (a rejected CAPTCHA, or two weak signals), or let it be
    captured with the signals it raised. ``request``: ``{"form_id", "payload", "signals", "from_page"}``
    (the payload never holds the signals: see :func:`split_signals`)."""
    from chalicelib.services.capture import load_form

    form = load_form(request["form_id"], deps)
    if form.honeypot_filled(request["payload"]):
        return Screening(None)  # the capture service quarantines it as a honeypot
    decisive, weak = suspicion(
        form, request.get("signals") or {}, bool(request.get("from_page")), deps.settings
    )
    if decisive is not None or len(weak) >= 2:
        reason = decisive or weak[0]
        answer = quarantined(
            request["form_id"], reason, request["payload"], deps, [*([decisive] if decisive else []), *weak]
        )
        return Screening(answer, tuple(weak))
    if weak:
        count("SubmissionSuspected")
    return Screening(None, tuple(weak))
