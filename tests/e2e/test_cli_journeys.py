"""``leadflow journeys`` and ``leadflow templates`` against the local stack, as a marketer runs them:
YAML templates and a YAML journey applied, activated, a person enrolled, the funnel and the outbox read
back; a journey with a mistake refused naming the step, offline and by the API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.test_cli_ops import leadflow
from tests.e2e.test_local_stack import API_KEY, call, stack  # noqa: F401 - the stack fixture
from tests.unit.test_cli_journeys import LOOP  # the loop without a wait, one definition

pytestmark = pytest.mark.e2e

JOURNEY = "events/journeys/pricing_nurture.yaml"
TEMPLATES = "events/templates/pricing_nurture.yaml"


def test_a_yaml_journey_and_templates_applied_activated_enrolled_and_reported(
    stack: str,  # noqa: F811
    tmp_path: Path,
):
    env = {"LEADFLOW_API_URL": stack, "LEADFLOW_API_KEY": API_KEY}

    done = leadflow("templates", "apply", TEMPLATES, env=env)
    assert done.returncode == 0, done.stderr
    assert "saved template hello version 1 (links: docs, pricing)" in done.stdout
    assert "saved template nudge version 1 (links: pricing)" in done.stdout

    done = leadflow("journeys", "validate", JOURNEY, "--template", TEMPLATES)
    assert done.returncode == 0, done.stdout
    done = leadflow("journeys", "apply", JOURNEY, "--journey-id", "cli-nurture", env=env)
    assert done.returncode == 0, done.stderr
    assert "saved journey cli-nurture version 1 (draft)" in done.stdout

    # a branch naming a link the e-mails do not have: the API names the step (apply's checks)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text((ROOT / JOURNEY).read_text().replace("clicked: pricing", "clicked: prices"))
    refused = leadflow("journeys", "apply", str(wrong), env=env)
    assert refused.returncode == 1
    assert "422 validation_error" in refused.stderr
    assert "steps[2].engagement.clicked: 'prices' is not a link of the journey's e-mails" in refused.stderr

    done = leadflow("journeys", "activate", "cli-nurture", env=env)
    assert done.returncode == 0, done.stderr
    assert "journey cli-nurture is live (version 1)" in done.stdout

    status, created = call(
        "POST",
        f"{stack}/v1/leads",
        {"contact": {"email": "grace.cli@navy.example.org", "first_name": "Grace"}, "consent": "marketing"},
        {"X-Api-Key": API_KEY},
    )
    assert status == 201, created
    contact = created["contact_id"]
    done = leadflow("journeys", "enroll", "cli-nurture", "--contact-id", contact, env=env)
    assert done.returncode == 0, done.stderr
    assert f"enrolled {contact} at step hello (version 1)" in done.stdout

    deadline = time.monotonic() + 60
    while True:  # the local pump runs the JourneySteps worker: the e-mail goes out within seconds
        shown = leadflow("journeys", "report", "cli-nurture", "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        if json.loads(shown.stdout)["sent"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    report = leadflow("journeys", "report", "cli-nurture", env=env)
    assert report.returncode == 0, report.stderr
    assert "entered 1, in the journey 1, sent 1" in report.stdout, report.stdout
    hello = next(line for line in report.stdout.splitlines() if " hello " in line)
    # step, type, entered, at step, sent, refused, opened, clicked
    assert hello.replace("│", " ").split() == ["hello", "email", "1", "0", "1", "0", "0", "0"], hello

    shown = leadflow("journeys", "show", "cli-nurture", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "if they clicked pricing within 72 h" in shown.stdout
    assert "yes -> call, no -> nudge" in shown.stdout and "wait 2 days" in shown.stdout

    listed = leadflow("journeys", "list", env=env)
    assert listed.returncode == 0 and "cli-nurture" in listed.stdout and "live" in listed.stdout

    sent = leadflow("journeys", "messages", "cli-nurture", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "grace.cli@navy.example.org" in sent.stdout and "hello v1" in sent.stdout
    assert "Hello Grace" in sent.stdout

    preview = leadflow("templates", "preview", "nudge", "--contact-id", contact, env=env)
    assert preview.returncode == 0, preview.stderr
    assert "Still curious, Grace?" in preview.stdout

    again = leadflow("journeys", "enroll", "cli-nurture", "--contact-id", contact, env=env)
    assert again.returncode == 0 and "is already in it" in again.stdout
    done = leadflow("journeys", "pause", "cli-nurture", env=env)
    assert done.returncode == 0 and "is paused" in done.stdout


def test_validate_refuses_a_loop_without_a_wait_naming_the_step(tmp_path: Path):
    loop = tmp_path / "loop.yaml"
    loop.write_text(LOOP)
    done = leadflow("journeys", "validate", str(loop))
    assert done.returncode == 1
    assert "steps[1]: a loop without a wait (clicked -> call -> clicked)" in done.stdout
