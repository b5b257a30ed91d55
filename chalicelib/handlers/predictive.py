"""The weekly retrain of predictive scoring models (an EventBridge schedule).

A schedule event may arrive twice: each model is trained once per ISO week (a job records it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib import wiring
from chalicelib.observability import flush, logger
from chalicelib.services import predictive


def retrain_weekly() -> dict[str, Any]:
    try:
        results = predictive.retrain_all(wiring.deps(), datetime.now(UTC))
        logger.info(
            "predictive retrain done",
            extra={"models": {k: v.get("state", "skipped") for k, v in results.items()}},
        )
        return {"models": results}
    finally:
        flush()
