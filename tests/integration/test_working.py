"""Working a lead on moto, through the API: edit with If-Match (428/412, no lost update under
concurrency), the contacted status, notes and activities on the timeline (activities scored as
interactions), linking to another or a new contact in one transaction, and the 360° views."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json, submit_as_server
from tests.integration.test_scoring import ADA

GRACE = {**ADA, "email": "grace@hopper.example.org", "first_name": "Grace", "last_name": "Hopper"}


def patch(client: Any, path: str, body: Any, key: str, if_match: str | None) -> Any:
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.http.request("PATCH", path, headers=headers, body=json.dumps(body).encode())


@pytest.fixture
def sales_key(deps: Any) -> str:
    from chalicelib.services.access import create_key

    secret, _ = create_key("rep", ["sales"], deps.store)
    return secret


@pytest.fixture
def lead(client: Any, admin_key: str) -> dict[str, Any]:
    """A lead captured from the contact-us form (its contact, account)."""
    form = put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    assert form.status_code in (200, 201), form.body
    created = submit_as_server(client, ADA, admin_key).json_body
    return dict(created)


def _key(secret: str, **more: str) -> dict[str, str]:
    return {"X-Api-Key": secret, **more}


def test_get_lead_answers_an_etag_and_patch_edits_lead_and_contact_fields_on_that_version(
    client: Any, sales_key: str, lead: dict[str, Any]
):
    path = f"/v1/leads/{lead['lead_id']}"
    read = get(client, path, sales_key)
    etag = read.headers["ETag"]
    assert etag == '"1"', read.headers
    change = {
        "lead": {"budget": 25000, "timeframe": "Q2", "product": "Engines"},
        "contact": {"job_title": "CTO"},
    }
    missing = patch(client, path, change, sales_key, None)
    assert missing.status_code == 428 and missing.json_body["error"]["field"] == "If-Match"
    saved = patch(client, path, change, sales_key, etag)
    assert saved.status_code == 200, saved.body
    assert saved.headers["ETag"] == '"2"'
    body = saved.json_body
    assert body["fields"]["budget"] == 25000 and body["fields"]["timeframe"] == "Q2"
    assert body["contact"]["fields"]["job_title"] == "CTO"
    stale = patch(client, path, {"lead": {"budget": 1}}, sales_key, etag)
    assert stale.status_code == 412 and stale.json_body["error"]["field"] == "If-Match"
    assert stale.json_body["error"]["current_version"] == 2
    cleared = patch(client, path, {"lead": {"timeframe": None}}, sales_key, '"2"')
    assert cleared.status_code == 200 and "timeframe" not in cleared.json_body["fields"]
    timeline = get(client, f"{path}/timeline", sales_key).json_body["entries"]
    edits = [e for e in timeline if e["kind"] == "edit"]
    assert len(edits) == 2 and edits[-1]["changes"]["lead.budget"] == {"from": None, "to": 25000}
    assert edits[0]["by"].startswith("key:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lead": {"budget": 1}, "owner": "x"}, "owner"),
        ({"lead": {"status": "qualified"}}, "lead.status"),
        ({"lead": {"source": "forged"}}, "lead.source"),
        ({"contact": {"email": "mallory@example.org"}}, "contact.email"),
        ({"contact": {"phone": "not a phone"}}, "contact.phone"),
        ({"lead": {"Bad-Name": 1}}, "lead.Bad-Name"),
        ({"lead": {"notes": "x" * 5000}}, "lead.notes"),
        ({"lead": {"nested": {"a": 1}}}, "lead.nested"),
        ({"lead": []}, "lead"),
        ({}, "body"),
    ],
)
def test_a_bad_edit_is_a_422_naming_the_field_and_changes_nothing(
    client: Any, sales_key: str, lead: dict[str, Any], body: dict[str, Any], field: str
):
    path = f"/v1/leads/{lead['lead_id']}"
    answer = patch(client, path, body, sales_key, '"1"')
    assert answer.status_code == 422, answer.body
    assert field in [f["field"] for f in answer.json_body["error"]["fields"]]
    assert get(client, path, sales_key).headers["ETag"] == '"1"'


def test_concurrent_edits_on_the_same_version_save_exactly_one_and_lose_nothing(
    client: Any, sales_key: str, lead: dict[str, Any], deps: Any
):
    """Eight reps edit from version 1 at once, each a different field: one is saved, seven get 412;
    the saved field is the only change (no lost update, no half-written lead)."""
    from chalicelib.domain.errors import ConcurrentUpdate, Conflict
    from chalicelib.domain.working import LeadStaleVersion, parse_edit
    from chalicelib.services import working

    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def rep(n: int) -> None:
        barrier.wait()
        try:
            working.edit_lead(
                lead["lead_id"], 1, parse_edit({f"field_{n}": n}, None), f"rep{n}", deps.store, deps.work
            )
            outcomes.append(f"saved:{n}")
        except LeadStaleVersion:
            outcomes.append("stale")
        except (ConcurrentUpdate, Conflict):
            outcomes.append("conflict")

    threads = [threading.Thread(target=rep, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = [o for o in outcomes if o.startswith("saved")]
    assert len(saved) == 1 and len(outcomes) == 8, outcomes
    stored = deps.store.get_lead(lead["lead_id"])
    winner = int(saved[0].split(":")[1])
    assert stored.version == 2
    assert [k for k in stored.fields if k.startswith("field_")] == [f"field_{winner}"]


def test_contacted_is_reachable_from_new_and_leads_on_to_accept(
    client: Any, sales_key: str, lead: dict[str, Any]
):
    base = f"/v1/leads/{lead['lead_id']}"
    marked = post_json(client, f"{base}/contacted", {}, _key(sales_key))
    assert marked.status_code == 200, marked.body
    assert (marked.json_body["state"], marked.json_body["status"]) == ("open", "contacted")
    again = post_json(client, f"{base}/contacted", {}, _key(sales_key))
    assert again.status_code == 409 and again.json_body["error"]["field"] == "state"
    accepted = post_json(client, f"{base}/accept", {}, _key(sales_key))
    assert accepted.json_body["status"] == "sales_accepted"
    assert post_json(client, f"{base}/contacted", {}, _key(sales_key)).status_code == 409


def test_notes_are_on_the_timeline_attributed_and_bounded(client: Any, sales_key: str, lead: dict[str, Any]):
    base = f"/v1/leads/{lead['lead_id']}"
    added = post_json(client, f"{base}/notes", {"text": "  Called back, wants a demo.  "}, _key(sales_key))
    assert added.status_code == 201, added.body
    assert added.json_body["text"] == "Called back, wants a demo." and added.json_body["by"].startswith(
        "key:"
    )
    replay = {"Idempotency-Key": "note-1"}
    first = post_json(client, f"{base}/notes", {"text": "Once"}, _key(sales_key, **replay))
    second = post_json(client, f"{base}/notes", {"text": "Once"}, _key(sales_key, **replay))
    assert first.json_body["note_id"] == second.json_body["note_id"]
    entries = get(client, f"{base}/timeline", sales_key).json_body["entries"]
    assert sorted(e["text"] for e in entries if e["kind"] == "note") == ["Called back, wants a demo.", "Once"]
    for body, field in (
        ({"text": "x" * 4001}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "ok", "pinned": True}, "pinned"),
        ({}, "text"),
    ):
        refused = post_json(client, f"{base}/notes", body, _key(sales_key))
        assert refused.status_code == 422 and refused.json_body["error"]["field"] == field, refused.body
    missing = post_json(client, "/v1/leads/l_missing/notes", {"text": "x"}, _key(sales_key))
    assert missing.status_code == 404


def test_an_activity_is_an_interaction_scoring_sees_once_and_the_timeline_shows(
    client: Any, admin_key: str, sales_key: str, lead: dict[str, Any], pump: Any, deps: Any
):
    model = {
        "id": "touch",
        "name": "Sales touch",
        "rules": [
            {"id": "call", "points": 15, "when": {"event": "phone_call_completed", "within_days": 30}},
            {"id": "meeting", "points": 30, "when": {"event": "meeting_completed", "within_days": 30}},
        ],
        "grades": [{"grade": "A", "min_score": 40}, {"grade": "B", "min_score": 10}, {"grade": "D"}],
    }
    assert put_json(client, "/v1/scoring-models/touch", model, admin_key).status_code == 201
    published = post_json(client, "/v1/scoring-models/touch/publish", {}, _key(admin_key))
    assert published.status_code == 202, published.body
    pump.drain()
    base = f"/v1/leads/{lead['lead_id']}"
    when = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    call = {"type": "call", "subject": "Discovery call", "outcome": "Budget confirmed", "occurred_at": when}
    headers = _key(sales_key, **{"Idempotency-Key": "call-1"})
    logged = post_json(client, f"{base}/activities", call, headers)
    assert logged.status_code == 201, logged.body
    assert logged.json_body["interaction_type"] == "phone_call_completed"
    again = post_json(client, f"{base}/activities", call, headers)
    assert again.json_body["interaction_id"] == logged.json_body["interaction_id"]
    # without occurred_at ("now"), a retry with the same key is the same request: the first answer
    undated = {"type": "email", "subject": "Sent the price list"}
    keyed = _key(sales_key, **{"Idempotency-Key": "email-1"})
    sent = post_json(client, f"{base}/activities", undated, keyed)
    resent = post_json(client, f"{base}/activities", undated, keyed)
    assert sent.status_code == resent.status_code == 201, resent.body
    assert sent.json_body == resent.json_body
    pump.drain()
    held = list(deps.store.interactions_of(lead["contact_id"]))
    assert [i.interaction_id for i in held].count(logged.json_body["interaction_id"]) == 1
    scores = get(client, base, sales_key).json_body["scores"]
    touch = next(s for s in scores if s["model_id"] == "touch")
    assert touch["score"] == 15 and touch["grade"] == "B"
    meeting = {"type": "meeting", "subject": "Demo on site"}
    assert post_json(client, f"{base}/activities", meeting, _key(sales_key)).status_code == 201
    pump.drain()
    scores = get(client, base, sales_key).json_body["scores"]
    touch = next(s for s in scores if s["model_id"] == "touch")
    assert touch["score"] == 45 and touch["grade"] == "A"
    entries = get(client, f"{base}/timeline", sales_key).json_body["entries"]
    shown = next(e for e in entries if e.get("interaction_id") == logged.json_body["interaction_id"])
    assert (shown["activity"], shown["subject"], shown["outcome"]) == (
        "call",
        "Discovery call",
        "Budget confirmed",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "fax", "subject": "x"}, "type"),
        ({"type": "call"}, "subject"),
        ({"type": "call", "subject": "x", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"type": "call", "subject": "x", "occurred_at": "yesterday"}, "occurred_at"),
        ({"type": "call", "subject": "x", "occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({"type": "call", "subject": "x", "duration": 5}, "duration"),
        ({"type": "email", "subject": "x", "outcome": "y" * 2001}, "outcome"),
    ],
)
def test_a_bad_activity_is_a_422_naming_the_field(
    client: Any, sales_key: str, lead: dict[str, Any], body: dict[str, Any], field: str
):
    answer = post_json(client, f"/v1/leads/{lead['lead_id']}/activities", body, _key(sales_key))
    assert answer.status_code == 422, answer.body
    assert field in [f["field"] for f in answer.json_body["error"]["fields"]]


def test_linking_moves_the_lead_between_contacts_in_one_write_and_a_retry_changes_nothing(
    client: Any, admin_key: str, sales_key: str, lead: dict[str, Any], deps: Any
):
    other = submit_as_server(client, {**GRACE, "topic": "Other"}, admin_key).json_body
    base = f"/v1/leads/{lead['lead_id']}"
    linked = post_json(client, f"{base}/link", {"contact_id": other["contact_id"]}, _key(sales_key))
    assert linked.status_code == 200, linked.body
    assert linked.json_body["contact_id"] == other["contact_id"] and linked.json_body["changed"] is True
    old = deps.store.get_contact(lead["contact_id"])
    new = deps.store.get_contact(other["contact_id"])
    assert lead["lead_id"] not in old.lead_ids and new.lead_ids[-1] == lead["lead_id"]
    again = post_json(client, f"{base}/link", {"contact_id": other["contact_id"]}, _key(sales_key))
    assert again.status_code == 200 and again.json_body["changed"] is False
    entries = get(client, f"{base}/timeline", sales_key).json_body["entries"]
    moved = next(e for e in entries if e["kind"] == "link")
    assert (moved["from_contact_id"], moved["to_contact_id"]) == (lead["contact_id"], other["contact_id"])
    # the capture's interaction (done by the first person) stays on the lead's timeline
    assert any(e["kind"] == "interaction" and e["type"] == "form_submitted" for e in entries)


def test_linking_to_a_new_contact_creates_it_with_its_email_claim_once(
    client: Any, sales_key: str, lead: dict[str, Any], deps: Any
):
    base = f"/v1/leads/{lead['lead_id']}"
    person = {"email": "Boss@Engines.example.org", "first_name": "Charles", "last_name": "Babbage"}
    headers = _key(sales_key)
    made = post_json(client, f"{base}/link", {"new_contact": person}, headers)
    assert made.status_code == 201, made.body
    contact = made.json_body["contact"]
    assert contact["email"] == "boss@engines.example.org" and made.json_body["contact_created"] is True
    assert deps.store.contact_by_email("boss@engines.example.org").contact_id == contact["contact_id"]
    # a retry without a key finds the contact it made holding the lead: nothing more is made
    retried = post_json(client, f"{base}/link", {"new_contact": person}, headers)
    assert retried.status_code == 200 and retried.json_body["changed"] is False
    assert retried.json_body["contact_id"] == contact["contact_id"]
    taken = post_json(client, f"{base}/link", {"new_contact": {"email": ADA["email"]}}, headers)
    assert taken.status_code == 409 and taken.json_body["error"]["field"] == "new_contact.email"
    assert taken.json_body["error"]["contact_id"] == lead["contact_id"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"contact_id": "c_nobody"}, 422, "contact_id"),
        ({}, 422, "contact_id"),
        ({"contact_id": "c_x", "new_contact": {"email": "a@b.example.org"}}, 422, "contact_id"),
        ({"new_contact": {"first_name": "No email"}}, 422, "new_contact.email"),
        ({"new_contact": {"email": "not-an-email"}}, 422, "new_contact.email"),
        ({"new_contact": {"email": "a@b.example.org", "consent": "marketing"}}, 422, "new_contact.consent"),
        ({"contact": "c_x"}, 422, "contact"),
    ],
)
def test_a_bad_link_is_a_4xx_naming_the_field(
    client: Any, sales_key: str, lead: dict[str, Any], body: dict[str, Any], status: int, field: str
):
    answer = post_json(client, f"/v1/leads/{lead['lead_id']}/link", body, _key(sales_key))
    assert answer.status_code == status, answer.body
    assert answer.json_body["error"]["field"] == field


def test_linking_to_an_erased_contact_is_refused(
    client: Any, admin_key: str, sales_key: str, lead: dict[str, Any], pump: Any
):
    other = submit_as_server(client, GRACE, admin_key).json_body
    erased = client.http.request(
        "DELETE", f"/v1/contacts/{other['contact_id']}", headers={"X-Api-Key": admin_key}
    )
    assert erased.status_code in (200, 202), erased.body
    answer = post_json(
        client, f"/v1/leads/{lead['lead_id']}/link", {"contact_id": other["contact_id"]}, _key(sales_key)
    )
    assert answer.status_code == 409 and answer.json_body["error"]["field"] == "contact_id", answer.body


def test_the_contact_overview_holds_everything_in_one_call_and_pages_interactions(
    client: Any, admin_key: str, sales_key: str, lead: dict[str, Any]
):
    base = f"/v1/leads/{lead['lead_id']}"
    post_json(client, f"{base}/notes", {"text": "First note"}, _key(sales_key))
    for n in range(3):
        call = {"type": "call", "subject": f"Call {n}"}
        assert post_json(client, f"{base}/activities", call, _key(sales_key)).status_code == 201
    post_json(client, f"{base}/accept", {}, _key(sales_key))
    post_json(client, f"{base}/qualify", {}, _key(sales_key))
    path = f"/v1/contacts/{lead['contact_id']}/overview"
    view = get(client, f"{path}?limit=2", sales_key)
    assert view.status_code == 200, view.body
    body = view.json_body
    assert body["contact"]["contact_id"] == lead["contact_id"] and body["account"]["name"]
    assert [w["lead_id"] for w in body["leads"]] == [lead["lead_id"]]
    work = body["leads"][0]
    assert work["status"] == "qualified" and len(work["opportunities"]) == 1
    assert [n["text"] for n in work["notes"]] == ["First note"]
    assert len(body["interactions"]) == 2 and body["next_cursor"]
    times = [i["occurred_at"] for i in body["interactions"]]
    assert times == sorted(times, reverse=True)
    rest = get(client, f"{path}?limit=2&cursor={body['next_cursor']}", sales_key).json_body
    seen = {i["interaction_id"] for i in body["interactions"] + rest["interactions"]}
    assert len(seen) == 4  # the form submission and three calls, none twice
    assert body["consent_changes"] and body["consent_changes"][0]["level"]
    account = get(client, f"/v1/accounts/{body['account']['account_id']}", sales_key)
    assert account.status_code == 200, account.body
    assert [c["contact_id"] for c in account.json_body["contacts"]] == [lead["contact_id"]]
    assert [w["lead_id"] for w in account.json_body["leads"]] == [lead["lead_id"]]
    assert get(client, "/v1/accounts/a_missing", sales_key).status_code == 404
    assert get(client, "/v1/contacts/c_missing/overview", sales_key).status_code == 404
    forged = get(client, f"{path}?cursor=eyJ4IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", sales_key)
    assert forged.status_code == 422 and forged.json_body["error"]["field"] == "cursor"
