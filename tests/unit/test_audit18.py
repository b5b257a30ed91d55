"""Issue 18 audit (helper audit18): definitions and templates that crashed the API (500) or slipped
past the save checks; each must be a 422 naming its place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.email import RenderFailed, parse_template
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.journeys import Catalog, parse_journey

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
CATALOG = Catalog(
    templates={"hello": (frozenset({"pricing"}), None)},
    segments=frozenset({"uk"}),
    forms=frozenset({"contact-us"}),
    models=frozenset({"b2b"}),
)
EMAIL = {"id": "hello", "type": "email", "template_id": "hello"}


def _fields(body: dict[str, Any], now: datetime | None = None) -> list[str]:
    with pytest.raises(ValidationFailed) as refused:
        parse_journey("j", body, CATALOG, now=now)
    return [error.field for error in refused.value.errors]


def _journey(steps: list[Any], entry: Any = None) -> dict[str, Any]:
    return {"name": "J", "entry": entry or {"api": True}, "steps": steps}


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"segment_id": {"a": 1}}, "entry.segment_id"),
        ({"segment_id": ["uk"]}, "entry.segment_id"),
        ({"trigger": {"form_id": ["contact-us"]}}, "entry.trigger.form_id"),
        ({"trigger": {"grade": ["b2b"], "value": "A"}}, "entry.trigger.grade"),
        ({"trigger": {"grade": {}, "value": "A"}}, "entry.trigger.grade"),
    ],
)
def test_an_entry_naming_a_list_or_an_object_is_refused_naming_it_not_a_crash(
    entry: dict[str, Any], field: str
) -> None:
    assert field in _fields(_journey([EMAIL], entry))


def test_an_engagement_form_that_is_an_object_is_refused_naming_it_not_a_crash() -> None:
    branch = {"id": "b", "type": "branch", "engagement": {"form": {"x": 1}}, "within_hours": 1}
    assert "steps[1].engagement.form" in _fields(_journey([EMAIL, branch]))


@pytest.mark.parametrize("days", [1e308, 10**30, 10**4000, -(10**30)])
def test_a_wait_too_large_for_a_timedelta_is_refused_naming_it_not_a_crash(days: Any) -> None:
    assert _fields(_journey([{"id": "w", "type": "wait", "days": days}])) == ["steps[0].days"]


@pytest.mark.parametrize(
    "until",
    [
        "2001-01-01T00:00:00Z",
        (NOW - timedelta(minutes=1)).isoformat(),
        "2099-01-01T00:00:00Z",
        "9999-12-31T23:59:59+00:00",
    ],
)
def test_a_wait_until_a_past_moment_or_years_away_is_refused_on_save(until: str) -> None:
    body = _journey([{"id": "w", "type": "wait", "until": until}])
    assert _fields(body, NOW) == ["steps[0].until"]
    parse_journey("j", body, CATALOG)  # a saved version runs again after its date: no now, no check


def test_a_wait_until_next_month_is_accepted() -> None:
    until = (NOW + timedelta(days=30)).isoformat()
    parse_journey("j", _journey([{"id": "w", "type": "wait", "until": until}]), CATALOG, now=NOW)


def test_a_template_that_recurses_without_end_is_refused_naming_its_part() -> None:
    body = {"subject": "s", "text": "t", "html": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"}
    with pytest.raises(RenderFailed) as refused:
        parse_template("loop", body)
    assert refused.value.errors[0].field == "html"


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("https://example.com/r?x=a\r\nSet-Cookie: b=c", "https://example.com/r?x=a%0D%0ASet-Cookie:%20b=c"),
        ("https://example.com/caf\u00e9/\U0001f600", "https://example.com/caf%C3%A9/%F0%9F%98%80"),
        ("https://example.com/a%20b?q=1&r=2#top", "https://example.com/a%20b?q=1&r=2#top"),
    ],
)
def test_a_tracked_links_address_is_one_a_location_header_can_carry(href: str, url: str) -> None:
    """A person's field with a line break rendered into a link, or a non-ASCII path, made the click's
    302 fail (500 / an empty reply): the address kept for the redirect is percent-encoded."""
    from chalicelib.domain.email import rewrite_links

    _, links = rewrite_links(f'<a href="{href}">go</a>', lambda link: "tracked")
    assert [link.url for link in links] == [url]


@pytest.mark.parametrize(
    ("trigger", "re_entry", "refused"),
    [
        ({"event": "email_sent"}, "always", True),
        ({"event": "*"}, "always", True),
        (
            {"event": "email_sent", "where": {"field": "template_id", "op": "eq", "value": "hello"}},
            "always",
            True,
        ),
        (
            {"event": "email_sent", "where": {"field": "template_id", "op": "eq", "value": "other"}},
            "always",
            False,
        ),
        ({"event": "email_sent"}, "never", False),
        ({"event": "email_sent"}, {"after_days": 1}, False),
        ({"event": "content_downloaded"}, "always", False),
    ],
)
def test_a_journey_its_own_email_would_enter_again_for_ever_is_refused_naming_its_trigger(
    trigger: dict[str, Any], re_entry: Any, refused: bool
) -> None:
    body = {"name": "J", "entry": {"trigger": trigger}, "re_entry": re_entry, "steps": [EMAIL]}
    if refused:
        assert _fields(body, NOW) == ["entry.trigger"]
    else:
        parse_journey("j", body, CATALOG, now=NOW)
    parse_journey("j", body, CATALOG)  # a version saved before this check still runs


@pytest.mark.parametrize(
    "field", ["contact.email", "contact.consent", "lead.status", "lead.owner", "lead.score"]
)
def test_an_update_field_step_cannot_set_what_leadflow_keeps_itself(field: str) -> None:
    """Before: saved, and written as a custom field of the same name posing as the real one (the
    contact's fields said consent 'profiling' while the consent itself was unchanged)."""
    step = {"id": "set", "type": "update_field", "field": field, "value": "x"}
    assert _fields(_journey([EMAIL, step]), NOW) == ["steps[1].field"]


def test_an_update_field_step_sets_an_ordinary_field() -> None:
    step = {"id": "set", "type": "update_field", "field": "contact.newsletter", "value": "weekly"}
    assert parse_journey("j", _journey([EMAIL, step]), CATALOG, now=NOW).step("set").spec["value"] == "weekly"
