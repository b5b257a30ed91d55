"""Golden scores of the example model ``b2b-default`` (scoring.md, events/models/b2b_default.json).

Every expected value is computed by hand from the contract; the arithmetic is in the comment above
each assertion. The engine is ``chalicelib/domain/scoring.py``; nothing here touches AWS.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.scoring import RuleScore, Score, ScoringModel, grade_of, parse_model, score

MODEL_FILE = Path(__file__).resolve().parents[2] / "events" / "models" / "b2b_default.json"
B2B: dict[str, Any] = json.loads(MODEL_FILE.read_text())
AS_OF = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------- plain-value builders


def b2b_model() -> ScoringModel:
    return parse_model("b2b-default", 3, copy.deepcopy(B2B))


def model_with(version: int = 1, **changes: Any) -> ScoringModel:
    """The example model with top-level keys replaced (``None`` removes one)."""
    spec = copy.deepcopy(B2B)
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return parse_model("custom", version, spec)


def make_lead(source: str | None = "landing_page", lead_id: str = "l_1", contact_id: str = "c_1") -> Lead:
    fields: dict[str, Any] = {"topic": "Pricing"}
    if source is not None:
        fields["source"] = source
    return Lead(lead_id, contact_id, fields, CREATED, CREATED, account_id="a_1")


def make_contact(
    job_title: str | None = "Software Engineer",
    consent: str = "marketing",
    contact_id: str = "c_1",
    lead_ids: tuple[str, ...] = ("l_1",),
) -> Contact:
    fields: dict[str, Any] = {"email": f"{contact_id}@acme.io"}
    if job_title is not None:
        fields["job_title"] = job_title
    return Contact(
        contact_id,
        f"{contact_id}@acme.io",
        fields,
        CREATED,
        CREATED,
        account_id="a_1",
        lead_ids=list(lead_ids),
        consent=consent,
    )


def make_account(employees: Any = 10) -> Account:
    return Account("a_1", "Acme", "acme.io", {"name": "Acme", "employees": employees}, CREATED, CREATED)


def event(
    interaction_id: str,
    kind: str,
    age: timedelta,
    *,
    url: str | None = None,
    lead_id: str | None = None,
    contact_id: str = "c_1",
) -> Interaction:
    properties = {"url": url} if url is not None else {}
    return Interaction(interaction_id, contact_id, kind, AS_OF - age, properties, lead_id=lead_id)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def run(
    interactions: list[Interaction],
    *,
    model: ScoringModel | None = None,
    lead: Lead | None = None,
    contact: Contact | None = None,
    account: Account | None = None,
) -> Score:
    result = score(
        model or b2b_model(),
        lead or make_lead(),
        contact or make_contact(),
        account or make_account(),
        interactions,
        AS_OF,
    )
    assert result is not None
    return result


def points(result: Score) -> dict[str, float]:
    return {entry.rule_id: entry.points for entry in result.breakdown}


def recent_visit(interaction_id: str = "i_blog") -> Interaction:
    """Keeps ``silent-90-days`` quiet without earning anything (a /blog page, no click)."""
    return event(interaction_id, "page_visited", days(1), url="https://acme.io/blog")


# ---------------------------------------------------------------- (a) the worked example


def test_example_model_parses_without_errors_or_warnings() -> None:
    model = b2b_model()
    assert [rule.rule_id for rule in model.rules] == [
        "senior-title",
        "big-company",
        "asked-for-a-call",
        "email-clicks",
        "pricing-twice",
        "silent-90-days",
        "unsubscribed",
    ]
    assert model.warnings == ()
    assert model.half_life_days == 30.0
    assert model.sales_ready_score == 70.0
    assert model.scope == "contact"


def test_head_of_engineering_at_250_employee_account_scores_53_grade_B_not_sales_ready() -> None:
    interactions = [
        event("i_click_0", "email_clicked", days(0)),
        event("i_click_30", "email_clicked", days(30)),
        event("i_pricing_1", "page_visited", days(1), url="https://acme.io/pricing"),
        event("i_pricing_13", "page_visited", days(13), url="https://acme.io/pricing?plan=team"),
        event("i_about_2", "page_visited", days(2), url="https://acme.io/about"),
    ]
    result = run(
        interactions,
        contact=make_contact("Head of Engineering"),
        account=make_account(250),
    )
    # senior-title: "Head of Engineering" matches (?i)\bhead\b                -> 20
    # big-company: 250 >= 200                                                  -> 10
    # email-clicks: 5 * 0.5**(0/30) + 5 * 0.5**(30/30) = 5 + 2.5               -> 7.5
    #   (30 days old is inside the window [as_of - 30d, as_of])
    # pricing-twice: 2 /pricing visits within 14 days (1 and 13 days old)     -> 15
    #   (the /about visit does not match the where)
    # silent-90-days: there are interactions within 90 days                   -> nothing
    # unsubscribed: none                                                       -> nothing
    # total = 20 + 10 + 7.5 + 15 = 52.5 -> rounded half away from zero = 53; 50 <= 53 < 80 -> B; 53 < 70
    assert result == Score(
        model_id="b2b-default",
        model_version=3,
        as_of=AS_OF,
        score=53,
        grade="B",
        sales_ready=False,
        breakdown=(
            RuleScore("senior-title", 20.0, ()),
            RuleScore("big-company", 10.0, ()),
            RuleScore("email-clicks", 7.5, ("i_click_0", "i_click_30")),
            RuleScore("pricing-twice", 15.0, ("i_pricing_1", "i_pricing_13")),
        ),
    )


def test_the_quickstart_lead_a_director_at_450_employees_asking_for_a_call_is_sales_ready() -> None:
    # docs/quickstart.md: the landing page's "call me back" form (landing-demo), filled in just now
    asked = Interaction(
        "s_quickstart", "c_1", "form_submitted", AS_OF - timedelta(minutes=1), {"form_id": "landing-demo"}
    )
    result = run([asked], contact=make_contact("Director of Engineering"), account=make_account(450))
    # senior-title: "Director of Engineering" matches (?i)\bdirector\b            -> 20
    # big-company: 450 >= 200                                                   -> 10
    # asked-for-a-call: a landing-demo form_submitted within 30 days (not decayed:
    #   decay applies to per-event rules only)                                  -> 40
    # silent-90-days: an interaction within 90 days                             -> nothing
    # total = 70 -> grade B (50 <= 70 < 80); 70 >= sales_ready_score 70 -> sales-ready
    assert (result.score, result.grade, result.sales_ready) == (70, "B", True)
    assert points(result) == {"senior-title": 20.0, "big-company": 10.0, "asked-for-a-call": 40.0}
    assert result.breakdown[2].interaction_ids == ("s_quickstart",)


def test_another_forms_submission_does_not_count_as_asking_for_a_call() -> None:
    # the demo's contact-us form: a question, not a request to be called
    other = Interaction(
        "s_other", "c_1", "form_submitted", AS_OF - timedelta(days=1), {"form_id": "contact-us"}
    )
    result = run([other], contact=make_contact("Director of Engineering"), account=make_account(450))
    # senior-title 20 + big-company 10 = 30 -> grade C, not sales-ready
    assert (result.score, result.grade, result.sales_ready) == (30, "C", False)


def test_breakdown_interaction_ids_are_sorted_whatever_the_input_order() -> None:
    interactions = [
        event("i_c", "email_clicked", days(3)),
        event("i_a", "email_clicked", days(1)),
        event("i_b", "email_clicked", days(2)),
    ]
    result = run(interactions)
    # every id of the three clicks, in sorted order
    assert result.breakdown[0].rule_id == "email-clicks"
    assert result.breakdown[0].interaction_ids == ("i_a", "i_b", "i_c")
    assert run(list(reversed(interactions))).breakdown[0].interaction_ids == ("i_a", "i_b", "i_c")


def test_one_pricing_visit_is_not_enough_for_pricing_twice() -> None:
    interactions = [
        event("i_pricing_1", "page_visited", days(1), url="https://acme.io/pricing"),
        event("i_pricing_20", "page_visited", days(20), url="https://acme.io/pricing"),
    ]
    result = run(interactions)
    # only one /pricing visit inside 14 days (the other is 20 days old) -> min_count 2 not met -> 0
    assert result.breakdown == ()
    assert result.score == 0
    # 0 < 25 -> the catch-all D
    assert result.grade == "D"


def test_pricing_match_ignores_case_of_the_url() -> None:
    interactions = [
        event("i_p1", "page_visited", days(1), url="https://acme.io/PRICING"),
        event("i_p2", "page_visited", days(14), url="https://acme.io/Pricing/enterprise"),
    ]
    # contains is a text comparison: case ignored; 14 days old is at the window's edge -> 2 visits -> 15
    assert points(run(interactions)) == {"pricing-twice": 15.0}


def test_job_title_without_a_senior_word_boundary_earns_nothing() -> None:
    # "Headhunter" has "head" but not as a whole word (\bhead\b fails); "VP Sales" matches \bvp\b
    assert "senior-title" not in points(run([recent_visit()], contact=make_contact("Headhunter")))
    assert points(run([recent_visit()], contact=make_contact("VP Sales"))) == {"senior-title": 20.0}


def test_big_company_compares_employee_counts_as_numbers() -> None:
    # "1,200" -> 1200 >= 200 -> 10; 199 < 200 -> nothing; 200 >= 200 -> 10; missing -> nothing
    assert points(run([recent_visit()], account=make_account("1,200"))) == {"big-company": 10.0}
    assert points(run([recent_visit()], account=make_account(199))) == {}
    assert points(run([recent_visit()], account=make_account(200))) == {"big-company": 10.0}
    assert points(run([recent_visit()], account=make_account(None))) == {}


# ---------------------------------------------------------------- (b) (c) cap and decay


def test_ten_clicks_today_earn_50_capped_to_25() -> None:
    clicks = [event(f"i_click_{n}", "email_clicked", days(0)) for n in range(10)]
    result = run(clicks)
    # 10 * 5 * 0.5**0 = 50 > max_points 25 -> 25; total 25 -> score 25; 25 <= 25 < 50 -> C
    assert result.breakdown == (
        RuleScore("email-clicks", 25.0, tuple(sorted(i.interaction_id for i in clicks))),
    )
    assert result.score == 25
    assert result.grade == "C"
    assert result.sales_ready is False


def test_decay_applies_before_the_cap() -> None:
    clicks = [event(f"i_old_{n}", "email_clicked", days(30)) for n in range(6)]
    result = run(clicks)
    # decay first: 6 * 5 * 0.5**(30/30) = 6 * 2.5 = 15 <= 25 -> 15, no cap
    # (capping first would give min(30, 25) * 0.5 = 12.5)
    assert points(result) == {"email-clicks": 15.0}
    assert result.score == 15


def test_cap_applies_to_the_decayed_sum() -> None:
    clicks = [event(f"i_new_{n}", "email_clicked", days(0)) for n in range(4)]
    clicks += [event(f"i_old_{n}", "email_clicked", days(30)) for n in range(4)]
    # 4 * 5 + 4 * 2.5 = 20 + 10 = 30 > 25 -> 25
    assert points(run(clicks)) == {"email-clicks": 25.0}


def test_clicks_older_than_30_days_do_not_count() -> None:
    clicks = [
        event("i_in", "email_clicked", days(29)),
        event("i_out", "email_clicked", days(30) + timedelta(seconds=1)),
    ]
    result = run(clicks)
    # only the 29-day-old click: 5 * 0.5**(29/30)
    assert result.breakdown == (RuleScore("email-clicks", 5 * 0.5 ** (29 / 30), ("i_in",)),)
    # 5 * 0.5**(29/30) = 2.5575... -> 3
    assert result.score == 3


# ---------------------------------------------------------------- (d) silence


def test_contact_without_any_interaction_gets_silent_penalty_without_ids() -> None:
    result = run([])
    # silent-90-days: 0 interactions in the last 90 days, max_count 0 -> -10, no ids
    assert result.breakdown == (RuleScore("silent-90-days", -10.0, ()),)
    # -10 -> no threshold met (all > -10) -> catch-all D
    assert result.score == -10
    assert result.grade == "D"


def test_interaction_100_days_ago_still_gets_silent_penalty() -> None:
    result = run([event("i_old", "email_opened", days(100))])
    # the 100-day-old open is outside [as_of - 90d, as_of] -> still silent -> -10, no ids
    assert result.breakdown == (RuleScore("silent-90-days", -10.0, ()),)
    assert result.score == -10


def test_interaction_exactly_90_days_ago_breaks_the_silence() -> None:
    result = run([event("i_edge", "email_opened", days(90))])
    # exactly as_of - 90 days is inside the window (inclusive) -> 1 interaction > max_count 0 -> nothing
    assert result.breakdown == ()
    assert result.score == 0


def test_interaction_of_any_type_breaks_the_silence() -> None:
    # "*" matches any type, even one Leadflow does not know
    result = run([event("i_x", "survey_answered", days(89))])
    assert result.breakdown == ()


# ---------------------------------------------------------------- (e) unsubscribed


def test_unsubscribe_long_ago_still_costs_50() -> None:
    result = run([event("i_unsub", "email_unsubscribed", days(400)), recent_visit()])
    # no within_days: any time up to as_of -> -50; the recent visit keeps silent-90-days quiet
    # total -50 -> -50 -> catch-all D
    assert result.breakdown == (RuleScore("unsubscribed", -50.0, ("i_unsub",)),)
    assert result.score == -50
    assert result.grade == "D"


def test_old_unsubscribe_alone_costs_both_silence_and_unsubscribe() -> None:
    result = run([event("i_unsub", "email_unsubscribed", days(400))])
    # silent (nothing in 90 days) -10 + unsubscribed -50 = -60
    assert result.breakdown == (
        RuleScore("silent-90-days", -10.0, ()),
        RuleScore("unsubscribed", -50.0, ("i_unsub",)),
    )
    assert result.score == -60


def test_unsubscribe_at_as_of_counts() -> None:
    result = run([event("i_unsub", "email_unsubscribed", days(0)), recent_visit()])
    # occurred_at == as_of is inside "any time up to as_of"
    assert points(result) == {"unsubscribed": -50.0}


def test_unsubscribe_dated_after_as_of_does_not_count() -> None:
    future = event("i_future", "email_unsubscribed", -timedelta(hours=1))
    result = run([future, recent_visit()])
    # interactions dated after as_of never count -> 0
    assert result.breakdown == ()
    assert result.score == 0


def test_future_interaction_does_not_break_the_silence() -> None:
    result = run([event("i_future", "page_visited", -timedelta(minutes=1), url="/pricing")])
    # the only interaction is after as_of -> none in the window -> -10
    assert result.breakdown == (RuleScore("silent-90-days", -10.0, ()),)


# ---------------------------------------------------------------- (f) audience and consent


@pytest.mark.parametrize("source", ["landing_page", "linkedin", "import", " LinkedIn "])
def test_lead_from_an_audience_source_is_scored(source: str) -> None:
    # in: a text comparison, case and surrounding spaces ignored
    assert score(b2b_model(), make_lead(source), make_contact(), make_account(), [], AS_OF) is not None


@pytest.mark.parametrize("source", ["webinar", "event", None])
def test_lead_outside_the_audience_is_not_scored(source: str | None) -> None:
    assert score(b2b_model(), make_lead(source), make_contact(), make_account(), [], AS_OF) is None


@pytest.mark.parametrize("consent", ["none", "consent_given", "transactional", "subscriptions"])
def test_consent_below_marketing_is_not_scored(consent: str) -> None:
    contact = make_contact("Head of Engineering", consent=consent)
    assert score(b2b_model(), make_lead(), contact, make_account(250), [], AS_OF) is None


@pytest.mark.parametrize("consent", ["marketing", "profiling"])
def test_consent_at_or_above_marketing_is_scored(consent: str) -> None:
    contact = make_contact("Head of Engineering", consent=consent)
    result = score(b2b_model(), make_lead(), contact, make_account(250), [], AS_OF)
    assert result is not None
    # 20 + 10 - 10 (silent) = 20
    assert result.score == 20


def test_lead_without_a_contact_is_not_scored_by_a_model_requiring_consent() -> None:
    assert score(b2b_model(), make_lead(), None, make_account(), [], AS_OF) is None


def test_model_without_audience_or_consent_scores_everyone() -> None:
    model = model_with(audience=None, min_consent=None)
    result = score(model, make_lead("webinar"), make_contact(consent="none"), make_account(), [], AS_OF)
    assert result is not None
    # only silent-90-days: -10
    assert result.score == -10


# ---------------------------------------------------------------- (g) grades and sales-ready


@pytest.mark.parametrize(
    ("value", "grade"),
    [(100, "A"), (80, "A"), (79, "B"), (50, "B"), (49, "C"), (25, "C"), (24, "D"), (0, "D"), (-60, "D")],
)
def test_grade_of_uses_exact_thresholds(value: int, grade: str) -> None:
    assert grade_of(b2b_model(), value) == grade


def fixed_points_model(total: int) -> ScoringModel:
    """The example's grades and sales-ready line with one rule that always gives ``total``."""
    rules = [{"id": "fixed", "points": total, "when": {"field": "lead.topic", "op": "exists"}}]
    return model_with(rules=rules, audience=None, min_consent=None, decay=None)


