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
from typing import Any

import pytest

from tests.conftest import ROOT, load_event

pytestmark = pytest.mark.e2e
API_KEY = "lf_e2e-admin-key-for-tests"


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


@pytest.fixture(scope="module")
def stack() -> Iterator[str]:
    port, aws_port = free_port(), free_port()
    env = {**os.environ, "LEADFLOW_API_KEY": API_KEY}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chalicelib.local.cli",
            "local",
            "--port",
            str(port),
            "--aws-port",
            str(aws_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if call("GET", f"{url}/v1/health")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None:
                pytest.fail(f"leadflow local exited: {process.stdout.read() if process.stdout else ''}")
            time.sleep(0.3)
        else:
            pytest.fail("the local stack did not become healthy within 60 s")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, output
        assert "Stopped." in output


def test_form_posted_over_http_is_read_back_as_a_lead(stack: str):
    admin = {"X-Api-Key": API_KEY}
    status, _ = call("PUT", f"{stack}/v1/forms/contact-us", load_event("http/form_contact_us.json"), admin)
    assert status in (200, 201)
    ada = load_event("http/form_submissions.json")[0]
    status, created = call(
        "POST", f"{stack}/v1/forms/contact-us/submissions", ada, {"Origin": "https://www.example.com"}
    )
    assert status == 201, created
    status, lead = call("GET", f"{stack}/v1/leads/{created['lead_id']}", None, admin)
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
