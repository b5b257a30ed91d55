"""One handler's first call after ``import app``, in this (fresh) interpreter, on in-process moto.

    python -m bench.first_call {form_post,record_interactions,score_changes}
    python -m bench.first_call --stack [--runs 3]     # the same three, in the embedded local stack

``--stack`` (issue 19, item 4): each handler in its own fresh interpreter that starts the local stack
(``leadflow_local.stack.running``, which warms the functions before it is ready unless
``LEADFLOW_LOCAL_WARM=0``), puts the form straight into its table (no app code runs), then times the
handler's first and second call: the form POST over HTTP to the stack's API, the consumers invoked
in process with the same events as below. Medians of ``--runs``, with the warm-up on and off, and how
long the stack took to start each way (``start_ms``: what warming costs at startup). The pump may
deliver what the first call wrote while the second runs: the second call is a busy stack's warm call.
The first call waits until the pump is idle (the stack's own start-up work, as the schedules' first
runs, done), so it does not share the GIL with them.

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
    events = _fresh_events(event_file)
    function = app.handler_map[handler]
    return lambda: function(next(events), None)


def _fresh_events(event_file: str) -> Any:
    """The event file again and again, each time about other interactions and another contact, so the
    second call does the first one's work (the same event again would be an idempotent no-op)."""
    text = (ROOT / event_file).read_text()
    for n in range(1000):
        yield json.loads(
            text.replace("evt-", f"evt{n}-")
            .replace("ada.lovelace@", f"ada{n}.lovelace@")
            .replace("c_01m85wv9z6fd8x0qhrmn36kfk3", f"c_01m85wv9z6fd8x0qhrmn36k{n:02d}"[-28:])
            .replace("4f1e1f5e-6a3c-4f55-9d3c-", f"4f1e1f5e-6a3c-4f55-9d3c-{n:03d}")
        )


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


def _stack_one(handler: str) -> dict[str, float]:
    """In this fresh interpreter: a local stack, then the handler's first and second call."""
    import boto3

    from bench.throughput import _post, _quiet_stack_environment, free_port
    from leadflow_local import stack as local
    from leadflow_local.pump import LambdaContext

    _quiet_stack_environment()
    started = time.perf_counter()
    with local.running(port=free_port(), aws_port=free_port()) as stack:
        ready = time.perf_counter()
        boto3.client("dynamodb", endpoint_url=stack.aws_endpoint).put_item(
            TableName=stack.resources.tables["FormsTable"],
            Item={
                "form_id": {"S": "contact-us"},
                "definition": {"S": (ROOT / "events/http/form_contact_us.json").read_text()},
                "created_at": {"S": "2026-11-24T00:00:00.000000+0000"},
                "updated_at": {"S": "2026-11-24T00:00:00.000000+0000"},
                "version": {"N": "1"},
            },
        )
        if handler == "form_post":
            sample = json.loads((ROOT / "events/http/form_submissions.json").read_text())[0]
            counter = iter(range(1000))

            def call() -> None:
                body = {**sample, "email": f"first{next(counter)}@analytical-engines.co.uk"}
                _post(stack.api_url + "/v1/forms/contact-us/submissions", body, stack.api_key)

        else:
            from app import app

            event_file = {
                "record_interactions": "events/sqs/tracking_batch.json",
                "score_changes": "events/streams/interaction_inserted.json",
            }[handler]
            events = _fresh_events(event_file)
            function = app.handler_map[handler]

            def call() -> None:
                function(next(events), LambdaContext(handler))

        # the stack's own start-up work done first (the schedules' first runs, the pump's first looks):
        # a first call that shares the one GIL with them measures them, not itself (sub-millisecond
        # calls, as score_changes', went from 1 to 4 ms by when they ran)
        stack.pump.idle.wait(30)
        before = time.perf_counter()
        call()
        first = time.perf_counter()
        call()
        second = time.perf_counter()
    return {
        "start_ms": round((ready - started) * 1000, 1),
        "first_call_ms": round((first - before) * 1000, 1),
        "second_call_ms": round((second - first) * 1000, 1),
    }


def stack_first_calls(runs: int = 3) -> dict[str, Any]:
    """Each handler in ``runs`` fresh interpreters with a local stack, warmed and not; medians."""
    import os
    import statistics
    import subprocess

    results: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    for warm in ("1", "0"):
        seen: dict[str, list[dict[str, float]]] = {handler: [] for handler in HANDLERS}
        for _ in range(runs):
            for handler in HANDLERS:
                out = subprocess.run(  # noqa: S603 - our own interpreter and module
                    [sys.executable, "-m", "bench.first_call", "--stack-one", handler],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "LEADFLOW_LOCAL_WARM": warm},
                )
                seen[handler].append(json.loads(out.stdout.strip().splitlines()[-1]))
        results["warmed" if warm == "1" else "cold"] = {
            handler: {key: round(statistics.median(r[key] for r in rs), 1) for key in rs[0]}
            for handler, rs in seen.items()
        }
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main() -> None:
    if sys.argv[1:2] == ["--stack"]:
        runs = int(sys.argv[3]) if sys.argv[2:3] == ["--runs"] else 3
        print(json.dumps(stack_first_calls(runs), indent=2))
        return
    if sys.argv[1:2] == ["--stack-one"]:
        print(json.dumps(_stack_one(sys.argv[2])))
        return
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
