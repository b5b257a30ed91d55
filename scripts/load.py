"""Load: concurrent clients drive a local stack over HTTP (127.0.0.1 only), mixing form captures (some
retried with the same Idempotency-Key, as a browser on a bad network does), interactions and reads,
for a bounded time; then, once the pump is idle, check that every accepted capture is stored exactly
once (one lead per accepted answer, one contact per email, each submission's interaction once).

    .venv/bin/python scripts/load.py --clients 8 --seconds 20 [--json build/reliability/load.json]

It starts its own local stack (moto on a free port, the API on another) and stops it at the end.
The per-IP rate limit is lifted (every client is 127.0.0.1) unless ``--keep-rate-limits``; then 429s
are counted apart from errors. Exit status 1 when anything was lost or duplicated, or on any 5xx."""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leadflow_local.http import call  # noqa: E402

MAX_CLIENTS = 100
MAX_SECONDS = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Load:
    def __init__(self, api: str, key: str, seconds: float, seed: int) -> None:
        self.api, self.key, self.seconds, self.seed = api, key, seconds, seed
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.captures: list[dict[str, Any]] = []  # 201 answers with the email sent
        self.interactions: dict[str, set[str]] = {}  # contact_id -> accepted interaction ids
        #: Each person at a company of their own (a domain each): no duplicate suspicions between them,
        #: so the stream functions' time goes to the captures (``scripts/hostile.py``).
        self.companies_apart = False

    def client(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        deadline = time.monotonic() + self.seconds
        sent = 0
        mine: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            sent += 1
            roll = rng.random()
            if roll < 0.6 or not mine:
                person = rng.randrange(40)  # repeats: the same person again
                email = (
                    f"p{person}@c{number}-{person}.load.example.org"
                    if self.companies_apart
                    else f"c{number}-{person}@load.example.org"
                )
                body = {
                    "email": email,
                    "first_name": "Load",
                    "topic": rng.choice(["Pricing", "Demo"]),
                    "newsletter": "on",
                    "country": "GB",
                }
                key = f"{number}-{sent}"
                for _attempt in range(2 if rng.random() < 0.2 else 1):  # a retried POST: same key
                    # with a key, as a server posting a form: the answer names the lead and contact the
                    # checks below look for (a visitor's answer names nobody)
                    status, answer = self.request(
                        "POST",
                        "/v1/forms/contact-us/submissions",
                        body,
                        {"Idempotency-Key": key, "X-Api-Key": self.key},
                        "capture",
                    )
                if status == 201:
                    mine.append({**answer, "email": email})
            elif roll < 0.85:
                target = rng.choice(mine)
                items = [
                    {
                        "id": f"i{number}-{sent}-{n}",
                        "type": "page_visited",
                        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60 * n)),
                        "contact_id": target["contact_id"],
                        "properties": {"url": "/pricing"},
                    }
                    for n in range(rng.randint(1, 5))
                ]
                status, answer = self.request(
                    "POST",
                    "/v1/interactions",
                    {"interactions": items},
                    {"X-Api-Key": self.key},
                    "interactions",
                )
                if status == 202 and not answer["rejected"]:
                    with self.lock:
                        self.interactions.setdefault(target["contact_id"], set()).update(
                            i["id"] for i in items
                        )
            else:
                target = rng.choice(mine)
                self.request("GET", f"/v1/leads/{target['lead_id']}", None, {"X-Api-Key": self.key}, "read")
        with self.lock:
            self.captures.extend(mine)

    def request(
        self, method: str, path: str, body: Any, headers: dict[str, str], kind: str
    ) -> tuple[int, Any]:
        started = time.perf_counter()
        try:
            status, answer = call(method, self.api + path, body, headers, timeout=30)
        except OSError as exc:
            status, answer = 0, str(exc)
        elapsed = time.perf_counter() - started
        with self.lock:
            self.statuses[f"{kind}:{status}"] += 1
            self.latencies.append(elapsed)
        return status, answer