@pytest.mark.parametrize(
    ("total", "grade", "sales_ready"),
    [
        (80, "A", True),
        (79, "B", True),
        (70, "B", True),
        (69, "B", False),
        (50, "B", False),
        (49, "C", False),
        (25, "C", False),
        (24, "D", False),
    ],
)
def test_score_at_a_threshold_gets_that_grade_and_sales_ready_from_70(
    total: int, grade: str, sales_ready: bool
) -> None:
    result = run([], model=fixed_points_model(total))
    assert (result.score, result.grade, result.sales_ready) == (total, grade, sales_ready)


def test_example_model_reaches_exactly_70_and_is_sales_ready() -> None:
    clicks = [event(f"i_click_{n}", "email_clicked", days(0)) for n in range(5)]
    visits = [
        event("i_p1", "page_visited", days(0), url="/pricing"),
        event("i_p2", "page_visited", days(0), url="/pricing"),
    ]
    result = run(clicks + visits, contact=make_contact("Director of IT"), account=make_account(200))
    # 20 + 10 + 5 * 5 (= 25, at the cap) + 15 = 70 -> B (70 < 80), sales_ready (70 >= 70)
    assert result.score == 70
    assert result.grade == "B"
    assert result.sales_ready is True


def test_example_model_just_below_70_is_not_sales_ready() -> None:
    clicks = [event(f"i_click_{n}", "email_clicked", days(0)) for n in range(4)]
    clicks.append(event("i_click_10", "email_clicked", days(10)))
    visits = [
        event("i_p1", "page_visited", days(0), url="/pricing"),
        event("i_p2", "page_visited", days(0), url="/pricing"),
    ]
    result = run(clicks + visits, contact=make_contact("Chief Executive"), account=make_account(5000))
    # clicks: 4 * 5 + 5 * 0.5**(10/30) = 20 + 3.9685 = 23.9685
    # total 20 + 10 + 23.9685 + 15 = 68.9685 -> 69 -> B, not sales-ready
    assert points(result)["email-clicks"] == pytest.approx(20 + 5 * 0.5 ** (1 / 3))
    assert result.score == 69
    assert result.grade == "B"
    assert result.sales_ready is False


