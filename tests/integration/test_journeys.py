"""Journeys on moto (issue 18, items 1-2): definitions validated on save naming the step, states, the
engine (enroll, e-mail once, wait, branch on a click woken by the interactions stream, sales work), the
report's counters, and a crash between "sent" and "recorded" sending no second e-mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json, submit_people
from tests.integration.test_mail import ses_sent

ADA = {**load_event("http/form_submissions.json")[0], "newsletter": "on"}  # consent: marketing
GRACE = {**load_event("http/form_submissions.json")[1], "newsletter": "on"}
HELLO = {
    "subject": "Hello {{ contact.first_name | default('there') }}",
    "html": (
        "<html><body><p>Hi {{ contact.first_name }}</p>"
        '<a data-link="pricing" href="https://example.com/pricing">Pricing</a>'
        '<a data-link="docs" href="https://example.com/docs">Docs</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>'
    ),
    "text": "Hi {{ contact.first_name | default('there') }}",
}
NUDGE = {**HELLO, "subject": "Still curious, {{ contact.first_name }}?"}
JOURNEY: dict[str, Any] = load_event("journeys/pricing_nurture.json")


@pytest.fixture
def people(client: Any, admin_key: str) -> dict[str, str]:
    ids = submit_people(client, admin_key, {"ada": ADA, "grace": GRACE})
    assert put_json(client, "/v1/email-templates/hello", HELLO, admin_key).status_code == 201
    assert put_json(client, "/v1/email-templates/nudge", NUDGE, admin_key).status_code == 201
    return ids


def _errors(answer: Any) -> str:
    return str(answer.json_body["error"])


def live(client: Any, key: str, journey_id: str = "nurture", body: dict[str, Any] | None = None) -> None:
    saved = put_json(client, f"/v1/journeys/{journey_id}", body or JOURNEY, key)
    assert saved.status_code in (200, 201), saved.body
    activated = post_json(client, f"/v1/journeys/{journey_id}/activate", {}, {"X-Api-Key": key})
    assert activated.status_code == 200 and activated.json_body["state"] == "live", activated.body


def enroll(client: Any, key: str, contact_id: str, journey_id: str = "nurture") -> Any:
    return post_json(
        client, f"/v1/journeys/{journey_id}/enroll", {"contact_id": contact_id}, {"X-Api-Key": key}
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda j: j["steps"][0].update(template_id="nope"), "steps[0].template_id"),
        (lambda j: j["steps"][1].update(days=0), "steps[1].days"),
        (lambda j: j["steps"][1].update(days=400), "steps[1].days"),
        (lambda j: j["steps"][2]["engagement"].update(clicked="careers"), "steps[2].engagement.clicked"),
        # call -> clicked -> (yes) call: a loop without a wait (a click would spin it for ever)
        (lambda j: j["steps"][3].update(next="clicked"), "steps[2]: a loop without a wait"),
        (lambda j: j["steps"][2].update(yes="nowhere"), "steps[2].yes"),
        (lambda j: j.update(entry={"segment_id": "missing"}), "entry.segment_id"),
        (lambda j: j["steps"][3]["action"].update(type="fax"), "steps[3].action[0].type"),
    ],
)
def test_a_bad_definition_is_422_naming_the_step_and_nothing_is_saved(
    client: Any, admin_key: str, people: dict[str, str], change: Any, field: str
) -> None:
    import copy

    body: dict[str, Any] = copy.deepcopy(JOURNEY)
    change(body)
    answer = put_json(client, "/v1/journeys/bad", body, admin_key)
    assert answer.status_code == 422, answer.body
    assert field in _errors(answer)
    assert get(client, "/v1/journeys/bad", admin_key).status_code == 404


def test_garbage_bodies_are_4xx_never_500(client: Any, admin_key: str, people: dict[str, str]) -> None:
    bodies: list[Any] = [
        [],
        {"steps": "x"},
        {"name": "x", "entry": {"api": True}, "steps": [None, 3]},
        {"zzz": 1},
    ]
    for body in bodies:
        answer = put_json(client, "/v1/journeys/junk", body, admin_key)
        assert answer.status_code in (400, 422), (body, answer.body)
    assert enroll(client, admin_key, people["ada"], "none").status_code == 404
    bad = post_json(client, "/v1/journeys/none/enroll", {"contact_id": 7}, {"X-Api-Key": admin_key})
    assert bad.status_code == 422 and "contact_id" in bad.body.decode()


def test_states_move_draft_live_paused_stopped_and_a_stopped_journey_stays_stopped(
    client: Any, admin_key: str, people: dict[str, str]
) -> None:
    saved = put_json(client, "/v1/journeys/nurture", JOURNEY, admin_key)
    assert saved.status_code == 201 and saved.json_body["state"] == "draft"
    assert enroll(client, admin_key, people["ada"]).json_body["result"] == "not_live"
    headers = {"X-Api-Key": admin_key}
    assert post_json(client, "/v1/journeys/nurture/pause", {}, headers).status_code == 409
    assert post_json(client, "/v1/journeys/nurture/activate", {}, headers).json_body["state"] == "live"
    assert post_json(client, "/v1/journeys/nurture/pause", {}, headers).json_body["state"] == "paused"
    assert post_json(client, "/v1/journeys/nurture/stop", {}, headers).json_body["state"] == "stopped"
    assert post_json(client, "/v1/journeys/nurture/activate", {}, headers).status_code == 409
    listed = get(client, "/v1/journeys", admin_key).json_body["items"]
    assert [(j["journey_id"], j["state"]) for j in listed] == [("nurture", "stopped")]


def test_activate_and_pause_answer_the_time_of_the_state_change(
    client: Any, admin_key: str, people: dict[str, str]
) -> None:
    import time

    headers = {"X-Api-Key": admin_key}
    saved = put_json(client, "/v1/journeys/nurture", JOURNEY, admin_key).json_body
    moments = [saved["updated_at"]]
    for action in ("activate", "pause", "activate"):
        time.sleep(0.005)  # the times are in milliseconds
        answer = post_json(client, f"/v1/journeys/nurture/{action}", {}, headers).json_body
        assert answer["updated_at"] == get(client, "/v1/journeys/nurture", admin_key).json_body["updated_at"]
        moments.append(answer["updated_at"])
    assert moments == sorted(set(moments)), moments  # each change later than the one before


def _tracked(deps: Any, message_id: str, link: str) -> str:
    message = deps.mail.get_message(message_id)
    for match in re.finditer(r"http://[^\"]+/t/c/[^\"]+", message.html):
        token = match.group(0).rsplit("/", 1)[1]
        from chalicelib.domain.email import read_token

        claims = read_token(token)
        if claims is not None and claims.link == link:
            return urlparse(match.group(0)).path
    raise AssertionError(f"no tracked link {link}")


def test_a_click_wakes_the_branch_and_the_person_goes_to_sales_once(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    entered = enroll(client, admin_key, people["ada"])
    assert entered.status_code == 201 and entered.json_body["result"] == "enrolled"
    assert enroll(client, admin_key, people["ada"]).json_body["result"] == "already"
    pump.drain()  # the worker sends the first e-mail and waits
    assert [m.subject for m in ses_sent()] == ["Hello Ada"]
    now = datetime.now(UTC)
    assert journeys.run(people["ada"], "nurture", deps, now) == []  # a redelivery: not due, nothing
    later = now + timedelta(days=2, minutes=1)
    assert journeys.sweep(deps, later) == {"queued": 1}
    assert journeys.run(people["ada"], "nurture", deps, later) == ["pause->clicked"]
    enrollment = deps.journeys.get_enrollment(people["ada"], "nurture")
    assert enrollment.step == "clicked" and enrollment.waiting
    # the click: tracked link -> interaction -> stream -> the enrollment woken through the queue
    message_id = journeys.messages("nurture", 10, deps).messages[0].message_id
    assert client.http.get(_tracked(deps, message_id, "pricing")).status_code == 302
    pump.drain()
    enrollment = deps.journeys.get_enrollment(people["ada"], "nurture")
    assert enrollment.state == "done" and enrollment.reason == "exit_step"
    handoffs = list(deps.handoffs.history(deps.store.get_contact(people["ada"]).lead_ids[0], 50))
    assert any("journey:nurture" in str(h) for h in handoffs), handoffs
    assert len(ses_sent()) == 1  # no nudge for someone who clicked
    listed = get(client, f"/v1/messages?journey_id=nurture&contact_id={people['ada']}", admin_key).json_body
    assert [m["subject"] for m in listed["items"]] == ["Hello Ada"]
    assert get(client, "/v1/messages?journey_id=nurture&contact_id=other", admin_key).json_body["items"] == []
    own = get(client, "/v1/journeys/nurture/messages?limit=1", admin_key).json_body
    assert [m["subject"] for m in own["items"]] == ["Hello Ada"]
    assert own["next_cursor"] is None, "one e-mail: one page"
    report = get(client, "/v1/journeys/nurture/report", admin_key).json_body
    steps = {s["step"]: s for s in report["steps"]}
    assert report["entered"] == 1 and report["exited"] == {"exit_step": 1} and report["active"] == 0
    assert steps["hello"]["sent"] == 1 and steps["hello"]["clicked"] == 1
    assert steps["clicked"]["entered"] == 1 and steps["clicked"]["at_step"] == 0
    assert steps["call"]["entered"] == 1 and steps["nudge"]["entered"] == 0


def test_no_click_in_the_window_takes_the_no_branch(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    enroll(client, admin_key, people["grace"])
    now = datetime.now(UTC)
    assert journeys.run(people["grace"], "nurture", deps, now) == ["hello->pause"]
    assert journeys.run(people["grace"], "nurture", deps, now + timedelta(days=2)) == ["pause->clicked"]
    assert journeys.run(people["grace"], "nurture", deps, now + timedelta(days=3)) == []  # window open
    done = journeys.run(people["grace"], "nurture", deps, now + timedelta(days=5, hours=1))
    assert done == ["clicked->nudge", "nudge->exit:completed"]
    assert [m.subject for m in ses_sent()] == ["Hello Grace", "Still curious, Grace?"]


def test_a_crash_after_ses_sent_and_before_the_move_sends_no_second_email(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    enroll(client, admin_key, people["ada"])
    store = deps.journeys
    original = store.advance

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the function died after SES answered")

    monkeypatch.setattr(store, "advance", crash)
    with pytest.raises(RuntimeError):
        journeys.run(people["ada"], "nurture", deps)
    assert len(ses_sent()) == 1
    monkeypatch.setattr(store, "advance", original)
    assert journeys.run(people["ada"], "nurture", deps) == ["hello->pause"]  # the redelivery
    assert journeys.run(people["ada"], "nurture", deps) == []
    assert len(ses_sent()) == 1
    report = journeys.report("nurture", deps)
    assert report["steps"][0]["sent"] == 1 and report["steps"][0]["entered"] == 1


def test_two_deliveries_at_once_move_the_step_once(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.services import journeys

    live(client, admin_key)
    enroll(client, admin_key, people["ada"])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: journeys.run(people["ada"], "nurture", deps), range(4)))
    assert sorted(map(tuple, results)).count(("hello->pause",)) == 1
    assert len(ses_sent()) == 1
    assert journeys.report("nurture", deps)["steps"][1]["entered"] == 1


def test_an_unsubscribed_person_exits_before_the_next_email(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    enroll(client, admin_key, people["grace"])
    now = datetime.now(UTC)
    journeys.run(people["grace"], "nurture", deps, now)
    message = journeys.messages("nurture", 10, deps).messages[0]
    unsubscribe = re.search(r"http://[^\"]+/t/u/[^\"]+", message.html)
    assert unsubscribe is not None
    answer = client.http.post(
        urlparse(unsubscribe.group(0)).path,
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert journeys.run(people["grace"], "nurture", deps, now + timedelta(days=2)) == [
        "pause->exit:unsubscribed"
    ]
    assert len(ses_sent()) == 1
    assert journeys.report("nurture", deps)["exited"] == {"unsubscribed": 1}


def test_a_new_version_applies_to_new_entrants_only_and_re_entry_follows_the_policy(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    from chalicelib.services import journeys

    short = {
        **JOURNEY,
        "re_entry": {"after_days": 1},
        "steps": [JOURNEY["steps"][0], {"id": "end", "type": "exit"}],
    }
    live(
        client,
        admin_key,
        "short",
        {**short, "steps": [{"id": "pause", "type": "wait", "hours": 1}, *short["steps"]]},
    )
    enroll(client, admin_key, people["ada"], "short")
    second = put_json(client, "/v1/journeys/short", short, admin_key)
    assert (
        second.status_code == 200 and second.json_body["version"] == 2 and second.json_body["state"] == "live"
    )
    enroll(client, admin_key, people["grace"], "short")
    assert deps.journeys.get_enrollment(people["ada"], "short").version == 1
    assert deps.journeys.get_enrollment(people["grace"], "short").version == 2
    now = datetime.now(UTC)
    assert journeys.run(people["grace"], "short", deps, now) == ["hello->end", "end->exit:exit_step"]
    assert journeys.enroll("short", people["grace"], deps, now).result == "not_again"
    assert (
        journeys.enroll("short", people["grace"], deps, now + timedelta(days=1, minutes=1)).result
        == "enrolled"
    )
    assert deps.journeys.get_enrollment(people["grace"], "short").run == 2


def test_a_segment_journey_enters_who_matches_now_and_who_matches_later(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    british = {"name": "British", "condition": {"field": "contact.country", "op": "eq", "value": "GB"}}
    assert put_json(client, "/v1/segments/british", british, admin_key).status_code in (200, 201)
    body = {**JOURNEY, "entry": {"segment_id": "british"}}
    live(client, admin_key, "uk", body)
    pump.drain()  # activation queued the segment's first page: Ada (GB) enters, Grace (US) does not
    assert deps.journeys.get_enrollment(people["ada"], "uk") is not None
    assert deps.journeys.get_enrollment(people["grace"], "uk") is None
    # Grace moves to Britain: the contacts stream evaluates the live journeys' segments on her lead
    moved = post_json(
        client,
        f"/v1/forms/{FORM}/submissions",
        {**GRACE, "country": "GB"},
        {"X-Api-Key": admin_key},
    )
    assert moved.status_code in (200, 201), moved.body
    contact = deps.store.get_contact(people["grace"])
    if contact.fields.get("country") != "GB":  # a form fills only what is empty: set it as an admin would
        from chalicelib.domain.capture import Capture
        from chalicelib.services import capture

        capture.capture(
            Capture(contact={"email": GRACE["email"], "country": "GB"}, update_policy="overwrite"), deps
        )
    pump.drain()
    assert deps.journeys.get_enrollment(people["grace"], "uk") is not None
    assert {m.subject for m in ses_sent()} == {"Hello Ada", "Hello Grace"}
    assert journeys_report(deps, "uk")["entered"] == 2


def journeys_report(deps: Any, journey_id: str) -> dict[str, Any]:
    from chalicelib.services import journeys

    return journeys.report(journey_id, deps)


def test_a_trigger_journey_enters_on_the_interaction_it_names(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    body = {**JOURNEY, "entry": {"trigger": {"event": "content_downloaded"}}}
    live(client, admin_key, "ebook", body)
    pump.drain()
    recorded = post_json(
        client,
        "/v1/interactions",
        {
            "interactions": [
                {
                    "id": "dl-1",
                    "type": "content_downloaded",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "contact_id": people["grace"],
                }
            ]
        },
        {"X-Api-Key": admin_key},
    )
    assert recorded.status_code in (200, 201, 202), recorded.body
    pump.drain()
    enrollment = deps.journeys.get_enrollment(people["grace"], "ebook")
    assert enrollment is not None and enrollment.step == "pause"  # entered and e-mailed at once
    assert deps.journeys.get_enrollment(people["ada"], "ebook") is None


def test_a_grade_journey_enters_a_person_when_a_change_finds_their_lead_at_the_grade(
    client: Any,
    admin_key: str,
    people: dict[str, str],
    deps: Any,
    pump: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib import wiring

    # the consumers keep the journeys' list a few seconds (MODELS_CACHE_SECONDS); this test creates
    # its journey after they first read it
    monkeypatch.setenv("MODELS_CACHE_SECONDS", "0")
    wiring.reset()
    deps = wiring.deps()
    model = load_event("models/b2b_default.json")
    assert put_json(client, "/v1/scoring-models/b2b-default", model, admin_key).status_code == 201
    assert (
        post_json(client, "/v1/scoring-models/b2b-default/publish", {}, {"X-Api-Key": admin_key}).status_code
        == 202
    )
    pump.drain()
    lead_id = deps.store.get_contact(people["ada"]).lead_ids[0]
    grade = deps.scoring.scores_of(lead_id)["b2b-default"].grade
    body = {**JOURNEY, "entry": {"trigger": {"grade": "b2b-default", "value": grade}}}
    live(client, admin_key, "graded", body)
    assert deps.journeys.get_enrollment(people["ada"], "graded") is None  # nothing changed yet
    # a rep edits Ada's lead: the leads stream's qualify consumer looks at the lead's grade
    from chalicelib.domain.working import LeadEdit
    from chalicelib.services.working import edit_lead

    lead = deps.store.get_lead(lead_id)
    edit_lead(lead_id, lead.version or 0, LeadEdit(lead={"budget": "50k"}), "user:ann", deps.store, deps.work)
    pump.drain()
    entered = deps.journeys.get_enrollment(people["ada"], "graded")
    assert entered is not None and entered.lead_id == lead_id


def _publish_b2b(client: Any, admin_key: str, pump: Any) -> None:
    model = load_event("models/b2b_default.json")
    assert put_json(client, "/v1/scoring-models/b2b-default", model, admin_key).status_code == 201
    published = post_json(client, "/v1/scoring-models/b2b-default/publish", {}, {"X-Api-Key": admin_key})
    assert published.status_code == 202
    pump.drain()


def test_a_segment_journey_whose_segment_names_a_score_enters_a_person_who_newly_matches(
    client: Any, admin_key: str, people: dict[str, str], pump: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change evaluates the live journeys' segments on the changed lead with its scores (as a segment
    query does): a score leaf is not read as missing."""
    from chalicelib import wiring

    monkeypatch.setenv("MODELS_CACHE_SECONDS", "0")  # the journey is made after the consumers first ran
    wiring.reset()
    deps = wiring.deps()
    _publish_b2b(client, admin_key, pump)
    condition = {
        "all": [
            {"field": "contact.country", "op": "eq", "value": "GB"},
            {"score": "b2b-default", "op": "gte", "value": -1000},
        ]
    }
    segment = {"name": "Scored Britons", "condition": condition}
    assert put_json(client, "/v1/segments/scored-gb", segment, admin_key).status_code in (200, 201)
    live(client, admin_key, "scored-uk", {**JOURNEY, "entry": {"segment_id": "scored-gb"}})
    pump.drain()
    assert deps.journeys.get_enrollment(people["ada"], "scored-uk") is not None
    assert deps.journeys.get_enrollment(people["grace"], "scored-uk") is None
    from chalicelib.domain.capture import Capture
    from chalicelib.services import capture

    capture.capture(
        Capture(contact={"email": GRACE["email"], "country": "GB"}, update_policy="overwrite"), deps
    )
    pump.drain()
    assert deps.journeys.get_enrollment(people["grace"], "scored-uk") is not None


