"""The console's Journeys page in headless Chromium against the local stack (issue 18, item 6): the
journeys listed with their funnel, a journey's steps with where each goes, and pause/activate/stop.
Screenshots go to ``out/test-artifacts/browser/``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.test_browser import browser_context, chromium, shot  # noqa: F401 - fixtures
from tests.e2e.test_local_stack import API_KEY, call, stack  # noqa: F401 - the stack fixture

pytestmark = pytest.mark.e2e


def _report(stack: str, journey_id: str, until: Any) -> dict[str, Any]:  # noqa: F811
    deadline = time.monotonic() + 60
    while True:
        status, report = call("GET", f"{stack}/v1/journeys/{journey_id}/report", None, {"X-Api-Key": API_KEY})
        assert status == 200, report
        if until(report) or time.monotonic() > deadline:
            return dict(report)
        time.sleep(0.5)


def test_the_journeys_page_shows_the_funnel_the_steps_and_moves_the_state(
    stack: str,  # noqa: F811
    browser_context: Any,  # noqa: F811
) -> None:
    admin = {"X-Api-Key": API_KEY}
    person = {"contact": {"email": "journey.reader@example.org", "first_name": "Jo"}, "consent": "marketing"}
    status, captured = call("POST", f"{stack}/v1/leads", person, admin)
    assert status == 201, captured
    template = {
        "subject": "Welcome {{ contact.first_name | default('there') }}",
        "html": '<p>Hi</p><a data-link="pricing" href="https://example.com/pricing">Pricing</a>',
        "text": "Hi",
    }
    assert call("PUT", f"{stack}/v1/email-templates/journey-hello", template, admin)[0] in (200, 201)
    journey = {
        "name": "Browser nurture",
        "entry": {"api": True},
        "steps": [
            {"id": "hello", "type": "email", "template_id": "journey-hello"},
            {"id": "pause", "type": "wait", "days": 3},
            {
                "id": "clicked",
                "type": "branch",
                "engagement": {"clicked": "pricing"},
                "within_hours": 48,
                "yes": "call",
                "no": "bye",
            },
            {"id": "call", "type": "sales_work", "action": {"type": "phone_call", "subject": "Call them"}},
            {"id": "bye", "type": "exit"},
        ],
    }
    assert call("PUT", f"{stack}/v1/journeys/browser-nurture", journey, admin)[0] == 201
    assert call("POST", f"{stack}/v1/journeys/browser-nurture/activate", {}, admin)[0] == 200
    status, entered = call(
        "POST", f"{stack}/v1/journeys/browser-nurture/enroll", {"contact_id": captured["contact_id"]}, admin
    )
    assert status == 201 and entered["result"] == "enrolled", entered
    report = _report(stack, "browser-nurture", lambda r: r["sent"] == 1)  # the stack's worker sent it
    assert report["sent"] == 1 and report["steps"][1]["at_step"] == 1, report

    console = browser_context.new_page()
    console.goto(f"{stack}/console")
    console.fill("#key-form input[name=key]", API_KEY)
    console.click("#key-form button[type=submit]")
    console.goto(f"{stack}/console#/journeys")
    row = console.locator("#journeys tbody tr[data-journey=browser-nurture]")
    row.wait_for(timeout=15_000)
    cells = row.locator("td").all_inner_texts()
    assert cells[:3] == ["Browser nurture browser-nurture", "live", "v1"] and cells[3:6] == ["1", "1", "1"], (
        cells
    )
    shot(console, "console-journeys.png")

    row.locator("a").first.click()
    steps = console.locator("#journey-steps > li")
    steps.first.wait_for(timeout=15_000)
    texts = steps.all_inner_texts()
    assert "send e-mail “journey-hello”" in texts[0] and "next → pause" in texts[0]
    assert "wait 3 days" in texts[1] and "here now 1" in texts[1]
    assert (
        "clicked “pricing” within 48 hours" in texts[2]
        and "yes → call" in texts[2]
        and "no → bye" in texts[2]
    )
    assert "hand to sales: phone_call" in texts[3]
    funnel = console.locator(".journey-funnel tbody tr[data-step=hello]").inner_text()
    assert funnel.split("\t")[2:5] == ["1", "0", "1"], funnel  # entered, at step, sent
    shot(console, "console-journey.png")

    assert console.locator("#journey-activate").is_disabled()
    console.click("#journey-pause")
    console.locator("#journey-state", has_text="paused").wait_for(timeout=15_000)
    assert not console.locator("#journey-activate").is_disabled()
    console.click("#journey-stop")
    console.locator("#journey-state", has_text="stopped").wait_for(timeout=15_000)
    assert (
        console.locator("#journey-activate").is_disabled() and console.locator("#journey-stop").is_disabled()
    )
    shot(console, "console-journey-stopped.png")
    status, head = call("GET", f"{stack}/v1/journeys/browser-nurture", None, admin)
    assert head["state"] == "stopped"


def test_journeys_named_alike_are_told_apart_steps_read_as_words_and_the_outbox_names_the_sender(
    stack: str,  # noqa: F811
    browser_context: Any,  # noqa: F811
) -> None:
    admin = {"X-Api-Key": API_KEY}
    person = {"contact": {"email": "journey.words@example.org", "first_name": "Al"}, "consent": "marketing"}
    status, captured = call("POST", f"{stack}/v1/leads", person, admin)
    assert status == 201, captured
    template = {
        "subject": "Words {{ contact.first_name | default('there') }}",
        "html": "<p>Hi</p>",
        "text": "Hi",
    }
    assert call("PUT", f"{stack}/v1/email-templates/words-hello", template, admin)[0] in (200, 201)
    condition = {
        "all": [
            {"field": "contact.country", "op": "in", "value": ["GB", "US"]},
            {"event": "email_clicked", "within_days": 7},
        ]
    }
    journey = {
        "name": "t",
        "entry": {"api": True},
        "steps": [
            {"id": "hello", "type": "email", "template_id": "words-hello"},
            {"id": "pause", "type": "wait", "minutes": 1},
            {"id": "hot", "type": "branch", "condition": condition, "yes": "bye", "no": "bye"},
            {"id": "bye", "type": "exit"},
        ],
    }
    for journey_id in ("t-one", "t-two"):  # twelve rows named "t" could not be told apart
        assert call("PUT", f"{stack}/v1/journeys/{journey_id}", journey, admin)[0] == 201
    assert call("POST", f"{stack}/v1/journeys/t-one/activate", {}, admin)[0] == 200
    status, entered = call(
        "POST", f"{stack}/v1/journeys/t-one/enroll", {"contact_id": captured["contact_id"]}, admin
    )
    assert status == 201 and entered["result"] == "enrolled", entered
    assert _report(stack, "t-one", lambda r: r["sent"] == 1)["sent"] == 1

    console = browser_context.new_page()
    console.goto(f"{stack}/console")
    console.fill("#key-form input[name=key]", API_KEY)
    console.click("#key-form button[type=submit]")
    console.goto(f"{stack}/console#/journeys")
    console.locator("#journeys tbody tr[data-journey=t-two]").wait_for(timeout=15_000)
    names = {
        journey_id: console.locator(f"#journeys tbody tr[data-journey={journey_id}] td").first.inner_text()
        for journey_id in ("t-one", "t-two")
    }
    assert names == {"t-one": "t t-one", "t-two": "t t-two"}, names
    shot(console, "console-journeys-named-alike.png")

    console.goto(f"{stack}/console#/journeys/t-one")
    steps = console.locator("#journey-steps > li")
    steps.first.wait_for(timeout=15_000)
    texts = steps.all_inner_texts()
    assert "wait 1 minute (" in texts[1] and "1 minutes" not in texts[1], texts[1]
    assert "if (contact.country is one of “GB”, “US”) and (email clicked in the last 7 days)" in texts[2], (
        texts[2]
    )
    assert "{" not in texts[2], texts[2]  # no raw JSON
    shot(console, "console-journey-words.png")

    console.goto(f"{stack}/console#/outbox")
    row = console.locator("#outbox tbody tr", has_text="journey.words@example.org")
    row.wait_for(timeout=15_000)
    headings = [
        text.lower() for text in console.locator("#outbox thead th").all_inner_texts()
    ]  # CSS uppercases
    cells = dict(zip(headings, row.locator("td").all_inner_texts(), strict=True))
    assert (cells["journey"], cells["template"]) == ("t-one", "words-hello v1"), cells
    assert row.locator("td.journey a").get_attribute("href") == "#/journeys/t-one"
    shot(console, "console-outbox-sender.png")

    console.goto(f"{stack}/console#/email-templates")  # no such page: said, not the leads
    console.locator("#not-found").wait_for(timeout=15_000)
    assert "#/email-templates" in console.locator("main").inner_text()
    assert console.locator("#leads").count() == 0
    shot(console, "console-not-found.png")
