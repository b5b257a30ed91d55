"""LinkedIn Lead Sync payloads and signatures (chalicelib/integrations/linkedin.py): no sockets."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.forms import FormDefinition, capture_from_submission
from chalicelib.integrations.linkedin import (
    FormResponse,
    InvalidFormResponse,
    LeadNotification,
    LinkedInError,
    _retry_after,
    challenge_response,
    form_urn,
    parse_form_response,
    parse_notification,
    signature_valid,
    submitted_fields,
)

WEBHOOKS = Path(__file__).resolve().parents[2] / "events" / "webhooks"
SECRET = "leadflow-test-secret"
NEXT_SECRET = "leadflow-rotated-secret"
#: FormDefinition's field-name rule, which every submitted key must pass
FIELD_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,100}")


def _event(name: str) -> Any:
    return json.loads((WEBHOOKS / name).read_text())


def _body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _signed_prefixed_body(body: bytes, secret: str = SECRET) -> str:
    """Reading A: the header is the digest of ``"hmacsha256=" + body``."""
    return _digest(secret, b"hmacsha256=" + body)


def _prefixed_signature_of_body(body: bytes, secret: str = SECRET) -> str:
    """Reading B: the header is ``"hmacsha256=" + digest of the body``."""
    return "hmacsha256=" + _digest(secret, body)


def _rejected_fields(body: bytes) -> set[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_notification(body)
    return {error.field for error in caught.value.errors}


def _notification(payload: dict[str, Any]) -> LeadNotification:
    parsed = parse_notification(_body(payload))
    assert parsed is not None
    return parsed


@pytest.fixture
def created() -> dict[str, Any]:
    return copy.deepcopy(_event("linkedin_lead_created.json"))


@pytest.fixture
def form_response_data() -> dict[str, Any]:
    return copy.deepcopy(_event("linkedin_form_response.json"))


# ---------------------------------------------------------------- validation challenge


def test_challenge_response_is_the_hex_hmac_sha256_of_the_code() -> None:
    code = "d0c5e3b1-7a52-4f8e-9a61-3c2b7e4f9d10"
    expected = hmac.new(SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
    assert challenge_response(code, SECRET) == expected


def test_challenge_response_matches_a_vector_computed_with_openssl() -> None:
    # printf '%s' 890e4665-4dfe-4ab1-b689-ed553bceeed0 | openssl dgst -sha256 -hmac leadflow-test-secret
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"  # the challengeCode in LinkedIn's documentation
    assert (
        challenge_response(code, SECRET) == "5a68e8e9157934bb14f415b8eef1f5e1feedaad8ee4ba6348412ccfb66a88362"
    )


def test_challenge_response_depends_on_the_secret() -> None:
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    assert challenge_response(code, SECRET) != challenge_response(code, NEXT_SECRET)


# ---------------------------------------------------------------- X-LI-Signature


def test_signature_matches_a_vector_computed_with_openssl() -> None:
    # printf '%s' 'hmacsha256={"type":"LEAD_ACTION"}' | openssl dgst -sha256 -hmac leadflow-test-secret
    header = "efa62fad45d3213525c568d2f0d58d0d9b93ab51d4142bf07eb2633227c0b46b"
    assert signature_valid(b'{"type":"LEAD_ACTION"}', header, [SECRET])


@pytest.mark.parametrize(
    "sign",
    [
        _signed_prefixed_body,
        _prefixed_signature_of_body,
        lambda body: "hmacsha256=" + _signed_prefixed_body(body),
        lambda body: _digest(SECRET, body),
    ],
    ids=["digest-of-prefixed-body", "prefixed-digest-of-body", "both-prefixed", "bare-digest-of-body"],
)
def test_signature_in_either_reading_of_the_docs_is_accepted(sign: Any, created: dict[str, Any]) -> None:
    body = _body(created)
    assert signature_valid(body, sign(body), [SECRET])


def test_uppercase_hex_and_prefix_are_accepted(created: dict[str, Any]) -> None:
    body = _body(created)
    assert signature_valid(body, _signed_prefixed_body(body).upper(), [SECRET])
    assert signature_valid(body, _prefixed_signature_of_body(body).upper(), [SECRET])


def test_signature_with_surrounding_whitespace_is_accepted(created: dict[str, Any]) -> None:
    body = _body(created)
    assert signature_valid(body, f"  {_signed_prefixed_body(body)}\t", [SECRET])


@pytest.mark.parametrize("message_prefix", [b"hmacsha256=", b""], ids=["prefixed-body", "body"])
def test_signature_with_any_flipped_bit_is_rejected(message_prefix: bytes, created: dict[str, Any]) -> None:
    body = _body(created)
    digest = hmac.new(SECRET.encode(), message_prefix + body, hashlib.sha256).digest()
    assert signature_valid(body, digest.hex(), [SECRET, NEXT_SECRET])
    for bit in range(len(digest) * 8):
        flipped = bytearray(digest)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not signature_valid(body, flipped.hex(), [SECRET, NEXT_SECRET]), bit
        assert not signature_valid(body, "hmacsha256=" + flipped.hex(), [SECRET, NEXT_SECRET]), bit


def test_signature_made_with_another_secret_is_rejected(created: dict[str, Any]) -> None:
    body = _body(created)
    assert not signature_valid(body, _signed_prefixed_body(body, "someone-else"), [SECRET])
    assert not signature_valid(body, _prefixed_signature_of_body(body, "someone-else"), [SECRET])


def test_signature_of_another_body_is_rejected(created: dict[str, Any]) -> None:
    header = _signed_prefixed_body(_body(created))
    created["leadAction"] = "DELETED"
    assert not signature_valid(_body(created), header, [SECRET])


def test_signature_made_with_the_second_secret_is_accepted_during_rotation(created: dict[str, Any]) -> None:
    body = _body(created)
    assert signature_valid(body, _signed_prefixed_body(body, NEXT_SECRET), [SECRET, NEXT_SECRET])
    assert signature_valid(body, _prefixed_signature_of_body(body, NEXT_SECRET), [SECRET, NEXT_SECRET])
    assert not signature_valid(body, _signed_prefixed_body(body, NEXT_SECRET), [SECRET])


@pytest.mark.parametrize("header", [None, "", "   ", "hmacsha256=", "hmacsha256"])
def test_missing_or_empty_signature_is_rejected(header: str | None, created: dict[str, Any]) -> None:
    assert not signature_valid(_body(created), header, [SECRET])


@pytest.mark.parametrize(
    "garble",
    [
        lambda hex_digest: "not a signature",
        lambda hex_digest: hex_digest[:-1],
        lambda hex_digest: hex_digest + "0",
        lambda hex_digest: hex_digest[:-1] + "g",
        lambda hex_digest: "sha256=" + hex_digest,
        lambda hex_digest: "hmacsha256=hmacsha256=" + hex_digest,
        lambda hex_digest: bytes.fromhex(hex_digest).decode("latin-1"),
        lambda hex_digest: hex_digest[:32] + " " + hex_digest[32:],
    ],
    ids=["text", "short", "long", "non-hex", "other-prefix", "double-prefix", "raw-bytes", "inner-space"],
)
def test_garbled_signature_is_rejected(garble: Any, created: dict[str, Any]) -> None:
    body = _body(created)
    assert not signature_valid(body, garble(_signed_prefixed_body(body)), [SECRET])


def test_a_single_secret_passed_bare_is_one_secret(created: dict[str, Any]) -> None:
    body = _body(created)
    assert signature_valid(body, _signed_prefixed_body(body), SECRET)
    assert not signature_valid(body, _signed_prefixed_body(body, SECRET[0]), SECRET)


def test_no_secret_or_an_empty_secret_accepts_nothing(created: dict[str, Any]) -> None:
    body = _body(created)
    assert not signature_valid(body, _signed_prefixed_body(body), [])
    assert not signature_valid(body, _signed_prefixed_body(body, ""), [""])


# ---------------------------------------------------------------- lead notifications


def test_created_notification_is_parsed(created: dict[str, Any]) -> None:
    notification = _notification(created)
    assert notification == LeadNotification(
        action="CREATED",
        response_id="5f1c2a7e-3b84-4d0c-9e6a-2b7d81c4f0a3-4",
        response_urn="urn:li:leadGenFormResponse:5f1c2a7e-3b84-4d0c-9e6a-2b7d81c4f0a3-4",
        form_urn="urn:li:leadGenForm:7234246",
        occurred_at=datetime(2026, 11, 23, 16, 42, 7, 318000, tzinfo=UTC),
        owner="urn:li:sponsoredAccount:508731642",
        lead_type="SPONSORED",
    )


def test_deleted_notification_is_parsed() -> None:
    notification = parse_notification((WEBHOOKS / "linkedin_lead_deleted.json").read_bytes())
    assert notification is not None
    assert notification.action == "DELETED"
    assert notification.response_id == "c93e0b5d-71fa-4a28-8d46-0e5b3f9a12c7-1"
    assert notification.form_urn == "urn:li:leadGenForm:8815530"
    assert notification.owner == "urn:li:organization:11223344"
    assert notification.lead_type == "EVENT"


def test_event_files_carry_distinct_response_ids() -> None:
    created = _notification(_event("linkedin_lead_created.json"))
    deleted = _notification(_event("linkedin_lead_deleted.json"))
    assert created.response_id != deleted.response_id


@pytest.mark.parametrize(
    "urn",
    [
        "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:3162,1)",
        "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:3162, 14)",
        "urn:li:leadGenForm:3162",
    ],
)
def test_form_urn_is_the_unversioned_form(urn: str, created: dict[str, Any]) -> None:
    created["leadGenForm"] = urn
    assert _notification(created).form_urn == "urn:li:leadGenForm:3162"
    assert form_urn(urn) == "urn:li:leadGenForm:3162"


@pytest.mark.parametrize("kind", ["ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "LEAD_ACTION_V2", ""])
def test_notification_of_another_type_is_ignored(kind: str, created: dict[str, Any]) -> None:
    created["type"] = kind
    del created["leadAction"]  # what a lead notification needs is not checked on others
    assert parse_notification(_body(created)) is None


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("occuredAt", 1795452127318, datetime(2026, 11, 23, 16, 42, 7, 318000, tzinfo=UTC)),
        ("occurredAt", 1795452127318, datetime(2026, 11, 23, 16, 42, 7, 318000, tzinfo=UTC)),
        ("occurredAt", 1795452127, datetime(2026, 11, 23, 16, 42, 7, tzinfo=UTC)),
        ("occurredAt", "1795452127318", datetime(2026, 11, 23, 16, 42, 7, 318000, tzinfo=UTC)),
        ("occurredAt", "yesterday", None),
        ("occurredAt", -5, None),
        ("occurredAt", True, None),
        ("occurredAt", 10**30, None),
        ("somethingElse", 1795452127318, None),
    ],
)
def test_occurred_at_is_read_leniently(key: str, value: Any, expected: datetime | None) -> None:
    payload = _event("linkedin_lead_created.json")
    del payload["occuredAt"]
    payload[key] = value
    assert _notification(payload).occurred_at == expected


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ({"organization": "urn:li:organization:5509810"}, "urn:li:organization:5509810"),
        ("urn:li:sponsoredAccount:522529623", "urn:li:sponsoredAccount:522529623"),
        ({"unknownOwner": "urn:li:thing:1"}, "urn:li:thing:1"),
        (12345, None),
        (None, None),
    ],
)
def test_owner_is_read_from_any_owner_shape(
    owner: Any, expected: str | None, created: dict[str, Any]
) -> None:
    created["owner"] = owner
    assert _notification(created).owner == expected


def test_optional_fields_may_be_missing(created: dict[str, Any]) -> None:
    for key in ("owner", "leadType", "occuredAt", "associatedEntity"):
        del created[key]
    notification = _notification(created)
    assert (notification.owner, notification.lead_type, notification.occurred_at) == (None, None, None)


def test_response_id_of_200_characters_is_accepted(created: dict[str, Any]) -> None:
    created["leadGenFormResponse"] = "urn:li:leadGenFormResponse:" + "a" * 200
    assert _notification(created).response_id == "a" * 200


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.update(leadAction="UPDATED"), "leadAction"),
        (lambda p: p.update(leadAction="created"), "leadAction"),
        (lambda p: p.pop("leadAction"), "leadAction"),
        (lambda p: p.pop("type"), "type"),
        (lambda p: p.update(type=["LEAD_ACTION"]), "type"),
        (lambda p: p.pop("leadGenFormResponse"), "leadGenFormResponse"),
        (lambda p: p.update(leadGenFormResponse=42), "leadGenFormResponse"),
        (lambda p: p.update(leadGenFormResponse="5f1c2a7e-3b84"), "leadGenFormResponse"),
        (lambda p: p.update(leadGenFormResponse="urn:li:leadGenFormResponse:"), "leadGenFormResponse"),
        (lambda p: p.update(leadGenFormResponse="urn:li:leadGenFormResponse:a/b"), "leadGenFormResponse"),
        (lambda p: p.update(leadGenFormResponse="urn:li:leadGenFormResponse:a b"), "leadGenFormResponse"),
        (
            lambda p: p.update(leadGenFormResponse="urn:li:leadGenFormResponse:" + "a" * 201),
            "leadGenFormResponse",
        ),
        (lambda p: p.pop("leadGenForm"), "leadGenForm"),
        (lambda p: p.update(leadGenForm="urn:li:sponsoredCampaign:1"), "leadGenForm"),
        (lambda p: p.update(leadGenForm="urn:li:versionedLeadGenForm:(urn:li:leadGenForm:1)"), "leadGenForm"),
        (lambda p: p.update(leadGenForm={"id": 1}), "leadGenForm"),
    ],
)
def test_malformed_notification_names_the_bad_field(mutate: Any, field: str, created: dict[str, Any]) -> None:
    mutate(created)
    assert _rejected_fields(_body(created)) == {field}


@pytest.mark.parametrize("body", [b"", b"not json", b"\xff\xfe", b"[1, 2]", b'"LEAD_ACTION"', b"null", b"42"])
def test_notification_that_is_not_a_json_object_names_the_body(body: bytes) -> None:
    assert _rejected_fields(body) == {"body"}


# ---------------------------------------------------------------- form responses


def test_form_response_is_parsed(form_response_data: dict[str, Any]) -> None:
    assert parse_form_response(form_response_data) == FormResponse(
        response_id="5f1c2a7e-3b84-4d0c-9e6a-2b7d81c4f0a3-4",
        form_urn="urn:li:leadGenForm:7234246",
        submitted_at=datetime(2026, 11, 23, 16, 42, 5, 904000, tzinfo=UTC),
        test_lead=False,
        answers={
            "107234246": "Amira",
            "207234246": "Haddad",
            "307234246": "amira.haddad@example.com",
            "407234246": "Northwind Logistics",
            "507234246": "Head of Operations",
        },
        consents={"1": True},
    )


def test_form_response_belongs_to_the_created_notification(form_response_data: dict[str, Any]) -> None:
    notification = _notification(_event("linkedin_lead_created.json"))
    response = parse_form_response(form_response_data)
    assert (response.response_id, response.form_urn) == (notification.response_id, notification.form_urn)


def test_multiple_choice_answer_keeps_the_chosen_options(form_response_data: dict[str, Any]) -> None:
    form_response_data["formResponse"]["answers"].append(
        {"questionId": 607234246, "answerDetails": {"multipleChoiceAnswer": {"options": [0, 2, "3"]}}}
    )
    assert parse_form_response(form_response_data).answers["607234246"] == ["0", "2", "3"]


def test_consents_record_refusals_too(form_response_data: dict[str, Any]) -> None:
    form_response_data["formResponse"]["consentResponses"] = [
        {"consentId": 1, "accepted": True},
        {"consentId": 2, "accepted": False},
        {"consentId": 3},
        {"accepted": True},
        "garbage",
    ]
    assert parse_form_response(form_response_data).consents == {"1": True, "2": False, "3": False}


def test_test_lead_is_flagged(form_response_data: dict[str, Any]) -> None:
    form_response_data["testLead"] = True
    assert parse_form_response(form_response_data).test_lead is True
    form_response_data["testLead"] = "yes"
    assert parse_form_response(form_response_data).test_lead is False


def test_form_urn_falls_back_to_the_unversioned_field(form_response_data: dict[str, Any]) -> None:
    del form_response_data["versionedLeadGenFormUrn"]
    assert parse_form_response(form_response_data).form_urn is None
    form_response_data["leadGenFormUrn"] = "urn:li:leadGenForm:99"
    assert parse_form_response(form_response_data).form_urn == "urn:li:leadGenForm:99"


def test_missing_optional_parts_of_a_form_response_are_tolerated(form_response_data: dict[str, Any]) -> None:
    for key in ("submittedAt", "testLead", "versionedLeadGenFormUrn", "owner", "leadType"):
        del form_response_data[key]
    del form_response_data["formResponse"]["consentResponses"]
    form_response_data["formResponse"]["answers"] += [
        "garbage",
        {"questionId": 9},
        {"answerDetails": {"textQuestionAnswer": {"answer": "no question id"}}},
        {"questionId": 10, "answerDetails": {"textQuestionAnswer": {"answer": 42}}},
        {"questionId": "bad id!", "answerDetails": {"textQuestionAnswer": {"answer": "x"}}},
        {"questionId": True, "answerDetails": {"textQuestionAnswer": {"answer": "x"}}},
        {"questionId": 11, "answerDetails": {"unknownAnswerKind": {}}},
    ]
    response = parse_form_response(form_response_data)
    assert (response.submitted_at, response.form_urn, response.test_lead, response.consents) == (
        None,
        None,
        False,
        {},
    )
    assert len(response.answers) == 5


def test_numeric_response_id_is_read_as_text(form_response_data: dict[str, Any]) -> None:
    form_response_data["id"] = 6851219773716516864
    assert parse_form_response(form_response_data).response_id == "6851219773716516864"


def test_form_response_with_empty_answers_is_parsed(form_response_data: dict[str, Any]) -> None:
    form_response_data["formResponse"]["answers"] = []
    assert parse_form_response(form_response_data).answers == {}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: [d],
        lambda d: None,
        lambda d: "text",
        lambda d: {k: v for k, v in d.items() if k != "formResponse"},
        lambda d: {**d, "formResponse": {"consentResponses": []}},
        lambda d: {**d, "formResponse": {"answers": {"1": "x"}}},
        lambda d: {**d, "formResponse": "answers"},
        lambda d: {k: v for k, v in d.items() if k != "id"},
        lambda d: {**d, "id": "has a space"},
        lambda d: {**d, "id": True},
    ],
    ids=[
        "list",
        "null",
        "string",
        "no-formResponse",
        "no-answers",
        "answers-not-a-list",
        "formResponse-not-an-object",
        "no-id",
        "bad-id",
        "boolean-id",
    ],
)
def test_form_response_without_answers_or_id_is_refused(
    mutate: Any, form_response_data: dict[str, Any]
) -> None:
    with pytest.raises(InvalidFormResponse) as caught:
        parse_form_response(mutate(form_response_data))
    assert isinstance(caught.value, LinkedInError)


# ---------------------------------------------------------------- as a form submission


def test_submitted_fields_are_keyed_by_question_and_consent_id(form_response_data: dict[str, Any]) -> None:
    form_response_data["formResponse"]["answers"].append(
        {"questionId": 607234246, "answerDetails": {"multipleChoiceAnswer": {"options": [0, 2]}}}
    )
    form_response_data["formResponse"]["answers"].append(
        {"questionId": 707234246, "answerDetails": {"multipleChoiceAnswer": {"options": [1]}}}
    )
    form_response_data["formResponse"]["consentResponses"].append({"consentId": 2, "accepted": False})
    fields = submitted_fields(parse_form_response(form_response_data))
    assert fields == {
        "107234246": "Amira",
        "207234246": "Haddad",
        "307234246": "amira.haddad@example.com",
        "407234246": "Northwind Logistics",
        "507234246": "Head of Operations",
        "607234246": "0, 2",
        "707234246": "1",
        "consent_1": True,
        "consent_2": False,
    }
    assert all(FIELD_NAME.fullmatch(key) for key in fields)


def test_submitted_fields_are_a_valid_submission_to_a_linkedin_form(
    form_response_data: dict[str, Any],
) -> None:
    form = FormDefinition.model_validate(
        {
            "name": "LinkedIn: Logistics whitepaper",
            "source": "linkedin",
            "fields": {
                "107234246": {"maps_to": "contact.first_name"},
                "207234246": {"maps_to": "contact.last_name"},
                "307234246": {"maps_to": "contact.email"},
                "407234246": {"maps_to": "account.name"},
                "507234246": {"maps_to": "contact.job_title"},
                "consent_1": {"maps_to": "consent", "level": "marketing"},
            },
        }
    )
    submitted = submitted_fields(parse_form_response(form_response_data))
    capture = capture_from_submission("linkedin-7234246", form, submitted)
    assert capture.contact["email"] == "amira.haddad@example.com"
    assert capture.contact["job_title"] == "Head of Operations"
    assert capture.account["name"] == "Northwind Logistics"
    assert capture.consent == "marketing"


# ---------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Mon, 24 Nov 2025 09:00:30 GMT", 30.0),
        ("Mon, 24 Nov 2025 08:59:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    now = datetime(2025, 11, 24, 9, 0, 0, tzinfo=UTC)
    assert _retry_after(value, now=lambda: now) == expected
