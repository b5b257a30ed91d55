"""Issue 18 audit (helper audit18): the engine's semantics where a person or a definition does something
the happy path does not (a merge, an erasure, a template edited mid-journey, a loop, a journey that
triggers itself). Each test states the behaviour the issue asks for; the ones marked ``xfail(strict)``
fail on main today and are reported to the lead (they pass, and then fail as XPASS, once fixed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.integration.helpers import get, post_json, put_json
from tests.integration.test_journeys import HELLO, JOURNEY, enroll, live, people  # noqa: F401 - fixture
from tests.integration.test_mail import ses_sent

# the pricing-nurture journey's steps, without the sales step (no hand-off queue needed here)
EMAIL = {"id": "hello", "type": "email", "template_id": "hello"}


def _person(client: Any, key: str, email: str, consent: str) -> str:
    answer = post_json(
        client,
        "/v1/leads",
        {"contact": {"email": email, "first_name": "Lin"}, "consent": consent},
        {"X-Api-Key": key},
    )
    assert answer.status_code == 201, answer.body
    return str(answer.json_body["contact_id"])


def _unsubscribe_path(deps: Any, message_id: str) -> str:
    message = deps.mail.get_message(message_id)
    found = re.search(r"http://[^\"]+/t/u/[^\"]+", message.html)
    assert found is not None
    return urlparse(found.group(0)).path


def _one_click(client: Any, path: str) -> Any:
    return client.http.post(
        path,
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_a_loop_through_a_wait_counts_one_sent_for_its_one_email(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    from chalicelib.services import journeys

    body = {
        **JOURNEY,
        "steps": [EMAIL, {"id": "again", "type": "wait", "minutes": 1, "next": "hello"}],
    }
    live(client, admin_key, "reminder", body)
    enroll(client, admin_key, people["ada"], "reminder")
    now = datetime.now(UTC)
    for minute in range(0, 8, 2):
        journeys.run(people["ada"], "reminder", deps, now + timedelta(minutes=minute))
    assert len(ses_sent()) == 1  # one e-mail: the cause is per (journey, version, step, run)
    report = journeys.report("reminder", deps)
    assert report["sent"] == len(ses_sent()), report


def test_a_journey_triggered_by_its_own_email_and_re_entered_always_is_refused_on_save(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
) -> None:
    """Before: saved, and each e-mail re-entered the person (a new run, a new cause): 12 e-mails in 12
    polls of the pump, without end (transactional e-mail is not capped)."""
    receipt = {**HELLO, "consent": "transactional"}
    assert put_json(client, "/v1/email-templates/receipt", receipt, admin_key).status_code == 201
    body = {
        "name": "Echo",
        "entry": {"trigger": {"event": "email_sent"}},
        "consent": "transactional",
        "re_entry": "always",
        "steps": [{"id": "hello", "type": "email", "template_id": "receipt"}],
    }
    answer = put_json(client, "/v1/journeys/echo", body, admin_key)
    assert answer.status_code == 422 and answer.json_body["error"]["field"] == "entry.trigger", answer.body
    other = {
        **body,
        "entry": {
            "trigger": {
                "event": "email_sent",
                "where": {"field": "template_id", "op": "eq", "value": "welcome"},
            }
        },
    }
    assert put_json(client, "/v1/journeys/echo", other, admin_key).status_code == 201  # not its own
    assert (
        put_json(client, "/v1/journeys/echo", {**body, "re_entry": {"after_days": 1}}, admin_key).status_code
        == 200
    )


def test_two_journeys_triggered_by_each_others_emails_do_not_email_without_end(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
    pump: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib import wiring

    monkeypatch.setenv("MODELS_CACHE_SECONDS", "0")  # the journeys are made after the consumers first ran
    wiring.reset()
    for name, other in (("ping", "pong"), ("pong", "ping")):
        receipt = {**HELLO, "consent": "transactional"}
        assert put_json(client, f"/v1/email-templates/{name}", receipt, admin_key).status_code == 201
        body = {
            "name": name,
            "entry": {
                "trigger": {
                    "event": "email_sent",
                    "where": {"field": "template_id", "op": "eq", "value": other},
                }
            },
            "consent": "transactional",
            "re_entry": "always",
            "steps": [{"id": "hello", "type": "email", "template_id": name}],
        }
        live(client, admin_key, name, body)
    pump.drain()
    enroll(client, admin_key, people["ada"], "ping")
    for _ in range(12):  # a bounded number of polls (drain would never finish)
        for poller in pump.pollers:
            poller.poll()
    assert len(ses_sent()) <= 2, f"{len(ses_sent())} e-mails and counting"


def test_a_template_edited_between_the_send_and_the_move_sends_no_second_email(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    enroll(client, admin_key, people["ada"])
    original = deps.journeys.advance

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the function died after SES answered")

    monkeypatch.setattr(deps.journeys, "advance", crash)
    with pytest.raises(RuntimeError):
        journeys.run(people["ada"], "nurture", deps)
    assert len(ses_sent()) == 1
    edited = {**HELLO, "subject": "Hello again {{ contact.first_name }}"}
    assert put_json(client, "/v1/email-templates/hello", edited, admin_key).status_code == 200
    monkeypatch.setattr(deps.journeys, "advance", original)
    journeys.run(people["ada"], "nurture", deps)  # the redelivery
    assert len(ses_sent()) == 1, [m.subject for m in ses_sent()]


def test_a_journey_below_its_templates_consent_does_not_send_it_to_people_below_the_template(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    from chalicelib.services import journeys

    lin = _person(client, admin_key, "lin@example.org", "transactional")
    body = {**JOURNEY, "consent": "transactional", "steps": [EMAIL]}
    live(client, admin_key, "receipts", body)
    enroll(client, admin_key, lin, "receipts")
    journeys.run(lin, "receipts", deps)
    template = get(client, "/v1/email-templates/hello", admin_key).json_body
    assert template["consent"] == "marketing"
    assert len(ses_sent()) == 0, "a marketing template went to a transactional contact"


def test_an_erasure_removes_the_persons_enrollments_and_engagement_notes(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    from chalicelib.services import erasure, journeys

    live(client, admin_key)
    enroll(client, admin_key, people["ada"])
    journeys.run(people["ada"], "nurture", deps)
    deps.journeys.note_event(
        people["ada"], "visited:https://example.com/?email=ada@example.org", datetime.now(UTC)
    )
    job = erasure.request_erasure(people["ada"], deps)
    for number in (1, 2):
        erasure.run_erasure(
            {"job_id": job.job_id, "contact_id": people["ada"], "pass": number}, deps, datetime.now(UTC)
        )
    assert deps.store.get_contact(people["ada"]) is None
    assert deps.journeys.enrollments_of(people["ada"]) == []
    assert deps.journeys.events_of(people["ada"]) == {}
    report = journeys.report("nurture", deps)  # she left the funnel as erased: it still adds up
    assert report["exited"].get("gone") == 1 and report["active"] == 0, report


def test_a_merged_away_contact_in_a_journey_continues_as_the_survivor(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    enroll(client, admin_key, people["ada"])
    now = datetime.now(UTC)
    journeys.run(people["ada"], "nurture", deps, now)
    merged = post_json(
        client,
        f"/v1/contacts/{people['grace']}/merge",
        {"duplicate_ids": [people["ada"]]},
        {"X-Api-Key": admin_key},
    )
    assert merged.status_code == 200, merged.body
    journeys.run(people["ada"], "nurture", deps, now + timedelta(days=2, minutes=1))
    assert journeys.report("nurture", deps)["exited"].get("gone", 0) == 0
    survivor = deps.journeys.get_enrollment(people["grace"], "nurture")
    assert survivor is not None and survivor.state == "active" and survivor.step == "pause", survivor
    assert deps.journeys.enrollments_of(people["ada"]) == []
    journeys.run(people["grace"], "nurture", deps, now + timedelta(days=2, minutes=1))  # goes on
    assert deps.journeys.get_enrollment(people["grace"], "nurture").step != "pause"
    report = journeys.report("nurture", deps)
    assert report["entered"] == 1 and not report["exited"].get("merged"), report


def test_a_merge_of_two_people_in_the_same_journey_keeps_the_survivors_and_ends_the_other_as_merged(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    for person in ("ada", "grace"):
        enroll(client, admin_key, people[person])
        journeys.run(people[person], "nurture", deps)
    merged = post_json(
        client,
        f"/v1/contacts/{people['grace']}/merge",
        {"duplicate_ids": [people["ada"]]},
        {"X-Api-Key": admin_key},
    )
    assert merged.status_code == 200, merged.body
    assert deps.journeys.enrollments_of(people["ada"]) == []
    assert deps.journeys.get_enrollment(people["grace"], "nurture").state == "active"
    report = journeys.report("nurture", deps)
    assert report["exited"] == {"merged": 1} and report["active"] == 1, report


def test_the_unsubscribe_link_of_an_email_to_a_merged_away_contact_unsubscribes_the_survivor(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    """The e-mail is in the person's inbox after the merge: its one-click unsubscribe (and its
    preference page, and its click tracking) must act on the contact that now owns the address."""
    sent = post_json(
        client,
        "/v1/email-templates/hello/send",
        {"contact_id": people["ada"]},
        {"X-Api-Key": admin_key, "Idempotency-Key": "merge-1"},
    )
    assert sent.status_code == 201 and sent.json_body["status"] == "sent", sent.body
    message_id = sent.json_body["message_id"]
    merged = post_json(
        client,
        f"/v1/contacts/{people['grace']}/merge",
        {"duplicate_ids": [people["ada"]]},
        {"X-Api-Key": admin_key},
    )
    assert merged.status_code == 200, merged.body
    path = _unsubscribe_path(deps, message_id)
    page = client.http.get(path)
    assert page.status_code == 200 and b"E-mail preferences" in page.body, page.headers
    answer = _one_click(client, path)
    assert answer.status_code == 200 and b"You are unsubscribed" in answer.body, answer.body
    survivor = deps.store.get_contact(people["grace"])
    assert survivor.consent == "subscriptions"
    assert survivor.consent_history[-1].source == f"unsubscribe:{message_id}"


def test_the_preference_page_says_what_the_person_gets_when_they_choose_a_higher_level(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    """The page never raises consent; choosing a level above the person's must not claim it did."""
    sent = post_json(
        client,
        "/v1/email-templates/hello/send",
        {"contact_id": people["ada"]},
        {"X-Api-Key": admin_key, "Idempotency-Key": "pref-1"},
    )
    path = _unsubscribe_path(deps, sent.json_body["message_id"])
    assert _one_click(client, path).status_code == 200  # marketing -> subscriptions
    answer = client.http.post(
        path,
        body="List-Unsubscribe=One-Click&level=profiling",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert deps.store.get_contact(people["ada"]).consent == "subscriptions"
    assert b"Only the newsletters I subscribed to" in answer.body, answer.body
    assert b"chosen from what I read" not in answer.body


def test_an_account_without_a_name_renders_the_templates_default_not_none(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    """README's template says ``{{ account.name | default("your team") }}``: a person created by API
    without an account has one without a name; the e-mail must say "your team", not "None"."""
    template = {
        "subject": "News for {{ account.name | default('your team') }}",
        "html": "<p>For {{ account.name | default('your team') }}</p>",
        "text": "For {{ account.name | default('your team') }}",
    }
    assert put_json(client, "/v1/email-templates/team", template, admin_key).status_code == 201
    lin = _person(client, admin_key, "lin@nameless.example.org", "marketing")
    account = deps.store.get_account(deps.store.get_contact(lin).account_id)
    assert account is not None and account.name is None
    preview = get(client, f"/v1/email-templates/team/preview?contact_id={lin}", admin_key).json_body
    assert preview["subject"] == "News for your team", preview
    assert preview["html"] == "<p>For your team</p>" and preview["text"] == "For your team"


def test_a_link_holding_a_persons_field_with_a_line_break_redirects_instead_of_failing(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    answer = post_json(
        client,
        "/v1/leads",
        {"contact": {"email": "crlf@example.org", "ref": "x\r\nSet-Cookie: a=b"}, "consent": "marketing"},
        {"X-Api-Key": admin_key},
    )
    contact_id = answer.json_body["contact_id"]
    template = {
        "subject": "s",
        "html": '<a data-link="ref" href="https://example.com/r?x={{ contact.fields.ref }}">go</a>',
        "text": "t",
    }
    assert put_json(client, "/v1/email-templates/reflink", template, admin_key).status_code == 201
    sent = post_json(
        client,
        "/v1/email-templates/reflink/send",
        {"contact_id": contact_id},
        {"X-Api-Key": admin_key, "Idempotency-Key": "crlf-1"},
    )
    message = deps.mail.get_message(sent.json_body["message_id"])
    found = re.search(r"http://[^\"]+/t/c/[^\"]+", message.html)
    assert found is not None
    click = client.http.get(urlparse(found.group(0)).path)
    assert click.status_code == 302, click.body
    location = click.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert location == "https://example.com/r?x=x%0D%0ASet-Cookie:%20a=b"


def test_a_used_double_opt_in_link_replayed_after_a_withdrawal_raises_nothing(
    client: Any,
    admin_key: str,
    people: dict[str, str],  # noqa: F811 - the fixture
    deps: Any,
) -> None:
    """The trust issue's way back after a withdrawal is a NEW confirmation: the old link (valid 90
    days, in a forwarded e-mail or a scanner's log) must not undo the person's later withdrawal."""
    lin = _person(client, admin_key, "lin@optin.example.org", "transactional")
    asked = post_json(
        client,
        f"/v1/contacts/{lin}/confirm-request",
        {"level": "marketing"},
        {"X-Api-Key": admin_key, "Idempotency-Key": "doi-1"},
    )
    assert asked.status_code == 201, asked.body
    message = deps.mail.get_message(asked.json_body["message_id"])
    found = re.search(r"http://[^\"]+/t/k/[^\"]+", message.html)
    assert found is not None
    confirm = urlparse(found.group(0)).path
    assert client.http.post(confirm).status_code == 200
    assert deps.store.get_contact(lin).consent == "marketing"
    assert client.http.post(confirm).status_code == 200  # a double click: still confirmed, no change
    sent = post_json(
        client,
        "/v1/email-templates/hello/send",
        {"contact_id": lin},
        {"X-Api-Key": admin_key, "Idempotency-Key": "doi-news"},
    )
    withdrawn = client.http.post(
        _unsubscribe_path(deps, sent.json_body["message_id"]),
        body="List-Unsubscribe=One-Click&level=none",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert withdrawn.status_code == 200
    assert deps.store.get_contact(lin).consent == "none"
    replay = client.http.post(confirm)
    assert b"no longer valid" in replay.body, replay.body
    assert deps.store.get_contact(lin).consent == "none"
    assert client.http.get(confirm).headers.get("Location") == "../gone"
