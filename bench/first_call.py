"""One handler's first call after ``import app``, in this (fresh) interpreter, on in-process moto.

    python -m bench.first_call {form_post,record_interactions,score_changes}

Prints one JSON line: ``import_app_ms``, ``first_call_ms`` and ``second_call_ms``. moto (and with it
boto3 and botocore) is imported before the clock starts, so ``import_app_ms`` here is lower than in a
clean interpreter (``bench.run`` measures that on its own); the first call includes what the handler
imports lazily (PynamoDB, Powertools' batch utilities, settings) and the clients it builds.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ("form_post", "record_interactions", "score_changes")


def _setup() -> None:
    """Tables and queues on moto, and the form the POST submits to (a raw put: no app code runs)."""
    import boto3

    from bench.capture import _environment

    found, _ = _environment()
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(
        TableName=found.tables["FormsTable"],
        Item={
            "form_id": {"S": "contact-us"},
            "definition": {"S": (ROOT / "events/http/form_contact_us.json").read_text()},
            "created_at": {"S": "2026-11-24T00:00:00.000000+0000"},
            "updated_at": {"S": "2026-11-24T00:00:00.000000+0000"},
            "version": {"N": "1"},
        },
    )


def _caller(handler: str, app: Any) -> Any:
    if handler == "form_post":
        from chalice.test import Client

        client = Client(app, stage_name="dev", project_dir=str(ROOT))
        sample = json.loads((ROOT / "events/http/form_submissions.json").read_text())[0]
        counter = iter(range(1000))

        def post() -> None:
            body = json.dumps({**sample, "email": f"first{next(counter)}@analytical-engines.co.uk"})
            response = client.http.post(
                "/v1/forms/contact-us/submissions", headers={"Content-Type": "application/json"}, body=body
            )
            assert response.status_code == 201, response.body

        return post
    event_file = {
        "record_interactions": "events/sqs/tracking_batch.json",
        "score_changes": "events/streams/interaction_inserted.json",
    }[handler]
    event = json.loads((ROOT / event_file).read_text())
    function = app.handler_map[handler]
    return lambda: function(event, None)


def first_calls(runs: int = 3) -> dict[str, dict[str, float]]:
    """Each handler in ``runs`` fresh interpreters (taken in turns); medians."""
    import statistics
    import subprocess

    seen: dict[str, list[dict[str, float]]] = {handler: [] for handler in HANDLERS}
    for _ in range(runs):
        for handler in HANDLERS:
            out = subprocess.run(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "bench.first_call", handler],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            seen[handler].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        handler: {key: round(statistics.median(r[key] for r in results), 1) for key in results[0]}
        for handler, results in seen.items()
    }


def main() -> None:
    handler = sys.argv[1]
    if handler not in HANDLERS:
        raise SystemExit(f"one of {HANDLERS}")
    logging.disable(logging.CRITICAL)
    from moto import mock_aws

    with mock_aws():
        _setup()
        started = time.perf_counter()
        from app import app

        imported = time.perf_counter()
        call = _caller(handler, app)
        ready = time.perf_counter()
        call()
        first = time.perf_counter()
        call()
        second = time.perf_counter()
    print(
        json.dumps(
            {
                "import_app_ms": round((imported - started) * 1000, 1),
                "first_call_ms": round((first - ready) * 1000, 1),
                "second_call_ms": round((second - first) * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
