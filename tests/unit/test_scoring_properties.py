"""Properties of the scoring engine over random leads and interactions (hypothesis; scoring.md).

The example model's total is recomputed here from the contract alone (:func:`contract_total`), so the
engine's breakdown is checked against an independent reading of scoring.md, not against itself.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.consent import CONSENT_LEVELS, consent_rank
from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.scoring import Score, ScoringModel, grade_of, parse_model, score

MODEL_FILE = Path(__file__).resolve().parents[2] / "events" / "models" / "b2b_default.json"
B2B_SPEC: dict[str, Any] = json.loads(MODEL_FILE.read_text())
B2B = parse_model("b2b-default", 1, copy.deepcopy(B2B_SPEC))
AS_OF = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = 86400
PROPERTIES = settings(max_examples=200, deadline=None)

#: Every rule's event condition has within_days; the longest window is 90 days.
WINDOWED = parse_model(
    "windowed",
    1,
    {
        "rules": [
            {
                "id": "clicks",
                "points": 5,
                "per_event": True,
                "max_points": 25,
                "when": {"event": "email_clicked", "within_days": 30},
            },
            {
                "id": "pricing-twice",
                "points": 15,
                "when": {
                    "event": "page_visited",
                    "where": {"field": "url", "op": "contains", "value": "/pricing"},
                    "within_days": 14,
                    "min_count": 2,
                },
            },
            {"id": "silent", "points": -10, "when": {"event": "*", "within_days": 90, "max_count": 0}},
            {"id": "unsub", "points": -50, "when": {"event": "email_unsubscribed", "within_days": 60}},
            {
                "id": "form-or-quiet",
                "points": 7,
                "when": {
                    "any": [
                        {"event": "form_submitted", "within_days": 45},
                        {"not": {"event": "email_opened", "within_days": 7}},
                    ]
                },
            },
        ],
        "grades": [{"grade": "A", "min_score": 40}, {"grade": "B", "min_score": 0}, {"grade": "C"}],
        "sales_ready_score": 30,
        "decay": {"half_life_days": 21},
    },
)

#: Per-event rules with caps (positive and negative) and one without.
CAPPED = parse_model(
    "capped",
    1,
    {
        "rules": [
            {
                "id": "clicks",
                "points": 5,
                "per_event": True,
                "max_points": 25,
                "when": {"event": "email_clicked"},
            },
            {
                "id": "opens",
                "points": -7,
                "per_event": True,
                "max_points": 20,
                "when": {"event": "email_opened", "within_days": 60},
            },
            {
                "id": "visits",
                "points": 3,
                "per_event": True,
                "max_points": 0,
                "when": {"event": "page_visited"},
            },
            {"id": "forms", "points": 11, "per_event": True, "when": {"event": "form_submitted"}},
        ],
        "decay": {"half_life_days": 10},
    },
)

TYPES = ["email_clicked", "page_visited", "email_unsubscribed", "email_opened", "form_submitted"]
URLS = ["https://acme.io/pricing", "/PRICING?plan=team", " /pricing ", "/blog", "/about", "pricing", ""]
TITLES = ["Head of Engineering", "VP Sales", "director", "Chief of Staff", "Engineer", "Headhunter", ""]
#: Mostly inside the example's audience and consent, so that most examples are scored.
SOURCES = ["landing_page", "linkedin", "import", " LinkedIn ", "landing_page", "linkedin", "webinar"]
CONSENTS = ["marketing", "profiling", "marketing", "profiling", *CONSENT_LEVELS]
BOUNDARIES = [0, 14 * DAY, 30 * DAY, 90 * DAY, 14 * DAY + 1, 30 * DAY + 1, 90 * DAY + 1]


@dataclass(frozen=True)
class Case:
    lead: Lead
    contact: Contact
    account: Account
    interactions: list[Interaction]


def round_half_away(value: float) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@st.composite
def interactions(draw: st.DrawFn, min_age: int = -3 * DAY, max_age: int = 200 * DAY) -> list[Interaction]:
    edges = [a for a in BOUNDARIES if min_age <= a <= max_age] + [min_age, max_age]
    ages = st.one_of(st.sampled_from(edges), st.integers(min_age, max_age))
    count = draw(st.integers(0, 12))
    found = []
    for index in range(count):
        kind = draw(st.sampled_from(TYPES))
        url = draw(st.one_of(st.none(), st.sampled_from(URLS)))
        properties: dict[str, Any] = {} if url is None else {"url": url}
        found.append(
            Interaction(
                f"i_{index:02d}",
                "c_1",
                kind,
                AS_OF - timedelta(seconds=draw(ages)),
                properties,
                lead_id=draw(st.sampled_from([None, None, "l_1", "l_2"])),
            )
        )
    return found


@st.composite
def cases(draw: st.DrawFn) -> Case:
    source = draw(st.sampled_from([*SOURCES, None]))
    title = draw(st.one_of(st.none(), st.sampled_from(TITLES), st.text(max_size=20)))
    employees = draw(
        st.one_of(
            st.none(),
            st.integers(-10, 5000),
            st.integers(0, 5000).map(str),
            st.sampled_from(["1,200", "abc", "", " 250 ", "199.5"]),
        )
    )
    consent = draw(st.sampled_from(CONSENTS))
    lead = Lead("l_1", "c_1", {} if source is None else {"source": source}, CREATED, CREATED)
    contact = Contact(
        "c_1",
        "ada@acme.io",
        {} if title is None else {"job_title": title},
        CREATED,
        CREATED,
        lead_ids=["l_1", "l_2"],
        consent=consent,
    )
    account = Account(
        "a_1", "Acme", "acme.io", {} if employees is None else {"employees": employees}, CREATED, CREATED
    )
    return Case(lead, contact, account, draw(interactions()))


def run(model: ScoringModel, case: Case, extra: list[Interaction] | None = None) -> Score | None:
    return score(model, case.lead, case.contact, case.account, case.interactions + (extra or []), AS_OF)


# ---------------------------------------------------------------- the contract, read independently


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(str(value).strip().replace(",", ""))
    except ValueError:
        return None


def _age(interaction: Interaction) -> timedelta:
    return AS_OF - interaction.occurred_at


def _within(interaction: Interaction, days: float | None) -> bool:
    age = _age(interaction)
    return age >= timedelta(0) and (days is None or age <= timedelta(days=days))


def _fit_points(case: Case) -> float:
    total = 0.0
    title = case.contact.fields.get("job_title")
    if title not in (None, "") and re.search(r"(?i)\b(director|vp|chief|head)\b", str(title)):
        total += 20
    employees = _number(case.account.fields.get("employees"))
    if employees is not None and employees >= 200:
        total += 10
    return total


def _engagement_points(counted: list[Interaction]) -> float:
    total = 0.0
    clicks = [i for i in counted if i.type == "email_clicked" and _within(i, 30)]
    if clicks:
        decayed = sum(5 * 0.5 ** (_age(i).total_seconds() / DAY / 30) for i in clicks)
        total += min(decayed, 25.0)
    pricing = [
        i
        for i in counted
        if i.type == "page_visited"
        and _within(i, 14)
        and "/pricing" in str(i.properties.get("url", "")).strip().casefold()
        and i.properties.get("url") not in (None, "")
    ]
    if len(pricing) >= 2:
        total += 15
    if not any(_within(i, 90) for i in counted):
        total -= 10
    if any(i.type == "email_unsubscribed" and _within(i, None) for i in counted):
        total -= 50
    return total


def contract_total(case: Case, extra: list[Interaction] | None = None) -> float | None:
    """The example model's unrounded total per scoring.md, or ``None`` when it does not score the lead."""
    source = case.lead.fields.get("source")
    if source is None or source.strip().casefold() not in {"landing_page", "linkedin", "import"}:
        return None
    if consent_rank(case.contact.consent) < consent_rank("marketing"):
        return None
    counted = [i for i in case.interactions + (extra or []) if i.lead_id in (None, "l_1")]
    return _fit_points(case) + _engagement_points(counted)


