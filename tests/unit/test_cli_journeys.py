"""``leadflow journeys`` and ``leadflow templates`` without a stack: offline validation with the domain's
own parsers naming the step, what ``apply`` sends, the YAML example equal to the JSON one, and what
people typed printed escaped (tests/unit/test_cli_output.py's rule)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from chalicelib.domain.journeys import Catalog, parse_journey
from leadflow_local import definitions
from tests.conftest import ROOT
from tests.unit.test_cli_output import ESCAPES, MARKUP, assert_inert

JOURNEY_YAML = ROOT / "events" / "journeys" / "pricing_nurture.yaml"
JOURNEY_JSON = ROOT / "events" / "journeys" / "pricing_nurture.json"
TEMPLATES_YAML = ROOT / "events" / "templates" / "pricing_nurture.yaml"


def run(*args: str) -> Result:
    from leadflow_local.cli import main

    return CliRunner().invoke(main, list(args), terminal_width=200, env={"COLUMNS": "200"})


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- the YAML example


def test_the_yaml_example_is_the_same_definition_as_the_json_one():
    from_yaml = definitions.load(JOURNEY_YAML)
    from_json = json.loads(JOURNEY_JSON.read_text())
    assert from_yaml == [from_json]
    catalog = Catalog(
        templates={"hello": (frozenset({"pricing", "docs"}), None), "nudge": (frozenset({"pricing"}), None)}
    )
    assert parse_journey("p", from_yaml[0], catalog) == parse_journey("p", from_json, catalog)


def test_the_yaml_branch_keeps_its_yes_and_no_exits():
    """With PyYAML's safe_load (YAML 1.1), ``yes: call`` / ``no: nudge`` load as ``True``/``False``
    keys: the branch silently went to the following step both ways (no error: a missing exit defaults)."""
    import yaml

    body = definitions.load(JOURNEY_YAML)[0]
    journey = parse_journey("p", body, definitions_catalog(body))
    assert journey.step("clicked").exits == {"yes": "call", "no": "nudge"}
    old = yaml.safe_load(JOURNEY_YAML.read_text())
    assert parse_journey("p", old, definitions_catalog(old)).step("clicked").exits == {
        "yes": "call",  # the following step, by default: not what the file says for "no"
        "no": "call",
    }


def definitions_catalog(body: Any) -> Catalog:
    from chalicelib.domain.journeys import lenient_catalog

    return lenient_catalog(body)


def test_the_example_templates_render_with_the_links_the_journey_names():
    done = run("templates", "validate", str(TEMPLATES_YAML))
    assert done.exit_code == 0, done.output
    assert "template hello (links: docs, pricing)" in done.output
    assert "template nudge (links: pricing)" in done.output
    done = run("journeys", "validate", str(JOURNEY_YAML), "--template", str(TEMPLATES_YAML))
    assert done.exit_code == 0, done.output
    assert "valid" in done.output and "6 steps" in done.output


# ---------------------------------------------------------------- offline validation


LOOP = """\
name: Loop
entry: {api: true}
steps:
  - {id: hello, type: email, template_id: hello}
  - {id: clicked, type: branch, engagement: {clicked: pricing}, within_hours: 24, yes: call, no: done}
  - {id: call, type: sales_work, action: {type: task, subject: Call}, next: clicked}
  - {id: done, type: exit}
