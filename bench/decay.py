"""Decay without rewriting (issue 19, item 2): the writes 30 days of aging cost, the old way and now.

``--leads`` (40) contacts, each with a lead and between 1 and 6 ``email_clicked`` interactions spread
over the past 20 days, scored under the b2b example model (half-life 30 days, 30-day windows, a
"silent 90 days" rule) on in-process moto. Then 30 days pass, one day at a time:

- **before**: what ``rescore_daily`` did: every lead of the aging model rescored each day, a score
  written whenever its result moved (decay moves the breakdown every day);
- **after**: ``run_timers`` (the minute schedule) at the end of each day, which rescores only the
  leads whose timer fell due that day (a crossing of a grade's or the sales-ready line, or an
  interaction leaving a window).

Write units are computed from item sizes (``bench/units.py``); the figure is per million stored leads
per month (x 1e6 / leads), priced at ``bench/cost.py``'s on-demand write price.

    .venv/bin/python -m bench.decay [--leads 40] [--days 30]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _seed(leads: int, now: datetime) -> list[str]:
    from chalicelib import wiring
    from chalicelib.domain.capture import Capture
    from chalicelib.domain.entities import Interaction
    from chalicelib.services.capture import capture

    deps = wiring.deps()
    contacts = []
    for n in range(leads):
        captured = capture(
            Capture(
                contact={
                    "email": f"reader{n}@firm{n}.example",
                    "job_title": "Head of Data" if n % 2 else "Analyst",
                },
                lead={"source": "landing_page", "topic": "Pricing"},
                consent="marketing",
            ),
            deps,
        )
        for k in range(1 + n % 6):
            deps.store.record_interaction(
                Interaction(
                    f"i_{n}_{k}",
                    captured.contact_id,
                    "email_clicked",
                    now - timedelta(days=(3 * k + n) % 20, hours=k),
                )
            )
        contacts.append(captured.contact_id)
    return contacts


def run(leads: int, days: int) -> dict[str, Any]:
    import logging

    from moto import mock_aws

    from bench.capture import _environment
    from bench.cost import PRICES_USD
    from bench.units import Meter, metering, moto_peek

    logging.disable(logging.CRITICAL)
    model = json.loads((ROOT / "events/models/b2b_default.json").read_text())
    start = datetime.now(UTC)
    figures: dict[str, Any] = {"leads": leads, "days": days}
    for way in ("before", "after"):
        with mock_aws():
            _found, indexes = _environment()
            from chalicelib import wiring
            from chalicelib.services import models as model_service
            from chalicelib.services import scoring

            deps = wiring.deps()
            model_service.put_model("b2b-default", model, deps)
            model_service.publish("b2b-default", deps)
            scoring.forget_models(deps)
            contacts = _seed(leads, start)
            scoring.rescore_contacts(contacts, deps, start)
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                for day in range(1, days + 1):
                    at = start + timedelta(days=day)
                    if way == "before":
                        scoring.rescore_contacts(contacts, deps, at)
                    else:
                        scoring.run_timers(deps, at)
        per_lead_month = meter.wcu / leads * 30 / days
        figures[way] = {
            "wcu": round(meter.wcu, 1),
            "rcu": round(meter.rcu, 1),
            "dynamodb_calls": meter.dynamodb_calls,
            "wcu_per_million_leads_per_month": round(per_lead_month * 1e6),
            "usd_writes_per_million_leads_per_month": round(
                per_lead_month * PRICES_USD["dynamodb_per_million_wru"], 2
            ),
            "usd_reads_per_million_leads_per_month": round(
                meter.rcu / leads * 30 / days * PRICES_USD["dynamodb_per_million_rru"], 2
            ),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=40)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(run(args.leads, args.days), indent=2))


if __name__ == "__main__":
    main()