# ---------------------------------------------------------------- properties


@PROPERTIES
@given(cases())
def test_breakdown_adds_up_to_the_contract_total_and_score_rounds_it(case: Case) -> None:
    expected = contract_total(case)
    result = run(B2B, case)
    if expected is None:
        assert result is None
        return
    assert result is not None
    total = sum(entry.points for entry in result.breakdown)
    assert math.isclose(total, expected, rel_tol=1e-9, abs_tol=1e-9)
    assert result.score == round_half_away(total)
    assert abs(result.score - expected) <= 0.5 + 1e-9


@PROPERTIES
@given(cases())
def test_grade_and_sales_ready_follow_the_score(case: Case) -> None:
    result = run(B2B, case)
    if result is None:
        return
    assert result.grade == grade_of(B2B, result.score)
    assert result.grade is not None  # the example ends with a catch-all
    assert result.sales_ready == (result.score >= 70)
    assert (result.model_id, result.model_version, result.as_of) == ("b2b-default", 1, AS_OF)


@PROPERTIES
@given(cases())
def test_same_inputs_give_the_identical_score(case: Case) -> None:
    first = run(B2B, case)
    again = score(
        parse_model("b2b-default", 1, copy.deepcopy(B2B_SPEC)),
        copy.deepcopy(case.lead),
        copy.deepcopy(case.contact),
        copy.deepcopy(case.account),
        copy.deepcopy(case.interactions),
        AS_OF,
    )
    assert first == again
    assert first is None or first.same_result(again)