"""


def test_validate_refuses_a_loop_without_a_wait_naming_the_step_with_exit_code_1(tmp_path: Path):
    done = run("journeys", "validate", str(write(tmp_path, "loop.yaml", LOOP)))
    assert done.exit_code == 1
    assert "invalid" in done.output
    assert "  steps[1]: a loop without a wait (clicked -> call -> clicked)" in done.output
    assert "checked by apply, not here: that the templates exist" in done.output


def test_validate_names_every_bad_step_and_goes_on_with_the_next_file(tmp_path: Path):
    bad = write(
        tmp_path,
        "bad.yaml",
        "name: Bad\nentry: {api: true}\nsteps:\n"
        "  - {id: pause, type: wait, days: 0}\n"
        "  - {id: ab, type: split, percent: 150, a: nowhere}\n",
    )
    done = run("journeys", "validate", str(bad), str(JOURNEY_JSON))
    assert done.exit_code == 1
    lines = done.output.splitlines()
    assert "  steps[0].days: a wait must be at least one minute and at most a year" in lines
    assert any(line.startswith("  steps[1].percent: must be 1-99") for line in lines), lines
    assert "  steps[1].a: 'nowhere' is not a step of this journey" in lines
    assert any(line.startswith("valid") and "pricing_nurture.json" in line for line in lines)


def test_validate_with_template_files_checks_templates_and_link_names_offline(tmp_path: Path):
    wrong_link = write(
        tmp_path, "j.yaml", JOURNEY_YAML.read_text().replace("clicked: pricing", "clicked: prices")
    )
    done = run("journeys", "validate", str(wrong_link), "--template", str(TEMPLATES_YAML))
    assert done.exit_code == 1
    assert (
        "steps[2].engagement.clicked: 'prices' is not a link of the journey's e-mails (links: docs, pricing)"
        in done.output
    )
    without_link = run("journeys", "validate", str(wrong_link))
    assert without_link.exit_code == 0, "without the templates, link names are the API's to check"

    only_hello = write(tmp_path, "hello.yaml", "id: hello\nsubject: Hi\nhtml: <p>Hi</p>\ntext: Hi\n")
    done = run("journeys", "validate", str(JOURNEY_YAML), "--template", str(only_hello))
    assert done.exit_code == 1
    assert "steps[5].template_id: 'nudge' is not an e-mail template" in done.output


def test_bad_yaml_is_one_line_and_exit_code_1(tmp_path: Path):
    done = run(
        "journeys", "validate", str(write(tmp_path, "j.yaml", "name: a\nsteps: [\n")), str(JOURNEY_JSON)
    )
    assert done.exit_code == 1
    bad = [line for line in done.output.splitlines() if "j.yaml" in line]
    assert len(bad) == 1 and bad[0].startswith("invalid") and "is not valid YAML: line 3" in bad[0]
    assert any(line.startswith("valid") for line in done.output.splitlines()), "the next file is checked"
    done = run("templates", "validate", str(write(tmp_path, "t.yaml", "subject: [\n")))
    assert done.exit_code == 1 and done.output.count("\n") == 1 and "is not valid YAML" in done.output


def test_a_file_id_that_is_not_a_journey_id_is_named(tmp_path: Path):
    done = run("journeys", "validate", str(write(tmp_path, "no good.yaml", JOURNEY_YAML.read_text())))
    assert done.exit_code == 1
    assert "journey_id: must be 1-64 letters" in done.output
    assert "the id is the file's name here: give the file an id key" in done.output


def test_templates_validate_names_the_part_and_line(tmp_path: Path):
    bad = write(
        tmp_path, "t.yaml", "id: t\nsubject: Hi\nhtml: |\n  <p>ok</p>\n  <p>{{ contact.name </p>\ntext: Hi\n"
    )
    done = run("templates", "validate", str(bad))
    assert done.exit_code == 1
    assert "  html: line 2:" in done.output


# ---------------------------------------------------------------- over the API (a fake one)


class FakeApi:
    def __init__(self, answers: dict[tuple[str, str], tuple[int, Any]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(
        self, method: str, url: str, body: Any = None, headers: Any = None, **_: Any
    ) -> tuple[int, Any]:
        path = url.split("://", 1)[1].split("/", 1)[1]
        self.calls.append((method, "/" + path, body))
        for (m, prefix), answer in self.answers.items():
            if m == method and ("/" + path).startswith(prefix):
                return answer
        return 404, {"error": {"code": "not_found", "message": "no such thing"}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    from leadflow_local import http

    api = FakeApi({})
    monkeypatch.setattr(http, "call", api)
    monkeypatch.setenv("LEADFLOW_API_KEY", "k")
    monkeypatch.setenv("LEADFLOW_API_URL", "http://api.test")
    return api


SAVED = {"journey_id": "j", "name": "n", "state": "draft", "version": 3, "updated_at": "", "entry": {}}


def test_apply_sends_the_definition_without_its_id_to_the_id_chosen(fake: FakeApi, tmp_path: Path):
    fake.answers[("PUT", "/v1/journeys/")] = (200, SAVED)
    named = write(tmp_path, "file.yaml", "id: from-file\n" + JOURNEY_YAML.read_text())
    done = run("journeys", "apply", str(named))
    assert done.exit_code == 0, done.output
    method, path, body = fake.calls[-1]
    assert (method, path) == ("PUT", "/v1/journeys/from-file")
    assert body == json.loads(JOURNEY_JSON.read_text())
    assert "saved journey from-file version 3 (draft)" in done.output

    assert run("journeys", "apply", str(JOURNEY_YAML), "--journey-id", "given").exit_code == 0
    assert fake.calls[-1][1] == "/v1/journeys/given"
    assert run("journeys", "apply", str(JOURNEY_YAML)).exit_code == 0
    assert fake.calls[-1][1] == "/v1/journeys/pricing_nurture"  # the file's name
    fake.answers[("PUT", "/v1/journeys/")] = (200, {**SAVED, "state": "live"})
    live = run("journeys", "apply", str(JOURNEY_YAML))
    assert "new entrants get version 3; people already in keep theirs" in live.output
    clash = run("journeys", "apply", str(named), "--journey-id", "other")
    assert clash.exit_code == 1 and "is journey 'from-file', not 'other'" in clash.output


def test_apply_prints_the_apis_refusal_naming_the_step_with_exit_code_1(fake: FakeApi):
    error = {
        "code": "validation_error",
        "field": "steps[0].template_id",
        "message": "steps[0].template_id: 'hello' is not an e-mail template",
        "fields": [
            {
                "field": "steps[0].template_id",
                "message": "steps[0].template_id: 'hello' is not an e-mail template",
            }
        ],
    }
    fake.answers[("PUT", "/v1/journeys/")] = (422, {"error": error})
    done = run("journeys", "apply", str(JOURNEY_YAML))
    assert done.exit_code == 1
    assert "422 validation_error\n  steps[0].template_id: 'hello' is not an e-mail template" in done.output


def test_enroll_needs_one_person_and_fails_when_the_journey_is_not_live(fake: FakeApi):
    assert run("journeys", "enroll", "j").exit_code == 2
    assert run("journeys", "enroll", "j", "--contact-id", "c", "--lead-id", "l").exit_code == 2
    fake.answers[("POST", "/v1/journeys/j/enroll")] = (200, {"result": "not_live", "contact_id": "c"})
    done = run("journeys", "enroll", "j", "--contact-id", "c")
    assert done.exit_code == 1 and "is not live" in done.output
    fake.answers[("POST", "/v1/journeys/j/enroll")] = (
        201,
        {"result": "enrolled", "contact_id": "c_9", "step": "hello", "version": 2},
    )
    done = run("journeys", "enroll", "j", "--lead-id", "l_1")
    assert done.exit_code == 0 and "enrolled c_9 at step hello (version 2)" in done.output
    assert fake.calls[-1][2] == {"lead_id": "l_1"}


def test_templates_apply_from_options_and_part_files(fake: FakeApi, tmp_path: Path):
    fake.answers[("PUT", "/v1/email-templates/")] = (201, {"version": 1})
    html = write(tmp_path, "a.html", '<p>Hi</p><a data-link="pricing" href="https://example.com/p">p</a>')
    text = write(tmp_path, "a.txt", "Hi\n")
    args = ("templates", "apply", "--template-id", "hi", "--subject", "Hello", "--html", str(html))
    assert run(*args).exit_code == 2, "the text part is missing"
    done = run(*args, "--text", str(text))
    assert done.exit_code == 0, done.output
    assert fake.calls[-1][:2] == ("PUT", "/v1/email-templates/hi")
    assert fake.calls[-1][2] == {"subject": "Hello", "html": html.read_text(), "text": "Hi\n"}
    assert "saved template hi version 1 (links: pricing)" in done.output

    done = run("templates", "apply", str(TEMPLATES_YAML))
    assert done.exit_code == 0, done.output
    assert [c[1] for c in fake.calls[-2:]] == ["/v1/email-templates/hello", "/v1/email-templates/nudge"]
    assert "id" not in fake.calls[-1][2]


def test_what_people_typed_is_printed_escaped(fake: FakeApi):
    evil = f"{ESCAPES}{MARKUP}"
    journey = {
        **SAVED,
        "name": evil,
        "definition": {
            "steps": [
                {"id": "s1", "type": "sales_work", "action": {"type": "task", "subject": evil}},
                {"id": "s2", "type": "email", "template_id": "t"},
            ]
        },
    }
    report = {
        "journey_id": "j",
        "state": "live",
        "version": 1,
        "entered": 1,
        "active": 1,
        "sent": 1,
        "opened": 0,
        "clicked": 0,
        "qualified": 0,
        "exited": {},
        "steps": [{"step": "s1", "type": "sales_work", "entered": 1, "at_step": 1}],
    }
    message = {
        "message_id": "msg_1",
        "template_id": "t",
        "version": 1,
        "to": f"ada{ESCAPES}@example.org",
        "subject": f"Hello {evil}",
        "status": "sent",
        "reason": None,
        "created_at": "2026-12-07T10:00:00Z",
        "opens": 0,
        "clicks": 0,
    }
    fake.answers.update(
        {
            ("GET", "/v1/journeys/j/report"): (200, report),
            ("GET", "/v1/journeys/j/messages"): (200, {"items": [message], "next_cursor": None}),
            ("GET", "/v1/journeys/j"): (200, journey),
            ("GET", "/v1/journeys"): (200, {"items": [{**journey, "report": report}]}),
            ("GET", "/v1/email-templates/t/preview"): (200, {"subject": evil, "html": evil, "text": evil}),
            ("GET", "/v1/email-templates/t"): (
                200,
                {
                    "template_id": "t",
                    "version": 1,
                    "subject": evil,
                    "html": evil,
                    "text": evil,
                    "consent": "marketing",
                },
            ),
            ("GET", "/v1/email-templates"): (
                200,
                {"items": [{"template_id": "t", "version": 1, "subject": evil, "consent": "marketing"}]},
            ),
        }
    )
    for args in (
        ["journeys", "list"],
        ["journeys", "show", "j"],
        ["journeys", "messages", "j"],
        ["templates", "preview", "t", "--contact-id", "c", "--html"],
        ["templates", "show", "t"],
        ["templates", "list"],
    ):
        done = run(*args)
        assert done.exit_code == 0, (args, done.output)
        assert_inert(done.output)
        assert "[link=https://evil.example]" in done.output, "rich markup in a value is printed, not applied"


def test_rules_apply_reads_a_yaml_trigger_with_its_on_key(fake: FakeApi, tmp_path: Path):
    """``on:`` is how a trigger is told from a rule; PyYAML's safe_load read it as ``True``, so a YAML
    trigger was sent as a qualification rule (with a ``true`` property) and refused."""
    fake.answers[("PUT", "/v1/triggers/")] = (200, {})
    trigger = write(
        tmp_path,
        "t.yaml",
        "id: webinar\non: {type: form_submitted}\nactions: [{type: task, subject: Follow up}]\n",
    )
    done = run("rules", "apply", str(trigger))
    assert done.exit_code == 0, done.output
    assert fake.calls[-1][:2] == ("PUT", "/v1/triggers/webinar")
    assert "saved trigger webinar" in done.output
