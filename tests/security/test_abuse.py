"""Abuse protection on public routes, through the real routes on moto: rate limits (token buckets in
DynamoDB, 429 + Retry-After), minimum fill time, CAPTCHA (a local fake of the provider's siteverify,
answering as it does for its documented test keys; failing closed), and the quarantine that never
creates a contact."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_event

FORM = "contact-us"
ADA = {"email": "ada@analytical-engines.example.org", "first_name": "Ada", "topic": "Pricing"}

# Cloudflare's documented Turnstile test secret keys
TURNSTILE_PASS = "1x0000000000000000000000000000000AA"
TURNSTILE_FAIL = "2x0000000000000000000000000000000AA"
TEST_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"  # what the test site keys put in cf-turnstile-response


def put_form(client: Any, key: str, form_id: str = FORM, **options: Any) -> None:
    definition = {**load_event("http/form_contact_us.json"), **options}
    response = client.http.put(
        f"/v1/forms/{form_id}",
        headers={"Content-Type": "application/json", "X-Api-Key": key},
        body=json.dumps(definition),
    )
    assert response.status_code in (200, 201), response.json_body
    from chalicelib import wiring
    from chalicelib.services.capture import forget_form

    forget_form(form_id, wiring.deps())


def submit(client: Any, body: dict[str, Any], form_id: str = FORM, **headers: str) -> Any:
    return client.http.post(
        f"/v1/forms/{form_id}/submissions",
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(body),
    )


def stored() -> dict[str, int]:
    from chalicelib.store.records import (
        ContactRecord,
        InteractionRecord,
        KeyRecord,
        LeadRecord,
        QuarantineRecord,
    )

    return {
        "contacts": len(list(ContactRecord.scan())),
        "leads": len(list(LeadRecord.scan())),
        "interactions": len(list(InteractionRecord.scan())),
        "claims": len(list(KeyRecord.scan())),
        "quarantined": len(list(QuarantineRecord.scan())),
    }


NOTHING_BUT_QUARANTINE = {"contacts": 0, "leads": 0, "interactions": 0, "claims": 0, "quarantined": 1}


def quarantine_reasons() -> list[str]:
    from chalicelib.store.records import QuarantineRecord

    return [r.reason for r in QuarantineRecord.scan()]


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, aws: Any) -> Any:
    """Set environment variables and re-read the settings."""
    from chalicelib import wiring

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        wiring.reset()

    return apply


# ---------------------------------------------------------------- rate limits


def test_per_ip_rate_limit_answers_429_with_retry_after_and_stores_nothing(
    client: Any, admin_key: str, settings_env: Any
):
    settings_env(RATE_LIMIT_IP_PER_MINUTE="6", RATE_LIMIT_IP_BURST="3")
    put_form(client, admin_key)
    put_form(client, admin_key, "other-form")
    statuses = [submit(client, {**ADA, "email": f"p{n}@example.org"}).status_code for n in range(3)]
    assert statuses == [201, 201, 201]
    before = stored()
    refused = submit(client, {**ADA, "email": "p9@example.org"}, form_id="other-form")
    assert refused.status_code == 429, "the IP bucket is shared by every form"
    assert refused.json_body["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert stored() == before


def test_per_form_rate_limit_from_the_form_definition(client: Any, admin_key: str):
    put_form(client, admin_key, rate_limit={"per_minute": 1, "burst": 2})
    put_form(client, admin_key, "other-form")
    assert [submit(client, {**ADA, "email": f"f{n}@example.org"}).status_code for n in range(2)] == [201, 201]
    refused = submit(client, {**ADA, "email": "f3@example.org"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 30
    assert submit(client, {**ADA, "email": "f4@example.org"}, form_id="other-form").status_code == 201


def test_token_bucket_refills_from_the_stored_time(aws: Any):
    from chalicelib.settings import get_settings
    from chalicelib.store.ratelimits import Limit, RateLimits

    settings = get_settings()
    limits = RateLimits(settings.rate_limits_table, settings.region, settings.aws_endpoint_url)
    limit = Limit(per_minute=60, burst=2)  # a token a second
    t0 = 1_000_000_000
    assert limits.take("ip#x", limit, t0).allowed
    assert limits.take("ip#x", limit, t0 + 10).allowed
    refused = limits.take("ip#x", limit, t0 + 20)
    assert not refused.allowed and refused.retry_after == 1
    assert limits.take("ip#x", limit, t0 + 1000).allowed, "one token back after a second"
    assert not limits.take("ip#x", limit, t0 + 1010).allowed
    assert limits.take("ip#x", limit, t0 + 60_000).allowed, "idle: full again"
    assert limits.take("ip#x", limit, t0 + 60_001).allowed
    assert limits.take("ip#y", limit, t0 + 60_002).allowed, "buckets are independent"


def test_concurrent_takes_never_hand_out_more_tokens_than_the_bucket_holds(aws: Any):
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.settings import get_settings
    from chalicelib.store.ratelimits import Limit, RateLimits

    settings = get_settings()
    limits = RateLimits(settings.rate_limits_table, settings.region, settings.aws_endpoint_url)
    limit = Limit(per_minute=1, burst=5)
    now = 2_000_000_000
    with ThreadPoolExecutor(8) as pool:
        decisions = list(pool.map(lambda _: limits.take("form#hot", limit, now), range(20)))
    assert sum(d.allowed for d in decisions) == 5


def test_rate_limiter_that_cannot_reach_its_table_lets_submissions_through(
    client: Any, admin_key: str, settings_env: Any
):
    settings_env(RATE_LIMITS_TABLE="no-such-table")
    put_form(client, admin_key)
    assert submit(client, ADA).status_code == 201


def test_webhook_deliveries_are_rate_limited_per_source_ip(client: Any, admin_key: str, settings_env: Any):
    settings_env(RATE_LIMIT_WEBHOOK_PER_MINUTE="1", RATE_LIMIT_WEBHOOK_BURST="1")
    source = client.http.put(
        "/v1/integrations/webhooks/typeform",
        headers={"Content-Type": "application/json", "X-Api-Key": admin_key},
        body=json.dumps(load_event("webhooks/typeform_source.json")),
    )
    assert source.status_code == 201
    client.http.post("/v1/integrations/webhooks/typeform/secrets", headers={"X-Api-Key": admin_key})
    import time

    headers = {
        "Content-Type": "application/json",
        "webhook-id": "d-1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1," + "A" * 43 + "=",
    }
    first = client.http.post("/v1/webhooks/typeform", headers=headers, body=b"{}")
    assert first.status_code == 401
    second = client.http.post("/v1/webhooks/typeform", headers=headers, body=b"{}")
    assert second.status_code == 429 and "Retry-After" in second.headers


def test_linkedin_notifications_are_rate_limited_per_source_ip(
    client: Any, settings_env: Any, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LINKEDIN_CLIENT_SECRET", "linkedin-secret")
    settings_env(RATE_LIMIT_WEBHOOK_PER_MINUTE="1", RATE_LIMIT_WEBHOOK_BURST="2")
    headers = {"Content-Type": "application/json", "X-LI-Signature": "0" * 64}
    statuses = [
        client.http.post("/v1/webhooks/linkedin", headers=headers, body=b"{}").status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


# ---------------------------------------------------------------- minimum fill time


PAGE = {"Origin": "https://www.example.com"}  # a browser on the form's page sends its origin


def form_submitted_signals() -> list[list[str]]:
    from chalicelib.store.records import InteractionRecord

    return [list((i.properties.as_dict() or {}).get("signals") or []) for i in InteractionRecord.scan()]


def test_a_person_too_fast_for_the_timer_alone_is_captured_with_the_signal_noted(client: Any, admin_key: str):
    """Autofill or a prefilled page: a real browser on the form's page, only the timer says "fast"."""
    put_form(client, admin_key, min_fill_ms=1500)
    response = submit(client, {**ADA, "_fill_ms": "2"}, **PAGE)
    assert response.status_code == 201, response.json_body
    assert stored()["contacts"] == 1 and stored()["quarantined"] == 0
    assert form_submitted_signals() == [["too_fast"]], "kept on the interaction, for review"


