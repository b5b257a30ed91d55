"""The performance budgets (bench/budgets.json) hold: ``python -m bench.run --quick`` measures the
cold-start ratio, the DynamoDB units, calls and SQS requests of one lead's lifecycle, and the scoring
engine's ratio to a hand-coded evaluator, and fails with the figure when one is over its limit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.bench


def test_budgets_hold_in_quick_mode(tmp_path: Path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.exists(), run.stdout + run.stderr
    checks = json.loads(out.read_text())["budgets"]
    over = [f"{c['budget']} = {c['value']} (limit {c['limit']}: {c['why']})" for c in checks if not c["ok"]]
    assert not over, "over budget:\n" + "\n".join(over)
    assert run.returncode == 0, run.stdout + run.stderr
    budgets = json.loads((ROOT / "bench/budgets.json").read_text())["budgets"]
    quick = {name for name, budget in budgets.items() if budget.get("quick", True)}
    assert {c["budget"] for c in checks} == quick, "every quick budget was measured"


def test_a_figure_over_its_limit_fails_and_prints_the_figure():
    from bench.run import check_budgets

    budgets = {"budgets": {"wcu": {"figure": "lifecycle.wcu_per_lead", "max": 12, "why": "target"}}}
    (line,) = check_budgets({"lifecycle": {"wcu_per_lead": 37.0}}, budgets)
    assert line == {
        "budget": "wcu",
        "figure": "lifecycle.wcu_per_lead",
        "value": 37.0,
        "limit": 12,
        "ok": False,
        "why": "target",
    }
    assert check_budgets({}, budgets) == [], "a section not run is not checked"
