"""The local stack as a user runs it (``leadflow local``), driven over HTTP only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, load_event

pytestmark = pytest.mark.e2e
API_KEY = "lf_e2e-admin-key-for-tests"
LINKEDIN_SECRET = "e2e-linkedin-client-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_healthy(url: str, process: subprocess.Popen[Any], log_path: Path, seconds: float = 60) -> None:
    """Until ``GET /v1/health`` answers 200; fails with the stack's log if it exits or takes longer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if call("GET", f"{url}/v1/health")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None:
            pytest.fail(f"leadflow local exited: {log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    pytest.fail(f"the local stack did not become healthy within {seconds:g} s")


AWS_ENDPOINTS: dict[str, str] = {}


def stack_aws_endpoint(api_url: str) -> str:
    return AWS_ENDPOINTS[api_url]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port, aws_port = free_port(), free_port()
    env = {**os.environ, "LEADFLOW_API_KEY": API_KEY, "LINKEDIN_CLIENT_SECRET": LINKEDIN_SECRET}
    # a file, not a pipe: a pipe nobody reads fills up and blocks the stack's logging
    log_path = tmp_path_factory.mktemp("stack") / "leadflow-local.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leadflow_local.cli",
            "local",
            "--port",
            str(port),
            "--aws-port",
            str(aws_port),
            "--log-file",
            "-",  # the logs in this fixture's own file, with the banner
            "--no-profile",  # other tests' CLI must not find this stack by default
            "--data-dir",
            str(tmp_path_factory.mktemp("stack-data")),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    AWS_ENDPOINTS[url] = f"http://127.0.0.1:{aws_port}"
    try:
        wait_healthy(url, process, log_path)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            log.close()
        output = log_path.read_text()
        assert process.returncode == 0, output[-5000:]
        assert "Stopped." in output


def found_by_email(stack: str, email: str) -> dict[str, Any]:
    """The contact (with its lead ids) an operator finds by email: public answers name nobody."""
    status, answer = call("GET", f"{stack}/v1/contacts?email={email}", None, {"X-Api-Key": API_KEY})
    assert status == 200 and len(answer["contacts"]) == 1, answer
    return dict(answer["contacts"][0])


def test_form_posted_over_http_is_read_back_as_a_lead(stack: str):
    admin = {"X-Api-Key": API_KEY}
    status, _ = call("PUT", f"{stack}/v1/forms/contact-us", load_event("http/form_contact_us.json"), admin)
    assert status in (200, 201)
    ada = load_event("http/form_submissions.json")[0]
    status, created = call(
        "POST", f"{stack}/v1/forms/contact-us/submissions", ada, {"Origin": "https://www.example.com"}
    )
    assert status == 201, created
    assert set(created) == {"submission_id", "status"}, "a visitor is told nothing about the person"
    contact = found_by_email(stack, ada["email"])
    status, lead = call("GET", f"{stack}/v1/leads/{contact['lead_ids'][-1]}", None, admin)
    assert status == 200
    assert lead["contact"]["email"] == "ada.lovelace@analytical-engines.co.uk"
    assert lead["account"]["name"] == "Analytical Engines Ltd"


def test_tracked_interaction_flows_through_queue_and_stream_to_the_contact(stack: str):
    admin = {"X-Api-Key": API_KEY}
    item = {
        "id": "e2e-1",
        "type": "page_visited",
        "occurred_at": "2026-11-23T08:00:00Z",
        "email": "linus@kernel.example.net",
        "properties": {"url": "/pricing"},
    }
    status, answer = call("POST", f"{stack}/v1/interactions", {"interactions": [item]}, admin)
    assert (status, answer["accepted"]) == (202, 1)
    status, body = call(
        "POST", f"{stack}/v1/leads", {"contact": {"email": "linus@kernel.example.net"}}, admin
    )
    assert status == 201
    deadline = time.monotonic() + 30
    contact: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, contact = call("GET", f"{stack}/v1/contacts/{body['contact_id']}", None, admin)
        if contact.get("last_interaction_at"):
            break
        time.sleep(0.3)
    assert contact["last_interaction_at"] == "2026-11-23T08:00:00.000Z"


def test_bad_input_gets_json_errors_over_http(stack: str):
    status, body = call("POST", f"{stack}/v1/forms/unknown/submissions", {"email": "a@b.example.org"})
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = call("GET", f"{stack}/v1/leads", None, {"X-Api-Key": "lf_nope"})
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


def test_form_to_interactions_to_score_to_mql_to_the_message_on_the_queue(stack: str):
    import boto3

    admin = {"X-Api-Key": API_KEY}
    assert (
        call("PUT", f"{stack}/v1/scoring-models/b2b-default", load_event("models/b2b_default.json"), admin)[0]
        == 201
    )
    assert call("POST", f"{stack}/v1/scoring-models/b2b-default/publish", {}, admin)[0] == 202
    assert (
        call(
            "PUT", f"{stack}/v1/qualification-rules/mql-default", load_event("rules/mql_default.json"), admin
        )[0]
        == 201
    )
    call("PUT", f"{stack}/v1/forms/contact-us", load_event("http/form_contact_us.json"), admin)
    ada = {**load_event("http/form_submissions.json")[0], "email": "ada.e2e@analytical-engines.co.uk"}
    status, created = call("POST", f"{stack}/v1/forms/contact-us/submissions", ada, admin)
    assert status == 201 and created["lead_id"], "a caller with a key gets the full capture"
    now = time.time()
    at = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600 * (n + 1))) for n in range(7)]
    items = [
        {
            "id": f"e2e-click-{n}",
            "type": "email_clicked",
            "occurred_at": at[n],
            "contact_id": created["contact_id"],
        }
        for n in range(5)
    ]
    items += [
        {
            "id": f"e2e-price-{n}",
            "type": "page_visited",
            "occurred_at": at[5 + n],
            "contact_id": created["contact_id"],
            "properties": {"url": "/pricing"},
        }
        for n in range(2)
    ]
    assert call("POST", f"{stack}/v1/interactions", {"interactions": items}, admin)[0] == 202

    endpoint = stack_aws_endpoint(stack)
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("SalesHandoffQueue.fifo"))
    types: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(types) < 2:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            if event["subject"] == created["lead_id"]:
                types.append(event["type"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    _, lead = call("GET", f"{stack}/v1/leads/{created['lead_id']}", None, admin)
    _, timeline = call("GET", f"{stack}/v1/leads/{created['lead_id']}/timeline", None, admin)
    assert sorted(types) == ["leadflow.handoff.opportunity", "leadflow.handoff.phone_call"], (lead, timeline)
    assert lead["status"] == "marketing_qualified" and lead["scores"][0]["sales_ready"] is True


def test_cli_imports_a_csv_export_with_a_progress_bar_and_reports_the_counts(stack: str):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadflow_local.cli",
            "import",
            "events/imports/hubspot_export_latin1.csv",
            "--api-url",
            stack,
            "--topic",
            "E2E import",
        ],
        cwd=ROOT,
        env={**os.environ, "LEADFLOW_API_KEY": API_KEY},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "import imp_" in result.stdout
    # the counts table: created, updated, duplicates, rejected, interactions
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines() if "│" in line
    ]
    assert ["4", "0", "1", "2", "0"] in rows, result.stdout
    assert "row 4 (line 6): Email" in result.stdout