def test_model_without_grades_gives_no_grade_and_without_line_is_never_sales_ready() -> None:
    rules = [{"id": "fixed", "points": 1000, "when": {"field": "lead.topic", "op": "exists"}}]
    model = model_with(rules=rules, grades=[], sales_ready_score=None, decay=None)
    result = run([], model=model)
    assert (result.score, result.grade, result.sales_ready) == (1000, None, False)


def test_no_grade_when_no_entry_matches() -> None:
    rules = [{"id": "fixed", "points": 10, "when": {"field": "lead.topic", "op": "exists"}}]
    model = model_with(rules=rules, grades=[{"grade": "A", "min_score": 80}, {"grade": "B", "min_score": 50}])
    # 10 is below every threshold and there is no catch-all
    assert run([], model=model).grade is None


# ---------------------------------------------------------------- (h) which leads' interactions count


def test_interactions_naming_another_lead_of_the_contact_do_not_count() -> None:
    contact = make_contact(lead_ids=("l_1", "l_2"))
    interactions = [
        event("i_mine", "email_clicked", days(0), lead_id="l_1"),
        event("i_shared", "email_clicked", days(0)),
        event("i_other", "email_clicked", days(0), lead_id="l_2"),
    ]
    for_l1 = run(interactions, lead=make_lead(lead_id="l_1"), contact=contact)
    # l_1: its own click + the shared one = 2 * 5 = 10
    assert for_l1.breakdown == (RuleScore("email-clicks", 10.0, ("i_mine", "i_shared")),)
    for_l2 = run(interactions, lead=make_lead(lead_id="l_2"), contact=contact)
    # l_2: its own click + the shared one = 2 * 5 = 10
    assert for_l2.breakdown == (RuleScore("email-clicks", 10.0, ("i_other", "i_shared")),)


