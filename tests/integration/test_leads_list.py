"""``GET /v1/leads`` without a state comes newest first, as the CLI's help and the README say: every
state's ``by_state`` page merged by ``created_at`` (no scan), paged with a cursor that holds a place in
each state, and refused when forged. On moto, through the real routes."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.integration.helpers import get, post_json


def create(client: Any, key: str, n: int) -> str:
    body = {"contact": {"email": f"person{n}@list{n}.example.org"}, "lead": {"topic": f"Topic {n}"}}
    answer = post_json(client, "/v1/leads", body, {"X-Api-Key": key})
    assert answer.status_code == 201, answer.json_body
    return str(answer.json_body["lead_id"])


def move(client: Any, key: str, lead_id: str, action: str) -> None:
    body = {"reason": "lost"} if action == "disqualify" else {"create_opportunity": False}
    answer = post_json(client, f"/v1/leads/{lead_id}/{action}", body, {"X-Api-Key": key})
    assert answer.status_code == 200, answer.json_body


def pages(client: Any, key: str, query: str) -> list[list[str]]:
    found, cursor = [], None
    while True:
        path = f"/v1/leads?{query}" + (f"&cursor={cursor}" if cursor else "")
        answer = get(client, path, key)
        assert answer.status_code == 200, answer.json_body
        found.append([lead["lead_id"] for lead in answer.json_body["leads"]])
        cursor = answer.json_body["next_cursor"]
        if cursor is None:
            return found


def test_leads_come_newest_first_across_states_page_after_page(client: Any, admin_key: str):
    created = [create(client, admin_key, n) for n in range(7)]
    for lead_id, action in ((created[1], "qualify"), (created[4], "disqualify"), (created[5], "qualify")):
        move(client, admin_key, lead_id, action)

    every = pages(client, admin_key, "limit=3")
    assert [lead for page in every for lead in page] == list(reversed(created))
    assert [len(page) for page in every] == [3, 3, 1]
    assert pages(client, admin_key, "limit=100") == [list(reversed(created))]
    # one state, and a filter, keep the order
    assert pages(client, admin_key, "state=open&limit=2") == [
        [created[6], created[3]],
        [created[2], created[0]],
    ]
    assert [x for p in pages(client, admin_key, "status=qualified&limit=2") for x in p] == [
        created[5],
        created[1],
    ]


def test_a_forged_cursor_is_refused_naming_the_cursor(client: Any, admin_key: str):
    create(client, admin_key, 1)
    forged = [
        "not-base64!",
        base64.urlsafe_b64encode(b'{"after": {"open": null}}').decode(),
        base64.urlsafe_b64encode(
            json.dumps(
                {
                    "after": {
                        "open": {
                            "lead_id": {"S": "l_1"},
                            "state": {"S": "qualified"},
                            "created_at": {"S": "x"},
                        },
                        "qualified": "done",
                        "disqualified": "done",
                    }
                }
            ).encode()
        ).decode(),
    ]
    for cursor in forged:
        answer = get(client, f"/v1/leads?cursor={cursor}", admin_key)
        assert answer.status_code == 422, (cursor, answer.json_body)
        assert answer.json_body["error"]["fields"][0]["field"] == "cursor"
