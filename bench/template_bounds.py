"""How fast each unbounded template of the issue 18 audit (M4) is refused, and what memory the process
reached meanwhile: the save's own check (``parse_template``: compile and the trial render, what
``PUT /v1/email-templates/{id}`` runs before it stores anything), median of 5 runs per template, in
the text part.

    .venv/bin/python bench/template_bounds.py

Before the bounds the audit saw ``{{ 'x' * 10**9 }}`` saved after 19 s with the process at 3 GB, and
nested ``range(100000)`` loops or ``lipsum(n=1000000)`` running for more than 30 s."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.domain.email import parse_template
from chalicelib.domain.errors import ValidationFailed
from tests.unit.test_mail_bounds import AUDIT_TEMPLATES

RUNS = 5


def main() -> int:
    parse_template("warm", {"subject": "s", "html": "<p>h</p>", "text": "t"})  # Jinja2 imported once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worst = 0.0
    for name, source in AUDIT_TEMPLATES.items():
        times: list[float] = []
        message = ""
        for _ in range(RUNS):
            started = time.perf_counter()
            try:
                parse_template("t1", {"subject": "s", "html": "<p>h</p>", "text": source})
                message = "SAVED (not refused)"
            except ValidationFailed as refused:
                message = refused.errors[0].message
            times.append((time.perf_counter() - started) * 1000)
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{name:42s} {median:7.1f} ms  {message[:90]}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"slowest refusal {worst:.1f} ms; peak RSS {peak / 1024:.0f} MB ({(peak - before) / 1024:+.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
