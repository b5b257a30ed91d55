"""The operator CLI against the local stack, as an operator runs it: forms, models, rules and leads
over HTTP with a key from the environment or a profile file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_event
from tests.e2e.test_local_stack import API_KEY, call, free_port, stack  # noqa: F401 - the stack fixture

pytestmark = pytest.mark.e2e


def leadflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LEADFLOW_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "leadflow_local.cli", *args],
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
    # simulate saved v1, publish v2; 20 + 10 + 40 for asking for a call on the landing page
    assert "b2b-default v2: 70 (grade B, sales-ready)" in shown.stdout, shown.stdout
    assert "senior-title" in shown.stdout and "asked-for-a-call" in shown.stdout and "sum" in shown.stdout
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


def bare_environment(tmp_path: Path) -> dict[str, str]:
    """A new user's terminal: no LEADFLOW_* nor AWS_* variables, a configuration directory of its own."""
    keep = ("PATH", "LANG")
    home = tmp_path / "home"  # no ~/.aws of the machine's either
    home.mkdir(exist_ok=True)
    return {
        **{k: v for k, v in os.environ.items() if k in keep},
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


def test_every_cli_command_works_with_what_the_stack_printed_and_nothing_set(tmp_path: Path):
    """`leadflow local` writes its profile; keys, handoff, leads then need nothing. Before it, `handoff
    tail` died with NoRegionError and `keys list` with NoCredentialsError (tracebacks)."""
    env = bare_environment(tmp_path)
    port, aws_port, page_port = free_port(), free_port(), free_port()
    command = [sys.executable, "-m", "leadflow_local.cli", "local", "--demo"]
    ports = ["--port", str(port), "--aws-port", str(aws_port), "--page-port", str(page_port)]
    log = tmp_path / "stack.log"
    output = tmp_path / "banner.txt"
    with output.open("w") as handle:
        process = subprocess.Popen(
            [*command, *ports, "--log-file", str(log)],
            cwd=ROOT,
            env={**env, "LEADFLOW_API_KEY": API_KEY},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ready." not in output.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, output.read_text()
            time.sleep(0.3)
        banner = output.read_text()
        assert "Ready." in banner and banner.rstrip().endswith("Ready. Ctrl-C stops everything.")
        assert '"level"' not in banner and "Serving on" not in banner  # the logs went to the file
        assert '"level"' in log.read_text()
        profile = tmp_path / "config" / "leadflow" / "local.toml"
        assert str(profile) in banner and f"http://127.0.0.1:{page_port}/" in banner

        # the same ports again: one line naming the port, no traceback
        busy = leadflow("local", *ports, env=env)
        assert busy.returncode == 1, busy
        assert (
            f"port {port} on 127.0.0.1 is in use (--port)" in busy.stderr and "Traceback" not in busy.stderr
        )

        created = leadflow("keys", "create", "--name", "crm", "--scope", "sales", env=env)
        assert created.returncode == 0, created.stderr
        key_id = created.stdout.split("\t")[0]
        listed = leadflow("keys", "list", env=env)
        assert listed.returncode == 0 and key_id in listed.stdout and "local admin" in listed.stdout
        assert leadflow("leads", "list", "--ids", env=env).stdout.startswith("l_")
        tail = leadflow("handoff", "tail", "--once", env=env)
        assert tail.returncode == 0, tail.stderr
        redrive = leadflow("handoff", "redrive", env=env)
        assert (redrive.returncode, redrive.stdout.strip()) == (0, "moved 0 hand-offs back"), redrive.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0 and output.read_text().rstrip().endswith("Stopped.")
    assert not profile.exists()  # removed with the stack
    # no stack, nothing set: one line and a non-zero exit, never a traceback
    for args, code, says in (
        (("leads", "list"), 2, "no API key"),
        (("handoff", "tail", "--once"), 2, "no hand-off queue"),
        (("keys", "list"), 1, "no AWS credentials"),
    ):
        done = leadflow(*args, env=env)
        assert (done.returncode, "Traceback" in done.stderr) == (code, False), done
        assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_an_unreachable_api_or_aws_endpoint_is_one_line(tmp_path: Path):
    env = bare_environment(tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"
    done = leadflow("leads", "list", env={**env, "LEADFLOW_API_URL": dead, "LEADFLOW_API_KEY": "lf_x"})
    assert done.returncode == 1 and f"cannot reach the API at {dead}" in done.stderr, done
    assert len(done.stderr.strip().splitlines()) == 1
    done = leadflow("keys", "list", env={**env, "AWS_ENDPOINT_URL": dead})
    assert done.returncode == 1 and "cannot reach the AWS endpoint" in done.stderr, done
    assert "Traceback" not in done.stderr