def test_only_interactions_naming_another_lead_leave_this_lead_silent() -> None:
    contact = make_contact(lead_ids=("l_1", "l_2"))
    interactions = [event("i_other", "email_clicked", days(0), lead_id="l_2")]
    result = run(interactions, lead=make_lead(lead_id="l_1"), contact=contact)
    # for l_1 nothing counts -> silent-90-days -10
    assert result.breakdown == (RuleScore("silent-90-days", -10.0, ()),)


def test_unsubscribe_naming_another_lead_does_not_count_for_this_lead() -> None:
    contact = make_contact(lead_ids=("l_1", "l_2"))
    interactions = [event("i_unsub", "email_unsubscribed", days(1), lead_id="l_2"), recent_visit()]
    result = run(interactions, lead=make_lead(lead_id="l_1"), contact=contact)
    assert result.breakdown == ()


# ---------------------------------------------------------------- (i) rounding and clamping


def decayed_model(points_each: int, **extra: Any) -> ScoringModel:
    spec: dict[str, Any] = {
        "rules": [
            {"id": "clicks", "points": points_each, "per_event": True, "when": {"event": "email_clicked"}}
        ],
        "decay": {"half_life_days": 30},
        **extra,
    }
    return parse_model("rounding", 1, spec)


def test_negative_half_rounds_away_from_zero() -> None:
    result = run([event("i_1", "email_clicked", days(30))], model=decayed_model(-5))
    # -5 * 0.5**(30/30) = -2.5 -> half away from zero -> -3
    assert result.breakdown == (RuleScore("clicks", -2.5, ("i_1",)),)
    assert result.score == -3


