"""``leadflow predictive train`` against the local stack: leads captured and closed over HTTP, then
trained through the API, the work queue and the pump, as an operator would."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.test_local_stack import API_KEY, call, stack  # noqa: F401 - the stack fixture

pytestmark = pytest.mark.e2e


def train(api_url: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "leadflow_local.cli", "predictive", "train", "--api-url", api_url]
    env = {**os.environ, "LEADFLOW_API_KEY": API_KEY}
    return subprocess.run(
        [*command, *options], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_operator_trains_a_predictive_model_from_leads_closed_over_http(stack: str):  # noqa: F811
    admin = {"X-Api-Key": API_KEY}
    refused = train(stack, "--model-id", "propensity")
    assert refused.returncode == 1 and "at least 40" in refused.stderr, refused

    rng = random.Random(3)
    for k in range(100):
        won = k % 2 == 0
        employees = rng.choice([300, 1200, 5000, 40] if won else [5, 20, 80, 2000])
        body = {
            "contact": {
                "email": f"buyer{k}@company{k}.example.org",
                "country": rng.choice(["US", "GB", "DE"]),
            },
            "account": {"name": f"Company {k}", "employees": employees},
            "lead": {"topic": "Platform"},
        }
        status, created = call("POST", f"{stack}/v1/leads", body, admin)
        assert status == 201, created
        action, payload = (
            ("qualify", {"create_opportunity": False}) if won else ("disqualify", {"reason": "lost"})
        )
        status, moved = call("POST", f"{stack}/v1/leads/{created['lead_id']}/{action}", payload, admin)
        assert status == 200, moved

    trained = train(stack, "--model-id", "propensity")
    assert trained.returncode == 0, trained.stderr
    result: dict[str, Any] = json.loads(trained.stdout)
    assert (result["version"], result["state"]) == (1, "draft")
    assert result["examples"] == {"positive": 50, "negative": 50}
    assert result["split"]["evaluation_leads"] == 20 and 0.5 < result["auc"] <= 1
    status, model = call("GET", f"{stack}/v1/scoring-models/propensity", None, admin)
    assert status == 200 and model["versions"][0]["definition"]["type"] == "predictive"
