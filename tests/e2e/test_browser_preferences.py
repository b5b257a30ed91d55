"""The e-mail preference page in headless Chromium **with JavaScript turned off**, against the local
stack: a person opens the link of an e-mail they got, picks a lower level and saves; their consent is
that level. Screenshots go to ``out/test-artifacts/browser/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.test_browser import CHROMIUM_ARGS, chromium, shot  # noqa: F401 - the chromium fixture
from tests.e2e.test_local_stack import API_KEY, call, stack  # noqa: F401 - the stack fixture

pytestmark = pytest.mark.e2e
ADMIN = {"X-Api-Key": API_KEY}
TEMPLATE = {
    "subject": "News",
    "html": '<p>Hello</p><a href="{{ unsubscribe_url }}">Preferences</a>',
    "text": "Hello",
}


@pytest.fixture
def no_script_page(chromium: str) -> Iterator[Any]:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(java_script_enabled=False, viewport={"width": 800, "height": 700})
            yield context.new_page()
        finally:
            browser.close()


def test_a_person_lowers_their_consent_on_the_preference_page_without_javascript(
    stack: str,  # noqa: F811
    no_script_page: Any,
):
    person = {"contact": {"email": "reader@prefs.example.org"}, "consent": "marketing"}
    status, made = call("POST", f"{stack}/v1/leads", person, ADMIN)
    assert status == 201, made
    assert call("PUT", f"{stack}/v1/email-templates/prefs-news", TEMPLATE, ADMIN)[0] in (200, 201)
    send = {"contact_id": made["contact_id"]}
    status, sent = call(
        "POST", f"{stack}/v1/email-templates/prefs-news/send", send, {**ADMIN, "Idempotency-Key": "p1"}
    )
    assert status == 201 and sent["status"] == "sent", sent
    status, message = call("GET", f"{stack}/v1/messages/{quote(sent['message_id'])}", None, ADMIN)
    link = re.search(r'href="([^"]*/t/u/[^"]+)"', message["html"])
    assert link is not None

    page = no_script_page
    page.goto(link.group(1))
    shot(page, "preferences-no-js.png")
    assert page.locator("script").count() == 0
    assert page.locator("input[name=level]:checked").get_attribute("value") == "subscriptions"
    page.get_by_label("Only e-mail about my requests and orders").check()
    page.get_by_role("button", name="Save my choice").click()
    page.wait_for_load_state()
    shot(page, "preferences-saved-no-js.png")
    assert "Your choice is saved" in page.content()
    status, contact = call("GET", f"{stack}/v1/contacts/{made['contact_id']}", None, ADMIN)
    assert contact["consent"] == "transactional"
    assert contact["consent_history"][-1]["source"].startswith("unsubscribe:")
