"""The local stack survives a restart (issue 15, item 8): its data is kept in a directory (snapshots of
moto's state, on shutdown and every few seconds), restored at start, and the pipeline goes on from
where it was. A ``kill -9`` loses at most what came after the last snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, load_event
from tests.e2e.test_local_stack import call, free_port, wait_healthy

pytestmark = pytest.mark.e2e
KEY = "lf_restart-admin-key-for-tests"
ADMIN = {"X-Api-Key": KEY}


@contextmanager
def local_stack(data_dir: Path, log: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port, aws_port = free_port(), free_port()
    banners = log.read_text().count("Ready.") if log.exists() else 0
    command = [sys.executable, "-m", "leadflow_local.cli", "local", "--port", str(port)]
    command += ["--aws-port", str(aws_port), "--data-dir", str(data_dir), *extra]
    with log.open("a") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "LEADFLOW_API_KEY": KEY},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log, 90)
        # the API answers a moment before the CLI prints this start's banner (appended to the log)
        deadline = time.monotonic() + 60
        while log.read_text().count("Ready.") <= banners and time.monotonic() < deadline:
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=240) == 0  # seconds here; generous for a loaded machine


def scored(url: str, lead_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, lead = call("GET", f"{url}/v1/leads/{lead_id}", None, ADMIN)
        if status == 200 and lead["scores"]:
            return dict(lead)
        time.sleep(0.3)
    pytest.fail(f"lead {lead_id} was not scored within {timeout} s")


def submit(url: str, email: str) -> dict[str, Any]:
    person = {**load_event("http/form_submissions.json")[0], "email": email}
    status, answer = call("POST", f"{url}/v1/forms/contact-us/submissions", person, ADMIN)
    assert status == 201, answer
    return dict(answer)


def test_a_restart_keeps_every_lead_and_the_pipeline_goes_on(tmp_path: Path):
    data, log = tmp_path / "data", tmp_path / "stack.log"
    with local_stack(data, log) as (url, process):
        assert (
            call("PUT", f"{url}/v1/forms/contact-us", load_event("http/form_contact_us.json"), ADMIN)[0]
            == 201
        )
        model = load_event("models/b2b_default.json")
        assert call("PUT", f"{url}/v1/scoring-models/b2b-default", model, ADMIN)[0] == 201
        assert call("POST", f"{url}/v1/scoring-models/b2b-default/publish", {}, ADMIN)[0] == 202
        before = submit(url, "before.restart@analytical-engines.co.uk")
        first_score = scored(url, before["lead_id"])["scores"][0]
        stop(process)
    assert "Stopped." in log.read_text()
    assert (data / "state.pickle").is_file()

    with local_stack(data, log) as (url, process):
        assert "restored from the snapshot of" in log.read_text()
        status, lead = call("GET", f"{url}/v1/leads/{before['lead_id']}", None, ADMIN)
        assert status == 200 and lead["contact"]["email"] == "before.restart@analytical-engines.co.uk"
        assert lead["scores"][0]["as_of"] == first_score["as_of"], "nothing delivered twice to the scorer"
        after = submit(url, "after.restart@analytical-engines.co.uk")
        assert scored(url, after["lead_id"])["scores"][0]["model_id"] == "b2b-default", "the pipeline goes on"
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))  # newer than anything
        item = {
            "id": "r-1",
            "type": "page_visited",
            "occurred_at": moment,
            "contact_id": before["contact_id"],
        }
        assert call("POST", f"{url}/v1/interactions", {"interactions": [item]}, ADMIN)[0] == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            contact = call("GET", f"{url}/v1/contacts/{before['contact_id']}", None, ADMIN)[1]
            if contact.get("last_interaction_at") == moment.replace("Z", ".000Z"):
                break
            time.sleep(0.3)
        assert contact["last_interaction_at"] == moment.replace("Z", ".000Z"), "queue and stream work on"
        stop(process)


def test_a_kill_9_loses_at_most_what_came_after_the_last_snapshot(tmp_path: Path):
    data, log = tmp_path / "data", tmp_path / "stack.log"
    with local_stack(data, log, "--snapshot-seconds", "1") as (url, process):
        assert "every 1 s: a kill -9 loses at most the last 1 s" in log.read_text()
        assert (
            call("PUT", f"{url}/v1/forms/contact-us", load_event("http/form_contact_us.json"), ADMIN)[0]
            == 201
        )
        kept = submit(url, "kept.after.kill@analytical-engines.co.uk")
        time.sleep(4)  # a periodic snapshot has been taken
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    with local_stack(data, log) as (url, process):
        status, lead = call("GET", f"{url}/v1/leads/{kept['lead_id']}", None, ADMIN)
        assert status == 200 and lead["lead_id"] == kept["lead_id"], "the lead outlived a kill -9"
        stop(process)


def test_without_persistence_a_restart_starts_empty(tmp_path: Path):
    data, log = tmp_path / "data", tmp_path / "stack.log"
    with local_stack(data, log, "--no-persist") as (_, process):
        assert "in memory only" in log.read_text()
        stop(process)
    assert not data.exists()