def test_positive_half_rounds_away_from_zero() -> None:
    result = run([event("i_1", "email_clicked", days(30))], model=decayed_model(5))
    # 5 * 0.5 = 2.5 -> 3 (not banker's 2)
    assert result.score == 3


def test_other_fractions_round_to_nearest() -> None:
    # 3 clicks 60 days old: 3 * 5 * 0.25 = 3.75 -> 4; 1 click 60 days old: 5 * 0.25 = 1.25 -> 1
    three = [event(f"i_{n}", "email_clicked", days(60)) for n in range(3)]
    assert run(three, model=decayed_model(5)).score == 4
    assert run(three[:1], model=decayed_model(5)).score == 1
    # -1.25 -> -1
    assert run(three[:1], model=decayed_model(-5)).score == -1


def test_max_score_clamps_but_breakdown_keeps_the_unclamped_total() -> None:
    spec = {
        "rules": [
            {"id": "a", "points": 100, "when": {"field": "lead.topic", "op": "exists"}},
            {"id": "b", "points": 50, "when": {"field": "lead.topic", "op": "exists"}},
        ],
        "grades": [{"grade": "A", "min_score": 100}, {"grade": "B"}],
        "sales_ready_score": 120,
        "max_score": 100,
        "min_score": 0,
    }
    result = run([], model=parse_model("clamp", 1, spec))
    # 100 + 50 = 150 -> clamped to max_score 100; grade from the clamped 100 -> A; 100 < 120
    assert result.score == 100
    assert result.grade == "A"
    assert result.sales_ready is False
    assert sum(entry.points for entry in result.breakdown) == 150.0


