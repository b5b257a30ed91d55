"""The screening policy (chalicelib/domain/screening.py) with plain values: no moto, no sockets; the
CAPTCHA provider is a function."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import CaptchaUnverified, ValidationFailed
from chalicelib.domain.forms import CaptchaSpec, FormDefinition
from chalicelib.domain.screening import Verdict, screen, split_signals

FIELDS = {"email": {"maps_to": "contact.email", "required": True}}
ADA = {"email": "ada@example.com"}


def form(**extra: Any) -> FormDefinition:
    return FormDefinition.model_validate({"name": "Contact us", "fields": FIELDS, **extra})


def never_asked(spec: CaptchaSpec, token: str) -> bool:
    raise AssertionError("the CAPTCHA provider must not be asked")


def provider(answer: bool) -> Any:
    asked: list[str] = []

    def verify(spec: CaptchaSpec, token: str) -> bool:
        asked.append(token)
        return answer

    verify.asked = asked  # type: ignore[attr-defined]
    return verify


def test_a_plain_submission_is_captured_without_signals():
    assert screen(form(), ADA, {}, True, never_asked) == Verdict(None, ())


def test_a_filled_honeypot_is_set_aside_before_the_captcha_is_asked():
    verdict = screen(
        form(honeypot_field="website", captcha={"provider": "turnstile"}),
        {**ADA, "website": "spam"},
        {},
        True,
        never_asked,
    )
    assert verdict == Verdict("honeypot", ("honeypot",)) and verdict.quarantined


def test_one_weak_signal_alone_never_sets_a_person_aside():
    verdict = screen(form(min_fill_ms=3000), ADA, {"_fill_ms": "200"}, True, never_asked)
    assert verdict == Verdict(None, ("too_fast",))


def test_two_weak_signals_set_the_submission_aside_naming_both():
    strict = form(min_fill_ms=3000, allowed_origins=["https://www.example.com"])
    verdict = screen(strict, ADA, {"_fill_ms": "abc"}, False, never_asked)
    assert verdict == Verdict("fill_time_invalid", ("fill_time_invalid", "no_browser_origin"))


def test_a_rejected_captcha_is_decisive_and_keeps_the_weak_signals():
    verify = provider(False)
    verdict = screen(
        form(captcha={"provider": "turnstile"}, min_fill_ms=3000),
        ADA,
        {"cf-turnstile-response": "token", "_fill_ms": "10"},
        True,
        verify,
    )
    assert verdict == Verdict("captcha_failed", ("captcha_failed", "too_fast"))
    assert verify.asked == ["token"]


def test_an_over_long_captcha_token_is_rejected_without_asking():
    verdict = screen(
        form(captcha={"provider": "turnstile"}), ADA, {"cf-turnstile-response": "x" * 2049}, True, never_asked
    )
    assert verdict.reason == "captcha_failed"


def test_a_missing_captcha_token_is_a_field_error_naming_the_token_field():
    with pytest.raises(ValidationFailed) as refused:
        screen(form(captcha={"provider": "recaptcha"}), ADA, {}, True, never_asked)
    assert refused.value.field == "g-recaptcha-response"


def test_a_required_fill_time_that_is_missing_is_a_field_error():
    with pytest.raises(ValidationFailed) as refused:
        screen(form(min_fill_ms=1000, fill_time_required=True), ADA, {}, True, never_asked)
    assert refused.value.field == "_fill_ms"


def test_a_provider_that_cannot_tell_fails_closed():
    def unreachable(spec: CaptchaSpec, token: str) -> bool:
        raise CaptchaUnverified

    with pytest.raises(CaptchaUnverified):
        screen(
            form(captcha={"provider": "turnstile"}), ADA, {"cf-turnstile-response": "t"}, True, unreachable
        )


def test_signals_are_not_part_of_what_an_attempt_submits():
    person, signals = split_signals({**ADA, "_fill_ms": "5000", "cf-turnstile-response": "t"})
    assert person == ADA and signals == {"_fill_ms": "5000", "cf-turnstile-response": "t"}