def test_a_retry_with_another_fill_time_is_the_same_attempt(client: Any, admin_key: str):
    put_form(client, admin_key, min_fill_ms=1500)
    first = submit(client, {**ADA, "_fill_ms": "4100"}, **{**PAGE, "Idempotency-Key": "attempt-1"})
    again = submit(client, {**ADA, "_fill_ms": "6900"}, **{**PAGE, "Idempotency-Key": "attempt-1"})
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body, "the timer is not part of what the attempt submits"
    assert stored()["interactions"] == 1
    # without a key, the fields' digest is the key: a double click with a new timer is one submission
    click = submit(client, {**ADA, "topic": "Support", "_fill_ms": "7300"}, **PAGE)
    double = submit(client, {**ADA, "topic": "Support", "_fill_ms": "7301"}, **PAGE)
    assert double.json_body == click.json_body and stored()["interactions"] == 2


def test_submission_faster_than_min_fill_time_and_not_from_a_page_is_quarantined(client: Any, admin_key: str):
    """Two signals: too fast, and no browser origin although the form lists its pages."""
    put_form(client, admin_key, min_fill_ms=1500)
    response = submit(client, {**ADA, "_fill_ms": "300"})
    assert response.status_code == 202 and set(response.json_body) == {"submission_id", "status"}
    assert response.json_body["status"] == "accepted", "told nothing more than a real visitor"
    assert stored() == NOTHING_BUT_QUARANTINE
    assert quarantine_reasons() == ["too_fast"]


