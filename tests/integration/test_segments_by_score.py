"""Segments by a scoring model's score, grade and sales-readiness (issue 18, item 5), on moto through
the real routes and streams: the answers agree with each lead's scores as ``GET /v1/leads/{id}``
shows them, and a condition that requires a model's score is read from the scores' ``by_model_score``
index (a keyed query), never a scan of a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.helpers import aws_calls, get, post_json, put_json, submit_as_server
from tests.integration.test_scoring import ADA, MODEL, publish

#: (clicks, pricing visits, job, company) per person; b2b-default gives 20 for a senior title, 10 for a
#: big company, 5 a click (25 at most), 15 for two pricing visits: about 70, 40, 30 and 0.
PEOPLE = [
    (5, 2, "Head of Engineering", "Analytical Engines Ltd"),
    (2, 0, "Head of Engineering", "Analytical Engines Ltd"),
    (0, 0, "Head of Engineering", "Analytical Engines Ltd"),
    (0, 0, "Engineer", "Tiny Shop"),
]


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def scored(client: Any, admin_key: str, pump: Any) -> dict[str, dict[str, Any]]:
    """Four scored people: lead id -> that lead's ``b2b-default`` score as the API shows it."""
    from tests.conftest import load_event

    assert put_json(
        client, "/v1/forms/contact-us", load_event("http/form_contact_us.json"), admin_key
    ).status_code
    publish(client, admin_key, MODEL, pump)
    items: list[dict[str, Any]] = []
    leads = []
    for n, (clicks, visits, job, company) in enumerate(PEOPLE):
        body = {**ADA, "email": f"person{n}@segments{n}.example.org", "job": job, "company": company}
        if company == "Tiny Shop":
            body["employees"] = "5"
        made = submit_as_server(client, body, admin_key).json_body
        leads.append(made["lead_id"])
        items += [
            {
                "id": f"c{n}-{k}",
                "type": "email_clicked",
                "occurred_at": ago(1),
                "contact_id": made["contact_id"],
            }
            for k in range(clicks)
        ]
        items += [
            {
                "id": f"p{n}-{k}",
                "type": "page_visited",
                "occurred_at": ago(2 + k),
                "contact_id": made["contact_id"],
                "properties": {"url": "https://www.example.com/pricing"},
            }
            for k in range(visits)
        ]
    assert post_json(
        client, "/v1/interactions", {"interactions": items}, {"X-Api-Key": admin_key}
    ).status_code
    pump.drain()
    found = {}
    for lead_id in leads:
        [score] = get(client, f"/v1/leads/{lead_id}", admin_key).json_body["scores"]
        found[lead_id] = score
    return found


def query(client: Any, key: str, condition: dict[str, Any], limit: int = 100) -> dict[str, Any]:
    """Every page of a segment query: the matching lead ids and the index each page was read from."""
    matched: list[str] = []
    indexes, cursor = set(), None
    while True:
        body = {"condition": condition, "limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = post_json(client, "/v1/segments/query", body, {"X-Api-Key": key})
        assert answer.status_code == 200, answer.json_body
        matched += [lead for c in answer.json_body["contacts"] for lead in c["matching_lead_ids"]]
        indexes.add((answer.json_body["index"], answer.json_body["scanned"]))
        cursor = answer.json_body["next_cursor"]
        if cursor is None:
            return {"leads": sorted(matched), "indexes": indexes}


def test_the_four_people_are_scored_across_grades_as_the_fixture_says(scored: dict[str, Any]):
    assert sorted((s["score"], s["grade"], s["sales_ready"]) for s in scored.values()) == [
        (0, "D", False),
        (30, "C", False),
        (40, "C", False),
        (70, "B", True),
    ]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"score": "b2b-default", "op": "gte", "value": 35}, lambda s: s["score"] >= 35),
        ({"score": "b2b-default", "op": "lt", "value": 35}, lambda s: s["score"] < 35),
        ({"score": "b2b-default", "op": "eq", "value": 40}, lambda s: s["score"] == 40),
        ({"grade": "b2b-default", "op": "eq", "value": "C"}, lambda s: s["grade"] == "C"),
        ({"grade": "b2b-default", "op": "in", "value": ["B", "D"]}, lambda s: s["grade"] in ("B", "D")),
        ({"sales_ready": "b2b-default"}, lambda s: s["sales_ready"]),
        (
            {
                "all": [
                    {"field": "lead.state", "op": "eq", "value": "open"},
                    {"grade": "b2b-default", "op": "in", "value": ["B", "C"]},
                    {"score": "b2b-default", "op": "lte", "value": 40},
                ]
            },
            lambda s: s["grade"] in ("B", "C") and s["score"] <= 40,
        ),
    ],
)
def test_a_segment_by_score_grade_or_sales_readiness_holds_exactly_the_leads_whose_score_says_so(
    client: Any, admin_key: str, scored: dict[str, Any], condition: dict[str, Any], expected: Any
):
    want = sorted(lead_id for lead_id, score in scored.items() if expected(score))
    for limit in (1, 100):  # one lead a page, and all at once: the cursor walks the index
        answer = query(client, admin_key, condition, limit)
        assert answer["leads"] == want, condition
        assert answer["indexes"] == {("by_model_score", False)}


