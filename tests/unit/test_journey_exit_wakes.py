"""Which stream changes may end a running journey for their person (``exit_wakes``), and what the running
journeys' exits read (``exit_watch``): pure, without moto. A change that wakes costs one keyed query
and a look; one that does not costs nothing, so both directions matter."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.changes import (
    AccountChange,
    AnyChange,
    ContactChange,
    InteractionChange,
    LeadChange,
    ScoreChange,
)
from chalicelib.domain.entities import Contact, Lead
from chalicelib.domain.journeys import Catalog, ExitWatch, exit_wakes, exit_watch, parse_journey

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
CONTACT = Contact("c1", "ada@example.com", {"country": "GB"}, NOW, NOW, lead_ids=["l1"], consent="marketing")
LEAD = Lead("l1", "c1", {"topic": "pricing"}, NOW, NOW)
EXITS = ExitWatch(qualified=True, unsubscribed=True)  # the default exits, no goal
GOAL = ExitWatch(qualified=True, unsubscribed=True, goal=True)
NOTHING = ExitWatch()  # every running journey turned both exits off and has no goal


def contact(event: str = "MODIFY", old: Contact | None = CONTACT, **new: Any) -> ContactChange:
    return ContactChange(event=event, sequence="1", contact_id="c1", old=old, new=replace(CONTACT, **new))  # type: ignore[arg-type]


def lead(event: str = "MODIFY", old: Lead | None = LEAD, **new: Any) -> LeadChange:
    return LeadChange(event=event, sequence="1", lead_id="l1", old=old, new=replace(LEAD, **new))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "watch", "wakes"),
    [
        # consent: going down wakes (the unsubscribe exit); going up, or no unsubscribe exit, does not
        (contact(consent="none"), EXITS, True),
        (contact(consent="transactional"), EXITS, True),
        (contact(consent="profiling"), EXITS, False),
        (contact(consent="none"), NOTHING, False),
        # an erasure beginning: the person is gone from every journey
        (contact(erasing=True), NOTHING, True),
        # a contact's field: only a goal may read it
        (contact(fields={"country": "US"}), EXITS, False),
        (contact(fields={"country": "US"}), GOAL, True),
        (contact(last_interaction_at=NOW), GOAL, False),  # nothing a goal reads
        # a new contact is in no journey yet; a change that lost its old image cannot be told apart
        (contact("INSERT", old=None, consent="none"), GOAL, False),
        (contact(old=None), EXITS, True),
        # a lead becoming marketing-qualified (qualification's own status write) or beyond
        (lead(status="marketing_qualified"), EXITS, True),
        (lead(status="sales_accepted"), EXITS, True),
        (lead(state="qualified", status="qualified"), EXITS, True),
        (lead(status="marketing_qualified"), NOTHING, False),
        # already qualified before: no new exit; disqualified: none without a goal, which reads status
        (lead(old=replace(LEAD, status="marketing_qualified"), status="contacted"), EXITS, False),
        (lead(state="disqualified", status="disqualified"), EXITS, False),
        (lead(state="disqualified", status="disqualified"), GOAL, True),
        (lead(fields={"budget": "50k"}), EXITS, False),
        (lead(fields={"budget": "50k"}), GOAL, True),
        (lead(version=7), GOAL, False),  # a write that changes nothing a goal reads
        # a new lead: qualified already (an import), or any new lead when a goal may read it
        (lead("INSERT", old=None), EXITS, False),
        (lead("INSERT", old=None, status="marketing_qualified"), EXITS, True),
        (lead("INSERT", old=None), GOAL, True),
        (lead(old=None), EXITS, True),
        (lead("REMOVE"), GOAL, False),
        # a score: only a goal reads scores
        (ScoreChange(event="MODIFY", sequence="1", lead_id="l1", model_id="b2b"), EXITS, False),
        (ScoreChange(event="MODIFY", sequence="1", lead_id="l1", model_id="b2b"), GOAL, True),
        # other tables' changes are not the qualify consumer's to wake on
        (AccountChange(event="MODIFY", sequence="1", account_id="a1"), GOAL, False),
        (InteractionChange(event="INSERT", sequence="1", contact_id="c1", interaction_id="i1"), GOAL, False),
    ],
)
def test_a_change_wakes_its_person_only_when_it_may_end_a_running_journey(
    change: AnyChange, watch: ExitWatch, wakes: bool
) -> None:
    assert exit_wakes(change, watch) is wakes


BODY: dict[str, Any] = {
    "name": "Nurture",
    "entry": {"api": True},
    "steps": [{"id": "pause", "type": "wait", "days": 2}],
}
CATALOG = Catalog(templates={}, segments=frozenset(), forms=frozenset(), models=frozenset())


def journey(**changes: Any) -> Any:
    body = copy.deepcopy(BODY)
    body.update(changes)
    return parse_journey("j", body, CATALOG)


def test_the_watch_is_what_any_running_version_reads_and_none_when_nothing_runs() -> None:
    assert exit_watch([]) is None
    assert exit_watch([journey()]) == EXITS
    quiet = journey(exits={"qualified": False, "unsubscribed": False})
    assert exit_watch([quiet]) == NOTHING
    goal = journey(goal={"field": "lead.status", "op": "eq", "value": "sales_accepted"})
    assert exit_watch([quiet, goal]) == GOAL
