"""Abuse protection on the public routes: rate limits here; screening in the domain.

- **Rate limits** (before the body is read): a token bucket per source IP (``ip#<ip>``, API Gateway's
  ``requestContext.identity.sourceIp``, never a header the client writes) and per form (``form#<id>``;
  the form's ``rate_limit`` or the settings' default); webhook deliveries per source IP
  (``hook#<ip>``, taken only once the source is known to exist: nothing is stored about made-up
  source names, and rotating the name does not reset the limit); LinkedIn notifications per source IP
  (``linkedin#<ip>``). Refused: 429 ``rate_limited`` with ``Retry-After`` in seconds, nothing
  stored. A limiter that cannot reach its table lets the request through (lead capture matters more
  than the limit) and counts ``RateLimiterUnavailable``.
- **Screening** (honeypot, fill time, origin, CAPTCHA) is a pure domain policy,
  ``chalicelib/domain/screening.py``, asking the CAPTCHA provider through
  ``chalicelib/integrations/captcha.py`` (fails closed: 403 ``captcha_unverified``, nothing stored);
  a submission it sets aside goes down the one quarantine path, ``services/capture.py``'s
  ``set_aside``: 202 like a real submission, a quarantine record held for review
  (``GET /v1/quarantine``, ``POST /v1/quarantine/{id}/release``), no contact, account, lead or claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Request

from chalicelib.api.errors import ApiError
from chalicelib.domain.forms import FormDefinition
from chalicelib.observability import count, logger
from chalicelib.store.ratelimits import Limit, RateLimits

if TYPE_CHECKING:
    from chalicelib.settings import Settings


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


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
