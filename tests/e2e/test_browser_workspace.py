"""The console as a rep's workspace, in headless Chromium against the local stack: the lead page's
lifecycle buttons, a note, a logged call, an edit refused because someone saved first (the stale-version
message) and then saved, linking the inquiry to the right person, and the contact (360°) and account
pages reached from the lead page and the leads list. Screenshots go to ``out/test-artifacts/browser/``
(``workspace-*.png``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_browser import browser_context, chromium, shot  # noqa: F401 - fixtures
from tests.e2e.test_local_stack import API_KEY, call, stack  # noqa: F401 - the stack fixture

pytestmark = pytest.mark.e2e
ADMIN = {"X-Api-Key": API_KEY}


def a_lead(stack: str) -> dict[str, Any]:  # noqa: F811
    body = {
        "contact": {
            "email": "katherine@langley.example.gov",
            "first_name": "Katherine",
            "last_name": "Johnson",
            "job_title": "Mathematician",
        },
        "account": {"name": "Langley Research", "employees": 3000},
        "lead": {"topic": "Trajectory software", "budget": 50000},
    }
    status, answer = call("POST", f"{stack}/v1/leads", body, ADMIN)
    assert status == 201, answer
    return dict(answer)


def signed_in(browser_context: Any, stack: str) -> Any:  # noqa: F811
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{stack}/console")
    page.fill("#key-form input[name=key]", API_KEY)
    page.click("#key-form button[type=submit]")
    page.locator("#leads").wait_for(timeout=15_000)
    page.errors = errors
    return page


def test_a_rep_works_a_lead_from_its_page_and_reaches_the_contact_and_account_pages(
    stack: str,  # noqa: F811
    browser_context: Any,  # noqa: F811
):
    lead = a_lead(stack)
    lead_id = lead["lead_id"]
    page = signed_in(browser_context, stack)
    row = page.locator(f"#leads tr[data-lead-id='{lead_id}']")
    row.wait_for(timeout=15_000)
    assert row.locator("td.person a").count() == 1 and row.locator("td.company a").count() == 1
    row.locator("td.name a").click()
    page.locator("#work").wait_for(timeout=15_000)
    shot(page, "workspace-lead.png")

    # lifecycle: contacted, then (after a disqualification) reopened
    page.click("#act-contacted")
    page.locator("dl.facts dd", has_text="open · contacted").wait_for(timeout=15_000)
    assert page.locator("#act-contacted").count() == 0 and page.locator("#act-accept").count() == 1

    # a note and a logged call appear on the timeline
    page.fill("#note-form textarea[name=text]", "Wants the pilot before the budget freeze.")
    page.click("#note-form button[type=submit]")
    page.locator("ol.timeline li", has_text="Wants the pilot before the budget freeze.").wait_for(
        timeout=15_000
    )
    page.select_option("#activity-form select[name=type]", "call")
    page.fill("#activity-form input[name=subject]", "Discovery call")
    page.fill("#activity-form input[name=outcome]", "Budget confirmed")
    page.click("#activity-form button[type=submit]")
    page.locator("ol.timeline li", has_text="call: Discovery call — Budget confirmed").wait_for(
        timeout=15_000
    )

    # an edit on a version someone else moved on from: told, nothing overwritten; then saved
    page.click("#edit-fields")
    budget = page.locator("#edit-form input[name='lead.budget']")
    budget.wait_for(timeout=15_000)
    # another rep reads the lead and saves first
    assert _patch(stack, lead_id, {"lead": {"timeframe": "Q3"}}) == 200
    budget.fill("75000")
    page.click("#edit-form button[type=submit]")
    stale = page.locator("#stale-version")
    stale.wait_for(timeout=15_000)
    assert "not saved" in stale.inner_text()
    shot(page, "workspace-stale-version.png")
    _, kept = call("GET", f"{stack}/v1/leads/{lead_id}", None, ADMIN)
    assert kept["fields"]["budget"] == 50000 and kept["fields"]["timeframe"] == "Q3"
    stale.get_by_role("button", name="Reload the lead").click()
    page.click("#edit-fields")
    page.locator("#edit-form input[name='lead.budget']").fill("75000")
    page.locator("#edit-form input[name='contact.job_title']").fill("Head of Trajectory Analysis")
    page.click("#edit-form button[type=submit]")
    page.locator("ol.timeline li", has_text="lead.budget: 50000 → 75000").wait_for(timeout=15_000)
    _, saved = call("GET", f"{stack}/v1/leads/{lead_id}", None, ADMIN)
    assert saved["fields"]["budget"] == 75000 and saved["fields"]["timeframe"] == "Q3"
    assert saved["contact"]["fields"]["job_title"] == "Head of Trajectory Analysis"

    page.select_option("#lifecycle select[name=reason]", "no_longer_interested")
    page.click("#act-disqualify")
    page.locator("#act-reopen").wait_for(timeout=15_000)
    page.click("#act-reopen")
    page.locator("#act-accept").wait_for(timeout=15_000)
    shot(page, "workspace-lead-worked.png")

    # the inquiry was really from a colleague: link the lead to a new contact
    page.locator("#work details summary").click()
    page.fill("#link-form input[name=email]", "dorothy@langley.example.gov")
    page.fill("#link-form input[name=first_name]", "Dorothy")
    page.fill("#link-form input[name=last_name]", "Vaughan")
    page.click("#link-form button[type=submit]")
    page.locator("#lead-title", has_text="Dorothy Vaughan").wait_for(timeout=15_000)
    page.locator("ol.timeline li", has_text="(new contact)").wait_for(timeout=15_000)

    # the contact page: one call, everything about Dorothy (the lead, its note, the call on it)
    page.click("#contact-link")
    page.locator("#contact-title", has_text="Dorothy Vaughan").wait_for(timeout=15_000)
    assert page.locator(f"#contact-leads tr[data-lead-id='{lead_id}']").count() == 1
    assert "Wants the pilot" in page.locator("#contact-notes").inner_text()
    shot(page, "workspace-contact.png")
    page.click("#account-link")
    page.locator("#account-title", has_text="Langley Research").wait_for(timeout=15_000)
    contacts = page.locator("#account-contacts").inner_text()
    assert "Dorothy Vaughan" in contacts and "Katherine Johnson" in contacts
    assert page.locator(f"#account-leads tr[data-lead-id='{lead_id}']").count() == 1
    shot(page, "workspace-account.png")

    # the first person's page still shows the call she took part in (her interaction stays hers)
    page.goto(f"{stack}/console#/contacts/{lead['contact_id']}")
    page.locator("#contact-title", has_text="Katherine Johnson").wait_for(timeout=15_000)
    assert "call: Discovery call" in page.locator("#interactions").inner_text()
    shot(page, "workspace-contact-first.png")
    assert page.errors == []


def _patch(stack: str, lead_id: str, body: dict[str, Any]) -> int:  # noqa: F811
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{stack}/v1/leads/{lead_id}", method="GET", headers=ADMIN)
    with urllib.request.urlopen(request, timeout=10) as answer:
        etag = answer.headers["ETag"]
    patch = urllib.request.Request(
        f"{stack}/v1/leads/{lead_id}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={**ADMIN, "Content-Type": "application/json", "If-Match": etag},
    )
    try:
        with urllib.request.urlopen(patch, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