def test_a_segment_by_journey_activity_selects_who_is_in_a_journey_and_who_never_entered(
    client: Any, admin_key: str, people: dict[str, str], pump: Any
) -> None:
    live(client, admin_key)
    assert enroll(client, admin_key, people["ada"]).status_code in (200, 201, 202)
    pump.drain()

    def contacts(condition: dict[str, Any]) -> set[str]:
        answer = post_json(client, "/v1/segments/query", {"condition": condition}, {"X-Api-Key": admin_key})
        assert answer.status_code == 200, answer.body
        return {c["contact_id"] for c in answer.json_body["contacts"]}

    assert contacts({"field": "journey.nurture.state", "op": "eq", "value": "in"}) == {people["ada"]}
    assert contacts({"field": "journey.nurture.state", "op": "missing"}) == {people["grace"]}
    assert contacts({"field": "journey.nurture.step", "op": "eq", "value": "pause"}) == {people["ada"]}
    assert contacts({"field": "journey.nurture.entered_at", "op": "gte", "value": "2020-01-01"}) == {
        people["ada"]
    }
    assert contacts({"field": "journey.other.state", "op": "eq", "value": "in"}) == set()
    bad = post_json(
        client,
        "/v1/segments/query",
        {"condition": {"field": "journey.nurture.mood", "op": "eq", "value": "in"}},
        {"X-Api-Key": admin_key},
    )
    assert bad.status_code == 422 and bad.json_body["error"]["field"] == "condition.field", bad.body


