"""The operator CLI against the local stack, as an operator runs it: forms, models, rules and leads
over HTTP with a key from the environment or a profile file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_event
from tests.e2e.test_local_stack import API_KEY, call, stack  # noqa: F401 - the stack fixture

pytestmark = pytest.mark.e2e


def leadflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.local.cli", *args],
        cwd=ROOT,
        env={**base, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_operator_applies_a_form_model_and_rules_then_reads_a_lead_with_its_breakdown(
    stack: str,  # noqa: F811
    tmp_path: Path,
):
    env = {"LEADFLOW_API_URL": stack, "LEADFLOW_API_KEY": API_KEY}
    done = leadflow("forms", "apply", "examples/landing/form.json", env=env)
    assert done.returncode == 0, done.stderr
    assert "saved form landing-demo" in done.stdout

    done = leadflow("models", "simulate", "events/models/b2b_default.json", env=env)
    assert done.returncode == 0, done.stderr
    assert "saved b2b-default as draft version 1" in done.stdout
    assert "leads evaluated" in done.stdout
    done = leadflow("models", "publish", "events/models/b2b_default.json", env=env)
    assert done.returncode == 0, done.stderr
    assert "published b2b-default" in done.stdout and "leads scored in" in done.stdout

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "\n---\n".join(
            json.dumps(load_event(name))
            for name in ("rules/mql_default.json", "rules/webinar_signup_trigger.json")
        )
    )
    done = leadflow("rules", "apply", str(rules), env=env)
    assert done.returncode == 0, done.stderr
    assert "saved rule mql-default" in done.stdout and "saved trigger webinar-signup" in done.stdout

    ada = {
        "email": "ada.cli@analytical-engines.co.uk",
        "first_name": "Ada",
        "job": "Director of Engineering",
        "company": "Analytical Engines Ltd",
        "employees": "450",
        "newsletter": "on",
    }
    status, created = call("POST", f"{stack}/v1/forms/landing-demo/submissions", ada, {"X-Api-Key": API_KEY})
    assert status == 201, created
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if call("GET", f"{stack}/v1/leads/{created['lead_id']}", None, {"X-Api-Key": API_KEY})[1]["scores"]:
            break
        time.sleep(0.5)

    listed = leadflow("leads", "list", "--model-id", "b2b-default", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert created["lead_id"] in [lead["lead_id"] for lead in json.loads(listed.stdout)["leads"]]

    # the key and the address from a profile file instead of the environment
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'[default]\napi_url = "{stack}"\napi_key = "{API_KEY}"\n')
    shown = leadflow("leads", "show", created["lead_id"], env={"LEADFLOW_PROFILES": str(profiles)})
    assert shown.returncode == 0, shown.stderr
    assert "b2b-default v2: 30 (grade C)" in shown.stdout, shown.stdout  # simulate saved v1, publish v2
    assert "senior-title" in shown.stdout and "big-company" in shown.stdout and "sum" in shown.stdout
    assert "form_submitted" in shown.stdout  # the timeline


def test_cli_says_what_is_wrong(stack: str, tmp_path: Path):  # noqa: F811
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\nname: Bad\nrules:\n  - id: r1\n    points: 5\n"
        "    when: {field: contact.country, op: like, value: x}\n"
    )
    done = leadflow("models", "validate", str(bad))
    assert done.returncode == 1
    assert "when.op" in done.stdout and "'like' is not an operator" in done.stdout

    no_key = leadflow(
        "leads", "list", env={"LEADFLOW_API_URL": stack, "LEADFLOW_PROFILES": str(tmp_path / "none")}
    )
    assert no_key.returncode == 2 and "no API key" in no_key.stderr

    wrong = leadflow("leads", "show", "l_nope", env={"LEADFLOW_API_URL": stack, "LEADFLOW_API_KEY": API_KEY})
    assert wrong.returncode == 1 and "404 not_found" in wrong.stderr

    refused = leadflow("leads", "list", env={"LEADFLOW_API_URL": stack, "LEADFLOW_API_KEY": "lf_wrong"})
    assert refused.returncode == 1 and "401 unauthenticated" in refused.stderr
