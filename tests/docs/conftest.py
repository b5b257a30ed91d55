"""The docs test's count of blocks executed, at the end of the session."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.docs.test_docs import REPORTS

    if not REPORTS:
        return
    terminalreporter.section("docs that run")
    for report in REPORTS:
        terminalreporter.write_line(report.line())
    blocks = sum(len(r.executed) for r in REPORTS)
    commands = sum(r.commands for r in REPORTS)
    skipped = sum(len(r.skipped) for r in REPORTS)
    terminalreporter.write_line(f"in all: {blocks} blocks executed ({commands} commands), {skipped} skipped")