def test_min_score_clamps_but_breakdown_keeps_the_unclamped_total() -> None:
    spec = {
        "rules": [{"id": "unsub", "points": -60, "when": {"event": "email_unsubscribed"}}],
        "max_score": 100,
        "min_score": -20,
    }
    result = run([event("i_unsub", "email_unsubscribed", days(5))], model=parse_model("clamp", 1, spec))
    # -60 -> clamped to min_score -20; breakdown still -60
    assert result.score == -20
    assert result.breakdown == (RuleScore("unsub", -60.0, ("i_unsub",)),)


def test_clamp_applies_after_rounding() -> None:
    model = decayed_model(5, max_score=2)
    result = run([event("i_1", "email_clicked", days(30))], model=model)
    # 2.5 -> rounded 3 -> clamped to 2; the breakdown keeps 2.5
    assert result.score == 2
    assert result.breakdown == (RuleScore("clicks", 2.5, ("i_1",)),)


@pytest.mark.parametrize(("bounds", "points_each"), [({"min_score": 2.5}, 0), ({"max_score": -2.5}, 0)])
def test_clamped_score_never_crosses_a_fractional_bound(bounds: dict[str, float], points_each: int) -> None:
    spec: dict[str, Any] = {
        "rules": [{"id": "fixed", "points": points_each, "when": {"field": "lead.topic", "op": "exists"}}],
        **bounds,
    }
    result = run([], model=parse_model("clamp", 1, spec))
    # total 0: min_score 2.5 must give a score >= 2.5 (3); max_score -2.5 a score <= -2.5 (-3)
    assert result.score >= bounds.get("min_score", -1e9)
    assert result.score <= bounds.get("max_score", 1e9)


