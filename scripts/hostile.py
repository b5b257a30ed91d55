# ruff: noqa: E501 - the hostile requests read best one per line
"""The hostile pass of issue 15, on a local stack over HTTP (127.0.0.1 only): hostile input, a crowd of
concurrent clients, an erasure racing queued events, and a restart; then the counts that matter.

    .venv/bin/python scripts/hostile.py [--inputs 2000] [--clients 100] [--seconds 20] [--json FILE]

1. **Hostile input**: ``--inputs`` requests built from a seeded random choice of route and payload —
   lone surrogates, ``NaN``/``Infinity``/``1e400``, duplicate keys, nesting up to 5,000 levels (bodies,
   JSON in query parameters, signed webhook and LinkedIn bodies), empty and odd path ids, forged and
   truncated cursors, parameters given twice, control characters, 100 KB strings, catastrophic
   patterns in models, tampered signatures. Every answer must be a 4xx or 2xx: 5xx are counted.
2. **Crowd**: ``scripts/load.py``'s clients (captures retried with the same key, interactions, reads),
   ``--clients`` at once, then every accepted capture checked to be stored exactly once.
3. **Erasure race**: a person with a lead, scores, a hand-off waiting on the sales queue, a quarantined
   submission and an import; interactions queued for them; the erasure asked for; more events; then
   every table, every queue (every message moto holds, visible or not) and the imports bucket searched
   for their email, phone and names.
4. **Restart**: the stack stopped (a snapshot) and started again on the same data directory: every
   capture of step 2 must still be there, and a new one must be captured and scored.

Exit status 1 on any 5xx, anything lost or duplicated, or any trace found."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leadflow_local.http import call  # noqa: E402
from scripts.load import Load, free_port, verify  # noqa: E402

KEY = "lf_hostile-admin-key"
ADMIN = {"X-Api-Key": KEY}
LINKEDIN_SECRET = "hostile-linkedin-secret"  # noqa: S105 - a local stack's test value
LONE = '"\\ud800"'


def _events(name: str) -> Any:
    return json.loads((ROOT / "events" / name).read_text())


# ---------------------------------------------------------------- 1. hostile input


def _deep(levels: int, opener: str = "[", closer: str = "]") -> str:
    return opener * levels + closer * levels


def _bodies(rng: random.Random) -> list[tuple[str, str, bytes | str, dict[str, str]]]:
    """``(method, path, body, headers)`` candidates; one is picked per request."""
    big = "x" * 100_000
    depth = rng.choice([33, 200, 999, 5000])
    email = f"hostile{rng.randrange(10**6)}@example.org"
    cursor = rng.choice(
        ["x", "eyJsZWFkX2lkIjp7IlMiOiJsXzEifX0", "e30", "W10.AAAAAAAAAAAAAAAAAAAAAA", "%ED%A0%80", ""]
    )
    pattern = rng.choice(["(a+)+$", "(a|aa)+$", "(x+x+)+y", "(a)\\1", "(?=a)", "["])
    return [
        ("POST", "/v1/forms/contact-us/submissions", f'{{"email": "{email}", "first_name": {LONE}}}', {}),
        ("POST", "/v1/forms/contact-us/submissions", f'{{"email": "{email}", "employees": NaN}}', {}),
        (
            "POST",
            "/v1/forms/contact-us/submissions",
            f'{{"email": "{email}", "email": "b@c.example.org"}}',
            {},
        ),
        ("POST", "/v1/forms/contact-us/submissions", f'{{"email": "{email}", "x": {_deep(depth)}}}', {}),
        ("POST", "/v1/forms/contact-us/submissions", f'{{"email": "{email}", "first_name": "{big}"}}', {}),
        (
            "POST",
            "/v1/forms/contact-us/submissions",
            f"email={email}&first_name=%00%1b%5b2J&topic=%ED%A0%80",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        ("POST", "/v1/forms/contact-us/submissions", f'[{{"email": "{email}"}}]', {}),
        ("POST", "/v1/leads", f'{{"contact": {{"email": "{email}", "city": {LONE}}}}}', ADMIN),
        (
            "POST",
            "/v1/leads",
            f'{{"contact": {{"email": "{email}"}}, "account": {{"employees": Infinity}}}}',
            ADMIN,
        ),
        (
            "POST",
            "/v1/leads",
            f'{{"contact": {{"email": "{email}", "marketing_only": true, "contact_id": "c_x"}}, "lead": {{"owner": "me", "score": 100}}}}',
            ADMIN,
        ),
        (
            "POST",
            "/v1/interactions",
            f'{{"interactions": [{{"type": "x", "occurred_at": "2026-12-01T10:00:00Z", "email": "{email}", "properties": {{"n": 1e400}}}}]}}',
            ADMIN,
        ),
        (
            "POST",
            "/v1/interactions",
            f'{{"interactions": [{{"type": "x", "occurred_at": "2026-12-01T10:00:00Z", "email": "{email}", "properties": {{"p": {_deep(40)}}}}}]}}',
            ADMIN,
        ),
        (
            "PUT",
            "/v1/scoring-models/hostile",
            json.dumps(
                {
                    "name": "h",
                    "rules": [
                        {
                            "id": "r",
                            "points": 1,
                            "when": {"field": "contact.job_title", "op": "matches", "value": pattern},
                        }
                    ],
                }
            ),
            ADMIN,
        ),
        (
            "PUT",
            "/v1/scoring-models/hostile",
            '{"name": "h", "audience": '
            + '{"not": ' * depth
            + '{"field": "contact.city", "op": "eq", "value": "x"}'
            + "}" * depth
            + ', "rules": []}',
            ADMIN,
        ),
        (
            "PUT",
            "/v1/forms/hostile",
            json.dumps(
                {
                    "name": "h",
                    "fields": {
                        "email": {"maps_to": "contact.email"},
                        "o": {
                            "maps_to": rng.choice(
                                ["lead.owner", "contact.marketing_only", "lead.score", "contact.contact_id"]
                            )
                        },
                    },
                }
            ),
            ADMIN,
        ),
        (
            "POST",
            "/v1/segments/query",
            '{"condition": '
            + '{"not": ' * depth
            + '{"field": "contact.city", "op": "eq", "value": "x"}'
            + "}" * depth
            + "}",
            ADMIN,
        ),
        ("GET", f"/v1/leads?cursor={cursor}", "", ADMIN),
        ("GET", f"/v1/leads?state=open&cursor={cursor}", "", ADMIN),
        ("GET", f"/v1/contacts?cursor={cursor}", "", ADMIN),
        ("GET", f"/v1/duplicates?cursor={cursor}", "", ADMIN),
        ("GET", f"/v1/quarantine?cursor={cursor}", "", ADMIN),
        ("GET", "/v1/leads?state=open&state=qualified", "", ADMIN),
        (
            "GET",
            rng.choice(
                [
                    "/v1/leads//timeline",
                    "/v1/leads/%20",
                    "/v1/contacts//export",
                    "/v1/jobs/%00",
                    "/v1/leads/%ED%A0%80",
                    "/v1/quarantine//release",
                ]
            ),
            "",
            ADMIN,
        ),
        (
            "POST",
            f"/v1/imports?mapping={_deep(depth)}",
            "email\na@b.example.org\n",
            {**ADMIN, "Content-Type": "text/csv"},
        ),
        (
            "POST",
            "/v1/imports?topic=Fair%1b%5b2J",
            "email\na@b.example.org\n",
            {**ADMIN, "Content-Type": "text/csv"},
        ),
        ("POST", "/v1/webhooks/typeform", f'{{"x": {_deep(depth)}}}', _signed_headers(rng)),
        ("POST", f"/v1/webhooks/made-up-{rng.randrange(1000)}", "{}", _signed_headers(rng)),
        (
            "POST",
            "/v1/webhooks/linkedin",
            _deep(depth, '{"a":', "}").replace('{"a":}', "{}") or "{}",
            {"X-LI-Signature": "0" * 64},
        ),
        (
            "GET",
            "/console/" + rng.choice(["a" * 300 + ".js", "..%2Fapp.py", "index.html", "missing.css"]),
            "",
            {},
        ),
    ]


def _signed_headers(rng: random.Random) -> dict[str, str]:
    stamp = int(time.time()) + rng.choice([0, -400, 400])
    return {
        "webhook-id": rng.choice(["d-1", "", "x" * 300, "a b"]),
        "webhook-timestamp": rng.choice([str(stamp), "NaN", "1e9", ""]),
        "webhook-signature": rng.choice(["v1," + "A" * 43 + "=", "v1=deadbeef", "", "v1," + "\u00e9" * 44]),
    }


def hostile_inputs(api: str, count: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    statuses: Counter[str] = Counter()
    for _ in range(count):
        method, path, body, headers = rng.choice(_bodies(rng))
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        sent = {"Content-Type": "application/json", **headers}
        try:
            status, _ = call(method, api + path, data=data if data else None, headers=sent, timeout=60)
        except OSError as exc:
            statuses[f"connection:{type(exc).__name__}"] += 1
            continue
        statuses[str(status)] += 1
    return statuses


# ---------------------------------------------------------------- 3. the erasure race


PERSON = {
    "email": "zebulon.quixotic@quixote-windmills.example.org",
    "first_name": "Zebulon",
    "last_name": "Quixotic",
    "phone": "+44 20 7946 0321",
    "job": "Director of Windmills",
    "company": "Quixote Windmills Ltd",
    "employees": "450",
    "country": "GB",
    "topic": "Pricing",
    "newsletter": "on",
}
NEEDLES = (PERSON["email"], "+442079460321", "7946 0321", "Zebulon", "Quixotic", "Quixote Windmills")


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _track(api: str, contact_id: str, tag: str) -> None:
    items = [
        {"id": f"{tag}-{n}", "type": "email_clicked", "occurred_at": _ago(0.1), "contact_id": contact_id}
        for n in range(5)
    ] + [{"id": f"{tag}-mail", "type": "email_opened", "occurred_at": _ago(0.1), "email": PERSON["email"]}]
    call("POST", f"{api}/v1/interactions", {"interactions": items}, ADMIN)


def erasure_race(api: str, stack: Any) -> dict[str, Any]:
    status, made = call("POST", f"{api}/v1/forms/contact-us/submissions", PERSON, ADMIN)
    assert status == 201, made
    contact_id = made["contact_id"]
    _track(api, contact_id, "warm")
    call("POST", f"{api}/v1/forms/contact-us/submissions", {**PERSON, "website": "bot"})  # quarantined
    csv = f"Email,Phone,Topic\n{PERSON['email']},{PERSON['phone']},Fair\n"
    call(
        "POST",
        f"{api}/v1/imports?name=fair",
        headers={**ADMIN, "Content-Type": "text/csv"},
        data=csv.encode(),
    )
    _wait_idle(stack, 20)
    before = len(traces(stack))
    _track(api, contact_id, "queued-before")
    status, job = call("DELETE", f"{api}/v1/contacts/{contact_id}", None, ADMIN)
    assert status == 202, job
    _track(api, contact_id, "queued-after")
    call("POST", f"{api}/v1/forms/contact-us/submissions", PERSON)  # a late public submission
    deadline = time.monotonic() + 300
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = call("GET", f"{api}/v1/jobs/{job['job_id']}", None, ADMIN)[1]
        if state.get("state") == "done":
            break
        time.sleep(1)
    _wait_idle(stack, 10)
    found = traces(stack)
    deadline = time.monotonic() + 600
    while found and time.monotonic() < deadline:  # a queued interaction waits for the pump: let it come
        time.sleep(5)
        found = traces(stack)
    return {
        "traces_before": before,
        "job_state": state.get("state"),
        "counts": state.get("result", {}).get("counts"),
        "traces_after": len(found),
        "where": sorted(set(found)),
    }


def _settled(crowd: Load, bound: float = 600) -> dict[str, Any]:
    """What is stored once the queued interactions are recorded (queue -> pump), up to ``bound`` s."""
    started = time.monotonic()
    checked = verify(crowd)
    while checked["interactions_missing"] and time.monotonic() - started < bound:
        time.sleep(2)
        checked = verify(crowd)
    checked["settle_seconds"] = round(time.monotonic() - started, 1)
    return checked


def _wait_idle(stack: Any, seconds: float) -> None:
    """The pump idle for a moment (nothing delivered), up to a bound."""
    deadline = time.monotonic() + 120
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        if not stack.pump.idle.is_set():
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= min(seconds, 3):
            return
        time.sleep(0.2)


def traces(stack: Any) -> list[str]:
    """Every table item, queue message (moto's own, visible or in flight) and imports-bucket object
    holding the person's email, phone or names."""
    import boto3
    from moto.backends import get_backend

    def holds(text: str) -> bool:
        lowered = text.casefold()
        return any(n.casefold() in lowered for n in NEEDLES)

    dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_endpoint)
    s3 = boto3.client("s3", endpoint_url=stack.aws_endpoint)
    found = [
        f"table:{name}"
        for name, table in stack.resources.tables.items()
        for page in dynamodb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
        # binary attributes (a hash, a token) as their repr: json cannot write bytes
        if holds(json.dumps(item, ensure_ascii=False, default=repr))
    ]
    found += [
        f"queue:{queue.name}"
        for region in get_backend("sqs").values()
        for backend in region.values()
        for queue in backend.queues.values()
        for message in queue._messages
        if holds(message.body)
    ]
    for bucket in stack.resources.buckets.values():
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            if holds(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")):
                found.append(f"bucket:{bucket}")
    return found


# ---------------------------------------------------------------- the pass


def _setup(api: str) -> None:
    assert call("PUT", f"{api}/v1/forms/contact-us", _events("http/form_contact_us.json"), ADMIN)[0] in (
        200,
        201,
    )
    assert (
        call("PUT", f"{api}/v1/scoring-models/b2b-default", _events("models/b2b_default.json"), ADMIN)[0]
        == 201
    )
    assert call("POST", f"{api}/v1/scoring-models/b2b-default/publish", {}, ADMIN)[0] == 202
    assert call("PUT", f"{api}/v1/qualification-rules/mql-default", _events("rules/mql_default.json"), ADMIN)[
        0
    ] in (200, 201)
    assert call(
        "PUT", f"{api}/v1/integrations/webhooks/typeform", _events("webhooks/typeform_source.json"), ADMIN
    )[0] in (200, 201)
    call("POST", f"{api}/v1/integrations/webhooks/typeform/secrets", None, ADMIN)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from leadflow_local.stack import running

    os.environ.update({"RATE_LIMIT_IP_PER_MINUTE": "0", "LINKEDIN_CLIENT_SECRET": LINKEDIN_SECRET})
    os.environ["ERASURE_SETTLE_SECONDS"] = str(args.settle_seconds)
    data_dir = Path(tempfile.mkdtemp(prefix="leadflow-hostile-"))
    report: dict[str, Any] = {}
    ports = (args.port or free_port(), args.aws_port or free_port())
    with running("127.0.0.1", *ports, api_key=KEY, data_dir=data_dir) as stack:
        api = stack.api_url
        _setup(api)
        started = time.monotonic()
        statuses = hostile_inputs(api, args.inputs, args.seed)
        report["hostile_input"] = {
            "requests": sum(statuses.values()),
            "server_errors": sum(n for s, n in statuses.items() if s.startswith("5")),
            "connection_errors": sum(n for s, n in statuses.items() if s.startswith("connection")),
            "statuses": dict(sorted(statuses.items())),
            "seconds": round(time.monotonic() - started, 1),
        }
        crowd = Load(api, KEY, args.seconds, args.seed)
        crowd.companies_apart = True
        threads = [threading.Thread(target=crowd.client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        checked = _settled(crowd)
        report["crowd"] = {
            "clients": args.clients,
            "requests": sum(crowd.statuses.values()),
            "server_errors": sum(n for k, n in crowd.statuses.items() if k.split(":")[1].startswith("5")),
            "connection_errors": sum(n for k, n in crowd.statuses.items() if k.endswith(":0")),
            "statuses": dict(sorted(crowd.statuses.items())),
            "stored": checked,
        }
        _progress(args, report)
        report["erasure"] = erasure_race(api, stack)
        _progress(args, report)
    with running("127.0.0.1", *ports, api_key=KEY, data_dir=data_dir) as stack:
        after = _settled(crowd)
        status, fresh = call(
            "POST",
            f"{stack.api_url}/v1/forms/contact-us/submissions",
            {**_events("http/form_submissions.json")[0], "email": "after.restart@analytical-engines.co.uk"},
            ADMIN,
        )
        scored = False
        deadline = time.monotonic() + 60
        while status == 201 and time.monotonic() < deadline and not scored:
            scored = bool(
                call("GET", f"{stack.api_url}/v1/leads/{fresh['lead_id']}", None, ADMIN)[1].get("scores")
            )
            time.sleep(0.5)
        report["restart"] = {
            "restored_from": stack.restored.saved_at if stack.restored else None,
            "stored_after_restart": after,
            "new_capture_scored": scored,
            "erased_person_traces_after_restart": len(traces(stack)),
        }
    shutil.rmtree(data_dir, ignore_errors=True)
    return report


def _progress(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """What is known so far, on disk and on stderr (a long pass may be cut short)."""
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    short = {k: {kk: vv for kk, vv in v.items() if kk != "statuses"} for k, v in report.items()}
    print(json.dumps(short), file=sys.stderr)


def summary(report: dict[str, Any]) -> dict[str, int]:
    crowd, stored, after = (
        report["crowd"],
        report["crowd"]["stored"],
        report["restart"]["stored_after_restart"],
    )
    lost = sum(
        stored[k]
        for k in ("contacts_missing", "leads_missing", "submissions_missing", "interactions_missing")
    )
    lost_after = sum(after[k] for k in ("contacts_missing", "leads_missing", "submissions_missing"))
    duplicated = sum(stored[k] for k in ("contacts_duplicated", "submissions_duplicated"))
    return {
        "requests": report["hostile_input"]["requests"] + crowd["requests"],
        "server_errors": report["hostile_input"]["server_errors"] + crowd["server_errors"],
        "connection_errors": report["hostile_input"]["connection_errors"] + crowd["connection_errors"],
        "lost": lost,
        "lost_after_restart": lost_after,
        "duplicated": duplicated,
        "traces_after_erasure": report["erasure"]["traces_after"]
        + report["restart"]["erased_person_traces_after_restart"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--settle-seconds", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--aws-port", type=int, default=0)
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "reliability" / "hostile.json")
    args = parser.parse_args(argv)
    report = run(args)
    report["summary"] = summary(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps(report["summary"], indent=2))
    bad = {k: v for k, v in report["summary"].items() if k != "requests" and v}
    if bad:
        print(f"FAILED: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
