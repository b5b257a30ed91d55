"""Duplicate detection and merge planning in the pure domain: plain values, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import duplicates as dup
from chalicelib.domain.entities import ConsentChange, Contact
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.merging import check_merge, merged
from chalicelib.domain.rules import Facts
from chalicelib.domain.segments import compile_condition, parse_segment

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def person(
    contact_id: str, email: str | None = None, account_id: str | None = None, **fields: Any
) -> Contact:
    return Contact(
        contact_id=contact_id,
        email=email,
        fields={**({"email": email} if email else {}), **fields},
        account_id=account_id,
        created_at=T0,
        updated_at=T0,
    )


def test_same_email_after_case_and_unicode_normalisation_is_a_strong_suspicion():
    a = person("c1", "Ada.Lovelace@Example.com")
    b = person("c2", "ada.lovelace@example.com")
    found = dup.compare(a, b)
    assert found is not None and found.strong
    assert [r.kind for r in found.reasons] == [dup.SAME_EMAIL]


def test_same_e164_phone_is_a_strong_suspicion_with_its_reason():
    a = person("c1", "ada@example.com", phone="+442079460958")
    b = person("c2", "lovelace@other.org", phone="+442079460958")
    found = dup.compare(a, b)
    assert found is not None and found.strong and found.reasons[0].kind == dup.SAME_PHONE


def test_similar_name_at_the_same_account_is_a_weak_suspicion():
    a = person("c1", "ada@acme.com", account_id="a1", first_name="Ada", last_name="Lovelace")
    b = person("c2", "a.lovelace@gmail.com", account_id="a1", first_name="Ada", last_name="Lovelac")
    found = dup.compare(a, b)
    assert found is not None and not found.strong
    assert found.reasons[0].kind == dup.SIMILAR_NAME_SAME_ACCOUNT
    assert 0.5 <= found.confidence < dup.STRONG


def test_similar_name_with_the_same_company_email_domain_is_a_weak_suspicion():
    a = person("c1", "ada@acme.com", first_name="Ada", last_name="Lovelace")
    b = person("c2", "alovelace@acme.com", first_name="Lovelace", last_name="Ada")
    found = dup.compare(a, b)
    assert found is not None and found.reasons[0].kind == dup.SIMILAR_NAME_SAME_DOMAIN


def test_similar_names_on_a_free_mail_domain_without_a_shared_account_are_not_suspected():
    a = person("c1", "ada1@gmail.com", first_name="Ada", last_name="Lovelace")
    b = person("c2", "ada2@gmail.com", first_name="Ada", last_name="Lovelace")
    assert dup.compare(a, b) is None


def test_different_names_at_the_same_account_are_not_suspected():
    a = person("c1", "ada@acme.com", account_id="a1", first_name="Ada", last_name="Lovelace")
    b = person("c2", "grace@acme.com", account_id="a1", first_name="Grace", last_name="Hopper")
    assert dup.compare(a, b) is None


def test_blocking_keys_are_stored_hashed_never_in_clear():
    keys = dup.blocking_keys(person("c1", "ada@acme.com", account_id="a1", phone="+442079460958"))
    assert keys == {"email#ada@acme.com", "domain#acme.com", "phone#+442079460958", "account#a1"}
    assert all("ada" not in dup.hashed(k) for k in keys)


def test_suspicion_reasons_carry_no_personal_data():
    a = person(
        "c1", "ada@acme.com", account_id="a1", first_name="Ada", last_name="Lovelace", phone="+442079460958"
    )
    b = person(
        "c2", "ada@acme.com", account_id="a1", first_name="Ada", last_name="Lovelace", phone="+442079460958"
    )
    found = dup.compare(a, b)
    assert found is not None
    text = str(found.as_dict())
    assert "ada@" not in text and "7946" not in text and "Lovelace" not in text


def test_merge_keeps_the_newest_non_empty_values_and_every_lead():
    old = person("c1", "ada@acme.com", first_name="Ada", job_title="Analyst", city="London")
    old.lead_ids = ["l1"]
    new = person("c2", "ada@other.com", job_title="CTO", city="")
    new.updated_at = T0 + timedelta(days=1)
    new.lead_ids = ["l2"]
    result = merged(old, [new], T0 + timedelta(days=2))
    assert result.contact_id == "c1" and result.email == "ada@acme.com"
    assert result.fields["job_title"] == "CTO" and result.fields["city"] == "London"
    assert result.lead_ids == ["l1", "l2"]


def test_merge_keeps_a_withdrawal_made_on_the_duplicate():
    survivor = person("c1", "ada@acme.com")
    survivor.consent, survivor.consent_history = "marketing", [ConsentChange("marketing", "form:x", T0)]
    duplicate = person("c2", "ada@other.com")
    duplicate.consent_history = [ConsentChange("none", "withdrawn:api", T0 + timedelta(hours=1))]
    result = merged(survivor, [duplicate], T0 + timedelta(days=1))
    assert result.consent == "none" and len(result.consent_history) == 2


def test_merging_a_contact_into_itself_is_a_conflict():
    with pytest.raises(Conflict):
        check_merge("c1", ["c1"])


def test_segment_condition_pins_the_lead_state_when_it_can():
    _, state = compile_condition({"all": [{"field": "lead.state", "op": "eq", "value": "open"}]})
    assert state == "open"
    _, state = compile_condition({"any": [{"field": "lead.state", "op": "eq", "value": "open"}]})
    assert state is None


def test_segment_condition_with_an_unknown_field_names_the_field():
    with pytest.raises(ValidationFailed) as caught:
        compile_condition({"all": [{"field": "person.email", "op": "eq", "value": "x"}]})
    assert caught.value.errors[0].field == "condition.all[0].field"
    assert "person.email" in caught.value.errors[0].message


def test_segment_refuses_event_conditions():
    with pytest.raises(ValidationFailed) as caught:
        parse_segment("s", {"condition": {"event": "email_opened"}})
    assert caught.value.errors[0].field == "condition.event"


def test_segment_condition_selects_by_contact_and_account_fields():
    condition, _ = compile_condition(
        {
            "all": [
                {"field": "contact.country", "op": "eq", "value": "UK"},
                {"field": "contact.consent", "op": "ne", "value": "none"},
            ]
        }
    )
    contact = person("c1", "ada@acme.com", country="UK")
    contact.consent = "marketing"
    assert condition.test(Facts(None, contact, None, [], T0))[0]
    contact.consent = "none"
    assert not condition.test(Facts(None, contact, None, [], T0))[0]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ada lovelace", "lovelace ada"),
        ("ada lovelace", "ada lovelac"),
        ("grace hopper", "grace b. hopper"),
        ("jean-luc picard", "jean luc picard"),
        ("zoë müller", "zoe muller"),
        ("a", ""),
        ("", ""),
    ],
)
def test_name_similarity_is_rapidfuzz_token_sort_ratio(a: str, b: str):
    from rapidfuzz import fuzz

    assert dup.token_sort_ratio(a, b) == pytest.approx(fuzz.token_sort_ratio(a, b))


def test_saved_segments_in_an_audience_are_replaced_by_their_conditions_wherever_they_appear():
    from chalicelib.domain.segments import expand_segments

    uk = {"condition": {"field": "contact.country", "op": "eq", "value": "GB"}}
    audience = {
        "any": [
            {"segment": "uk"},
            {"not": {"segment": "uk"}},
            {"field": "lead.topic", "op": "eq", "value": "x"},
        ]
    }

    expanded, used = expand_segments(audience, {"uk": uk}.get)

    assert used == ["uk", "uk"]
    assert expanded == {"any": [uk["condition"], {"not": uk["condition"]}, audience["any"][2]]}


@pytest.mark.parametrize("segment_id", ["nobody", "", "x" * 65, 7, "a/b"])
def test_an_unknown_or_impossible_segment_in_an_audience_is_refused_naming_it(segment_id: Any):
    from chalicelib.domain.segments import expand_segments

    none_saved: dict[str, dict[str, Any]] = {}
    with pytest.raises(ValidationFailed) as refused:
        expand_segments({"all": [{"segment": segment_id}]}, none_saved.get)

    assert refused.value.errors[0].field == "audience.all[0].segment"