@PROPERTIES
@given(cases())
def test_breakdown_lists_only_rules_that_gave_points_and_their_counted_interactions(case: Case) -> None:
    result = run(B2B, case)
    if result is None:
        return
    rule_ids = [rule.rule_id for rule in B2B.rules]
    listed = [entry.rule_id for entry in result.breakdown]
    assert listed == sorted(set(listed), key=rule_ids.index)  # model order, each once
    counted = {i.interaction_id for i in case.interactions if i.lead_id in (None, "l_1") and _within(i, None)}
    for entry in result.breakdown:
        assert list(entry.interaction_ids) == sorted(entry.interaction_ids)
        assert set(entry.interaction_ids) <= counted


@PROPERTIES
@given(cases(), interactions(min_age=90 * DAY + 1, max_age=400 * DAY))
def test_interaction_older_than_every_window_changes_nothing(case: Case, old: list[Interaction]) -> None:
    assert WINDOWED.lookback_days == 90.0
    renamed = [
        Interaction(f"old_{i.interaction_id}", i.contact_id, i.type, i.occurred_at, i.properties, i.lead_id)
        for i in old
    ]
    assert run(WINDOWED, case, renamed) == run(WINDOWED, case)


@PROPERTIES
@given(cases(), interactions(min_age=-60 * DAY, max_age=-1))
def test_interaction_dated_after_as_of_changes_nothing(case: Case, future: list[Interaction]) -> None:
    renamed = [
        Interaction(f"new_{i.interaction_id}", i.contact_id, i.type, i.occurred_at, i.properties, i.lead_id)
        for i in future
    ]
    for model in (B2B, WINDOWED, CAPPED):
        assert run(model, case, renamed) == run(model, case)


@PROPERTIES
@given(cases(), st.lists(st.sampled_from(TYPES), max_size=6))
def test_interaction_naming_another_lead_changes_nothing(case: Case, kinds: list[str]) -> None:
    others = [
        Interaction(f"other_{n}", "c_1", kind, AS_OF - timedelta(days=n), {"url": "/pricing"}, lead_id="l_2")
        for n, kind in enumerate(kinds)
    ]
    for model in (B2B, WINDOWED, CAPPED):
        assert run(model, case, others) == run(model, case)


@PROPERTIES
@given(cases())
def test_per_event_contribution_never_exceeds_max_points(case: Case) -> None:
    for model in (B2B, WINDOWED, CAPPED):
        result = run(model, case)
        if result is None:
            continue
        rules = {rule.rule_id: rule for rule in model.rules}
        for entry in result.breakdown:
            rule = rules[entry.rule_id]
            if rule.per_event:
                assert abs(entry.points) <= abs(rule.points) * len(entry.interaction_ids)
                assert math.copysign(1, entry.points) == math.copysign(1, rule.points) or entry.points == 0
            if rule.max_points is not None:
                assert abs(entry.points) <= rule.max_points


@PROPERTIES
@given(cases())
def test_windowed_and_capped_models_grade_consistently(case: Case) -> None:
    for model in (WINDOWED, CAPPED):
        result = run(model, case)
        assert result is not None  # no audience, no consent requirement
        total = sum(entry.points for entry in result.breakdown)
        assert result.score == round_half_away(total)
        assert result.grade == grade_of(model, result.score)
        assert result.sales_ready == (
            model.sales_ready_score is not None and result.score >= model.sales_ready_score
        )


# ---------------------------------------------------------------- order of the interactions


DECAY_ONLY = parse_model(
    "order",
    1,
    {
        "rules": [{"id": "clicks", "points": 5, "per_event": True, "when": {"event": "email_clicked"}}],
        "decay": {"half_life_days": 30},
    },
)


def test_order_of_the_interactions_does_not_change_the_score() -> None:
    # ages in microseconds: about 48.2, 24.0 and 70.2 days; 5 * 0.5**(age/30) each, summing to 5.5
    ages = [4161844360665, 2075085610643, 6069429114803]
    clicks = [
        Interaction(f"i_{n}", "c_1", "email_clicked", AS_OF - timedelta(microseconds=age))
        for n, age in enumerate(ages)
    ]
    lead = Lead("l_1", "c_1", {}, CREATED, CREATED)
    contact = Contact("c_1", "ada@acme.io", {}, CREATED, CREATED)
    results = {
        score(DECAY_ONLY, lead, contact, None, list(order), AS_OF) for order in itertools.permutations(clicks)
    }
    assert len({r.score for r in results if r is not None}) == 1
    assert len(results) == 1
