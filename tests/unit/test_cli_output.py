"""The CLI prints what visitors typed (names, topics, hand-off subjects): terminal control characters
and rich markup in those values are shown escaped, never acted on by the operator's terminal."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m"  # set the window title, clear the screen, C1 CSI
MARKUP = "[link=https://evil.example]click[/link][red]"
BIDI = "\u202egnp.exe"


def lead_answer() -> dict[str, Any]:
    return {
        "lead_id": "l_1",
        "state": "open",
        "status": "new",
        "topic": f"Pricing{ESCAPES}",
        "source": MARKUP,
        "created_at": "2026-12-06T10:00:00.000Z",
        "fields": {"topic": "Pricing", "note": f"hi{ESCAPES}"},
        "contact": {
            "email": "ada@example.org",
            "consent": "none",
            "fields": {"first_name": f"Ada{ESCAPES}{BIDI}"},
        },
        "account": None,
        "scores": [],
        "conflicts": [],
    }


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadflow_local import http

    def call(method: str, url: str, body: Any = None, headers: Any = None, **_: Any) -> tuple[int, Any]:
        if url.endswith("/timeline"):
            return 200, {"entries": [{"at": "2026-12-06T10:00:00.000Z", "kind": "note", "text": ESCAPES}]}
        if "/v1/leads?" in url:
            return 200, {"leads": [lead_answer()], "next_cursor": None}
        if url.endswith("/v1/leads/l_2"):
            return 404, {"error": {"code": "not_found", "message": f"lead {ESCAPES!s} does not exist"}}
        return 200, lead_answer()

    monkeypatch.setattr(http, "call", call)


def assert_inert(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output and "\x9b" not in output and "\u202e" not in output
    assert "\\x1b" in output or "\\u202e" in output, "the characters are shown, escaped"


@pytest.mark.parametrize(
    "args",
    [["leads", "show", "l_1"], ["leads", "list"], ["leads", "show", "l_2"]],
    ids=["show", "list", "error"],
)
def test_cli_shows_control_characters_escaped(fake_api: None, args: list[str]):
    from leadflow_local.cli import main

    result = CliRunner().invoke(main, [*args, "--api-key", "k"], terminal_width=200)
    assert_inert(result.output)


def test_leads_show_prints_markup_as_text(fake_api: None):
    from leadflow_local.cli import main

    result = CliRunner().invoke(main, ["leads", "list", "--api-key", "k"], env={"COLUMNS": "400"})
    assert "[link=https://evil.example]" in result.output, "rich markup in a value is printed, not applied"


class FakeQueue:
    """Just enough of SQS for ``leadflow handoff tail --once``: one hand-off, then nothing."""

    def __init__(self, body: str) -> None:
        self.messages = [{"Body": body, "ReceiptHandle": "r1", "MessageId": "m1"}]

    def receive_message(self, **_: Any) -> dict[str, Any]:
        messages, self.messages = self.messages, []
        return {"Messages": messages}

    def delete_message(self, **_: Any) -> None:
        return None


def test_handoff_tail_prints_the_subject_escaped(monkeypatch: pytest.MonkeyPatch):
    import json

    from leadflow_local import cli

    event = {
        "id": "h_1",
        "type": "leadflow.handoff.task",
        "subject": "l_1",
        "time": "t",
        "data": {"handoff": {"subject": f"Call Ada{ESCAPES}{BIDI}"}},
    }
    monkeypatch.setattr(cli, "_sqs", lambda _endpoint: FakeQueue(json.dumps(event)))
    result = CliRunner().invoke(cli.main, ["handoff", "tail", "--once", "--queue-url", "http://q"])
    assert "Call Ada" in result.output
    assert_inert(result.output)


def test_printable_keeps_ordinary_text_and_escapes_only_controls():
    from leadflow_local.terminal import printable

    assert printable("Zoë Ørsted — 東京, tab\tok") == "Zoë Ørsted — 東京, tab\\tok"
    assert printable("a\x1bb\x7fc\x85d\u2066e") == "a\\x1bb\\x7fc\\x85d\\u2066e"
