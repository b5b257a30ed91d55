"""Working a lead in pure Python (domain/working.py, the contacted transition) and its use cases on the
in-memory fakes (tests/fakes.py): no moto, no sockets. The moto twins are tests/integration/test_working.py;
these add what only a fake arranges cheaply (a write that loses its race on purpose, many leads)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import lifecycle, working
from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.lifecycle import TransitionRefused
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.working import ContactUnavailable, LeadStaleVersion
from chalicelib.services import overview
from chalicelib.services import working as service
from chalicelib.wiring import Deps
from tests.fakes import FakeHandoffs, FakeRecordStore, fake_deps

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ada() -> Contact:
    return Contact(
        "c_ada",
        "ada@example.org",
        {"email": "ada@example.org", "first_name": "Ada"},
        NOW,
        NOW,
        account_id="a_1",
        lead_ids=["l_1"],
    )


def lead(status: str = "new", state: str = "open", **fields: object) -> Lead:
    return Lead(
        "l_1",
        "c_ada",
        {"topic": "Pricing", "source": "landing_page", **fields},
        NOW,
        NOW,
        account_id="a_1",
        state=state,
        status=status,
    )


@pytest.fixture
def deps() -> Deps:
    built = fake_deps()
    records(built).add(ada(), lead(), Account("a_1", "Engines", None, {}, NOW, NOW))
    return built


def records(deps: Deps) -> FakeRecordStore:
    assert isinstance(deps.store, FakeRecordStore)
    return deps.store


# ---------------------------------------------------------------- the domain


@pytest.mark.parametrize(
    ("status", "allowed"),
    [("new", True), ("marketing_qualified", True), ("contacted", False), ("sales_accepted", False)],
)
def test_contacted_is_reached_from_new_or_marketing_qualified_only(status: str, allowed: bool):
    if allowed:
        moved, transition = lifecycle.contacted(lead(status), NOW, "key:k")
        assert (moved.status, transition.from_status, transition.action) == ("contacted", status, "contacted")
        assert lifecycle.accept(moved, NOW, "key:k")[0].status == "sales_accepted"
    else:
        with pytest.raises(TransitionRefused):
            lifecycle.contacted(lead(status), NOW, "key:k")


def test_a_closed_lead_cannot_be_marked_contacted():
    with pytest.raises(TransitionRefused):
        lifecycle.contacted(lead("qualified", "qualified"), NOW, "key:k")


def test_an_edit_overwrites_clears_and_settles_the_conflicts_on_the_fields_it_sets():
    conflicts = [
        {"field": "contact.first_name", "submitted": "Mallory", "current": "Ada"},
        {"field": "lead.budget", "submitted": 5, "current": 9},
    ]
    held = replace(lead(budget=9, timeframe="Q1"), conflicts=conflicts)
    edit = working.parse_edit({"budget": 12000, "timeframe": None}, {"first_name": " Augusta "})
    result = working.apply_edit(held, ada(), edit, NOW)
    assert result.lead.fields == {"topic": "Pricing", "source": "landing_page", "budget": 12000}
    assert result.contact is not None and result.contact.fields["first_name"] == "Augusta"
    assert result.lead.conflicts == []  # both fields were decided by a person
    assert result.changed["lead.timeframe"] == {"from": "Q1", "to": None}


def test_an_edit_names_every_field_it_refuses():
    with pytest.raises(ValidationFailed) as refused:
        working.parse_edit({"state": "open", "source": "x", "ok": {"no": 1}}, {"email": "m@example.org"})
    assert sorted(e.field for e in refused.value.errors) == [
        "contact.email",
        "lead.ok",
        "lead.source",
        "lead.state",
    ]


def test_an_activity_in_the_future_or_of_an_unknown_type_is_refused_and_a_valid_one_is_an_interaction():
    with pytest.raises(ValidationFailed) as refused:
        working.parse_activity("fax", "", None, (NOW + timedelta(hours=1)).isoformat(), NOW)
    assert [e.field for e in refused.value.errors] == ["type", "subject", "occurred_at"]
    activity = working.parse_activity("meeting", "Demo", "Went well", None, NOW)
    interaction = working.activity_interaction(activity, lead(), "i_1", "key:k")
    assert (interaction.type, interaction.lead_id, interaction.contact_id) == (
        "meeting_completed",
        "l_1",
        "c_ada",
    )
    assert interaction.properties == {
        "activity": "meeting",
        "subject": "Demo",
        "outcome": "Went well",
        "by": "key:k",
    }


def test_every_activity_type_is_an_interaction_type_scoring_knows():
    from chalicelib.domain.interactions import KNOWN_TYPES

    assert set(working.ACTIVITY_TYPES.values()) <= KNOWN_TYPES


def test_a_note_is_bounded_text():
    assert working.note_text("  hi\nthere ") == "hi\nthere"
    for bad in ("", "   ", "x" * (working.MAX_NOTE + 1), "bell\x07", 5):
        with pytest.raises(ValidationFailed):
            working.note_text(bad)


# ---------------------------------------------------------------- the use cases on fakes


def test_an_edit_on_a_stale_version_is_refused_and_writes_nothing(deps: Deps):
    edit = working.parse_edit({"budget": 1}, None)
    with pytest.raises(LeadStaleVersion) as stale:
        service.edit_lead("l_1", 7, edit, "key:k", deps.store, deps.work)
    assert stale.value.details == {"current_version": 1}
    assert "budget" not in records(deps).leads["l_1"].fields


def test_an_edit_that_loses_its_race_to_a_contact_write_is_reapplied_on_the_fresh_contact(deps: Deps):
    records(deps).races.lose(1)
    edited = service.edit_lead(
        "l_1", 1, working.parse_edit({"budget": 3}, {"job_title": "CTO"}), "key:k", deps.store, deps.work
    )
    assert edited.version == 2 and records(deps).races.lost == 1
    assert records(deps).contacts["c_ada"].fields["job_title"] == "CTO"
    assert records(deps).leads["l_1"].fields["budget"] == 3


def test_an_edit_that_changes_nothing_keeps_the_version(deps: Deps):
    same = service.edit_lead(
        "l_1", 1, working.parse_edit({"topic": "Pricing"}, None), "k", deps.store, deps.work
    )
    assert same.version == 1 and records(deps).leads["l_1"].version == 1


def test_linking_moves_the_lead_its_opportunities_and_both_lead_lists_together(deps: Deps):
    grace = Contact("c_grace", "grace@example.org", {}, NOW, NOW, account_id="a_2", lead_ids=["l_9"])
    records(deps).add(grace)
    assert isinstance(deps.handoffs, FakeHandoffs)
    deps.handoffs.opportunities["o_1"] = Opportunity(
        "o_1", "l_1", "c_ada", "a_1", "Engines: Pricing", NOW, NOW, version=1
    )
    linked = service.link_lead(
        "l_1", "c_grace", None, "key:k", deps.store, deps.work, deps.identity, deps.handoffs
    )
    assert linked.changed and linked.moved_opportunities == ["o_1"]
    assert (
        records(deps).leads["l_1"].contact_id == "c_grace" and records(deps).leads["l_1"].account_id == "a_2"
    )
    assert records(deps).contacts["c_ada"].lead_ids == []
    assert records(deps).contacts["c_grace"].lead_ids == ["l_9", "l_1"]
    assert deps.handoffs.opportunities["o_1"].contact_id == "c_grace"
    again = service.link_lead(
        "l_1", "c_grace", None, "key:k", deps.store, deps.work, deps.identity, deps.handoffs
    )
    assert not again.changed and records(deps).contacts["c_grace"].lead_ids == ["l_9", "l_1"]


def test_linking_to_a_contact_being_erased_is_refused_and_writes_nothing(deps: Deps):
    records(deps).add(Contact("c_gone", "gone@example.org", {}, NOW, NOW, erasing=True))
    with pytest.raises(ContactUnavailable):
        service.link_lead("l_1", "c_gone", None, "k", deps.store, deps.work, deps.identity, deps.handoffs)
    assert records(deps).leads["l_1"].contact_id == "c_ada"


def test_linking_a_new_contact_with_an_erased_email_is_refused(deps: Deps):
    deps.identity.tombstones.add("gone@example.org")  # type: ignore[attr-defined]
    with pytest.raises(ContactUnavailable) as refused:
        service.link_lead(
            "l_1",
            None,
            {"email": "gone@example.org"},
            "k",
            deps.store,
            deps.work,
            deps.identity,
            deps.handoffs,
        )
    assert refused.value.field == "new_contact.email"


def test_a_new_contact_for_a_lead_is_a_sales_contact_of_the_leads_account(deps: Deps):
    linked = service.link_lead(
        "l_1",
        None,
        {"email": "boss@example.org", "first_name": "Charles"},
        "k",
        deps.store,
        deps.work,
        deps.identity,
        deps.handoffs,
    )
    made = records(deps).contacts[linked.contact.contact_id]
    assert made.account_id == "a_1" and made.marketing_only is False and made.lead_ids == ["l_1"]
    with pytest.raises(Conflict):
        service.link_lead(
            "l_1",
            None,
            {"email": "ada@example.org"},
            "k",
            deps.store,
            deps.work,
            deps.identity,
            deps.handoffs,
        )


def test_the_overview_reads_at_most_the_newest_leads_and_pages_interactions(deps: Deps):
    many = [f"l_{n:03d}" for n in range(overview.MAX_LEADS + 10)]
    contact = replace(ada(), lead_ids=many)
    records(deps).contacts["c_ada"] = contact
    for n, lead_id in enumerate(many):
        records(deps).leads[lead_id] = replace(lead(), lead_id=lead_id, created_at=NOW + timedelta(minutes=n))
    for n in range(5):
        records(deps).record_interaction(
            Interaction(f"i_{n}", "c_ada", "page_visited", NOW + timedelta(hours=n))
        )
    found = overview.contact_overview("c_ada", 3, None, deps)
    assert found.leads_total == len(many) and len(found.leads) == overview.MAX_LEADS
    assert found.leads[0].lead.lead_id == many[-1]
    assert [i.interaction_id for i in found.interactions] == ["i_4", "i_3", "i_2"]
    rest = overview.contact_overview("c_ada", 3, found.next_cursor, deps)
    assert [i.interaction_id for i in rest.interactions] == ["i_1", "i_0"] and rest.next_cursor is None


def test_a_logged_activity_is_recorded_once_per_interaction_id(deps: Deps):
    activity = working.parse_activity("call", "Call", None, None, datetime.now(UTC))
    first = service.log_activity("l_1", activity, "i_call", "k", deps.store, deps.assignments)
    second = service.log_activity("l_1", activity, "i_call", "k", deps.store, deps.assignments)
    assert (first.recorded, second.recorded) == (True, False)
    assert [i.interaction_id for i in records(deps).interactions["c_ada"]] == ["i_call"]
    assert (
        service.activity_id("k1", "key-1")
        == service.activity_id("k1", "key-1")
        != service.activity_id("k2", "key-1")
    )


def test_an_activity_type_that_is_a_list_or_object_is_a_field_error_not_a_crash():
    # found by schemathesis (tests/contract) after the merge: an unhashable type was a 500
    for bad in (["call"], {"call": 1}):
        with pytest.raises(ValidationFailed) as refused:
            working.parse_activity(bad, "Call", None, None, NOW)
        assert [e.field for e in refused.value.errors] == ["type"]
