"""The condition language's operators, events and combinators (chalicelib/domain/rules.py, scoring.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.rules import Compiler, Condition, EventLeaf, Facts

AS_OF = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: A field that is not there at all (unlike one holding None or "").
ABSENT = object()


def compile_ok(spec: dict[str, Any]) -> Condition:
    compiler = Compiler()
    condition = compiler.condition(spec, "when")
    assert compiler.errors == []
    assert condition is not None
    return condition


def facts(
    *,
    lead: dict[str, Any] | None = None,
    contact: dict[str, Any] | None = None,
    account: dict[str, Any] | None = None,
    interactions: list[Interaction] | None = None,
    consent: str = "marketing",
    state: str = "open",
    status: str = "new",
) -> Facts:
    return Facts(
        Lead("l_1", "c_1", dict(lead or {}), CREATED, CREATED, state=state, status=status),
        Contact("c_1", "ada@acme.io", dict(contact or {}), CREATED, CREATED, consent=consent),
        Account("a_1", "Acme", "acme.io", dict(account or {}), CREATED, CREATED),
        interactions or [],
        AS_OF,
    )


def field_holds(path: str, op: str, value: Any, actual: Any) -> bool:
    """Does ``{"field": path, "op": op, "value": value}`` hold when the field's value is ``actual``?
    (``actual`` is :data:`ABSENT` for a field that is not there at all.)"""
    spec: dict[str, Any] = {"field": path, "op": op}
    if op not in ("exists", "missing"):
        spec["value"] = value
    entity, name = path.split(".", 1)
    values: dict[str, Any] = {} if actual is ABSENT else {name: actual}
    by_entity: dict[str, dict[str, Any]] = {"lead": {}, "contact": {}, "account": {}}
    by_entity[entity] = values
    holds, ids = compile_ok(spec).test(
        facts(lead=by_entity["lead"], contact=by_entity["contact"], account=by_entity["account"])
    )
    assert ids == frozenset()
    return holds


def title(op: str, value: Any, actual: Any) -> bool:
    return field_holds("contact.job_title", op, value, actual)


def at(age: timedelta) -> datetime:
    return AS_OF - age


def event(
    interaction_id: str, kind: str, age: timedelta, properties: dict[str, Any] | None = None
) -> Interaction:
    return Interaction(interaction_id, "c_1", kind, at(age), dict(properties or {}))


def event_test(spec: dict[str, Any], interactions: list[Interaction]) -> tuple[bool, frozenset[str]]:
    return compile_ok(spec).test(facts(interactions=interactions))


# ---------------------------------------------------------------- text comparisons


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("eq", "director", " Director ", True),
        ("eq", " DIRECTOR ", "director", True),
        ("eq", "director", "Director of IT", False),
        ("ne", "director", " Director ", False),
        ("ne", "director", "VP", True),
        ("contains", "OF it", "Director of IT", True),
        ("contains", "sales", "Director of IT", False),
        ("not_contains", "sales", "Director of IT", True),
        ("not_contains", " IT ", "Director of it", False),
        ("starts_with", "director", "  DIRECTOR of IT", True),
        ("starts_with", "of", "Director of IT", False),
        ("ends_with", "it", "Director of IT  ", True),
        ("ends_with", "director", "Director of IT", False),
        ("eq", "STRASSE", "straße", True),  # casefold, not lower()
    ],
)
def test_text_comparisons_ignore_case_and_surrounding_spaces(
    op: str, value: str, actual: str, expected: bool
) -> None:
    assert title(op, value, actual) is expected


@pytest.mark.parametrize(
    ("value", "actual", "expected"),
    [
        (["US", "CA"], " us ", True),
        (["US", "CA"], "Ca", True),
        (["US", "CA"], "GB", False),
        (["US", "CA"], "USA", False),
    ],
)
def test_in_compares_each_item_as_text(value: list[str], actual: str, expected: bool) -> None:
    assert field_holds("contact.country", "in", value, actual) is expected
    assert field_holds("contact.country", "not_in", value, actual) is (not expected)


def test_in_compares_numbers_as_numbers() -> None:
    assert field_holds("account.employees", "in", [10, 250], "250") is True
    assert field_holds("account.employees", "in", ["250.0"], 250) is True
    assert field_holds("account.employees", "not_in", [10, 250], 251) is True


def test_multi_valued_field_holds_when_any_value_holds() -> None:
    assert field_holds("contact.tags", "eq", "vip", ["new", "VIP"]) is True
    assert field_holds("contact.tags", "contains", "ip", ["new", "VIP"]) is True
    # negated: none of the values may match
    assert field_holds("contact.tags", "ne", "vip", ["new", "VIP"]) is False
    assert field_holds("contact.tags", "not_in", ["x", "y"], ["new", "VIP"]) is True


# ---------------------------------------------------------------- matches


@pytest.mark.parametrize(
    ("pattern", "actual", "expected"),
    [
        (r"\bVP\b", "Senior VP Sales", True),  # searched, not anchored
        (r"\bVP\b", "Senior vp Sales", False),  # case-sensitive
        (r"(?i)\bvp\b", "Senior VP Sales", True),  # unless (?i)
        (r"^VP", "Senior VP", False),  # ^ anchors at the start of the value
        (r"(?i)\b(director|vp|chief|head)\b", "Head of Engineering", True),
        (r"(?i)\b(director|vp|chief|head)\b", "Headhunter", False),
        (r"^\s", " VP", True),  # the raw value, surrounding spaces included
    ],
)
def test_matches_is_a_case_sensitive_regex_search(pattern: str, actual: str, expected: bool) -> None:
    assert title("matches", pattern, actual) is expected


def test_matches_on_a_number_searches_its_text() -> None:
    assert field_holds("account.employees", "matches", r"^25\d$", 250) is True


# ---------------------------------------------------------------- numbers and dates


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("gte", 200, "250", True),
        ("gte", 200, 200, True),
        ("gt", 200, 200, False),
        ("gt", "200", 1000, True),  # "1000" > "200" is false as text, true as numbers
        ("lt", 200, "1,000", False),  # thousands separator: 1000
        ("lte", 200.5, 200, True),
        ("lt", 10, " 9 ", True),
        ("eq", 250, "250.0", True),
        ("eq", "250", 250, True),
        ("ne", 250, "250.00", False),
        ("gte", 1, "abc", False),
        ("lt", 1, "abc", False),
        ("gt", 0, True, False),  # a boolean is not a number
    ],
)
def test_numbers_compare_as_numbers(op: str, value: Any, actual: Any, expected: bool) -> None:
    assert field_holds("account.employees", op, value, actual) is expected


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("lt", "2026-11-24T00:00:00Z", "2026-11-01", True),
        ("gt", "2026-11-24T00:00:00Z", "2026-11-01", False),
        ("gte", "2026-11-24", "2026-11-24T00:00:00+00:00", True),
        ("lte", "2026-11-24", "2026-11-24T00:00:00Z", True),
        ("eq", "2026-11-24T00:00:00Z", "2026-11-24", True),  # a date is its midnight UTC
        ("eq", "2026-11-24T12:00:00+02:00", "2026-11-24T10:00:00Z", True),  # same moment
        ("gt", "2026-11-24T12:00:00+02:00", "2026-11-24T10:30:00Z", True),
        ("lt", "2027-01-01", "2026-12-31T23:59:59Z", True),
        ("lt", "2026-01-01", "not a date", False),
        ("gt", "2026-01-01", "2026-13-45", False),  # not a valid date
    ],
)
def test_iso_dates_compare_as_dates(op: str, value: str, actual: str, expected: bool) -> None:
    assert field_holds("lead.demo_date", op, value, actual) is expected


def test_date_field_holding_a_datetime_compares_as_a_moment() -> None:
    assert field_holds("lead.demo_date", "gt", "2026-11-01", datetime(2026, 11, 2, tzinfo=UTC)) is True


# ---------------------------------------------------------------- missing fields


ALL_VALUED_OPS: list[tuple[str, Any]] = [
    ("eq", "x"),
    ("ne", "x"),
    ("in", ["x"]),
    ("not_in", ["x"]),
    ("contains", "x"),
    ("not_contains", "x"),
    ("starts_with", "x"),
    ("ends_with", "x"),
    ("matches", ".*"),
    ("gt", 1),
    ("gte", 1),
    ("lt", 1),
    ("lte", 1),
]


@pytest.mark.parametrize("actual", [ABSENT, None, "", []])
@pytest.mark.parametrize(("op", "value"), ALL_VALUED_OPS)
def test_missing_field_makes_every_valued_op_false(op: str, value: Any, actual: Any) -> None:
    # ne, not_in, not_contains included: a missing value is not "different from x"
    assert field_holds("contact.job_title", op, value, actual) is False


@pytest.mark.parametrize("actual", [ABSENT, None, "", []])
def test_missing_field_is_missing_and_does_not_exist(actual: Any) -> None:
    assert title("missing", None, actual) is True
    assert title("exists", None, actual) is False


@pytest.mark.parametrize("actual", ["VP", 0, False, " x ", ["a"], 0.0])
def test_present_field_exists_and_is_not_missing(actual: Any) -> None:
    assert title("exists", None, actual) is True
    assert title("missing", None, actual) is False


def test_field_of_an_absent_entity_is_missing() -> None:
    condition = compile_ok({"field": "account.employees", "op": "missing"})
    no_account = Facts(None, None, None, [], AS_OF)
    assert condition.test(no_account) == (True, frozenset())
    assert compile_ok({"field": "account.employees", "op": "ne", "value": 1}).test(no_account)[0] is False


def test_lead_state_status_and_contact_consent_are_fields() -> None:
    ready = facts(consent="profiling", state="open", status="contacted")
    assert compile_ok({"field": "lead.state", "op": "eq", "value": "OPEN"}).test(ready)[0] is True
    assert compile_ok({"field": "lead.status", "op": "in", "value": ["contacted"]}).test(ready)[0] is True
    assert compile_ok({"field": "contact.consent", "op": "eq", "value": "profiling"}).test(ready)[0] is True


# ---------------------------------------------------------------- combinators


def test_all_needs_every_part() -> None:
    spec = {
        "all": [
            {"field": "contact.country", "op": "eq", "value": "US"},
            {"field": "account.employees", "op": "gte", "value": 200},
        ]
    }
    condition = compile_ok(spec)
    assert condition.test(facts(contact={"country": "us"}, account={"employees": 300}))[0] is True
    assert condition.test(facts(contact={"country": "us"}, account={"employees": 3}))[0] is False
    assert condition.test(facts(contact={"country": "fr"}, account={"employees": 300}))[0] is False


def test_any_needs_one_part() -> None:
    spec = {
        "any": [
            {"field": "contact.country", "op": "eq", "value": "US"},
            {"field": "account.employees", "op": "gte", "value": 200},
        ]
    }
    condition = compile_ok(spec)
    assert condition.test(facts(contact={"country": "fr"}, account={"employees": 300}))[0] is True
    assert condition.test(facts(contact={"country": "us"}))[0] is True
    assert condition.test(facts(contact={"country": "fr"}, account={"employees": 3}))[0] is False


def test_not_negates_including_a_missing_field() -> None:
    condition = compile_ok({"not": {"field": "contact.country", "op": "eq", "value": "US"}})
    assert condition.test(facts(contact={"country": "US"}))[0] is False
    assert condition.test(facts(contact={"country": "FR"}))[0] is True
    # eq on a missing field is false, so its negation is true (unlike ne)
    assert condition.test(facts())[0] is True


def test_combinators_nest() -> None:
    spec = {
        "all": [
            {
                "any": [
                    {"field": "contact.country", "op": "in", "value": ["US", "CA"]},
                    {"field": "lead.vip", "op": "exists"},
                ]
            },
            {
                "not": {
                    "any": [
                        {"field": "contact.job_title", "op": "contains", "value": "intern"},
                        {"not": {"field": "account.employees", "op": "gt", "value": 50}},
                    ]
                }
            },
        ]
    }
    condition = compile_ok(spec)
    # (country in US/CA or vip) and not (intern or not employees > 50)
    assert condition.test(facts(contact={"country": "CA", "job_title": "CTO"}, account={"employees": 51}))[0]
    assert condition.test(facts(lead={"vip": "yes"}, contact={"country": "FR"}, account={"employees": 900}))[
        0
    ]
    assert not condition.test(
        facts(contact={"country": "US", "job_title": "Intern"}, account={"employees": 900})
    )[0]
    assert not condition.test(facts(contact={"country": "US"}, account={"employees": 50}))[0]
    assert not condition.test(facts(contact={"country": "FR"}, account={"employees": 900}))[0]


def test_all_unions_interaction_ids_any_keeps_those_that_held_not_drops_them() -> None:
    clicks = [event("i_click", "email_clicked", timedelta(days=1))]
    visits = [event("i_visit", "page_visited", timedelta(days=2), {"url": "/pricing"})]
    both = compile_ok({"all": [{"event": "email_clicked"}, {"event": "page_visited"}]})
    assert both.test(facts(interactions=clicks + visits)) == (True, frozenset({"i_click", "i_visit"}))
    either = compile_ok({"any": [{"event": "email_clicked"}, {"event": "form_submitted"}]})
    assert either.test(facts(interactions=clicks + visits)) == (True, frozenset({"i_click"}))
    negated = compile_ok({"not": {"event": "form_submitted"}})
    assert negated.test(facts(interactions=clicks)) == (True, frozenset())


# ---------------------------------------------------------------- event leaves


def test_event_counts_only_its_type_and_star_counts_all() -> None:
    interactions = [
        event("i_1", "email_clicked", timedelta(days=1)),
        event("i_2", "page_visited", timedelta(days=1)),
        event("i_3", "survey_answered", timedelta(days=1)),
    ]
    assert event_test({"event": "email_clicked"}, interactions) == (True, frozenset({"i_1"}))
    assert event_test({"event": "*", "min_count": 3}, interactions) == (
        True,
        frozenset({"i_1", "i_2", "i_3"}),
    )
    assert event_test({"event": "form_submitted"}, interactions) == (False, frozenset())


def test_window_is_inclusive_at_both_ends() -> None:
    spec = {"event": "email_clicked", "within_days": 14}
    tiny = timedelta(microseconds=1)
    inside_start = [event("i_start", "email_clicked", timedelta(days=14))]
    outside_start = [event("i_before", "email_clicked", timedelta(days=14) + tiny)]
    inside_end = [event("i_now", "email_clicked", timedelta(0))]
    outside_end = [event("i_after", "email_clicked", -tiny)]
    assert event_test(spec, inside_start) == (True, frozenset({"i_start"}))
    assert event_test(spec, outside_start) == (False, frozenset())
    assert event_test(spec, inside_end) == (True, frozenset({"i_now"}))
    assert event_test(spec, outside_end) == (False, frozenset())


def test_fractional_window() -> None:
    spec = {"event": "page_visited", "within_days": 0.5}
    assert event_test(spec, [event("i_1", "page_visited", timedelta(hours=12))])[0] is True
    assert event_test(spec, [event("i_1", "page_visited", timedelta(hours=12, seconds=1))])[0] is False


def test_no_window_means_any_time_up_to_as_of() -> None:
    spec = {"event": "email_unsubscribed"}
    assert event_test(spec, [event("i_old", "email_unsubscribed", timedelta(days=9000))])[0] is True
    assert event_test(spec, [event("i_next", "email_unsubscribed", -timedelta(seconds=1))])[0] is False


def test_min_count_defaults_to_one() -> None:
    spec = {"event": "email_clicked", "within_days": 30}
    assert event_test(spec, []) == (False, frozenset())
    one = [event("i_1", "email_clicked", timedelta(days=1))]
    assert event_test(spec, one) == (True, frozenset({"i_1"}))


def test_min_count_defaults_to_zero_when_max_count_is_given() -> None:
    spec = {"event": "email_clicked", "within_days": 30, "max_count": 1}
    one = [event("i_1", "email_clicked", timedelta(days=1))]
    two = [*one, event("i_2", "email_clicked", timedelta(days=2))]
    assert event_test(spec, []) == (True, frozenset())
    assert event_test(spec, one) == (True, frozenset({"i_1"}))
    assert event_test(spec, two) == (False, frozenset())


def test_max_count_zero_means_no_such_interaction() -> None:
    spec = {"event": "*", "within_days": 90, "max_count": 0}
    assert event_test(spec, []) == (True, frozenset())
    assert event_test(spec, [event("i_old", "email_opened", timedelta(days=91))]) == (True, frozenset())
    assert event_test(spec, [event("i_new", "email_opened", timedelta(days=90))]) == (False, frozenset())


def test_min_and_max_count_bound_the_count_inclusively() -> None:
    spec = {"event": "email_opened", "min_count": 2, "max_count": 3}
    opens = [event(f"i_{n}", "email_opened", timedelta(days=n)) for n in range(5)]
    assert [event_test(spec, opens[:n])[0] for n in range(5)] == [False, False, True, True, False]


def test_compiled_event_leaf_carries_its_defaults() -> None:
    leaf = compile_ok({"event": "email_clicked", "within_days": 7})
    assert isinstance(leaf, EventLeaf)
    assert (leaf.min_count, leaf.max_count, leaf.within_days) == (1, None, 7.0)
    leaf = compile_ok({"event": "email_clicked", "max_count": 4})
    assert isinstance(leaf, EventLeaf)
    assert (leaf.min_count, leaf.max_count, leaf.within_days) == (0, 4, None)


def test_where_reads_event_properties_with_the_same_ops() -> None:
    spec = {
        "event": "page_visited",
        "where": {"field": "url", "op": "contains", "value": "/PRICING"},
        "min_count": 2,
    }
    visits = [
        event("i_1", "page_visited", timedelta(days=1), {"url": "https://acme.io/pricing"}),
        event("i_2", "page_visited", timedelta(days=2), {"url": "https://acme.io/Pricing?x=1"}),
        event("i_3", "page_visited", timedelta(days=3), {"url": "https://acme.io/blog"}),
        event("i_4", "page_visited", timedelta(days=4), {}),
    ]
    assert event_test(spec, visits) == (True, frozenset({"i_1", "i_2"}))
    assert event_test(spec, visits[1:]) == (False, frozenset())


def test_where_reads_nested_properties() -> None:
    spec = {"event": "page_visited", "where": {"field": "utm.source", "op": "eq", "value": "linkedin"}}
    assert event_test(
        spec, [event("i_1", "page_visited", timedelta(days=1), {"utm": {"source": "LinkedIn"}})]
    )[0]
    assert not event_test(spec, [event("i_1", "page_visited", timedelta(days=1), {"utm": {"source": "x"}})])[
        0
    ]
    assert not event_test(spec, [event("i_1", "page_visited", timedelta(days=1), {"utm": "linkedin"})])[0]
    assert not event_test(
        spec, [event("i_1", "page_visited", timedelta(days=1), {"utm.source": "linkedin"})]
    )[0]
    assert not event_test(spec, [event("i_1", "page_visited", timedelta(days=1), {})])[0]


def test_where_missing_property_makes_negated_ops_false() -> None:
    spec = {"event": "page_visited", "where": {"field": "campaign", "op": "ne", "value": "spring"}}
    assert event_test(spec, [event("i_1", "page_visited", timedelta(days=1), {})]) == (False, frozenset())
    assert (
        event_test(spec, [event("i_1", "page_visited", timedelta(days=1), {"campaign": "fall"})])[0] is True
    )


def test_where_combinators_nest() -> None:
    where = {
        "all": [
            {"field": "url", "op": "starts_with", "value": "https://acme.io/"},
            {
                "not": {
                    "any": [
                        {"field": "url", "op": "ends_with", "value": "/careers"},
                        {"field": "bot", "op": "exists"},
                    ]
                }
            },
        ]
    }
    spec = {"event": "page_visited", "where": where}
    ok = event("i_ok", "page_visited", timedelta(days=1), {"url": "https://acme.io/pricing"})
    careers = event("i_jobs", "page_visited", timedelta(days=1), {"url": "https://acme.io/careers"})
    bot = event("i_bot", "page_visited", timedelta(days=1), {"url": "https://acme.io/pricing", "bot": True})
    other = event("i_else", "page_visited", timedelta(days=1), {"url": "https://else.io/pricing"})
    assert event_test(spec, [ok, careers, bot, other]) == (True, frozenset({"i_ok"}))


def test_where_numbers_and_dates_compare_as_such() -> None:
    spec = {"event": "content_downloaded", "where": {"field": "pages", "op": "gte", "value": 10}}
    assert event_test(spec, [event("i_1", "content_downloaded", timedelta(days=1), {"pages": "12"})])[0]
    assert not event_test(spec, [event("i_1", "content_downloaded", timedelta(days=1), {"pages": "9"})])[0]


def test_event_leaves_are_listed_for_lookback() -> None:
    condition = compile_ok(
        {"all": [{"event": "email_clicked", "within_days": 3}, {"not": {"event": "page_visited"}}]}
    )
    assert [leaf.event_type for leaf in condition.events()] == ["email_clicked", "page_visited"]


def test_where_number_with_surrounding_spaces_compares_as_a_number() -> None:
    spec = {"event": "content_downloaded", "where": {"field": "pages", "op": "gte", "value": 10}}
    assert event_test(spec, [event("i_1", "content_downloaded", timedelta(days=1), {"pages": " 12 "})])[0]


def test_where_date_with_surrounding_spaces_compares_as_a_date() -> None:
    before = {"event": "event_registered", "where": {"field": "starts_at", "op": "lt", "value": "2026-11-24"}}
    same = {
        "event": "event_registered",
        "where": {"field": "starts_at", "op": "eq", "value": "2026-11-01T00:00:00Z"},
    }
    registered = [event("i_1", "event_registered", timedelta(days=1), {"starts_at": " 2026-11-01 "})]
    assert event_test(before, registered)[0] is True
    assert event_test(same, registered)[0] is True
