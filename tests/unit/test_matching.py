"""Matching a capture to known contacts, accounts and leads (chalicelib/domain/matching.py)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.capture import Capture
from chalicelib.domain.entities import (
    LEAD_DISQUALIFIED,
    LEAD_QUALIFIED,
    Account,
    ConsentChange,
    Contact,
    Lead,
)
from chalicelib.domain.matching import (
    AccountKeys,
    CapturePlan,
    Known,
    account_keys,
    company_key,
    contact_key,
    email_domain,
    lead_matches,
    plan_capture,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
EARLIER = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ADA = "ada.lovelace@gmail.com"  # a free-mail address: no account unless a test adds one
ORIGIN = "form:contact-us"
ACME_KEYS = frozenset({"account-name#acme", "account-domain#acme.io"})


def counter_ids() -> Callable[[str], str]:
    """A deterministic id function: ``c_1``, ``l_2``, ``a_3``, ... in call order."""
    counter = itertools.count(1)

    def new_id(prefix: str) -> str:
        return f"{prefix}_{next(counter)}"

    return new_id


def capture(
    contact: dict[str, Any] | None = None,
    *,
    account: dict[str, Any] | None = None,
    lead: dict[str, Any] | None = None,
    consent: str | None = "consent_given",
    matching: str | list[str] | None = None,
) -> Capture:
    return Capture(
        contact={"email": ADA, "first_name": "Ada"} if contact is None else contact,
        account=account or {},
        lead={"source": "landing_page", "topic": "Pricing"} if lead is None else lead,
        consent=consent,
        origin=ORIGIN,
        lead_matching=["contact.email", "lead.topic"] if matching is None else matching,
    )


def stored_contact(**changes: Any) -> Contact:
    contact = Contact(
        contact_id="c_known",
        email=ADA,
        fields={
            "email": ADA,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "job_title": "Head of Engineering",
        },
        created_at=EARLIER,
        updated_at=EARLIER,
        lead_ids=["l_old"],
        marketing_only=False,
        consent="consent_given",
        consent_history=[ConsentChange(level="consent_given", source="form:old", at=EARLIER)],
        version=3,
    )
    return replace(contact, **changes)


def stored_lead(lead_id: str, topic: str | None, created_at: datetime = EARLIER, **changes: Any) -> Lead:
    fields = {"source": "landing_page"} if topic is None else {"source": "landing_page", "topic": topic}
    lead = Lead(
        lead_id=lead_id,
        contact_id="c_known",
        fields=fields,
        created_at=created_at,
        updated_at=created_at,
        version=2,
    )
    return replace(lead, **changes)


def stored_account(**changes: Any) -> Account:
    account = Account(
        account_id="a_known",
        name="Acme",
        domain="acme.io",
        fields={"name": "Acme", "domain": "acme.io", "employees": 250},
        created_at=EARLIER,
        updated_at=EARLIER,
        version=5,
    )
    return replace(account, **changes)


def plan(cap: Capture, known: Known | None = None) -> CapturePlan:
    return plan_capture(cap, known or Known(), NOW, counter_ids())


# ---------------------------------------------------------------- contacts


def test_new_email_creates_a_marketing_only_contact():
    result = plan(capture())
    contact = result.contact
    assert result.contact_created
    assert contact.contact_id == "c_1"
    assert contact.email == ADA
    assert contact.fields == {"email": ADA, "first_name": "Ada"}
    assert contact.marketing_only is True
    assert contact.created_at == contact.updated_at == NOW
    assert contact.version is None


def test_new_contact_claims_its_email_key():
    assert plan(capture()).new_keys == [f"contact-email#{ADA}"]
    assert contact_key(ADA) == f"contact-email#{ADA}"


def test_new_contact_gets_a_new_lead_in_its_lead_ids():
    result = plan(capture())
    assert result.lead_created
    assert result.lead.lead_id == "l_2"  # ids come from the given function, in order
    assert result.lead.contact_id == result.contact.contact_id
    assert result.contact.lead_ids == [result.lead.lead_id]
    assert result.lead.fields == {"source": "landing_page", "topic": "Pricing"}
    assert result.lead.state == "open"
    assert result.lead.status == "new"


def test_new_contact_leaves_blank_values_out():
    result = plan(capture({"email": ADA, "first_name": "", "city": None}))
    assert result.contact.fields == {"email": ADA}


def test_existing_contact_is_reused():
    result = plan(capture(), Known(contact=stored_contact()))
    assert not result.contact_created
    assert result.contact.contact_id == "c_known"
    assert result.contact.version == 3
    assert result.contact.created_at == EARLIER
    assert result.contact.updated_at == NOW
    assert result.contact.marketing_only is False


def test_existing_contact_claims_no_email_key():
    assert plan(capture(), Known(contact=stored_contact())).new_keys == []


@pytest.mark.parametrize("policy", ["fill_empty", "overwrite"])
def test_blank_field_never_overwrites_stored_value(policy: str):
    cap = capture({"email": ADA, "first_name": "", "last_name": None, "job_title": "VP Engineering"})
    cap = replace(cap, update_policy=policy)  # type: ignore[arg-type]
    fields = plan(cap, Known(contact=stored_contact())).contact.fields
    assert fields["first_name"] == "Ada"
    assert fields["last_name"] == "Lovelace"
    expected = "VP Engineering" if policy == "overwrite" else "Head of Engineering"
    assert fields["job_title"] == expected, "a public source fills gaps; overwrite replaces"


def test_new_lead_for_existing_contact_is_appended_to_its_lead_ids():
    result = plan(capture(matching="new_lead_always"), Known(contact=stored_contact()))
    assert result.lead_created
    assert result.contact.lead_ids == ["l_old", result.lead.lead_id]
    assert result.lead.contact_id == "c_known"


def test_planning_does_not_change_what_the_store_read():
    known = Known(
        contact=stored_contact(account_id="a_old"),
        open_leads=[stored_lead("l_old", "Pricing")],
        account=stored_account(),
        taken_account_keys={"account-name#acme"},
    )
    before = copy.deepcopy(known)
    plan(capture(account={"name": "Acme", "industry": "Robotics"}, consent="profiling"), known)
    assert known == before


def test_same_inputs_and_ids_give_equal_plans():
    def known() -> Known:
        return Known(
            contact=stored_contact(),
            open_leads=[stored_lead("l_old", "Support")],
            taken_account_keys={"account-name#analytical engines"},
        )

    cap = capture(account={"name": "Analytical Engines Ltd"}, consent="marketing")
    first = plan_capture(cap, known(), NOW, counter_ids())
    second = plan_capture(cap, known(), NOW, counter_ids())
    assert first == second
    assert plan_capture(capture(), Known(), NOW, counter_ids()) == plan_capture(
        capture(), Known(), NOW, counter_ids()
    )


# ---------------------------------------------------------------- leads


def test_matching_open_lead_is_updated_instead_of_creating_one():
    known = Known(contact=stored_contact(), open_leads=[stored_lead("l_old", "Pricing")])
    result = plan(capture(lead={"source": "landing_page", "topic": "Pricing", "campaign": "spring"}), known)
    assert not result.lead_created
    assert result.lead.lead_id == "l_old"
    assert result.lead.version == 2
    assert result.lead.created_at == EARLIER
    assert result.lead.updated_at == NOW
    assert result.lead.fields == {"source": "landing_page", "topic": "Pricing", "campaign": "spring"}
    assert result.contact.lead_ids == ["l_old"]


def test_topic_match_ignores_case_and_spaces():
    known = Known(contact=stored_contact(), open_leads=[stored_lead("l_old", "pricing")])
    result = plan(capture(lead={"topic": "  PRICING "}), known)
    assert not result.lead_created
    assert result.lead.lead_id == "l_old"


def test_newest_matching_open_lead_is_the_one_updated():
    leads = [
        stored_lead("l_older", "Pricing", EARLIER),
        stored_lead("l_newest", "PRICING", EARLIER + timedelta(days=30)),
        stored_lead("l_other_topic", "Support", EARLIER + timedelta(days=60)),
        stored_lead("l_middle", "pricing", EARLIER + timedelta(days=10)),
    ]
    result = plan(capture(), Known(contact=stored_contact(), open_leads=leads))
    assert result.lead.lead_id == "l_newest"


def test_different_topic_creates_a_new_lead():
    known = Known(contact=stored_contact(), open_leads=[stored_lead("l_old", "Support")])
    result = plan(capture(), known)
    assert result.lead_created
    assert result.lead.lead_id not in {"l_old"}
    assert result.lead.fields["topic"] == "Pricing"
    assert result.contact.lead_ids == ["l_old", result.lead.lead_id]


def test_lead_without_topic_does_not_match_a_capture_with_one():
    known = Known(contact=stored_contact(), open_leads=[stored_lead("l_old", None)])
    assert plan(capture(), known).lead_created


def test_new_lead_always_creates_a_lead_even_when_one_matches():
    known = Known(contact=stored_contact(), open_leads=[stored_lead("l_old", "Pricing")])
    result = plan(capture(matching="new_lead_always"), known)
    assert result.lead_created
    assert result.lead.lead_id != "l_old"


@pytest.mark.parametrize("state", [LEAD_QUALIFIED, LEAD_DISQUALIFIED])
def test_closed_lead_is_never_reused(state):
    known = Known(contact=stored_contact(), open_leads=[stored_lead("l_closed", "Pricing", state=state)])
    result = plan(capture(), known)
    assert result.lead_created
    assert result.lead.lead_id != "l_closed"


def test_open_lead_is_preferred_over_a_newer_closed_one():
    leads = [
        stored_lead("l_open", "Pricing", EARLIER),
        stored_lead("l_won", "Pricing", EARLIER + timedelta(days=90), state=LEAD_QUALIFIED),
    ]
    result = plan(capture(), Known(contact=stored_contact(), open_leads=leads))
    assert result.lead.lead_id == "l_open"


def test_updated_lead_keeps_values_the_capture_leaves_blank():
    lead = stored_lead("l_old", "Pricing")
    lead.fields["campaign"] = "autumn"
    known = Known(contact=stored_contact(), open_leads=[lead])
    result = plan(capture(lead={"topic": "Pricing", "campaign": ""}), known)
    assert result.lead.fields["campaign"] == "autumn"


def test_lead_matches_compares_lead_fields_as_text():
    contact = stored_contact()
    lead = stored_lead("l_old", "Pricing")
    assert lead_matches(lead, capture(lead={"topic": "pricing"}), contact, ["lead.topic"])
    assert not lead_matches(lead, capture(lead={"topic": "Support"}), contact, ["lead.topic"])


def test_lead_matching_on_account_needs_the_same_account():
    contact = stored_contact(account_id="a_new")
    cap = capture()
    assert lead_matches(stored_lead("l1", "Pricing", account_id="a_new"), cap, contact, ["account.name"])
    assert not lead_matches(stored_lead("l2", "Pricing", account_id="a_old"), cap, contact, ["account.name"])


def test_lead_is_filed_under_the_contacts_account():
    known = Known(contact=stored_contact(account_id="a_known"), open_leads=[stored_lead("l_old", "Pricing")])
    result = plan(capture(), known)
    assert result.lead.account_id == "a_known"
    assert result.contact.account_id == "a_known"


# ---------------------------------------------------------------- accounts


@pytest.mark.parametrize(
    "name", ["ACME, Inc.", "acme", "Acme Inc", "  Acme   LLC ", "ACME Ltd.", "Acme GmbH", "Acme Corp."]
)
def test_legal_suffixes_case_and_punctuation_do_not_make_another_company(name):
    assert company_key(name) == company_key("acme") == "acme"


def test_company_key_keeps_distinct_words():
    assert company_key("Analytical Engines Ltd") == "analytical engines"
    assert company_key("Acme Robotics") != company_key("Acme")


@pytest.mark.parametrize("name", ["", "   ", "Inc.", ", Ltd."])
def test_company_name_of_only_suffixes_or_punctuation_has_no_key(name):
    assert company_key(name) is None


def test_company_name_creates_an_account_with_name_and_domain_keys():
    cap = capture({"email": "wile@acme.io"}, account={"name": "ACME, Inc."})
    result = plan(cap)
    account = result.account
    assert account is not None
    assert result.account_created
    assert result.account_changed
    assert account.account_id == "a_2"
    assert account.name == "ACME, Inc."
    assert account.domain == "acme.io"
    assert account.fields == {"name": "ACME, Inc.", "domain": "acme.io"}
    assert account.version is None
    assert result.new_keys == ["contact-email#wile@acme.io", "account-name#acme", "account-domain#acme.io"]


def test_contact_and_lead_are_filed_under_the_new_account():
    result = plan(capture({"email": "wile@acme.io"}, account={"name": "Acme"}))
    assert result.account is not None
    assert result.contact.account_id == result.account.account_id
    assert result.lead.account_id == result.account.account_id


def test_given_domain_is_used_over_the_email_domain():
    cap = capture({"email": "wile@mail.acme.io"}, account={"name": "Acme", "domain": "ACME.io"})
    assert account_keys(cap) == AccountKeys(name="acme", domain="acme.io")


@pytest.mark.parametrize("email", ["ada@gmail.com", "ada@GMAIL.COM", "ada@outlook.com", "ada@example.com"])
def test_free_mail_domain_gives_no_domain_key(email):
    assert email_domain(email) is None
    result = plan(capture({"email": email}, account={"name": "Acme"}))
    assert result.account is not None
    assert result.account.domain is None
    assert "domain" not in result.account.fields
    assert [k for k in result.new_keys if k.startswith("account-")] == ["account-name#acme"]


def test_free_mail_without_company_creates_no_account():
    result = plan(capture({"email": "ada@gmail.com"}))
    assert result.account is None
    assert not result.account_created
    assert result.contact.account_id is None
    assert result.lead.account_id is None
    assert result.new_keys == ["contact-email#ada@gmail.com"]


def test_company_email_domain_alone_creates_an_account_keyed_by_domain():
    result = plan(capture({"email": "ada@engines.co.uk"}))
    assert result.account is not None
    assert result.account.name is None
    assert result.account.domain == "engines.co.uk"
    assert "account-domain#engines.co.uk" in result.new_keys


def test_email_domain_of_no_email_is_none():
    assert email_domain(None) is None
    assert email_domain("no-at-sign") is None
    assert email_domain("Ada@Engines.CO.UK") == "engines.co.uk"


def test_guard_keys_name_then_domain():
    assert AccountKeys(name="acme", domain="acme.io").guard_keys() == [
        "account-name#acme",
        "account-domain#acme.io",
    ]
    assert AccountKeys(name=None, domain=None).guard_keys() == []


def test_known_account_is_reused_and_its_taken_keys_not_claimed_again():
    known = Known(
        contact=stored_contact(email="wile@acme.io"),
        account=stored_account(),
        taken_account_keys=set(ACME_KEYS),
    )
    result = plan(capture({"email": "wile@acme.io"}, account={"name": "ACME, Inc."}), known)
    assert result.account is not None
    assert not result.account_created
    assert result.account.account_id == "a_known"
    assert result.account.version == 5
    assert result.new_keys == []
    assert result.contact.account_id == "a_known"
    assert result.lead.account_id == "a_known"


def test_known_account_with_nothing_new_is_unchanged():
    known = Known(account=stored_account(), taken_account_keys=set(ACME_KEYS))
    result = plan(capture({"email": "wile@acme.io"}, account={"name": "Acme"}), known)
    assert result.account is not None
    assert not result.account_changed
    assert result.account.updated_at == EARLIER


def test_known_account_takes_new_values_and_claims_only_free_keys():
    known = Known(
        account=stored_account(domain=None, fields={"name": "Acme"}), taken_account_keys={"account-name#acme"}
    )
    result = plan(capture({"email": "wile@acme.io"}, account={"name": "Acme", "industry": "Anvils"}), known)
    account = result.account
    assert account is not None
    assert not result.account_created
    assert result.account_changed
    assert account.domain == "acme.io"
    assert account.fields == {"name": "Acme", "industry": "Anvils", "domain": "acme.io"}
    assert account.updated_at == NOW
    assert [k for k in result.new_keys if k.startswith("account-")] == ["account-domain#acme.io"]


def test_known_account_domain_is_not_replaced_by_another_email_domain():
    known = Known(account=stored_account(), taken_account_keys=set(ACME_KEYS))
    result = plan(capture({"email": "wile@acme-labs.io"}, account={"name": "Acme"}), known)
    assert result.account is not None
    assert result.account.domain == "acme.io"


def test_blank_account_values_never_overwrite_the_known_account():
    known = Known(account=stored_account(), taken_account_keys=set(ACME_KEYS))
    result = plan(capture({"email": "wile@acme.io"}, account={"name": "Acme", "employees": None}), known)
    assert result.account is not None
    assert result.account.fields["employees"] == 250


def test_keys_taken_by_someone_else_are_not_claimed_for_a_new_account():
    result = plan(
        capture({"email": "wile@acme.io"}, account={"name": "Acme"}),
        Known(taken_account_keys={"account-domain#acme.io"}),
    )
    assert result.account_created
    assert [k for k in result.new_keys if k.startswith("account-")] == ["account-name#acme"]


# ---------------------------------------------------------------- consent


def test_new_contact_records_the_captures_consent():
    contact = plan(capture(consent="marketing")).contact
    assert contact.consent == "marketing"
    assert contact.consent_history == [ConsentChange(level="marketing", source=ORIGIN, at=NOW)]


def test_new_contact_without_consent_has_none():
    contact = plan(capture(consent=None)).contact
    assert contact.consent == "none"
    assert contact.consent_history == []


def test_higher_consent_raises_and_is_recorded_with_its_origin():
    stored = stored_contact()
    contact = plan(capture(consent="marketing"), Known(contact=stored)).contact
    assert contact.consent == "marketing"
    assert contact.consent_history == [
        *stored.consent_history,
        ConsentChange(level="marketing", source=ORIGIN, at=NOW),
    ]
    assert len(stored.consent_history) == 1


@pytest.mark.parametrize("lower", ["none", "consent_given", "transactional", "subscriptions", None])
def test_lower_or_equal_consent_never_lowers_it(lower):
    stored = stored_contact(
        consent="marketing",
        consent_history=[ConsentChange(level="marketing", source="form:old", at=EARLIER)],
    )
    contact = plan(capture(consent=lower), Known(contact=stored)).contact
    assert contact.consent == "marketing"
    assert contact.consent_history == stored.consent_history


def test_equal_consent_adds_no_history():
    contact = plan(capture(consent="consent_given"), Known(contact=stored_contact())).contact
    assert len(contact.consent_history) == 1


def test_each_rise_appends_one_change():
    first = plan(capture(consent="subscriptions"), Known(contact=stored_contact())).contact
    second = plan(capture(consent="profiling"), Known(contact=first)).contact
    assert [c.level for c in second.consent_history] == ["consent_given", "subscriptions", "profiling"]
    assert second.consent == "profiling"


# ---------------------------------------------------------------- fixes found in review


def test_only_trailing_legal_forms_are_dropped_from_company_names():
    from chalicelib.domain.matching import company_key

    assert company_key("Limited Brands") == "limited brands"
    assert company_key("Acme Co. Ltd") == "acme"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("https://www.Acme.com/about", "acme.com"), ("ACME.COM", "acme.com"), ("not a domain", None)],
)
def test_given_account_domains_are_normalised(raw, expected):
    from chalicelib.domain.matching import normalise_domain

    assert normalise_domain(raw) == expected


def test_updating_a_lead_keeps_the_source_and_form_of_its_first_capture():
    from datetime import UTC, datetime

    from chalicelib.domain.capture import Capture
    from chalicelib.domain.entities import Contact, Lead
    from chalicelib.domain.matching import Known, plan_capture

    now = datetime(2026, 11, 24, tzinfo=UTC)
    contact = Contact(
        "c_1", "a@b.example.org", {"email": "a@b.example.org"}, now, now, lead_ids=["l_1"], version=1
    )
    lead = Lead(
        "l_1", "c_1", {"topic": "Pricing", "source": "landing_page", "form_id": "first"}, now, now, version=1
    )
    capture = Capture(
        contact={"email": "a@b.example.org"},
        lead={"topic": "pricing", "source": "webinar", "form_id": "second", "campaign": "autumn"},
    )
    plan = plan_capture(capture, Known(contact=contact, open_leads=[lead]), now, lambda p: f"{p}_new")
    assert plan.lead_created is False
    assert plan.lead.fields["source"] == "landing_page"
    assert plan.lead.fields["form_id"] == "first"
    assert plan.lead.fields["campaign"] == "autumn"


def test_an_anonymous_capture_cannot_rename_a_known_account():
    from datetime import UTC, datetime

    from chalicelib.domain.capture import Capture
    from chalicelib.domain.entities import Account
    from chalicelib.domain.matching import Known, plan_capture

    now = datetime(2026, 11, 24, tzinfo=UTC)
    acme = Account("a_1", "Acme", "acme.org", {"name": "Acme", "domain": "acme.org"}, now, now, version=2)
    capture = Capture(
        contact={"email": "anyone@acme.org"}, account={"name": "Evil Corp", "industry": "Retail"}
    )
    known = Known(account=acme, taken_account_keys={"account-domain#acme.org", "account-name#acme"})
    plan = plan_capture(capture, known, now, lambda p: f"{p}_new")
    assert plan.account.name == "Acme" and plan.account.fields["name"] == "Acme"
    assert plan.account.fields["industry"] == "Retail", "missing fields are filled in"
    assert not any(key.startswith("account-name#evil") for key in plan.new_keys)


def test_very_long_company_names_get_a_bounded_claim_key():
    from chalicelib.domain.capture import Capture
    from chalicelib.domain.matching import account_keys

    keys = account_keys(
        Capture(contact={"email": "a@b.example.org"}, account={"name": "é" * 1500})
    ).guard_keys()
    assert all(len(k.encode()) < 300 for k in keys)


def test_a_capture_that_would_overfill_a_contact_is_refused():
    from datetime import UTC, datetime

    from chalicelib.domain.capture import Capture
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.domain.matching import Known, plan_capture

    now = datetime(2026, 11, 24, tzinfo=UTC)
    big = {f"custom_{n}": "x" * 2000 for n in range(40)}
    with pytest.raises(ValidationFailed) as error:
        plan_capture(Capture(contact={"email": "a@b.example.org", **big}), Known(), now, lambda p: f"{p}_1")
    assert error.value.errors[0].field == "contact"
