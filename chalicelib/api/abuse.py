"""Abuse protection on the public routes: the caller's IP for the rate limits here; the limits in a
service, the screening in the domain.

- **Rate limits** (before the body is read; ``services/ratelimits.py`` behind the ``deps.rate_limits``
  port, ``store/ratelimits.py`` on DynamoDB): a token bucket per source IP (``ip#<ip>``, API Gateway's
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

if TYPE_CHECKING:
    from chalicelib.domain.forms import FormDefinition
    from chalicelib.wiring import Deps


def source_ip(request: Request) -> str:
    identity = (getattr(request, "context", None) or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def limit_submission(request: Request, form_id: str, form: FormDefinition, deps: Deps) -> None:
    """One token from the caller's IP bucket and one from the form's; 429 when either is empty."""
    from chalicelib.services import ratelimits

    ratelimits.limit_submission(source_ip(request), form_id, form, deps)


def limit_webhook(request: Request, deps: Deps) -> None:
    """One token from the caller's webhook bucket (per source IP, whatever the source it names)."""
    from chalicelib.services import ratelimits

    ratelimits.limit_webhook(source_ip(request), deps)


def limit_linkedin(request: Request, deps: Deps) -> None:
    """LinkedIn's notifications share the webhook limit, in a bucket of their own per source IP."""
    from chalicelib.services import ratelimits

    ratelimits.limit_linkedin(source_ip(request), deps)
