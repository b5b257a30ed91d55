"""Kept interaction counts (issue 19, item 5), pure: an "all time" rule counted from ``Contact.agg``
with only the models' longest window read gives the score, grade, sales-readiness and points it gives
from the whole history; what cannot be counted (a ``where``, a decaying per-event rule, a predictive
model) makes the model read the history."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.entities import Contact, Interaction, Lead
from chalicelib.domain.interaction_counts import (
    bounded_lookback,
    count_key,
    countable,
    counted,
    summed,
    totals_for,
)
from chalicelib.domain.merging import merged, unmerged_counts
from chalicelib.domain.scoring import parse_model, score

AS_OF = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
B2B: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "models" / "b2b_default.json").read_text()
)
TYPES = ("email_clicked", "page_visited", "form_submitted", "email_unsubscribed", "email_opened")


def model(**changes: Any) -> Any:
    spec = copy.deepcopy(B2B)
    spec.update(changes)
    return parse_model("m", 1, spec)


ALL_TIME = [  # rules without a window, served from counts
    {"id": "ever-unsubscribed", "points": -50, "when": {"event": "email_unsubscribed"}},
    {"id": "many-visits", "points": 7, "when": {"event": "page_visited", "min_count": 5}},
    {"id": "no-form-ever", "points": -3, "when": {"event": "form_submitted", "max_count": 0}},
    {"id": "anything-twice", "points": 2, "when": {"event": "*", "min_count": 2}},
    {"id": "opens", "points": 1, "per_event": True, "max_points": 9, "when": {"event": "email_opened"}},
]


def counted_model() -> Any:
    spec = copy.deepcopy(B2B)
    spec.pop("decay")  # a per-event "all time" rule is countable without decay
    spec["rules"] = spec["rules"] + ALL_TIME
    return parse_model("m", 1, spec)


def history(seed: int) -> tuple[Lead, Contact, list[Interaction]]:
    rng = random.Random(seed)
    lead = Lead("l_1", "c_1", {"source": "landing_page"}, AS_OF - timedelta(days=800), AS_OF)
    contact = Contact(
        "c_1", "c@x.io", {"job_title": "Director"}, AS_OF, AS_OF, lead_ids=["l_1", "l_2"], consent="marketing"
    )
    found = []
    for n in range(rng.randint(0, 60)):
        age = timedelta(days=rng.uniform(-3, 700))  # some dated after as_of
        kind = rng.choice(TYPES)
        props = {"url": "/pricing"} if kind == "page_visited" and rng.random() < 0.5 else {}
        if kind == "form_submitted":
            props = {"form_id": rng.choice(["landing-demo", "other"])}
        lead_id = rng.choice([None, None, "l_1", "l_2"])  # l_2's do not count for l_1
        found.append(Interaction(f"i{n}", "c_1", kind, AS_OF - age, props, lead_id=lead_id))
    return lead, contact, found


@pytest.mark.parametrize("seed", range(60))
def test_a_window_and_the_kept_counts_score_as_the_whole_history_does(seed: int) -> None:
    m = counted_model()
    lead, contact, everything = history(seed)
    days = bounded_lookback([m])
    assert days == 90.0
    window = [i for i in everything if i.occurred_at >= AS_OF - timedelta(days=days)]
    totals = totals_for(lead, {"c_1": counted({}, everything)})
    whole = score(m, lead, contact, None, everything, AS_OF)
    bounded = score(m, lead, contact, None, window, AS_OF, totals)
    assert whole is not None and bounded is not None
    assert (bounded.score, bounded.grade, bounded.sales_ready) == (
        whole.score,
        whole.grade,
        whole.sales_ready,
    )
    assert [(r.rule_id, r.points) for r in bounded.breakdown] == [
        (r.rule_id, r.points) for r in whole.breakdown
    ]
    for line, full in zip(bounded.breakdown, whole.breakdown, strict=True):
        # the interactions named are those read: the window's share of the whole
        assert set(line.interaction_ids) <= set(full.interaction_ids)


def test_counts_per_type_and_lead_and_what_counts_for_a_lead() -> None:
    lead = Lead("l_1", "c_1", {}, AS_OF, AS_OF)
    mine = [
        Interaction("a", "c_1", "page_visited", AS_OF),
        Interaction("b", "c_1", "page_visited", AS_OF, lead_id="l_1"),
        Interaction("c", "c_1", "page_visited", AS_OF, lead_id="l_2"),  # another lead of the contact
    ]
    theirs = [Interaction("d", "c_2", "page_visited", AS_OF, lead_id="l_9")]  # a colleague's
    counts = counted({}, mine)
    assert counts == {"page_visited|": 1, "page_visited|l_1": 1, "page_visited|l_2": 1}
    assert count_key(mine[1]) == "page_visited|l_1"
    assert totals_for(lead, {"c_1": counts}) == {"page_visited": 2, "*": 2}
    assert totals_for(lead, {"c_1": counts, "c_2": counted({}, theirs)}) == {"page_visited": 3, "*": 3}
    assert summed({"x|": 1}, {"x|": 2, "y|": 1}) == {"x|": 3, "y|": 1}
    assert summed({"x|": 1}, None) is None, "a contact without counts makes the sum unknown"


def test_what_cannot_be_counted_reads_the_history() -> None:
    assert bounded_lookback([model()]) == 90.0  # b2b-default: its one "all time" rule is a plain count
    with_where = model(
        rules=[
            {
                "id": "p",
                "points": 1,
                "when": {"event": "page_visited", "where": {"field": "url", "op": "contains", "value": "x"}},
            }
        ]
    )
    decaying = model(rules=[{"id": "o", "points": 1, "per_event": True, "when": {"event": "email_opened"}}])
    assert not countable(with_where) and not countable(decaying)
    assert bounded_lookback([model(), with_where]) is None
    windowed_only = model(
        rules=[{"id": "w", "points": 1, "when": {"event": "page_visited", "within_days": 7}}]
    )
    assert bounded_lookback([windowed_only]) == 7.0


def test_a_merge_sums_the_counts_and_its_undo_gives_the_duplicates_theirs_back() -> None:
    at = AS_OF
    survivor = Contact("c_1", "a@x.io", {}, at, at, agg={"page_visited|": 2})
    duplicate = Contact("c_2", "b@x.io", {}, at, at, agg={"page_visited|": 1, "email_opened|l_2": 4})
    result = merged(survivor, [duplicate], at)
    assert result.agg == {"page_visited|": 3, "email_opened|l_2": 4}
    # after the merge the survivor recorded one more visit; the undo leaves it that one
    now = Contact("c_1", "a@x.io", {}, at, at, agg={"page_visited|": 4, "email_opened|l_2": 4})
    assert unmerged_counts(now, [duplicate]) == {"page_visited|": 3}
    assert merged(survivor, [Contact("c_3", None, {}, at, at)], at).agg is None