def test_fill_time_not_a_number_is_quarantined(client: Any, admin_key: str):
    put_form(client, admin_key, min_fill_ms=1500)
    assert submit(client, {**ADA, "_fill_ms": "soon"}).status_code == 202
    assert stored() == NOTHING_BUT_QUARANTINE


def test_slow_enough_or_absent_fill_time_is_captured(client: Any, admin_key: str):
    put_form(client, admin_key, min_fill_ms=1500)
    assert submit(client, {**ADA, "_fill_ms": 4200}).status_code == 201
    assert submit(client, {**ADA, "email": "no-timer@example.org"}).status_code == 201
    assert stored()["quarantined"] == 0 and stored()["contacts"] == 2


def test_form_requiring_fill_time_refuses_a_submission_without_it(client: Any, admin_key: str):
    put_form(client, admin_key, min_fill_ms=1500, fill_time_required=True)
    response = submit(client, ADA)
    assert response.status_code == 422 and response.json_body["error"]["field"] == "_fill_ms"
    assert stored()["contacts"] == 0


# ---------------------------------------------------------------- CAPTCHA


@pytest.fixture
def siteverify(httpserver: Any, settings_env: Any) -> Any:
    """A local Turnstile siteverify: success for the always-pass test secret, failure for the
    always-fail one (the answers Cloudflare documents for its test keys)."""
    from werkzeug import Request as WRequest
    from werkzeug import Response as WResponse

    seen: list[dict[str, str]] = []

    def handler(request: WRequest) -> WResponse:
        form = dict(request.form)
        seen.append(form)
        if form.get("secret") == TURNSTILE_PASS and form.get("response"):
            verdict: dict[str, Any] = {"success": True, "error-codes": [], "hostname": "example.com"}
        else:
            verdict = {"success": False, "error-codes": ["invalid-input-response"]}
        return WResponse(json.dumps(verdict), content_type="application/json")

    httpserver.expect_request("/turnstile/v0/siteverify", method="POST").respond_with_handler(handler)

    def use(secret: str) -> list[dict[str, str]]:
        settings_env(
            TURNSTILE_VERIFY_URL=httpserver.url_for("/turnstile/v0/siteverify"),
            CAPTCHA_SECRETS=json.dumps({"turnstile": secret}),
        )
        return seen

    return use


def test_captcha_passing_with_the_always_pass_test_key_is_captured(
    client: Any, admin_key: str, siteverify: Any
):
    seen = siteverify(TURNSTILE_PASS)
    put_form(client, admin_key, captcha={"provider": "turnstile"})
    response = submit(client, {**ADA, "cf-turnstile-response": TEST_TOKEN})
    assert response.status_code == 201
    assert seen == [{"secret": TURNSTILE_PASS, "response": TEST_TOKEN}]
    replay = submit(client, {**ADA, "cf-turnstile-response": TEST_TOKEN})
    assert replay.json_body == response.json_body and len(seen) == 1, "a replay is not verified again"


