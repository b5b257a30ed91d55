"""Decay without rewriting (issue 19): a stored score computed at a later time equals the engine's,
and its timer is the first crossing of a grade's or the sales-ready line (pure: no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.entities import Contact, Interaction, Lead
from chalicelib.domain.predictive import evaluate
from chalicelib.domain.scoring import parse_model, score

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEAD = Lead("l_1", "c_1", {"topic": "Pricing"}, T0, T0)
CONTACT = Contact("c_1", "a@b.io", {"email": "a@b.io"}, T0, T0, consent="marketing")
DECAYING = {
    "rules": [
        {
            "id": "visits",
            "points": 10,
            "per_event": True,
            "max_points": 45,
            "when": {"event": "page_visited"},
        },
        {"id": "fit", "points": 5, "when": {"field": "lead.topic", "op": "eq", "value": "Pricing"}},
    ],
    "grades": [{"grade": "A", "min_score": 40}, {"grade": "B", "min_score": 20}, {"grade": "C"}],
    "sales_ready_score": 40,
    "decay": {"half_life_days": 10},
}


def visits(count: int, at: datetime) -> list[Interaction]:
    return [
        Interaction(f"i_{n}", "c_1", "page_visited", at - timedelta(hours=n), {"url": "/pricing"})
        for n in range(count)
    ]


def test_a_decaying_score_read_later_is_the_engines_score_at_that_time():
    model = parse_model("m", 1, DECAYING)
    seen = visits(6, T0)  # 60 points, capped at 45: the cap holds for a while, then decay shows
    stored = evaluate(model, LEAD, CONTACT, None, seen, T0)
    assert stored is not None and stored.score == 50
    for days in (1, 3, 7, 15, 40, 200):
        later = T0 + timedelta(days=days)
        engine = score(model, LEAD, CONTACT, None, seen, later)
        assert engine is not None
        assert stored.at(later).score == engine.score, days
        assert [round(e.points, 9) for e in stored.at(later).breakdown] == [
            round(e.points, 9) for e in engine.breakdown
        ]


def test_the_timer_is_the_first_time_decay_crosses_a_grade_or_the_sales_ready_line():
    model = parse_model("m", 1, DECAYING)
    seen = visits(6, T0)
    stored = evaluate(model, LEAD, CONTACT, None, seen, T0)
    assert stored is not None and (stored.grade, stored.sales_ready) == ("A", True)
    due = stored.next_check_at
    assert due is not None and due > T0
    just_before = score(model, LEAD, CONTACT, None, seen, due - timedelta(minutes=2))
    at_due = score(model, LEAD, CONTACT, None, seen, due)
    assert just_before is not None and at_due is not None
    assert (just_before.grade, just_before.sales_ready) == ("A", True)
    assert (at_due.grade, at_due.sales_ready) == ("B", False)
    # every day before it the stored grade is the engine's: no write is needed to keep it exact
    day = T0
    while day < due - timedelta(days=1):
        day += timedelta(days=1)
        assert score(model, LEAD, CONTACT, None, seen, day).grade == "A"


def test_a_windowed_models_timer_is_when_its_interaction_leaves_the_window():
    model = parse_model(
        "w",
        1,
        {"rules": [{"id": "asked", "points": 40, "when": {"event": "page_visited", "within_days": 30}}]},
    )
    [one] = visits(1, T0)
    stored = evaluate(model, LEAD, CONTACT, None, [one], T0)
    assert stored is not None and stored.next_check_at == one.occurred_at + timedelta(days=30)


def test_a_score_that_does_not_age_has_no_timer_and_reads_as_written():
    model = parse_model(
        "f",
        1,
        {
            "rules": [
                {"id": "fit", "points": 5, "when": {"field": "lead.topic", "op": "eq", "value": "Pricing"}}
            ]
        },
    )
    stored = evaluate(model, LEAD, CONTACT, None, [], T0)
    assert stored is not None and stored.aging is None and stored.next_check_at is None
    assert stored.at(T0 + timedelta(days=400)) == stored


def test_a_grade_is_the_range_of_scores_below_the_grades_listed_before_it():
    from chalicelib.domain.scoring import Grade, grade_bounds

    grades = [Grade("A", 80), Grade("B", 50), Grade("C", 25), Grade("D", None)]
    assert grade_bounds(grades, "A") == (80, None)
    assert grade_bounds(grades, "B") == (50, 80)
    assert grade_bounds(grades, "D") == (None, 25)
    assert grade_bounds(grades, "Z") == (None, None)