def test_a_mail_scanner_following_the_link_at_delivery_wakes_no_branch_and_scores_nothing(
    client: Any,
    admin_key: str,
    people: dict[str, str],
    deps: Any,
    pump: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Safe Links fetches every link of an e-mail as it is delivered. Before, that fetch was the
    person's click: the branch took `yes` and the person went to sales."""
    from chalicelib import wiring
    from chalicelib.services import journeys

    monkeypatch.setenv("MAIL_SCAN_SECONDS", "10")
    wiring.reset()
    live(client, admin_key)
    enroll(client, admin_key, people["ada"])
    pump.drain()  # the first e-mail goes out
    message_id = journeys.messages("nurture", 10, deps).messages[0].message_id
    assert client.http.get(_tracked(deps, message_id, "pricing")).status_code == 302  # at delivery
    pump.drain()
    later = datetime.now(UTC) + timedelta(days=2, minutes=1)
    journeys.run(people["ada"], "nurture", deps, later)
    enrollment = deps.journeys.get_enrollment(people["ada"], "nurture")
    assert enrollment.step == "clicked" and enrollment.waiting, enrollment  # no click: still waiting
    kinds = [i.type for i in deps.store.interactions_of(people["ada"])]
    assert "email_scanned" in kinds and "email_clicked" not in kinds, kinds
    report = get(client, "/v1/journeys/nurture/report", admin_key).json_body
    assert {s["step"]: s for s in report["steps"]}["hello"]["clicked"] == 0