# ---------------------------------------------------------------- (j) account scope


def account_model() -> ScoringModel:
    spec = {
        "scope": "account",
        "rules": [
            {
                "id": "downloads",
                "points": 10,
                "per_event": True,
                "max_points": 40,
                "when": {"event": "content_downloaded", "within_days": 60},
            },
            {"id": "demo-request", "points": 30, "when": {"event": "form_submitted"}},
        ],
        "grades": [{"grade": "hot", "min_score": 50}, {"grade": "cold"}],
    }
    return parse_model("abm", 2, spec)


def test_account_scope_counts_interactions_of_every_contact_passed() -> None:
    model = account_model()
    assert model.scope == "account"
    interactions = [
        event("i_ada", "content_downloaded", days(1), contact_id="c_1"),
        event("i_bob", "content_downloaded", days(2), contact_id="c_2"),
        event("i_cy", "content_downloaded", days(3), contact_id="c_3"),
        event("i_bob_form", "form_submitted", days(4), contact_id="c_2"),
    ]
    result = run(interactions, model=model)
    # downloads: 3 * 10 = 30 (<= 40, no decay in this model); demo-request (Bob's form): 30
    # total 60 -> hot
    assert result.breakdown == (
        RuleScore("downloads", 30.0, ("i_ada", "i_bob", "i_cy")),
        RuleScore("demo-request", 30.0, ("i_bob_form",)),
    )
    assert (result.score, result.grade) == (60, "hot")


def test_account_scope_still_ignores_another_lead_of_the_same_contact() -> None:
    contact = make_contact(lead_ids=("l_1", "l_9"))
    interactions = [
        event("i_ada_l9", "form_submitted", days(1), contact_id="c_1", lead_id="l_9"),
        event("i_ada", "content_downloaded", days(1), contact_id="c_1"),
    ]
    result = run(interactions, model=account_model(), contact=contact)
    # the form names l_9, another lead of the same contact -> only the download: 10
    assert result.breakdown == (RuleScore("downloads", 10.0, ("i_ada",)),)


def test_account_scope_counts_a_colleagues_interaction_naming_the_colleagues_own_lead() -> None:
    interactions = [event("i_bob_form", "form_submitted", days(1), contact_id="c_2", lead_id="l_bob")]
    result = run(interactions, model=account_model())
    # Bob (c_2) is another contact of the account; his form names his own lead l_bob -> demo-request 30
    assert result.breakdown == (RuleScore("demo-request", 30.0, ("i_bob_form",)),)


def test_account_scope_with_an_empty_account_scores_zero() -> None:
    result = run([], model=account_model())
    assert (result.score, result.grade, result.breakdown) == (0, "cold", ())
