"""The console's routes on moto: static files, the funnel, score distributions, the dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.api.console import STATIC_DIR
from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json, submit_as_server
from tests.integration.test_handoff import MODEL, RULE, make_ready
from tests.integration.test_scoring import publish


@pytest.fixture
def mql(client: Any, admin_key: str, pump: Any) -> dict[str, Any]:
    """Ada scored 70 by b2b-default and marketing-qualified; Grace captured only, then disqualified."""
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )
    ada = make_ready(client, admin_key, pump)
    grace = submit_as_server(
        client, {"email": "grace@navy.example.mil", "topic": "Support"}, admin_key
    ).json_body
    pump.drain()
    return {"ada": ada, "grace": grace}


def test_console_page_and_assets_are_public_with_their_content_types(client: Any):
    page = client.http.get("/console")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script type="module" src="/console/app.js">' in page.body.decode()
    for name, media in (
        ("app.js", "text/javascript"),
        ("charts.js", "text/javascript"),
        ("style.css", "text/css"),
    ):
        asset = client.http.get(f"/console/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["Content-Type"].startswith(media)
        assert asset.body.decode() == (STATIC_DIR / name).read_text()


@pytest.mark.parametrize(
    "name", ["missing.js", "..%2Fapi%2Fconsole.py", "app.py", ".hidden.js", "INDEX.HTML"]
)
def test_console_serves_only_its_own_files(client: Any, name: str):
    answer = client.http.get(f"/console/{name}")
    assert answer.status_code == 404
    assert answer.json_body["error"]["code"] == "not_found"


#: What every console path answers with, whatever it serves (a page, an asset, an error).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=",
    "Permissions-Policy": "camera=()",
}


def console_paths() -> list[str]:
    """Every path the console serves: the page, each of its files by name (index.html too), what is
    not there, and the capture script under both of its names."""
    files = sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file())
    too_long = "/console/" + "a" * 300 + ".js"  # refused before the view runs (400)
    return [
        "/console",
        *(f"/console/{name}" for name in files),
        "/console/missing.js",
        too_long,
        "/capture.js",
    ]


def test_every_console_path_carries_the_security_headers(client: Any):
    assert "/console/index.html" in console_paths() and "/console/capture.js" in console_paths()
    for path in console_paths():
        answer = client.http.get(path)
        assert answer.status_code in (200, 400, 404), path
        for name, expected in SECURITY_HEADERS.items():
            assert expected in answer.headers.get(name, ""), f"{path}: {name}"


def test_capture_script_may_be_loaded_by_any_page_but_the_console_only_by_itself(client: Any):
    for path in ("/capture.js", "/console/capture.js"):
        assert client.http.get(path).headers["Cross-Origin-Resource-Policy"] == "cross-origin", path
    for path in ("/console", "/console/app.js", "/console/index.html"):
        assert client.http.get(path).headers["Cross-Origin-Resource-Policy"] == "same-origin", path


def test_capture_script_is_public_cacheable_and_under_5_kb(client: Any):
    answer = client.http.get("/capture.js")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=3600" in answer.headers["Cache-Control"]
    assert len(answer.body) < 5 * 1024
    text = answer.body.decode()
    assert 'credentials: "omit"' in text
    assert "Idempotency-Key" in text
    assert "_fill_ms" in text
    assert "cookie" not in text.lower()


def test_funnel_counts_each_lead_at_every_stage_it_reached(client: Any, admin_key: str, mql: dict[str, Any]):
    funnel = get(client, "/v1/reports/funnel", admin_key).json_body
    assert [(s["stage"], s["count"]) for s in funnel["stages"]] == [
        ("captured", 2),
        ("scored", 1),
        ("marketing_qualified", 1),
        ("accepted", 0),
        ("qualified", 0),
    ]
    assert funnel["open"] == {"marketing_qualified": 1, "new": 1}
    key = {"X-Api-Key": admin_key}
    assert post_json(client, f"/v1/leads/{mql['ada']['lead_id']}/accept", {}, key).status_code == 200
    answer = post_json(client, f"/v1/leads/{mql['grace']['lead_id']}/disqualify", {"reason": "spam"}, key)
    assert answer.status_code == 200
    funnel = get(client, "/v1/reports/funnel", admin_key).json_body
    assert [s["count"] for s in funnel["stages"]] == [2, 1, 1, 1, 0]
    assert funnel["disqualified"] == {"total": 1, "reasons": {"spam": 1}}
    assert post_json(client, f"/v1/leads/{mql['ada']['lead_id']}/qualify", {}, key).status_code == 200
    funnel = get(client, "/v1/reports/funnel", admin_key).json_body
    assert [s["count"] for s in funnel["stages"]] == [2, 1, 1, 1, 1]
    assert funnel["truncated"] is False


def test_funnel_filters_by_creation_time_and_source(client: Any, admin_key: str, mql: dict[str, Any]):
    later = get(client, "/v1/reports/funnel?since=2999-01-01", admin_key).json_body
    assert later["stages"][0]["count"] == 0
    other = get(client, "/v1/reports/funnel?source=linkedin", admin_key).json_body
    assert other["leads_counted"] == 0
    mine = get(client, "/v1/reports/funnel?source=landing_page&until=2999-01-01T00:00:00Z", admin_key)
    assert mine.json_body["leads_counted"] == 2


def test_funnel_refuses_unknown_parameters_and_bad_dates(client: Any, admin_key: str):
    answer = get(client, "/v1/reports/funnel?state=open", admin_key)
    assert answer.status_code == 422
    assert answer.json_body["error"]["field"] == "state"
    answer = get(client, "/v1/reports/funnel?since=yesterday", admin_key)
    assert (answer.status_code, answer.json_body["error"]["field"]) == (422, "since")


def test_reports_need_the_sales_scope(client: Any, deps: Any):
    from chalicelib.services.access import create_key

    ingest, _ = create_key("ingest", ["ingest"], deps.store)
    sales, _ = create_key("sales", ["sales"], deps.store)
    assert client.http.get("/v1/reports/funnel").status_code == 401
    assert get(client, "/v1/reports/funnel", ingest).status_code == 403
    assert get(client, "/v1/reports/funnel", sales).status_code == 200
    assert get(client, "/v1/handoffs/dead-letters", sales).status_code == 403


def test_score_distribution_reads_the_models_scores(client: Any, admin_key: str, mql: dict[str, Any]):
    report = get(client, "/v1/reports/scores/b2b-default", admin_key).json_body
    assert report["scored"] == 1
    assert report["sales_ready"] == 1
    assert report["buckets"] == [{"from": 70, "to": 79, "count": 1}]
    assert report["grades"] == {"B": 1}
    assert get(client, "/v1/reports/scores/nobody", admin_key).json_body["scored"] == 0


def test_dead_letters_are_listed_without_being_taken_and_redriven(client: Any, admin_key: str, aws: Any):
    sqs = boto3.client("sqs")
    event = {
        "id": "h_dead_1",
        "type": "leadflow.handoff.task",
        "subject": "l_1",
        "time": "2026-11-24T08:00:00Z",
        "data": {"handoff": {"subject": "Call Ada"}},
    }
    sqs.send_message(
        QueueUrl=aws.queue_urls["SalesHandoffDeadLetterQueue"],
        MessageBody=json.dumps(event),
        MessageGroupId="l_1",
        MessageDeduplicationId="h_dead_1",
    )
    for _ in range(2):  # peeking twice shows the same message: nothing is taken
        listed = get(client, "/v1/handoffs/dead-letters", admin_key).json_body
        assert [(m["handoff_id"], m["lead_id"], m["subject"]) for m in listed["messages"]] == [
            ("h_dead_1", "l_1", "Call Ada")
        ]
    moved = post_json(client, "/v1/handoffs/dead-letters/redrive", {}, {"X-Api-Key": admin_key})
    assert moved.json_body == {"moved": 1}
    assert get(client, "/v1/handoffs/dead-letters", admin_key).json_body["messages"] == []
    back = sqs.receive_message(QueueUrl=aws.queue_urls["SalesHandoffQueue"]).get("Messages", [])
    assert [json.loads(m["Body"])["id"] for m in back] == ["h_dead_1"]
