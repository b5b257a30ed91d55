"""The console's reports as pure functions: the stage a lead's item shows, and score buckets."""

from __future__ import annotations

from chalicelib.api import views
from chalicelib.domain.reports import LeadStage, ScoreLine
from chalicelib.services.reports import STAGES, _reached, summarise


def stage(state: str, status: str, fired: bool = False, lead_id: str = "l_1") -> str:
    lead = LeadStage(lead_id=lead_id, state=state, status=status, rules_fired=fired, source=None)
    return STAGES[_reached(lead, scored={"l_scored"})]


def test_each_lead_is_placed_at_the_furthest_stage_its_item_shows():
    assert stage("open", "new") == "captured"
    assert stage("open", "new", lead_id="l_scored") == "scored"
    assert stage("open", "marketing_qualified") == "marketing_qualified"
    assert stage("open", "contacted", fired=True) == "marketing_qualified"
    assert stage("open", "sales_accepted") == "accepted"
    assert stage("qualified", "qualified") == "qualified"
    # a disqualified lead shows whether its rules fired and whether it is scored
    assert stage("disqualified", "spam") == "captured"
    assert stage("disqualified", "lost", lead_id="l_scored") == "scored"
    assert stage("disqualified", "lost", fired=True) == "marketing_qualified"


def test_a_reopened_lead_counts_from_its_new_round_as_the_caption_says():
    # qualified, then reopened: open/new in round 2, no rule fired yet in this round. The console's
    # caption says a lead counts up to the stage its current state shows, not the furthest it ever reached
    assert stage("open", "new", fired=False, lead_id="l_scored") == "scored"


def test_scores_fall_in_ten_point_buckets_negative_ones_included():
    lines = [
        ScoreLine("l_1", 95, "A", True),
        ScoreLine("l_2", 90, "A", True),
        ScoreLine("l_3", 9, "D", False),
        ScoreLine("l_4", -5, None, False),
    ]
    report = views.distribution(summarise("m", lines))
    assert report["buckets"] == [
        {"from": -10, "to": -1, "count": 1},
        {"from": 0, "to": 9, "count": 1},
        {"from": 90, "to": 99, "count": 2},
    ]
    assert report["grades"] == {"(none)": 1, "A": 2, "D": 1}
    assert (report["scored"], report["sales_ready"], report["truncated"]) == (4, 2, False)