def test_a_score_leaf_under_any_or_not_is_checked_on_every_lead_of_a_scan(
    client: Any, admin_key: str, scored: dict[str, Any]
):
    condition = {"not": {"grade": "b2b-default", "op": "eq", "value": "C"}}
    answer = query(client, admin_key, condition)
    assert answer["leads"] == sorted(lead for lead, s in scored.items() if s["grade"] != "C")
    assert answer["indexes"] == {(None, True)}


def test_a_segment_by_grade_is_a_keyed_query_of_the_scores_index_never_a_scan(
    client: Any, admin_key: str, scored: dict[str, Any]
):
    saved = put_json(
        client,
        "/v1/segments/warm",
        {"name": "Warm", "condition": {"grade": "b2b-default", "op": "in", "value": ["A", "B"]}},
        admin_key,
    )
    assert saved.status_code == 201, saved.json_body
    with aws_calls() as made:
        answer = post_json(client, "/v1/segments/query", {"segment_id": "warm"}, {"X-Api-Key": admin_key})
    assert answer.status_code == 200
    assert [c["matching_lead_ids"] for c in answer.json_body["contacts"]] == [
        [lead for lead, s in scored.items() if s["grade"] == "B"]
    ]
    assert not [call for call in made if call.startswith("Scan")], made
    assert any(call.startswith("Query") and call.endswith("by_model_score") for call in made), made
    with aws_calls() as made:  # the control: a condition without a score reads no scores index
        other = post_json(
            client,
            "/v1/segments/query",
            {"condition": {"field": "contact.country", "op": "eq", "value": "GB"}},
            {"X-Api-Key": admin_key},
        )
    assert other.json_body["scanned"] is True
    assert not any(call.endswith("by_model_score") for call in made), made


def test_a_segment_naming_an_unknown_model_is_422_naming_the_leaf(client: Any, admin_key: str):
    body = {"condition": {"all": [{"grade": "no-such-model", "op": "eq", "value": "A"}]}}
    saved = put_json(client, "/v1/segments/nobody", body, admin_key)
    assert saved.status_code == 422
    assert saved.json_body["error"]["field"] == "condition.all[0].grade"
    asked = post_json(client, "/v1/segments/query", body, {"X-Api-Key": admin_key})
    assert asked.status_code == 422
    assert asked.json_body["error"]["field"] == "condition.all[0].grade"
    bad_op = {"condition": {"score": "b2b-default", "op": "around", "value": 3}}
    refused = post_json(client, "/v1/segments/query", bad_op, {"X-Api-Key": admin_key})
    assert refused.status_code == 422 and refused.json_body["error"]["field"] == "condition.op"