def verify(load: Load) -> dict[str, Any]:
    """Every accepted capture stored exactly once, read from the stack's tables."""
    from chalicelib.store.records import ContactRecord, InteractionRecord, LeadRecord

    contacts = [c for c in ContactRecord.scan() if (c.email or "").endswith("load.example.org")]
    per_email = Counter(c.email for c in contacts)
    leads = {lead.lead_id: lead for lead in LeadRecord.scan()}
    accepted_leads = {c["lead_id"] for c in load.captures}
    accepted_emails = {c["email"] for c in load.captures}
    missing_leads = sorted(accepted_leads - set(leads))
    wrong_contact = sorted(
        c["lead_id"]
        for c in load.captures
        if c["lead_id"] in leads and leads[c["lead_id"]].contact_id != c["contact_id"]
    )
    submissions: Counter[str] = Counter()
    missing_interactions = 0
    for contact in contacts:
        stored = list(InteractionRecord.query(contact.contact_id))
        submissions.update(i.interaction_id for i in stored if i.type == "form_submitted")
        ids = {i.interaction_id for i in stored}
        missing_interactions += len(load.interactions.get(contact.contact_id, set()) - ids)
    accepted_submissions = Counter(c["submission_id"] for c in load.captures)
    return {
        "accepted_captures": len(load.captures),
        "distinct_leads": len(accepted_leads),
        "contacts": len(contacts),
        "contacts_duplicated": sum(1 for n in per_email.values() if n > 1),
        "contacts_missing": len(accepted_emails - set(per_email)),
        "leads_missing": len(missing_leads),
        "leads_on_the_wrong_contact": len(wrong_contact),
        "submissions_missing": sum(1 for s in accepted_submissions if submissions[s] == 0),
        "submissions_duplicated": sum(1 for s in accepted_submissions if submissions[s] > 1),
        "interactions_accepted": sum(len(v) for v in load.interactions.values()),
        "interactions_missing": missing_interactions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-rate-limits", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the report here too")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--clients 1-{MAX_CLIENTS}, --seconds up to {MAX_SECONDS}")
    if not args.keep_rate_limits:
        os.environ["RATE_LIMIT_IP_PER_MINUTE"] = "0"
    from leadflow_local.stack import running

    key = "lf_load-admin-key"
    with running("127.0.0.1", free_port(), free_port(), api_key=key) as stack:
        if not stack.api_url.startswith("http://127.0.0.1:"):
            raise SystemExit("the load script only drives a stack on 127.0.0.1")
        form = json.loads((ROOT / "events/http/form_contact_us.json").read_text())
        assert call("PUT", f"{stack.api_url}/v1/forms/contact-us", form, {"X-Api-Key": key})[0] in (200, 201)
        load = Load(stack.api_url, key, args.seconds, args.seed)
        threads = [threading.Thread(target=load.client, args=(n,)) for n in range(args.clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        # interactions are recorded asynchronously (queue -> pump): wait until they are in, up to 120 s
        settle = time.monotonic()
        checked = verify(load)
        while checked["interactions_missing"] and time.monotonic() - settle < 120:
            time.sleep(1.0)
            checked = verify(load)
        checked["settle_seconds"] = round(time.monotonic() - settle, 1)
    requests = sum(load.statuses.values())
    errors = sum(n for k, n in load.statuses.items() if k.endswith(":0") or k.split(":")[1].startswith("5"))
    limited = sum(n for k, n in load.statuses.items() if k.endswith(":429"))
    latencies = sorted(load.latencies)
    report = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "throughput_rps": round(requests / elapsed, 1),
        "errors": errors,
        "error_rate": round(errors / requests, 4) if requests else 0.0,
        "rate_limited": limited,
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)], 1) if latencies else None,
        "statuses": dict(sorted(load.statuses.items())),
        "stored": checked,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    bad = [
        k
        for k in (
            "contacts_duplicated",
            "contacts_missing",
            "leads_missing",
            "leads_on_the_wrong_contact",
            "submissions_missing",
            "submissions_duplicated",
            "interactions_missing",
        )
        if checked[k]
    ]
    if bad or errors:
        print(f"FAILED: {bad or ''} {errors} errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
