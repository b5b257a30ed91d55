"""The embedded stack under load, and at rest (issue 19, item 4).

- **throughput**: ``--clients`` (50) threads POST ``--leads`` form submissions (distinct people at
  distinct companies, every one sales-ready under the ``hot`` model, so every lead is handed off) to a
  local stack (``leadflow_local.stack.running``: moto, the API and the pump in this one process); a
  consumer reads the sales-handoff queue. Leads/s = leads / (first POST to the last hand-off received).
  Every lead must arrive exactly once (``handed_off_once`` counts them; duplicates are reported).
  The clients and the consumer run in a second process (the web forms and the sales system are not
  the stack: in a real deployment they are elsewhere), so they do not share the stack's one GIL; the
  machine's second core is theirs. ``--same-process`` puts them back in the stack's process (as
  before issue 19's second increment). ``cpu_seconds_per_lead`` is the stack's process alone;
  ``client_cpu_seconds_per_lead`` the clients' and consumer's.
- **idle CPU**: the same process's CPU time (``/proc/self/stat`` utime+stime) over ``--idle-seconds``
  (60) once the pump has nothing to do, as a share of one core.

    .venv/bin/python -m bench.throughput [--leads 300] [--clients 50] [--idle-seconds 60]

Where the time goes: run it under a sampling profiler (``requirements-dev.txt``: py-spy):
``.venv/bin/py-spy record -r 50 --gil -f raw -o build/spy.txt -- .venv/bin/python -m bench.throughput``
(py-spy follows the stack's process; ``--subprocesses`` adds the clients').

The machine is shared: read ``load_average`` (``os.getloadavg()`` before and after) beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds() -> float:
    """This process's user + system CPU time, from /proc (clock ticks)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _post(url: str, body: Any, key: str | None = None, method: str = "POST") -> Any:
    headers = {"Content-Type": "application/json", **({"X-Api-Key": key} if key else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - the local stack
        return json.loads(response.read() or b"null")


def _quiet_stack_environment(stack: bool = True) -> None:
    import logging

    logging.disable(logging.CRITICAL)
    if stack:
        from chalice.local import ChaliceRequestHandler

        def quiet(*_args: Any) -> None:
            return None

        ChaliceRequestHandler.log_message = quiet
    os.environ.update(
        {
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "RATE_LIMIT_IP_PER_MINUTE": "0",
        }
    )


class _Consumer(threading.Thread):
    """The sales system: long-polls the hand-off queue, counts each lead's hand-offs."""

    def __init__(self, sqs: Any, url: str) -> None:
        super().__init__(daemon=True)
        self.sqs, self.url = sqs, url
        self.received: Counter[str] = Counter()
        self.last_arrival = 0.0  # time.monotonic()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            messages = answer.get("Messages", [])
            for message in messages:
                self.received[json.loads(message["Body"])["subject"]] += 1
                self.last_arrival = time.monotonic()
            if messages:  # one call for the batch, as a sales system would
                entries = [
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
                ]
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)


def _submit_all(
    api: str, key: str, sample: dict[str, Any], leads: int, clients: int
) -> tuple[list[str], Counter[str]]:
    """``clients`` threads POST ``leads`` submissions between them; the lead ids accepted."""
    accepted: list[str] = []
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    numbers = iter(range(leads))

    def client() -> None:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            body = {
                **sample,
                "email": f"buyer{n}@company{n}.example",
                "first_name": "Ada",
                "last_name": f"Buyer{n}",
                "phone": f"+44 20 7946 {n % 10000:04d}",
                "company": f"Company {n}",
            }
            try:
                answer = _post(api + "/v1/forms/contact-us/submissions", body, key)
                with lock:
                    accepted.append(answer["lead_id"])
            except Exception as exc:  # counted and reported
                with lock:
                    failures[type(exc).__name__] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted, failures


def _idle_cpu(seconds: float) -> float:
    """This process's CPU over ``seconds`` of wall time, as a share of one core."""
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)


