"""Security properties through the real routes on moto, each test named after what it proves: no mass
assignment, object-level authorization by scope, CORS only for listed origins, any flipped bit of a
signed webhook is a 401, no secret in logs or error bodies, constant-time comparisons."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.integrations.webhooks import sign
from tests.conftest import load_event

FORM = "contact-us"
ADA = {"email": "ada@analytical-engines.example.org", "first_name": "Ada", "topic": "Pricing"}


def headers(key: str | None = None, **more: str) -> dict[str, str]:
    found = {"Content-Type": "application/json", **more}
    if key:
        found["X-Api-Key"] = key
    return found


def key_with(deps: Any, *scopes: str) -> str:
    from chalicelib.services.access import create_key

    secret, _ = create_key("-".join(scopes), list(scopes), deps.store)
    return secret


@pytest.fixture
def form(client: Any, admin_key: str) -> None:
    definition = load_event("http/form_contact_us.json")
    response = client.http.put(f"/v1/forms/{FORM}", headers=headers(admin_key), body=json.dumps(definition))
    assert response.status_code == 201


def submit(client: Any, body: Any, **more: str) -> Any:
    path = f"/v1/forms/{FORM}/submissions"
    return client.http.post(path, headers=headers(None, **more), body=json.dumps(body))


# ---------------------------------------------------------------- mass assignment


def test_submission_cannot_set_score_state_owner_or_consent_history(
    client: Any, form: None, admin_key: str, deps: Any
):
    hostile = {
        **ADA,
        "score": 100,
        "grade": "A",
        "state": "qualified",
        "status": "won",
        "owner": "attacker",
        "owner_id": "attacker",
        "consent": "consent_given",
        "consent_history": [{"level": "consent_given", "source": "forged", "at": "2020-01-01T00:00:00Z"}],
        "lead.state": "qualified",
        "contact.consent": "consent_given",
        "lead_id": "l_forged",
        "contact_id": "c_forged",
        "scores": [{"model_id": "m", "score": 100}],
    }
    response = submit(client, hostile, **{"X-Api-Key": admin_key})
    assert response.status_code == 201
    created = response.json_body
    assert created["lead_id"] != "l_forged" and created["contact_id"] != "c_forged"
    lead = client.http.get(f"/v1/leads/{created['lead_id']}", headers=headers(admin_key)).json_body
    assert lead["state"] == "open" and lead["status"] == "new" and lead["scores"] == []
    assert "owner" not in json.dumps(lead["contact"]["fields"]) and "attacker" not in json.dumps(lead)
    assert "forged" not in json.dumps(lead)
    assert lead["contact"]["consent"] == "consent_given"  # the form's consent_on_submit, not the field
    history = deps.store.get_contact(created["contact_id"]).consent_history
    assert [c.source for c in history] == [f"form:{FORM}"]


# ---------------------------------------------------------------- no enumeration oracle


def test_the_public_submission_answer_does_not_tell_whether_a_person_is_known(
    client: Any, form: None, admin_key: str
):
    first = submit(client, ADA)
    known = submit(client, {**ADA, "topic": "Support"})  # the same person again
    stranger = submit(client, {**ADA, "email": "nobody-yet@example.org", "topic": "Support"})
    bot = submit(client, {**ADA, "website": "http://spam.example"})  # the honeypot
    for answer in (first, known, stranger):
        assert answer.status_code == 201
        assert set(answer.json_body) == {"submission_id", "status"}, answer.json_body
        assert answer.json_body["status"] == "accepted"
    assert bot.status_code == 202 and set(bot.json_body) == {"submission_id", "status"}
    ids = {a.json_body["submission_id"] for a in (first, known, stranger, bot)}
    assert len(ids) == 4, "a fresh id per submission: nothing stable about the person"


def test_a_caller_with_an_ingest_key_gets_the_full_capture_answer(
    client: Any, form: None, admin_key: str, deps: Any
):
    ingest = key_with(deps, "ingest")
    answer = submit(client, ADA, **{"X-Api-Key": ingest})
    assert answer.status_code == 201
    assert {"lead_id", "contact_id", "lead_created", "contact_created", "account_id"} <= set(answer.json_body)
    assert submit(client, ADA, **{"X-Api-Key": ingest + "x"}).status_code == 401, "a wrong key is refused"
    sales = key_with(deps, "sales")
    assert submit(client, ADA, **{"X-Api-Key": sales}).status_code == 403


# ---------------------------------------------------------------- anonymous sources cannot rewrite people


def test_an_anonymous_form_cannot_rewrite_a_known_person_nor_bring_back_withdrawn_consent(
    client: Any, form: None, admin_key: str, deps: Any
):
    ada = {**load_event("http/form_submissions.json")[0], "newsletter": "on"}
    first = submit(client, ada, **{"X-Api-Key": admin_key}).json_body
    contact_id = first["contact_id"]
    withdraw = client.http.put(
        f"/v1/contacts/{contact_id}/consent",
        headers=headers(admin_key),
        body=json.dumps({"level": "none", "source": "unsubscribe-page"}),
    )
    assert withdraw.status_code == 200

    forged = {
        **ada,
        "first_name": "Mallory",
        "phone": "+44 20 7946 0000",
        "job": "Intern",
        "newsletter": "on",
    }
    assert submit(client, forged).status_code == 201  # answered like any submission

    contact = deps.store.get_contact(contact_id)
    assert contact.fields["first_name"] == "Ada" and contact.fields["phone"] == "+442079460958"
    assert contact.fields.get("job_title") != "Intern"
    assert contact.consent == "none", "an anonymous post never raises a withdrawn consent"
    lead = client.http.get(f"/v1/leads/{first['lead_id']}", headers=headers(admin_key)).json_body
    shown = {c["field"]: (c["submitted"], c["current"]) for c in lead["conflicts"]}
    assert shown["contact.first_name"] == ("Mallory", "Ada")
    assert shown["contact.phone"] == ("+442079460000", "+442079460958")
    assert shown["consent"] == ("marketing", "none")
    assert all(c["source"] == f"form:{FORM}" for c in lead["conflicts"])

    back = client.http.put(
        f"/v1/contacts/{contact_id}/consent",
        headers=headers(admin_key),
        body=json.dumps({"level": "marketing", "source": "confirmed-by-phone"}),
    )
    assert back.status_code == 200 and back.json_body["consent"] == "marketing", "an authenticated call may"


def test_form_definition_cannot_map_a_field_onto_managed_state(client: Any, admin_key: str):
    definition = load_event("http/form_contact_us.json")
    definition["fields"]["state"] = {"maps_to": "lead.state"}
    response = client.http.put(f"/v1/forms/{FORM}", headers=headers(admin_key), body=json.dumps(definition))
    assert response.status_code == 422


def test_form_definition_rejects_unknown_options(client: Any, admin_key: str):
    definition = {**load_event("http/form_contact_us.json"), "score_on_submit": 100}
    response = client.http.put(f"/v1/forms/{FORM}", headers=headers(admin_key), body=json.dumps(definition))
    assert response.status_code == 422


# ---------------------------------------------------------------- object-level authorization


def test_ingest_key_cannot_read_leads_contacts_or_models(client: Any, form: None, deps: Any):
    ingest = key_with(deps, "ingest")
    lead_id = submit(client, ADA, **{"X-Api-Key": key_with(deps, "ingest")}).json_body["lead_id"]
    for path in (f"/v1/leads/{lead_id}", "/v1/leads", "/v1/scoring-models", f"/v1/forms/{FORM}"):
        response = client.http.get(path, headers=headers(ingest))
        assert response.status_code == 403, path
        assert response.json_body["error"]["code"] == "forbidden"
        assert "Ada" not in response.body.decode()


def test_sales_key_cannot_change_models_rules_forms_or_keys(client: Any, deps: Any):
    sales = key_with(deps, "sales")
    model = load_event("models/b2b_default.json")
    for method, path, body in (
        ("put", "/v1/scoring-models/m1", model),
        ("post", "/v1/scoring-models/m1/publish", {}),
        ("put", "/v1/qualification-rules/r1", load_event("rules/mql_default.json")),
        ("put", f"/v1/forms/{FORM}", load_event("http/form_contact_us.json")),
        ("post", "/v1/integrations/webhooks/typeform/secrets", {}),
    ):
        response = getattr(client.http, method)(path, headers=headers(sales), body=json.dumps(body))
        assert response.status_code == 403, (method, path, response.json_body)
    assert deps.store.get_form(FORM) is None


def test_no_key_or_a_wrong_key_is_401_and_a_revoked_scope_never_leaks(client: Any, form: None):
    for key in (None, "lf_not-a-key", "", "x" * 300):
        response = client.http.get("/v1/leads", headers=headers(key) if key else {})
        assert response.status_code == 401
        assert response.json_body["error"]["field"] == "X-Api-Key"


# ---------------------------------------------------------------- CORS


def test_origin_not_allowed_gets_no_allow_origin_header_and_nothing_stored(client: Any, form: None):
    evil = "https://evil.example.net"
    response = submit(client, ADA, Origin=evil)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.http.request(
        "OPTIONS", f"/v1/forms/{FORM}/submissions", headers={"Origin": evil}, body=b""
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    from chalicelib.store.records import ContactRecord

    assert list(ContactRecord.scan()) == []


def test_allowed_origin_gets_exactly_its_own_origin_back(client: Any, form: None):
    good = "https://www.example.com"
    response = submit(client, ADA, Origin=good)
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == good
    bad = submit(client, {"email": "nope"}, Origin=good)
    assert bad.status_code == 422 and bad.headers["Access-Control-Allow-Origin"] == good


def test_origin_lookalikes_are_not_allowed(client: Any, form: None):
    for origin in (
        "https://www.example.com.evil.net",
        "http://www.example.com",
        "https://wwwexample.com",
        "null",
        "https://www.example.com:8443",
    ):
        response = submit(client, ADA, Origin=origin)
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers


# ---------------------------------------------------------------- signatures


SOURCE = "typeform"
DELIVERY = json.dumps(load_event("webhooks/typeform_delivery.json")).encode()


@pytest.fixture
def webhook_secret(client: Any, admin_key: str) -> str:
    source = load_event("webhooks/typeform_source.json")
    put = client.http.put(
        f"/v1/integrations/webhooks/{SOURCE}", headers=headers(admin_key), body=json.dumps(source)
    )
    assert put.status_code == 201
    created = client.http.post(f"/v1/integrations/webhooks/{SOURCE}/secrets", headers=headers(admin_key))
    return str(created.json_body["secret"])


def _flip(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def test_any_flipped_bit_in_body_signature_timestamp_or_id_is_401(
    client: Any, webhook_secret: str, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib import wiring

    monkeypatch.setenv("RATE_LIMIT_WEBHOOK_PER_MINUTE", "0")
    wiring.reset()
    stamp = int(time.time())
    signature = sign(webhook_secret, "fuzz-delivery", stamp, DELIVERY)
    tried = {"body": 0, "signature": 0, "timestamp": 0, "id": 0}

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(part=st.sampled_from(["body", "signature", "timestamp", "id"]), bit=st.integers(min_value=0))
    def flipped_is_refused(part: str, bit: int) -> None:
        body, sig, ts, ident = DELIVERY, signature.encode(), str(stamp).encode(), b"fuzz-delivery"
        if part == "body":
            body = _flip(body, bit % (len(body) * 8))
        elif part == "signature":
            sig = _flip(sig, bit % (len(sig) * 8))
        elif part == "id":
            ident = _flip(ident, bit % (len(ident) * 8))
        else:
            ts = _flip(ts, bit % (len(ts) * 8))
        tried[part] += 1
        response = client.http.post(
            f"/v1/webhooks/{SOURCE}",
            headers={
                "Content-Type": "application/json",
                "webhook-id": ident.decode("latin-1"),
                "webhook-timestamp": ts.decode("latin-1"),
                "webhook-signature": sig.decode("latin-1"),
            },
            body=body,
        )
        assert response.status_code == 401, (part, bit, response.json_body)

    flipped_is_refused()
    assert all(tried.values()), tried
    from chalicelib.store.records import ContactRecord

    assert list(ContactRecord.scan()) == []
    untouched = client.http.post(
        f"/v1/webhooks/{SOURCE}",
        headers={
            "Content-Type": "application/json",
            "webhook-id": "fuzz-delivery",
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
        },
        body=DELIVERY,
    )
    assert untouched.status_code == 201, "the unflipped delivery is accepted"


def test_linkedin_signature_any_flipped_bit_is_refused():
    from chalicelib.integrations.linkedin import SIGNATURE_PREFIX, signature_valid

    body = json.dumps(load_event("webhooks/linkedin_lead_created.json")).encode()
    import hashlib
    import hmac

    secret = "li-secret"
    good = hmac.new(secret.encode(), SIGNATURE_PREFIX.encode() + body, hashlib.sha256).hexdigest()
    assert signature_valid(body, good, [secret])
    for bit in range(0, len(body) * 8, 37):
        assert not signature_valid(_flip(body, bit), good, [secret])
    for bit in range(len(good) * 8):
        flipped = _flip(good.encode(), bit).decode("latin-1")
        if flipped.lower() != good:
            assert not signature_valid(body, flipped, [secret])


# ---------------------------------------------------------------- secrets never in logs or bodies


def test_secrets_and_keys_never_appear_in_logs_or_error_bodies(
    client: Any, admin_key: str, webhook_secret: str, capsys: pytest.CaptureFixture[str], deps: Any
):
    ingest = key_with(deps, "ingest")
    bodies: list[str] = []
    calls = [
        ("get", "/v1/leads", headers(ingest), b""),
        ("get", "/v1/leads/l_missing", headers(admin_key), b""),
        ("post", "/v1/leads", headers(admin_key), b"{not json"),
        ("post", "/v1/leads", headers(admin_key), json.dumps({"contact": {"email": "bad"}}).encode()),
        ("get", "/v1/leads", headers(admin_key + "x"), b""),
        (
            "post",
            f"/v1/webhooks/{SOURCE}",
            {
                "Content-Type": "application/json",
                "webhook-id": "d",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": sign(webhook_secret[:-4] + "AAA=", "d", int(time.time()), DELIVERY),
            },
            DELIVERY,
        ),
    ]
    for method, path, sent, body in calls:
        response = getattr(client.http, method)(path, headers=sent, body=body)
        assert 400 <= response.status_code < 500
        bodies.append(response.body.decode())
    logs = capsys.readouterr()
    everything = "\n".join([*bodies, logs.out, logs.err])
    for secret in (admin_key, ingest, webhook_secret, admin_key.split("_", 1)[1]):
        assert secret not in everything
    from chalicelib.settings import Settings

    shown = repr(Settings(CAPTCHA_SECRETS={"turnstile": "s3cr3t"}, LINKEDIN_CLIENT_SECRET="li-s3cr3t"))
    assert "s3cr3t" not in shown


def test_api_keys_are_stored_hashed_never_in_clear(client: Any, admin_key: str):
    from chalicelib.store.records import ApiKeyRecord

    stored = json.dumps([r.attribute_values for r in ApiKeyRecord.scan()], default=str)
    assert admin_key not in stored and admin_key.split("_", 1)[1] not in stored


# ---------------------------------------------------------------- constant-time comparisons


def test_signature_checks_compare_in_constant_time(monkeypatch: pytest.MonkeyPatch):
    """Every signature comparison goes through ``hmac.compare_digest``, and every offered signature is
    compared against every secret (no early exit that timing could reveal)."""
    import hmac

    from chalicelib.integrations import linkedin, webhooks

    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    stamp = int(time.time())
    s0, s1 = webhooks.new_secret(), webhooks.new_secret()
    good = sign(s1, "d", stamp, b"{}")
    header = f"v1,{'A' * 43}= {good}"
    webhooks.verify(
        b"{}",
        {"webhook-id": "d", "webhook-timestamp": str(stamp), "webhook-signature": header},
        [s0, s1],
        time.time(),
    )
    assert len(calls) == 4, "2 secrets x 2 offered signatures, all compared"
    calls.clear()
    linkedin.signature_valid(b"{}", "0" * 64, ["a", "b"])
    assert calls, "LinkedIn signatures use compare_digest too"
