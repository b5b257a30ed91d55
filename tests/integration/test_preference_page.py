"""The e-mail preference page (``GET /t/u/{token}``, issue 18 item 4): a plain HTML form (no script)
that offers every lower consent level, the unsubscribe chosen already; its POST lowers the consent to
the level chosen and never raises it; the RFC 8058 one-click POST still lowers one step."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.test_mail import _tracked_links, people, send  # noqa: F401 - fixture

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_the_page_offers_each_lower_level_in_a_form_without_script(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811
    deps: Any,
):
    message = send(client, admin_key, people["ada"], "p-1").json_body
    page = client.http.get(_tracked_links(deps, message["message_id"])["u"])
    assert page.status_code == 200
    html = page.body.decode()
    assert "<script" not in html and "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert re.findall(r'name="level" value="(\w+)"', html) == [
        "subscriptions",
        "transactional",
        "consent_given",
        "none",
    ]  # Ada gave marketing: every level below it, highest first
    assert re.findall(r'value="(\w+)" checked', html) == ["subscriptions"]  # the unsubscribe
    assert "<form method='post'>" in html and "List-Unsubscribe" in html


def test_choosing_a_level_lowers_consent_to_it_and_never_raises_it(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811
    deps: Any,
):
    message = send(client, admin_key, people["ada"], "p-2").json_body
    path = _tracked_links(deps, message["message_id"])["u"]
    answer = client.http.post(path, headers=FORM, body="List-Unsubscribe=One-Click&level=transactional")
    assert answer.status_code == 200 and b"Only e-mail about my requests" in answer.body
    contact = deps.store.get_contact(people["ada"])
    assert contact.consent == "transactional"
    assert contact.consent_history[-1].source.startswith("unsubscribe:")
    raised = client.http.post(path, headers=FORM, body="List-Unsubscribe=One-Click&level=profiling")
    assert raised.status_code == 200
    assert deps.store.get_contact(people["ada"]).consent == "transactional"  # the page cannot raise it
    again = client.http.get(path).body.decode()
    assert re.findall(r'name="level" value="(\w+)"', again) == ["consent_given", "none"]


def test_a_level_that_is_not_one_is_400_naming_it_and_changes_nothing(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811
    deps: Any,
):
    message = send(client, admin_key, people["ada"], "p-3").json_body
    path = _tracked_links(deps, message["message_id"])["u"]
    for body in ("level=gold", "level=none&level=marketing"):
        answer = client.http.post(path, headers=FORM, body=f"List-Unsubscribe=One-Click&{body}")
        assert answer.status_code == 400 and answer.json_body["error"]["field"] == "level", body
    assert deps.store.get_contact(people["ada"]).consent == "marketing"
