"""Each function's cold start and peak memory, in a fresh interpreter of its own, against a moto server
in another process (so the figures are the function's, not moto's): the basis of the memory sizes in
``.chalice/config.json`` (docs/scaling.md, "Memory").

    python -m bench.memory [--runs 3]

Prints one JSON object: per function, medians of ``import_ms`` (``import app``), ``first_ms`` (the
first invocation: lazy imports, clients, the work), ``second_ms`` and ``peak_mb`` (the process's
maximum resident set after two invocations). Lambda gives a function CPU in proportion to its memory
(1,769 MB = one vCPU), so a first call of ``t`` seconds on one core here takes about ``t x 1769 / MB``
at ``MB``; the peak is what the memory size must hold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
#: The functions measured, with the event each is invoked with (the stream and queue events are the
#: repository's real-shaped samples; the API one a form submission).
FUNCTIONS = {
    "api_form_post": "api",
    "record_interactions": "sqs/tracking_batch.json",
    "interactions_stream": "streams/interaction_inserted.json",
}


def _api_event() -> dict[str, Any]:
    from chalice.local import LambdaEventConverter, RouteMatcher

    sample = json.loads((EVENTS / "http/form_submissions.json").read_text())[0]
    body = json.dumps({**sample, "email": f"m{time.time_ns()}@analytical-engines.co.uk"}).encode()
    converter = LambdaEventConverter(RouteMatcher(["/v1/forms/{form_id}/submissions"]))
    event = converter.create_lambda_event(
        "POST", "/v1/forms/contact-us/submissions", {"content-type": "application/json"}, body
    )
    event["body"] = body.decode()
    event["requestContext"]["requestId"] = f"bench-{time.time_ns()}"
    return dict(event)


def child(function: str) -> None:
    """In the fresh interpreter: import, invoke twice, report."""
    import resource

    event_kind = FUNCTIONS[function]
    started = time.perf_counter()
    from app import app

    imported = time.perf_counter()
    handler = app if function == "api_form_post" else app.handler_map[function]

    def event() -> dict[str, Any]:
        if event_kind == "api":
            return _api_event()
        return dict(json.loads((EVENTS / event_kind).read_text()))

    first_event, second_event = event(), event()
    ready = time.perf_counter()
    handler(first_event, None)
    first = time.perf_counter()
    handler(second_event, None)
    second = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "import_ms": round((imported - started) * 1000, 1),
                "first_ms": round((first - ready) * 1000, 1),
                "second_ms": round((second - first) * 1000, 1),
                "peak_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def _prepare(endpoint: str) -> dict[str, str]:
    import boto3

    from leadflow_local.stack import provision

    found, env = provision(endpoint)
    definition = (EVENTS / "http/form_contact_us.json").read_text()
    boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1").put_item(
        TableName=found.tables["FormsTable"],
        Item={
            "form_id": {"S": "contact-us"},
            "definition": {"S": definition},
            "created_at": {"S": "2026-11-24T00:00:00.000000+0000"},
            "updated_at": {"S": "2026-11-24T00:00:00.000000+0000"},
            "version": {"N": "1"},
        },
    )
    return env


def measure(runs: int) -> dict[str, dict[str, float]]:
    from leadflow_local.stack import MotoServer, aws_environment

    server = MotoServer("127.0.0.1", 0)
    server.start()
    try:
        os.environ.update(aws_environment(server.endpoint))
        env = {
            **os.environ,
            **_prepare(server.endpoint),
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "RATE_LIMIT_IP_PER_MINUTE": "0",
        }
        seen: dict[str, list[dict[str, float]]] = {name: [] for name in FUNCTIONS}
        for _ in range(runs):
            for name in FUNCTIONS:
                done = subprocess.run(  # noqa: S603 - our own interpreter and module
                    [sys.executable, "-m", "bench.memory", "--child", name],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"{name}:\n{done.stderr[-3000:]}")
                seen[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        server.stop()
    return {
        name: {key: round(statistics.median(r[key] for r in results), 1) for key in results[0]}
        for name, results in seen.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=sorted(FUNCTIONS))
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(json.dumps(measure(args.runs), indent=2))


if __name__ == "__main__":
    main()
