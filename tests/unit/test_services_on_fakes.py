"""Use cases run on the in-memory fakes of their ports (tests/fakes.py): no moto, no sockets. Each mirrors
a moto integration test (named in its docstring), which stays as it is; these add what only a fake can
arrange cheaply: a write that loses its race on purpose."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.api import views
from chalicelib.domain.consent import ConsentUpdate
from chalicelib.domain.entities import Account, ConsentChange, Contact, Lead
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.lifecycle import TransitionRefused
from chalicelib.domain.qualification import Action, handoffs
from chalicelib.domain.segments import SegmentQuery
from chalicelib.services import consent, data_rights, duplicates, lifecycle, rules, segments
from chalicelib.services import handoffs as handoffs_service
from chalicelib.wiring import Deps
from tests.conftest import load_event
from tests.fakes import FakeHandoffs, FakeIdentity, FakeQueue, FakeRecordStore, fake_deps

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EMAIL = "ada.lovelace@analytical-engines.co.uk"
PHONE = "+442079460958"
RULE = load_event("rules/mql_default.json")


def person(contact_id: str, email: str, consent_level: str = "marketing", **fields: Any) -> Contact:
    history = [ConsentChange(consent_level, "form", NOW)] if consent_level != "none" else []
    return Contact(
        contact_id,
        email,
        {"email": email, **fields},
        NOW,
        NOW,
        consent=consent_level,
        consent_history=history,
    )


def records(deps: Deps) -> FakeRecordStore:
    assert isinstance(deps.store, FakeRecordStore)
    return deps.store


def sent(queue: Any) -> list[dict[str, Any]]:
    assert isinstance(queue, FakeQueue)
    return queue.sent


@pytest.fixture
def deps() -> Deps:
    return fake_deps()


@pytest.fixture
def ada(deps: Deps) -> tuple[str, str]:
    """Ada, her account and one open lead about pricing."""
    account = Account("a_1", "Analytical Engines Ltd", "analytical-engines.co.uk", {}, NOW, NOW)
    contact = person("c_ada", EMAIL, first_name="Ada", last_name="Lovelace", phone=PHONE, country="GB")
    contact.account_id, contact.lead_ids = "a_1", ["l_ada"]
    lead = Lead("l_ada", "c_ada", {"topic": "Pricing", "source": "web"}, NOW, NOW, account_id="a_1")
    records(deps).add(account, contact, lead)
    return "c_ada", "l_ada"


# ---------------------------------------------------------------- duplicates (test_identity.py)


def test_same_phone_is_a_strong_duplicate_and_a_similar_name_on_the_same_domain_a_weak_one(
    deps: Deps, ada: tuple[str, str]
):
    other = person("c_other", "ada@lovelace.example.net", first_name="Ada", last_name="Lovelace", phone=PHONE)
    namesake = person(
        "c_namesake", "a.lovelace@analytical-engines.co.uk", first_name="Ada", last_name="Lovelace"
    )
    records(deps).add(other, namesake)
    for contact_id in ("c_ada", "c_other", "c_namesake"):
        duplicates.detect(contact_id, deps, NOW)
    answer = duplicates.list_duplicates(deps)
    pairs = {frozenset(d["contact_ids"]): d for d in answer["duplicates"]}
    strong = pairs[frozenset({"c_ada", "c_other"})]
    assert strong["strength"] == "strong" and strong["reasons"][0]["kind"] == "same_phone"
    assert strong["lead_ids"]["c_ada"] == ["l_ada"]
    weak = pairs[frozenset({"c_ada", "c_namesake"})]
    assert weak["strength"] == "weak" and weak["confidence"] < 0.9
    suggestions = [views.suggestion(s) for s in duplicates.duplicate_of("c_other", deps.identity)]
    assert suggestions[0]["contact_id"] == "c_ada", "the strongest suggestion first"
    assert EMAIL not in json.dumps(answer)


def test_a_contact_being_erased_is_not_judged_again_nor_anyones_candidate(deps: Deps, ada: tuple[str, str]):
    store = records(deps)
    store.contacts["c_ada"].erasing = True
    other = person("c_other", "ada@lovelace.example.net", first_name="Ada", last_name="Lovelace", phone=PHONE)
    store.add(other)
    assert duplicates.detect("c_ada", deps, NOW) == 0
    assert isinstance(deps.identity, FakeIdentity)
    assert "c_ada" not in deps.identity.candidates(other)
    assert duplicates.detect("c_other", deps, NOW) == 0


# ---------------------------------------------------------------- consent (test_identity.py)


def test_withdrawn_consent_is_in_the_history_and_an_unknown_level_is_422(deps: Deps, ada: tuple[str, str]):
    answer = views.contact(consent.set_consent("c_ada", ConsentUpdate("none", "email"), deps))
    assert answer["consent"] == "none"
    assert [c["level"] for c in answer["consent_history"]] == ["marketing", "none"]
    with pytest.raises(ValidationFailed) as bad:
        consent.set_consent("c_ada", ConsentUpdate("maybe"), deps)
    assert bad.value.field == "level"


def test_a_consent_change_that_loses_its_race_is_made_again_on_the_contact_as_it_now_is(
    deps: Deps, ada: tuple[str, str]
):
    store = records(deps)
    store.races.lose(2)
    answer = views.contact(consent.set_consent("c_ada", ConsentUpdate("consent_given", "call"), deps))
    assert store.races.lost == 2
    assert [c["level"] for c in answer["consent_history"]] == ["marketing", "consent_given"], "written once"
    assert store.contacts["c_ada"].consent == "consent_given"


def test_an_erased_contact_answers_409_naming_the_erasure_and_an_unknown_one_404(deps: Deps):
    assert isinstance(deps.identity, FakeIdentity)
    deps.identity.markers["c_gone"] = {"erasure_id": "e_1"}
    with pytest.raises(Conflict) as erased:
        consent.set_consent("c_gone", ConsentUpdate("none"), deps)
    assert "e_1" in erased.value.message and erased.value.field == "contact_id"
    with pytest.raises(NotFound):
        data_rights.export("c_nobody", deps)


# -------------------------------------------------------- hand-offs (test_handoff.py, test_identity.py)


def one_handoff(deps: Deps, lead_id: str, at: datetime) -> str:
    lead = records(deps).leads[lead_id]
    [work] = handoffs(
        [Action("task", {"subject": "Call"})], "rule:r", (lead_id, "r", "1"), lead, None, None, {}, at
    )
    assert deps.handoffs.write_handoffs(handoffs_service.encoded([work], deps, at), at)
    return work.handoff_id


def test_no_handoff_is_published_for_a_contact_without_consent_and_the_timeline_says_why(
    deps: Deps, ada: tuple[str, str]
):
    records(deps).contacts["c_ada"] = person("c_ada", EMAIL, "none")
    handoff_id = one_handoff(deps, "l_ada", NOW)
    assert handoffs_service.publish_handoff(handoff_id, deps, NOW) is False
    assert sent(deps.handoff_queue) == []
    entries = deps.handoffs.history("l_ada", 10)
    withheld = [e for e in entries if e["kind"] == "handoff_withheld"]
    assert withheld and "never gave consent" in withheld[0]["reason"]


def test_a_withheld_handoff_names_its_work_on_the_timeline_not_its_id(deps: Deps, ada: tuple[str, str]):
    """Issue 17 item 7: the console showed a withheld hand-off by its id (a hash): no subject."""
    records(deps).contacts["c_ada"] = person("c_ada", EMAIL, "none")
    handoff_id = one_handoff(deps, "l_ada", NOW)
    assert handoffs_service.publish_handoff(handoff_id, deps, NOW) is False
    [withheld] = [e for e in deps.handoffs.history("l_ada", 10) if e["kind"] == "handoff_withheld"]
    assert withheld["subject"] == "Call" and withheld["handoff_id"] == handoff_id


def test_a_pending_handoff_is_sent_once_in_its_leads_group_and_a_replay_sends_nothing(
    deps: Deps, ada: tuple[str, str]
):
    handoff_id = one_handoff(deps, "l_ada", NOW)
    assert handoffs_service.publish_handoff(handoff_id, deps, NOW) is True
    assert handoffs_service.publish_handoff(handoff_id, deps, NOW) is False
    [message] = sent(deps.handoff_queue)
    assert (message["group"], message["deduplication_id"]) == ("l_ada", handoff_id)
    assert message["body"]["type"] == "leadflow.handoff.task"


def test_the_sweeper_sends_hand_offs_the_publisher_never_sent(deps: Deps, ada: tuple[str, str]):
    one_handoff(deps, "l_ada", NOW - timedelta(minutes=10))  # its stream record was lost
    assert handoffs_service.republish_unsent(deps, NOW) == 1
    assert handoffs_service.republish_unsent(deps, NOW) == 0, "sent once; no longer pending"


# ---------------------------------------------------------------- lifecycle (test_handoff.py)


def test_lifecycle_transitions_are_recorded_and_impossible_ones_are_409(deps: Deps, ada: tuple[str, str]):
    assert (
        views.transition_done(lifecycle.transition("l_ada", "accept", {}, "sales", deps))["status"]
        == "sales_accepted"
    )
    with pytest.raises(TransitionRefused) as again:
        lifecycle.transition("l_ada", "accept", {}, "sales", deps)
    assert again.value.code == "invalid_transition"
    with pytest.raises(ValidationFailed) as bad_reason:
        lifecycle.transition("l_ada", "disqualify", {"reason": "bored"}, "sales", deps)
    assert bad_reason.value.field == "reason"
    converted = views.transition_done(lifecycle.transition("l_ada", "qualify", {}, "sales", deps))
    assert (converted["state"], converted["status"]) == ("qualified", "qualified")
    opportunity = deps.handoffs.get_opportunity(converted["opportunity_id"])
    assert opportunity is not None and opportunity.name == "Analytical Engines Ltd: Pricing"
    assert records(deps).contacts["c_ada"].marketing_only is False
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.transition("l_ada", "disqualify", {"reason": "lost"}, "sales", deps)
    assert "qualified" in refused.value.message
    reopened = views.transition_done(lifecycle.transition("l_ada", "reopen", {}, "sales", deps))
    assert (reopened["state"], reopened["transition"]["round"]) == ("open", 2)
    timeline = lifecycle.timeline("l_ada", deps)["entries"]
    assert [e["action"] for e in timeline if e["kind"] == "transition"] == ["reopen", "qualify", "accept"]


def test_a_transition_that_loses_its_race_is_decided_again_on_the_lead_as_it_now_is(
    deps: Deps, ada: tuple[str, str]
):
    store = records(deps)
    store.races.lose(1)
    answer = views.transition_done(lifecycle.transition("l_ada", "accept", {}, "sales", deps))
    assert store.races.lost == 1 and answer["status"] == "sales_accepted"
    assert isinstance(deps.handoffs, FakeHandoffs)
    assert [e["action"] for e in deps.handoffs.history("l_ada", 10)] == ["accept"], "one transition recorded"


def test_a_lead_that_keeps_changing_is_409_after_the_attempts(deps: Deps, ada: tuple[str, str]):
    records(deps).races.lose(100)
    with pytest.raises(Conflict) as kept_changing:
        lifecycle.transition("l_ada", "accept", {}, "sales", deps)
    assert "kept changing" in kept_changing.value.message
    assert records(deps).leads["l_ada"].status == "new", "nothing written"


# ---------------------------------------------------------------- rules (test_handoff.py)


def test_rules_naming_unknown_models_or_placeholders_are_422(deps: Deps):
    with pytest.raises(ValidationFailed) as unknown_model:
        rules.put_rule("mql-default", {**RULE, "when": {"sales_ready": "nope"}}, deps)
    assert unknown_model.value.field == "when.sales_ready"
    template = json.loads(json.dumps(RULE))
    template["when"] = {"field": "contact.country", "op": "eq", "value": "GB"}
    template["actions"][0]["subject"] = "Call {person.name}"
    with pytest.raises(ValidationFailed) as placeholder:
        rules.put_rule("mql-default", template, deps)
    assert placeholder.value.field == "actions[0].subject"
    template["actions"][0]["subject"] = "Call {contact.first_name}"
    assert rules.put_rule("mql-default", template, deps)[0] is True
    assert [r["rule_id"] for r in rules.list_definitions(rules.QUALIFICATION, deps)] == ["mql-default"]


# ---------------------------------------------------------------- segments (test_identity.py)


def test_segment_query_returns_the_contacts_of_matching_leads_and_says_when_it_scanned(
    deps: Deps, ada: tuple[str, str]
):
    grace = person("c_grace", "grace@cobol.example.org", country="US")
    grace.lead_ids = ["l_grace"]
    records(deps).add(grace, Lead("l_grace", "c_grace", {"topic": "Demo"}, NOW, NOW))
    by_country = {"condition": {"field": "contact.country", "op": "eq", "value": "GB"}}
    answer = views.segment_page(segments.query_segment(SegmentQuery.of(**by_country), deps))
    assert [c["contact_id"] for c in answer["contacts"]] == ["c_ada"]
    assert answer["scanned"] is True
    open_ones = {"condition": {"field": "lead.state", "op": "eq", "value": "open"}, "limit": 1}
    seen, cursor = [], None
    while True:
        page = views.segment_page(segments.query_segment(SegmentQuery.of(**open_ones, cursor=cursor), deps))
        assert page["scanned"] is False and page["index"] == "by_state"
        seen += [c["contact_id"] for c in page["contacts"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["c_ada", "c_grace"]
    assert segments.put_segment("uk", {"name": "UK", **by_country}, deps.identity, deps.scoring)[0] is True
    by_id = views.segment_page(segments.query_segment(SegmentQuery(segment_id="uk"), deps))
    assert [c["contact_id"] for c in by_id["contacts"]] == ["c_ada"]


# ---------------------------------------------------------------- scoring to hand-off (test_handoff.py)


def test_a_sales_ready_lead_becomes_mql_and_each_action_is_one_handoff_once_per_round(deps: Deps):
    from chalicelib.domain.entities import Interaction
    from chalicelib.services import qualification, scoring
    from tests.fakes import FakeScoring

    assert isinstance(deps.scoring, FakeScoring)
    deps.scoring.activate("b2b-default", load_event("models/b2b_default.json"), NOW)
    contact = person("c_ada", EMAIL, first_name="Ada", job_title="Head of Engineering", country="GB")
    contact.account_id, contact.lead_ids = "a_1", ["l_ada"]
    account = Account("a_1", "Analytical Engines Ltd", None, {"employees": 250}, NOW, NOW)
    lead = Lead("l_ada", "c_ada", {"topic": "Pricing", "source": "landing_page"}, NOW, NOW, account_id="a_1")
    records(deps).add(account, contact, lead)
    asked = Interaction(
        "i_1", "c_ada", "form_submitted", NOW - timedelta(hours=1), {"form_id": "landing-demo"}
    )
    records(deps).record_interaction(asked)

    assert scoring.rescore_contacts(["c_ada"], deps, NOW) == 1
    assert deps.scoring.scores_of("l_ada")["b2b-default"].sales_ready
    rules.put_rule("mql-default", RULE, deps)
    assert qualification.qualify_lead("l_ada", deps, NOW) == 2
    assert qualification.qualify_lead("l_ada", deps, NOW) == 0, "the rules fired once this round"
    stored = records(deps).leads["l_ada"]
    assert (stored.state, stored.status) == ("open", "marketing_qualified")

    assert isinstance(deps.handoffs, FakeHandoffs)
    for handoff_id in list(deps.handoffs.outbox):
        assert handoffs_service.publish_handoff(handoff_id, deps, NOW)
    messages = sent(deps.handoff_queue)
    assert sorted(m["body"]["type"] for m in messages) == [
        "leadflow.handoff.opportunity",
        "leadflow.handoff.phone_call",
    ]
    for message in messages:
        event = message["body"]
        assert event["subject"] == "l_ada" and message["deduplication_id"] == event["id"]
        [score] = event["data"]["scores"]
        assert score["sales_ready"] is True and score["top_reasons"]
    call = next(m["body"]["data"]["handoff"] for m in messages if m["body"]["type"].endswith("phone_call"))
    assert call["subject"] == "Call Ada about Pricing" and call["due_at"]


def test_a_lead_that_qualifies_in_one_batch_is_read_once_not_again_after_the_write(deps: Deps):
    """Issue 19: the evaluation after a batch that fired every rule that holds read the lead, contact,
    account and scores again for nothing (4 read units a lead)."""
    from chalicelib.domain.entities import Interaction
    from chalicelib.services import qualification, scoring
    from tests.fakes import FakeScoring

    assert isinstance(deps.scoring, FakeScoring)
    deps.scoring.activate("b2b-default", load_event("models/b2b_default.json"), NOW)
    contact = person("c_ada", EMAIL, first_name="Ada", job_title="Head of Engineering", country="GB")
    contact.account_id, contact.lead_ids = "a_1", ["l_ada"]
    account = Account("a_1", "Analytical Engines Ltd", None, {"employees": 250}, NOW, NOW)
    lead = Lead("l_ada", "c_ada", {"topic": "Pricing", "source": "landing_page"}, NOW, NOW, account_id="a_1")
    records(deps).add(account, contact, lead)
    records(deps).record_interaction(
        Interaction("i_1", "c_ada", "form_submitted", NOW - timedelta(hours=1), {"form_id": "landing-demo"})
    )
    scoring.rescore_contacts(["c_ada"], deps, NOW)
    rules.put_rule("mql-default", RULE, deps)
    reads: list[str] = []
    get_lead = deps.store.get_lead

    def counted(lead_id: str) -> Lead | None:
        reads.append(lead_id)
        return get_lead(lead_id)

    deps.store.get_lead = counted  # type: ignore[method-assign]

    assert qualification.qualify_lead("l_ada", deps, NOW) == 2
    assert reads == ["l_ada"]


def _contact_change(event: str, old: list[str] | None, new: list[str], **changed: Any) -> Any:
    from chalicelib.domain.changes import ContactChange

    def image(lead_ids: list[str], **fields: Any) -> Contact:
        found = person("c_ada", EMAIL, **fields)
        found.lead_ids = lead_ids
        return found

    return ContactChange(
        event=event,  # type: ignore[arg-type]
        sequence="1",
        contact_id="c_ada",
        old=image(old) if old is not None else None,
        new=image(new, **changed),
    )


def test_a_new_lead_is_qualified_once_through_its_contacts_change_not_its_own_insert():
    from chalicelib.domain.changes import LeadChange
    from chalicelib.services.qualification import leads_to_qualify

    new_lead = Lead("l_2", "c_ada", {"topic": "Pricing"}, NOW, NOW)
    assert leads_to_qualify(LeadChange(event="INSERT", sequence="1", lead_id="l_2", new=new_lead)) == []
    assert leads_to_qualify(_contact_change("INSERT", None, ["l_1"])) == ["l_1"]
    assert leads_to_qualify(_contact_change("MODIFY", ["l_1"], ["l_1", "l_2"])) == ["l_2"]
    assert leads_to_qualify(_contact_change("MODIFY", ["l_1"], ["l_1"], country="FR")) == ["l_1"]
    assert leads_to_qualify(_contact_change("MODIFY", ["l_1"], ["l_1"])) == []