def test_cli_refuses_a_file_without_an_email_column_before_importing(stack: str, tmp_path: Any):
    path = tmp_path / "no-email.csv"
    path.write_text("Name,Company\nAda,Analytical Engines\n")
    result = subprocess.run(
        [sys.executable, "-m", "leadflow_local.cli", "import", str(path), "--api-url", stack],
        cwd=ROOT,
        env={**os.environ, "LEADFLOW_API_KEY": API_KEY},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "422 validation_error" in result.stderr, result
    assert result.stderr.count("no column maps to contact.email") == 1  # said once, not twice


def test_signed_webhook_and_linkedin_challenge_over_http(stack: str):
    import hashlib
    import hmac

    from standardwebhooks import Webhook

    admin = {"X-Api-Key": API_KEY}
    assert call(
        "PUT",
        f"{stack}/v1/integrations/webhooks/typeform",
        load_event("webhooks/typeform_source.json"),
        admin,
    )[0] in (200, 201)
    status, secret = call("POST", f"{stack}/v1/integrations/webhooks/typeform/secrets", None, admin)
    assert status == 201
    body = json.dumps(load_event("webhooks/typeform_delivery.json")).encode()
    stamp = int(time.time())
    signed_at = datetime.fromtimestamp(stamp, UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": f"e2e-{stamp}",
        "webhook-timestamp": str(stamp),
        "webhook-signature": Webhook(secret["secret"]).sign(f"e2e-{stamp}", signed_at, body),
    }
    request = urllib.request.Request(
        f"{stack}/v1/webhooks/typeform", data=body, method="POST", headers=headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
    replay = urllib.request.Request(
        f"{stack}/v1/webhooks/typeform", data=body, method="POST", headers=headers
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(replay, timeout=30)
    assert refused.value.code == 401

    status, answer = call("GET", f"{stack}/v1/webhooks/linkedin?challengeCode=abc-123")
    expected = hmac.new(LINKEDIN_SECRET.encode(), b"abc-123", hashlib.sha256).hexdigest()
    assert (status, answer) == (200, {"challengeCode": "abc-123", "challengeResponse": expected})


def test_a_hundred_simultaneous_clients_are_all_served_without_a_reset(stack: str):
    """Chalice's own local server listens with a backlog of 5: 6 to 8 of 20 simultaneous clients were
    reset. Every one of 100 clients, connecting at the same instant, gets its answer."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    where = urlsplit(stack)
    clients = 100
    barrier = threading.Barrier(clients)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        connection = http.client.HTTPConnection(str(where.hostname), where.port, timeout=120)
        try:
            barrier.wait(timeout=60)
            connection.request("GET", "/capture.js")
            response = connection.getresponse()
            response.read()
            outcome = str(response.status)
        except Exception as exc:  # a reset, a refused or dropped connection
            outcome = type(exc).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    failures = [o for o in outcomes if o != "200"]
    assert len(outcomes) == clients and failures == [], failures


#: What e-mail clients and their image proxies send for an <img>: a browser's list, only image/*,
#: an HTML-first list (some webmail previews), or no Accept header at all.
PIXEL_ACCEPTS = ["image/avif,image/webp,image/*,*/*;q=0.8", "image/*", "text/html", None]


def test_the_open_pixel_answers_a_gif_to_any_accept_header_over_http(stack: str):
    import re

    admin = {"X-Api-Key": API_KEY}
    status, _ = call("PUT", f"{stack}/v1/forms/contact-us", load_event("http/form_contact_us.json"), admin)
    assert status in (200, 201)
    person = {
        **load_event("http/form_submissions.json")[0],
        "email": "pixel.e2e@example.org",
        "newsletter": "on",
    }
    status, created = call("POST", f"{stack}/v1/forms/contact-us/submissions", person, admin)
    assert status == 201, created
    template = {"subject": "Hi", "html": "<html><body><p>Hello</p></body></html>", "text": "Hello"}
    assert call("PUT", f"{stack}/v1/email-templates/pixel-e2e", template, admin)[0] in (200, 201)
    status, sent = call(
        "POST",
        f"{stack}/v1/email-templates/pixel-e2e/send",
        {"contact_id": created["contact_id"]},
        {**admin, "Idempotency-Key": "pixel-e2e-1"},
    )
    assert status in (200, 201) and sent["status"] == "sent", sent
    _, message = call("GET", f"{stack}/v1/messages/{sent['message_id']}", None, admin)
    found = re.search(r'src="https?://[^/"]+(/t/o/[^"]+)"', message["html"])
    assert found is not None, message["html"]
    for accept in PIXEL_ACCEPTS:
        headers = {"Accept": accept} if accept else {}
        request = urllib.request.Request(f"{stack}{found.group(1)}", headers=headers)
        if accept is None:
            request.remove_header("Accept")  # urllib sends none of its own; say so
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert (answer.status, answer.headers["Content-Type"]) == (200, "image/gif"), accept
            assert answer.read()[:6] == b"GIF89a"
    _, message = call("GET", f"{stack}/v1/messages/{sent['message_id']}", None, admin)
    assert message["opens"] == 1  # every fetch answered; the same pixel within a minute is one open


def test_an_unbounded_template_is_refused_over_http_with_a_422_naming_the_part(stack: str):
    admin = {"X-Api-Key": API_KEY}
    for part, source in (("text", "{{ 'x' * 10**9 }}"), ("html", "{{ lipsum(n=1000000) }}")):
        body = {"subject": "Hi", "html": "<p>Hi</p>", "text": "Hi", part: source}
        started = time.monotonic()
        status, answer = call("PUT", f"{stack}/v1/email-templates/bounded-e2e", body, admin)
        elapsed = time.monotonic() - started
        assert status == 422, answer
        assert [field["field"] for field in answer["error"]["fields"]] == [part], answer
        assert elapsed < 5, f"{elapsed:.1f} s (the audit saw 19 s and 3 GB before the 201)"
    assert call("GET", f"{stack}/v1/email-templates/bounded-e2e", None, admin)[0] == 404