def test_captcha_failing_with_the_always_fail_test_key_is_quarantined(
    client: Any, admin_key: str, siteverify: Any
):
    siteverify(TURNSTILE_FAIL)
    put_form(client, admin_key, captcha={"provider": "turnstile"})
    response = submit(client, {**ADA, "cf-turnstile-response": TEST_TOKEN})
    assert response.status_code == 202
    assert stored() == NOTHING_BUT_QUARANTINE and quarantine_reasons() == ["captcha_failed"]
    from chalicelib.store.records import QuarantineRecord

    assert TEST_TOKEN not in next(iter(QuarantineRecord.scan())).payload


def test_captcha_missing_token_is_422_naming_the_token_field(client: Any, admin_key: str, siteverify: Any):
    siteverify(TURNSTILE_PASS)
    put_form(client, admin_key, captcha={"provider": "turnstile"})
    response = submit(client, ADA)
    assert response.status_code == 422
    assert response.json_body["error"]["field"] == "cf-turnstile-response"
    assert stored()["contacts"] == 0 and stored()["quarantined"] == 0


@pytest.mark.parametrize("outage", ["unreachable", "500", "not_json", "no_success"])
def test_captcha_verification_failing_closes_with_403_and_stores_nothing(
    client: Any, admin_key: str, settings_env: Any, httpserver: Any, outage: str
):
    url = httpserver.url_for("/siteverify")
    if outage == "unreachable":
        url = "http://127.0.0.1:9/siteverify"  # discard port: connection refused
    elif outage == "500":
        httpserver.expect_request("/siteverify").respond_with_data("oops", status=500)
    elif outage == "not_json":
        httpserver.expect_request("/siteverify").respond_with_data("<html>")
    else:
        httpserver.expect_request("/siteverify").respond_with_json({"hostname": "x"})
    settings_env(
        TURNSTILE_VERIFY_URL=url,
        CAPTCHA_SECRETS=json.dumps({"turnstile": TURNSTILE_PASS}),
        CAPTCHA_TIMEOUT_SECONDS="1",
    )
    put_form(client, admin_key, captcha={"provider": "turnstile"})
    response = submit(client, {**ADA, "cf-turnstile-response": TEST_TOKEN})
    assert response.status_code == 403
    assert response.json_body["error"]["code"] == "captcha_unverified"
    assert TURNSTILE_PASS not in response.body.decode()
    assert stored() == {"contacts": 0, "leads": 0, "interactions": 0, "claims": 0, "quarantined": 0}


def test_captcha_without_a_configured_secret_fails_closed(client: Any, admin_key: str, settings_env: Any):
    settings_env(CAPTCHA_SECRETS="{}")
    put_form(client, admin_key, captcha={"provider": "recaptcha", "secret_ref": "landing"})
    response = submit(client, {**ADA, "g-recaptcha-response": "token"})
    assert response.status_code == 403 and stored()["contacts"] == 0


# ---------------------------------------------------------------- honeypot and quarantine


def test_honeypot_is_quarantined_never_a_contact_nor_a_claim(client: Any, admin_key: str):
    put_form(client, admin_key)
    response = submit(client, {**ADA, "website": "http://spam.example"})
    assert response.status_code == 202 and set(response.json_body) == {"submission_id", "status"}
    assert response.json_body["status"] == "accepted", "told nothing more than a real visitor"
    assert stored() == NOTHING_BUT_QUARANTINE and quarantine_reasons() == ["honeypot"]


def test_body_and_field_size_limits(client: Any, admin_key: str):
    put_form(client, admin_key)
    too_big = submit(client, {**ADA, "first_name": "A" * 70_000})
    assert too_big.status_code == 413
    long_field = submit(client, {**ADA, "first_name": "A" * 2001})
    assert long_field.status_code == 422 and long_field.json_body["error"]["field"] == "first_name"
    assert stored()["contacts"] == 0


def test_the_dynamodb_limiter_raises_limiter_unavailable_when_its_table_is_missing(aws: Any):
    from chalicelib.domain.ratelimits import LimiterUnavailable
    from chalicelib.settings import get_settings
    from chalicelib.store.ratelimits import Limit, RateLimits

    settings = get_settings()
    limits = RateLimits("no-such-table", settings.region, settings.aws_endpoint_url)
    with pytest.raises(LimiterUnavailable, match="ResourceNotFoundException"):
        limits.take("ip#x", Limit(per_minute=60, burst=2))
