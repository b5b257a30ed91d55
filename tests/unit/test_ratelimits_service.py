"""The rate limits as a service on the ``RateLimiter`` port (fakes, no moto): which buckets a request
takes from, what an empty one answers, and that an unreachable limiter lets the request through."""

from __future__ import annotations

import pytest

from chalicelib.api.errors import translate
from chalicelib.domain.forms import FormDefinition, FormField, RateLimitSpec
from chalicelib.domain.ratelimits import Limit, RateLimited
from chalicelib.services import ratelimits
from chalicelib.settings import Settings
from chalicelib.wiring import Deps
from tests.fakes import FakeRateLimits, fake_deps

FORM = FormDefinition(name="Contact us", fields={"email": FormField(maps_to="contact.email")})


def limiter(deps: Deps) -> FakeRateLimits:
    limits = deps.rate_limits
    assert isinstance(limits, FakeRateLimits)
    return limits


def test_a_submission_takes_a_token_from_its_ip_bucket_then_from_its_form_bucket() -> None:
    deps = fake_deps()
    ratelimits.limit_submission("203.0.113.9", "contact-us", FORM, deps)
    assert limiter(deps).taken == [("ip#203.0.113.9", Limit(60, 30)), ("form#contact-us", Limit(1200, 300))]


def test_a_form_with_its_own_rate_limit_uses_it_and_a_rate_of_0_turns_a_limit_off() -> None:
    settings = Settings(RATE_LIMIT_IP_PER_MINUTE=0)
    deps = fake_deps(settings)
    form = FORM.model_copy(update={"rate_limit": RateLimitSpec(per_minute=5, burst=2)})
    ratelimits.limit_submission("203.0.113.9", "contact-us", form, deps)
    assert limiter(deps).taken == [("form#contact-us", Limit(5, 2))]


def test_an_empty_bucket_is_429_naming_its_kind_with_retry_after() -> None:
    deps = fake_deps()
    limiter(deps).refused["form#contact-us"] = 7
    with pytest.raises(RateLimited) as refused:
        ratelimits.limit_submission("203.0.113.9", "contact-us", FORM, deps)
    answer = translate(refused.value)
    assert answer == (
        429,
        {"error": {"code": "rate_limited", "message": "too many requests (form limit); retry after 7 s"}},
        {"Retry-After": "7"},
    )


def test_a_limiter_that_cannot_reach_its_buckets_lets_the_request_through() -> None:
    deps = fake_deps()
    limiter(deps).unavailable = True
    ratelimits.limit_submission("203.0.113.9", "contact-us", FORM, deps)
    ratelimits.limit_webhook("203.0.113.9", deps)
    assert limiter(deps).taken == []


def test_webhooks_and_linkedin_take_from_buckets_of_their_own_per_source_ip() -> None:
    deps = fake_deps()
    ratelimits.limit_webhook("198.51.100.1", deps)
    ratelimits.limit_linkedin("198.51.100.1", deps)
    assert [bucket for bucket, _ in limiter(deps).taken] == ["hook#198.51.100.1", "linkedin#198.51.100.1"]
