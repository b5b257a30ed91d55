"""Every shell block of README.md and docs/quickstart.md, and the blocks marked runnable in the other
docs, run in order against a local stack started as the docs start it (``make run`` on free ports), with
their documented output checked (tests/docs/runner.py says how). A document that drifts fails here,
naming the file, the block, the line and what differed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.docs import runner

pytestmark = pytest.mark.e2e

ALWAYS = [ROOT / "README.md", ROOT / "docs" / "quickstart.md"]
OTHERS = runner.runnable_elsewhere(
    p
    for p in sorted([*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("examples/**/*.md")])
    if p not in ALWAYS
)
#: what each document ran, for the summary at the end of the session (tests/docs/conftest.py)
REPORTS: list[runner.Report] = []


@pytest.mark.parametrize("path", [*ALWAYS, *OTHERS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_documented_command_runs_as_documented(path: Path, tmp_path: Path):
    failure = None
    try:
        report = runner.run_document(path, ROOT, tmp_path, every_shell_block=path in ALWAYS)
    except runner.DocFailure as exc:
        failure = str(exc)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    REPORTS.append(report)
    summary = ROOT / "out" / "test-artifacts" / "docs"
    summary.mkdir(parents=True, exist_ok=True)
    lines = [report.line(), *(f"  ran      {w}" for w in report.executed)]
    lines += [f"  skipped  {w}: {why}" for w, why in report.skipped]
    name = str(path.relative_to(ROOT)).replace("/", "_").removesuffix(".md")
    (summary / f"{name}.txt").write_text("\n".join(lines) + "\n")
    assert report.executed, f"{path.name}: no block ran"
