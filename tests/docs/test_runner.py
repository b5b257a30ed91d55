"""The docs runner itself (tests/docs/runner.py): a document that drifts from what its commands do fails,
naming the file, the block, the line and the difference; a document as written passes. No stack here:
small Markdown files in a temporary directory, and an HTTP server from pytest-httpserver for curl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.docs import runner
from tests.docs.runner import DocFailure, Pattern, mismatch, run_document

FENCE = "```"


def document(tmp_path: Path, text: str, name: str = "GUIDE.md") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("'''", FENCE))
    return path


def run(path: Path, tmp_path: Path, every: bool = True) -> runner.Report:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return run_document(path, tmp_path, work, every)


def test_a_document_whose_shown_answer_differs_fails_naming_the_file_block_line_and_difference(
    tmp_path: Path,
):
    path = document(
        tmp_path,
        "# Guide\n\nSome prose.\n\n'''sh\necho ok\n'''\n\n'''sh\n"
        'echo \'{"lead_id": "l_1", "score": 69}\'   # -> {"lead_id": "l_...", "score": 70}\n\'\'\'\n',
    )
    with pytest.raises(DocFailure) as failed:
        run(path, tmp_path)
    message = str(failed.value)
    assert "GUIDE.md, block 2 (line 9, ```sh)" in message
    assert "the command at line 10" in message
    assert "$.score: expected 70, got 69" in message


def test_a_document_whose_output_block_differs_fails(tmp_path: Path):
    path = document(
        tmp_path,
        "'''sh\nprintf 'Leadflow API   http://127.0.0.1:9\\nready\\n'\n'''\n\n"
        "<!-- docs-test: output -->\n'''\nLeadflow API   http://127.0.0.1:...\ndone\n'''\n",
    )
    with pytest.raises(DocFailure) as failed:
        run(path, tmp_path)
    assert "block 2" in str(failed.value) and "--- documented" in str(failed.value)


def test_a_document_as_written_passes_and_counts_what_it_ran_and_skipped(tmp_path: Path):
    path = document(
        tmp_path,
        "'''sh\nexport GREETING=hello\nNAME=$(echo 'Ada' \\\n   | tr a-z A-Z)\n"
        'printf \'{"greeting": "%s", "name": "%s", "ids": [1, 2, 3]}\' "$GREETING" "$NAME"\n'
        '# -> {"greeting": "hello",\n#     "name": "ADA", "ids": [1, ...]}\n\'\'\'\n\n'
        "<!-- docs-test: skip: it would deploy to AWS -->\n'''sh\nfalse\n'''\n\n"
        "'''json\n{\"not\": \"run\"}\n'''\n\n"
        "'''sh\nprintf 'Leadflow API   http://127.0.0.1:8000\\n  Admin key  lf_x\\n'\n'''\n"
        "<!-- docs-test: output -->\n'''\nLeadflow API http://127.0.0.1:8000\nAdmin key lf_...\n'''\n",
    )
    report = run(path, tmp_path)
    assert len(report.executed) == 2 and report.commands == 4
    assert report.skipped == [("GUIDE.md, block 2 (line 11, ```sh)", "it would deploy to AWS")]


def test_a_skip_without_a_reason_is_refused(tmp_path: Path):
    path = document(tmp_path, "<!-- docs-test: skip -->\n'''sh\ntrue\n'''\n")
    with pytest.raises(DocFailure, match="needs a reason"):
        run(path, tmp_path)


def test_a_failing_command_fails_unless_the_document_shows_its_exit_code(tmp_path: Path):
    with pytest.raises(DocFailure, match="exit code 3, the document expects 0"):
        run(document(tmp_path, "'''sh\nsh -c 'exit 3'\n'''\n"), tmp_path)
    report = run(
        document(tmp_path, "'''sh\nsh -c 'echo no; exit 3'   # -> exit 3: no\n'''\n", "B.md"), tmp_path
    )
    assert report.commands == 1


def test_only_marked_blocks_run_in_other_documents(tmp_path: Path):
    path = document(tmp_path, "'''sh\nfalse\n'''\n\n<!-- docs-test: run -->\n'''sh\ntrue\n'''\n")
    report = run(path, tmp_path, every=False)
    assert report.executed == ["GUIDE.md, block 2 (line 6, ```sh)"]


def test_curl_statuses_are_checked_against_the_document(tmp_path: Path, httpserver: Any):
    httpserver.expect_request("/v1/things", method="POST").respond_with_json({"id": "t_1"}, status=201)
    httpserver.expect_request("/v1/missing").respond_with_json({"error": {"code": "not_found"}}, status=404)
    base = httpserver.url_for("")
    good = document(
        tmp_path,
        f'\'\'\'sh\ncurl -s -X POST {base}v1/things   # -> 201 {{"id": "t_..."}}\n'
        f'curl -s {base}v1/missing\n# -> 404 {{"error": {{"code": "not_found"}}}}\n\'\'\'\n',
    )
    assert run(good, tmp_path).commands == 2
    wrong_status = document(tmp_path, f"'''sh\ncurl -s -X POST {base}v1/things   # -> 200\n'''\n", "C.md")
    with pytest.raises(DocFailure, match="HTTP 201, the document shows 200"):
        run(wrong_status, tmp_path)
    unsaid = document(tmp_path, f"'''sh\ncurl -s {base}v1/missing\n'''\n", "D.md")
    with pytest.raises(DocFailure, match="curl got HTTP 404 and the document does not say so"):
        run(unsaid, tmp_path)


def test_commands_split_where_the_shell_says_a_command_ends(tmp_path: Path):
    block = runner.Block(
        tmp_path / "X.md",
        1,
        10,
        "sh",
        '# a comment\ncurl -s -X PUT x \\\n   -d \'{"a":\n  1}\'   # -> 201\n\nA=1; B=$(echo "\n")\n'
        "echo done\n# -> done",
    )
    commands = runner.split_commands(block)
    assert [(c.line, c.expect) for c in commands] == [(12, "201"), (16, ""), (18, "done")]


@pytest.mark.parametrize(
    ("value", "pattern", "why"),
    [
        ({"a": 1, "b": "s_12"}, '{"a": 1, "b": "s_..."}', None),
        ({"a": 1, "b": 2}, '{"a": 1}', "$: keys the document does not show: b (add them, or ...)"),
        ({"a": 1, "b": 2}, '{"a": 1, ...}', None),
        ({"a": 1}, '{"a", "b"}', '$: no key "b" (keys: a)'),
        ({"x": [1, 2]}, '{"x": [...]}', None),
        ({"x": []}, '{"x": []}', None),
        ({"x": [1]}, '{"x": []}', "$.x: expected 0 items, got 1"),
        ({"x": [{"k": "v"}, 2]}, '{"x": [{"k": "..."}, ...]}', None),
        ({"ok": True}, '{"ok": 1}', "$.ok: expected 1, got true"),
        ("whsec_abc", '"whsec_..."', None),
    ],
)
def test_json_patterns(value: Any, pattern: str, why: str | None):
    assert mismatch(value, Pattern(pattern).parse()) == why


def test_words_after_a_shown_answer_are_commentary():
    expectation = runner.parse_expectation('202 {"accepted": 1, "rejected": []}; the pump records it')
    assert expectation.status == 202
    assert mismatch({"accepted": 1, "rejected": []}, expectation.pattern) is None


def test_the_documented_default_ports_follow_the_stack(tmp_path: Path):
    doc = runner.Document(tmp_path / "X.md", tmp_path, tmp_path, True)
    doc.ports = {"api": 38111, "aws": 38112, "page": 38113}
    text = "curl http://127.0.0.1:8000/v1 http://localhost:5000 http://127.0.0.1:8080/ :80001"
    assert doc.localise(text) == (
        "curl http://127.0.0.1:38111/v1 http://localhost:38112 http://127.0.0.1:38113/ :80001"
    )
