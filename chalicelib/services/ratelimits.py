"""Rate limits on the public routes (before the body is read): one token from each bucket the request
falls in, through the ``RateLimiter`` port (``deps.rate_limits``).

Buckets: per source IP (``ip#<ip>``) and per form (``form#<id>``; the form's ``rate_limit`` or the
settings' default) for submissions; per source IP for webhook deliveries (``hook#<ip>``) and LinkedIn
notifications (``linkedin#<ip>``). An empty bucket raises :class:`RateLimited` (429, ``Retry-After``);
a limiter that cannot reach its buckets lets the request through (lead capture matters more than the
limit) and counts ``RateLimiterUnavailable``. The caller's IP is the route's to give: API Gateway's
``sourceIp``, never a header the client writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.domain.ratelimits import Limit, LimiterUnavailable, RateLimited, limit_of
from chalicelib.observability import count, logger
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.forms import FormDefinition
    from chalicelib.domain.ports import RateLimiter


def take(limiter: RateLimiter, buckets: Sequence[tuple[str, Limit | None]]) -> None:
    """One token from each bucket with a limit, in order; :class:`RateLimited` at the first empty one."""
    for bucket, limit in buckets:
        if limit is None:
            continue
        try:
            decision = limiter.take(bucket, limit)
        except LimiterUnavailable as exc:
            count("RateLimiterUnavailable")
            logger.warning("rate limiter unavailable; let through", extra={"error": str(exc)})
            return
        if not decision.allowed:
            count("RateLimited")
            raise RateLimited(bucket.split("#", 1)[0], decision.retry_after)


def limit_submission(source_ip: str, form_id: str, form: FormDefinition, deps: Deps) -> None:
    """One token from the caller's IP bucket and one from the form's; 429 when either is empty."""
    settings = deps.settings
    form_limit = (
        Limit(form.rate_limit.per_minute, form.rate_limit.burst)
        if form.rate_limit is not None
        else limit_of(settings.rate_limit_form_per_minute, settings.rate_limit_form_burst)
    )
    take(
        deps.rate_limits,
        [
            (f"ip#{source_ip}", limit_of(settings.rate_limit_ip_per_minute, settings.rate_limit_ip_burst)),
            (f"form#{form_id}", form_limit),
        ],
    )


def limit_webhook(source_ip: str, deps: Deps) -> None:
    """One token from the caller's webhook bucket (per source IP, whatever the source it names)."""
    limit = limit_of(deps.settings.rate_limit_webhook_per_minute, deps.settings.rate_limit_webhook_burst)
    take(deps.rate_limits, [(f"hook#{source_ip}", limit)])


def limit_linkedin(source_ip: str, deps: Deps) -> None:
    """LinkedIn's notifications share the webhook limit, in a bucket of their own per source IP."""
    limit = limit_of(deps.settings.rate_limit_webhook_per_minute, deps.settings.rate_limit_webhook_burst)
    take(deps.rate_limits, [(f"linkedin#{source_ip}", limit)])