def _load(args: tuple[str, str, str, str, int, int], report: Any) -> None:
    """The clients and the sales system (in their own process unless ``--same-process``): POST every
    submission, consume the hand-offs until each accepted lead arrived (or 600 s), ``report`` what
    happened (``time.monotonic`` is the machine's clock: both processes read the same one)."""
    import boto3

    api, key, aws_endpoint, queue_url, leads, clients = args
    _quiet_stack_environment(stack=False)
    form_sample = json.loads((ROOT / "events/http/form_submissions.json").read_text())[0]
    consumer = _Consumer(boto3.client("sqs", endpoint_url=aws_endpoint), queue_url)
    consumer.start()
    cpu0 = cpu_seconds()
    started = time.monotonic()
    report("started", started)
    accepted, failures = _submit_all(api, key, form_sample, leads, clients)
    posted = time.monotonic()
    deadline = time.monotonic() + 600
    while len(set(consumer.received) & set(accepted)) < len(accepted) and time.monotonic() < deadline:
        time.sleep(0.05)
    last = consumer.last_arrival
    consumer.done.set()
    consumer.join(timeout=5)  # the sales system stops polling: what is left is the stack alone
    report(
        "done",
        {
            "started": started,
            "posted": posted,
            "last_arrival": last,
            "accepted": accepted,
            "failures": dict(failures),
            "received": dict(consumer.received),
            "cpu_seconds": cpu_seconds() - cpu0,
        },
    )


def _load_process(args: tuple[str, str, str, str, int, int], connection: Any) -> None:
    _load(args, lambda kind, value: connection.send((kind, value)))
    connection.close()


def _drive(args: tuple[str, str, str, str, int, int], same_process: bool) -> tuple[float, dict[str, Any]]:
    """Run :func:`_load`; this process's CPU from the first POST to the last hand-off, and its report."""
    import multiprocessing

    if same_process:
        marks: dict[str, Any] = {}

        def report(kind: str, value: Any) -> None:
            marks[kind] = value
            if kind == "started":
                marks["cpu"] = cpu_seconds()

        _load(args, report)
        return cpu_seconds() - marks["cpu"], marks["done"]
    context = multiprocessing.get_context("spawn")  # never fork a process full of threads
    ours, theirs = context.Pipe()
    process = context.Process(target=_load_process, args=(args, theirs), name="bench-clients")
    process.start()
    theirs.close()
    try:
        ours.recv()  # ("started", ...)
        cpu0 = cpu_seconds()
        _, done = ours.recv()
        return cpu_seconds() - cpu0, done
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


def run(leads: int, clients: int, idle_seconds: float, same_process: bool = False) -> dict[str, Any]:
    from bench.lifecycle import HOT, RULE
    from leadflow_local import stack as local

    _quiet_stack_environment()
    form = json.loads((ROOT / "events/http/form_contact_us.json").read_text())
    load_before = os.getloadavg()
    with local.running(port=free_port(), aws_port=free_port()) as stack:
        api, key = stack.api_url, stack.api_key
        _post(api + "/v1/forms/contact-us", form, key, "PUT")
        _post(api + "/v1/scoring-models/hot", HOT, key, "PUT")
        _post(api + "/v1/scoring-models/hot/publish", {}, key)
        _post(api + "/v1/qualification-rules/hot-mql", RULE, key, "PUT")
        # the publish's rescoring job (no leads yet) and the setup's records, delivered first
        time.sleep(3)
        stack.pump.idle.wait(60)
        queue_url = stack.resources.queue_urls["SalesHandoffQueue"]
        args = (api, key, stack.aws_endpoint, queue_url, leads, clients)
        cpu_used, done = _drive(args, same_process)
        time.sleep(3)
        stack.pump.idle.wait(60)
        idle_cpu = _idle_cpu(idle_seconds)
    accepted, received = done["accepted"], Counter(done["received"])
    elapsed = done["last_arrival"] - done["started"]
    return {
        "leads": leads,
        "clients": clients,
        "clients_in": "the stack's process" if same_process else "a process of their own",
        "accepted": len(accepted),
        "failed": done["failures"],
        "handed_off_once": sum(1 for lead in accepted if received[lead] == 1),
        "handed_off_twice_or_more": sum(1 for lead in accepted if received[lead] > 1),
        "not_handed_off": sum(1 for lead in accepted if received[lead] == 0),
        "posting_seconds": round(done["posted"] - done["started"], 2),
        "seconds_to_last_handoff": round(elapsed, 2),
        "leads_per_second": round(len(accepted) / elapsed, 1) if elapsed > 0 else None,
        # the stack's process (with --same-process: and the clients): its CPU per lead bounds leads/s
        # at one core per GIL
        "cpu_seconds_per_lead": round(cpu_used / len(accepted), 4) if accepted else None,
        "client_cpu_seconds_per_lead": None
        if same_process or not accepted
        else round(done["cpu_seconds"] / len(accepted), 4),
        "idle_seconds": idle_seconds,
        "idle_cpu_share_of_one_core": round(idle_cpu, 4),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument(
        "--same-process", action="store_true", help="the clients and consumer in the stack's process"
    )
    args = parser.parse_args()
    results = run(args.leads, args.clients, args.idle_seconds, args.same_process)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "throughput.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
