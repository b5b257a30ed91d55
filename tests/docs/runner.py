"""Docs that run: the shell blocks of Markdown files executed in order, their documented output checked.

The conventions live in the docs' source, invisible once rendered (docs/README.md, "Docs that run"):

- Every ```` ```sh ```` (``bash``, ``shell``) block of ``README.md`` and ``docs/quickstart.md`` runs; in
  other files a block runs only when marked ``<!-- docs-test: run -->`` on the line before its fence.
- ``<!-- docs-test: skip: REASON -->`` before a fence: the block is not run; the reason is required.
- ``<!-- docs-test: stack: REASON -->`` before a fence (or alone on a line): the local stack is started
  there, as ``make run PORT=... AWS_PORT=... PAGE_PORT=...`` on free ports with the environment the docs
  exported so far, and its banner awaited; the block itself is not run (it is ``make run``) unless
  ``<!-- docs-test: run -->`` marks it too.
- ``<!-- docs-test: output -->`` before a fence: the fence holds the expected standard output of the last
  command run (or the stack's banner): ``...`` matches anything, runs of spaces count as one.
- ``# -> EXPECTATION`` after a command (on its last line or on the comment lines right after it):
  ``201``, ``201 {"lead_id": "l_...", ...}``, ``{"accepted": 1, ...}``, ``exit 1``, or text that the output
  must contain (``...`` again a wildcard). A JSON pattern is JSON where ``...`` stands for any value, any
  further keys of an object or items of a list, or any text inside a string (``"l_..."``); an object
  without ``...`` must have exactly the keys shown, and ``"key"`` alone means "present, any value".
  A status is the HTTP status of the command's last ``curl``.
- A command must exit 0 and every ``curl`` in it must answer below 400, unless its expectation says
  otherwise. Commands run one at a time in one ``bash`` per file (variables carry over, as in a terminal),
  with ``pipefail``, from the repository's root, with only PATH (without the virtualenv), a fresh HOME,
  LANG and TERM, plus whatever the docs export.
- The documented default ports (API ``127.0.0.1:8000``, moto ``:5000``, the landing page ``:8080``) are
  rewritten to the stack's free ports in commands and expected output.

A failure names the file, the block and its line, the command and what differed.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHELLS = ("sh", "bash", "shell")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(run|skip|stack|output)\s*(?::\s*(.*?))?\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^`\s]*)(.*)$")
EXPECT = re.compile(r"(?:^|\s)#\s*->\s*(.*)$")
STATUS_MARK = "__DOCS_HTTP__"
DONE_MARK = "__DOCS_DONE__"
DEFAULT_PORTS = {"api": 8000, "aws": 5000, "page": 8080}


class DocFailure(AssertionError):
    """A documented command that did not do what its document says."""


# ---------------------------------------------------------------- reading Markdown

#: the directory documents are named from in messages (the repository's root, once a run starts)
NAMES_FROM: list[Path] = []


def display(path: Path) -> str:
    for root in NAMES_FROM:
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return path.name


@dataclass
class Block:
    path: Path
    number: int  # 1-based among the file's fenced blocks
    line: int  # the opening fence's line, 1-based
    info: str
    text: str
    directives: list[tuple[str, str]] = field(default_factory=list)

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    def where(self) -> str:
        return f"{display(self.path)}, block {self.number} (line {self.line}, ```{self.info})"


@dataclass
class Standalone:
    """A directive not followed by a fence (``stack`` alone on its line)."""

    path: Path
    line: int
    directive: tuple[str, str]


def read_markdown(path: Path) -> list[Block | Standalone]:
    """The fenced blocks of a Markdown file with the directives written right before each, in order."""
    lines = path.read_text().splitlines()
    found: list[Block | Standalone] = []
    pending: list[tuple[str, str, int]] = []
    number = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = DIRECTIVE.match(line)
        if directive:
            kind, argument = directive.group(1), (directive.group(2) or "").strip()
            if kind in ("skip", "stack") and not argument:
                raise DocFailure(f"{display(path)}, line {index + 1}: `docs-test: {kind}` needs a reason")
            pending.append((kind, argument, index + 1))
            index += 1
            continue
        fence = FENCE.match(line)
        if fence is None:
            if line.strip():  # prose: directives before it stand alone (only `stack` may)
                for kind, argument, at in pending:
                    if kind != "stack":
                        raise DocFailure(
                            f"{display(path)}, line {at}: `docs-test: {kind}` is not before a fence"
                        )
                    found.append(Standalone(path, at, (kind, argument)))
                pending = []
            index += 1
            continue
        indent, marker, language, rest = fence.groups()
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(marker):
            text = lines[index]
            body.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
            index += 1
        number += 1
        info = (language + rest).strip()
        found.append(
            Block(path, number, index - len(body), info, "\n".join(body), [(k, a) for k, a, _ in pending])
        )
        pending = []
        index += 1
    return found


# ---------------------------------------------------------------- commands and their expectations


@dataclass
class Command:
    text: str
    line: int  # in the Markdown file
    expect: str = ""

    def first_line(self) -> str:
        return self.text.strip().splitlines()[0] if self.text.strip() else ""


def _complete(text: str) -> bool:
    """Whether ``text`` is whole shell input (no open quote, ``$(``, ``{``, ``if``...): bash says."""
    if text.rstrip().endswith("\\"):
        return False
    checked = subprocess.run(["bash", "-n", "-c", text], capture_output=True, text=True, check=False)
    if checked.returncode == 0:
        return True
    return not any(s in checked.stderr for s in ("unexpected end of file", "unexpected EOF"))


def _balanced(text: str) -> bool:
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "{[":
            depth += 1
        elif not quoted and char in "}]":
            depth -= 1
    return depth <= 0


class _Splitter:
    """Reads a block line by line: a command ends where bash says the input is complete; ``# ->``
    comments attach to the command before them (continuing on comment lines while brackets are open)."""

    def __init__(self, block: Block) -> None:
        self.block = block
        self.commands: list[Command] = []
        self.current: list[str] = []
        self.start = 0
        self.open: Command | None = None  # a command whose expectation continues on the next comment

    def line(self, raw: str, at: int) -> None:
        stripped = raw.strip()
        if not self.current and self._comment_or_blank(stripped):
            return
        if not self.current:
            self.start = at
        self.current.append(raw)
        text = "\n".join(self.current)
        if _complete(text):
            expectation = EXPECT.search(raw)
            command = Command(text, self.start, expectation.group(1).strip() if expectation else "")
            self.commands.append(command)
            self.open = command if command.expect and not _balanced(command.expect) else None
            self.current = []

    def _comment_or_blank(self, stripped: str) -> bool:
        if self.open is not None and stripped.startswith("#"):
            self.open.expect += " " + stripped.lstrip("#").strip()
            self.open = None if _balanced(self.open.expect) else self.open
            return True
        self.open = None
        if not stripped:
            return True
        if not stripped.startswith("#"):
            return False
        expectation = EXPECT.search(stripped)
        if expectation and self.commands and not self.commands[-1].expect:
            self.commands[-1].expect = expectation.group(1).strip()
            self.open = None if _balanced(self.commands[-1].expect) else self.commands[-1]
        return True


def split_commands(block: Block) -> list[Command]:
    """The block's commands, each with the ``# ->`` expectation written after it."""
    splitter = _Splitter(block)
    for offset, raw in enumerate(block.text.splitlines()):
        splitter.line(raw, block.line + 1 + offset)
    if splitter.current:
        raise DocFailure(f"{block.where()}: the last command is not complete shell: {splitter.current[0]!r}")
    return splitter.commands


@dataclass(frozen=True)
class Expectation:
    status: int | None = None
    exit: int = 0
    pattern: Any = None  # a parsed JSON pattern
    text: str = ""


def parse_expectation(raw: str) -> Expectation:
    rest = raw.strip()
    status, exit_code = None, 0
    found = re.match(r"exit\s+(\d+)\b\s*:?\s*(.*)$", rest)
    if found:
        exit_code, rest = int(found.group(1)), found.group(2)
    else:
        found = re.match(r"(\d{3})\b\s*(.*)$", rest)
        if found:
            status, rest = int(found.group(1)), found.group(2)
    rest = rest.strip()
    if rest.startswith(("{", "[")):  # the JSON pattern; words after it are commentary
        return Expectation(status, exit_code, Pattern(rest[: _json_end(rest)]).parse())
    return Expectation(status, exit_code, None, rest)


def _json_end(text: str) -> int:
    """Where the bracketed value that opens ``text`` closes (strings respected)."""
    depth, quoted, escaped = 0, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = quoted
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "{[":
            depth += 1
        elif not quoted and char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


# ---------------------------------------------------------------- JSON patterns

ANY = object()


@dataclass(frozen=True)
class ObjectPattern:
    keys: tuple[tuple[str, Any], ...]  # (key, pattern or ANY)
    open: bool


@dataclass(frozen=True)
class ListPattern:
    items: tuple[Any, ...]
    open: bool


@dataclass(frozen=True)
class TextPattern:
    text: str

    def matches(self, value: str) -> bool:
        if "..." not in self.text:
            return value == self.text
        parts = [re.escape(p) for p in self.text.split("...")]
        return re.fullmatch(".*".join(parts), value, re.DOTALL) is not None


class Pattern:
    """JSON with ``...`` (see the module's docstring); bad syntax is a :class:`DocFailure`."""

    TOKEN = re.compile(
        r'\s*(?:(?P<ellipsis>\.\.\.)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)'
        r"|(?P<word>true|false|null)|(?P<punct>[{}\[\]:,]))"
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            token = self.TOKEN.match(text, position)
            if token is None:
                raise DocFailure(f"not a JSON pattern at {text[position : position + 20]!r}: {text}")
            kind = token.lastgroup or ""
            self.tokens.append((kind, token.group(kind)))
            position = token.end()
        self.index = 0

    def _next(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise DocFailure(f"the JSON pattern ends too early: {self.text}")
        self.index += 1
        return self.tokens[self.index - 1]

    def _peek(self) -> str:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else ""

    def parse(self) -> Any:
        value = self._value()
        if self.index != len(self.tokens):
            raise DocFailure(f"unexpected {self._peek()!r} in the JSON pattern: {self.text}")
        return value

    def _value(self) -> Any:
        kind, token = self._next()
        if kind == "ellipsis":
            return ANY
        if kind == "string":
            return TextPattern(json.loads(token))
        if kind in ("number", "word"):
            return json.loads(token)
        if token == "{":
            return self._object()
        if token == "[":
            return self._list()
        raise DocFailure(f"unexpected {token!r} in the JSON pattern: {self.text}")

    def _object(self) -> ObjectPattern:
        keys: list[tuple[str, Any]] = []
        is_open = False
        while self._peek() != "}":
            kind, token = self._next()
            if kind == "ellipsis":
                is_open = True
            elif kind == "string":
                key = json.loads(token)
                if self._peek() == ":":
                    self._next()
                    keys.append((key, self._value()))
                else:
                    keys.append((key, ANY))
            else:
                raise DocFailure(f"an object's key expected, not {token!r}: {self.text}")
            if self._peek() == ",":
                self._next()
        self._next()
        return ObjectPattern(tuple(keys), is_open)

    def _list(self) -> ListPattern:
        items: list[Any] = []
        is_open = False
        while self._peek() != "]":
            if self._peek() == "...":
                self._next()
                is_open = True
            else:
                items.append(self._value())
            if self._peek() == ",":
                self._next()
        self._next()
        return ListPattern(tuple(items), is_open)


def mismatch(value: Any, pattern: Any, path: str = "$") -> str | None:
    """Why ``value`` does not fit ``pattern`` (the first difference, with its path), or ``None``."""
    if pattern is ANY:
        return None
    if isinstance(pattern, TextPattern):
        if isinstance(value, str) and pattern.matches(value):
            return None
        return f"{path}: expected {json.dumps(pattern.text)}, got {json.dumps(value)[:200]}"
    if isinstance(pattern, ObjectPattern):
        return _object_mismatch(value, pattern, path)
    if isinstance(pattern, ListPattern):
        return _list_mismatch(value, pattern, path)
    if isinstance(value, bool) != isinstance(pattern, bool) or value != pattern:
        return f"{path}: expected {json.dumps(pattern)}, got {json.dumps(value)[:200]}"
    return None


def _object_mismatch(value: Any, pattern: ObjectPattern, path: str) -> str | None:
    if not isinstance(value, dict):
        return f"{path}: expected an object, got {json.dumps(value)[:200]}"
    for key, sub in pattern.keys:
        if key not in value:
            return f"{path}: no key {json.dumps(key)} (keys: {', '.join(sorted(value))})"
        why = mismatch(value[key], sub, f"{path}.{key}")
        if why:
            return why
    extra = sorted(set(value) - {key for key, _ in pattern.keys})
    if extra and not pattern.open:
        return f"{path}: keys the document does not show: {', '.join(extra)} (add them, or ...)"
    return None


def _list_mismatch(value: Any, pattern: ListPattern, path: str) -> str | None:
    if not isinstance(value, list):
        return f"{path}: expected a list, got {json.dumps(value)[:200]}"
    if len(value) < len(pattern.items) or (not pattern.open and len(value) != len(pattern.items)):
        more = " or more" if pattern.open else ""
        return f"{path}: expected {len(pattern.items)} items{more}, got {len(value)}"
    for n, sub in enumerate(pattern.items):
        why = mismatch(value[n], sub, f"{path}[{n}]")
        if why:
            return why
    return None


def _normal(text: str) -> str:
    """Runs of white space, line ends included, as one space: a terminal's width decides where rich
    wraps a line, the document cannot."""
    return re.sub(r"\s+", " ", text).strip()


def text_matches(actual: str, expected: str, whole: bool) -> bool:
    """``expected`` (``...`` wildcards, spaces collapsed) against ``actual``: the whole of it, or a part."""
    # "...", with the spaces around it, matches anything (nothing included)
    parts = [re.escape(p) for p in re.split(r"\s*\.\.\.\s*", _normal(expected))]
    regex = ".*?".join(parts)
    if whole:
        return re.fullmatch(regex, _normal(actual), re.DOTALL) is not None
    return re.search(regex, _normal(actual), re.DOTALL) is not None


def last_json(text: str) -> Any:
    """The JSON document a command printed (its whole output, else its last line)."""
    for candidate in (text.strip(), *(reversed(text.strip().splitlines()))):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("no JSON in the output")


# ---------------------------------------------------------------- running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ran:
    stdout: str
    stderr: str
    exit: int
    statuses: list[int]


class Shell:
    """One bash for a document: commands run one at a time in it, as typed in a terminal."""

    PREAMBLE = (
        "set -o pipefail\n"
        # observe each curl's HTTP status without changing what it prints
        f"curl() {{ command curl --write-out '%{{stderr}}{STATUS_MARK} %{{http_code}}\\n' \"$@\"; }}\n"
    )

    def __init__(self, cwd: Path, env: dict[str, str], workdir: Path) -> None:
        self.workdir = workdir
        self.count = 0
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._send(self.PREAMBLE)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def run(self, text: str, timeout: float) -> Ran:
        self.count += 1
        script = self.workdir / f"command-{self.count}.sh"
        out, err = self.workdir / f"command-{self.count}.out", self.workdir / f"command-{self.count}.err"
        script.write_text(text + "\n")
        self._send(f'source "{script}" > "{out}" 2> "{err}" < /dev/null; echo "{DONE_MARK} $?"\n')
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.close()
                raise TimeoutError(f"no end after {timeout:.0f} s") from None
            if line == "":
                raise DocFailure("the shell ended (an `exit` in the document?)")
            if line.startswith(DONE_MARK):
                code = int(line.split()[1])
                break
        stderr = err.read_text(errors="replace")
        statuses = [int(m) for m in re.findall(rf"^{STATUS_MARK} (\d+)$", stderr, re.MULTILINE)]
        stderr = re.sub(rf"^{STATUS_MARK} \d+\n?", "", stderr, flags=re.MULTILINE)
        return Ran(out.read_text(errors="replace"), stderr, code, statuses)

    def environment(self) -> dict[str, str]:
        """The exported environment of the shell now."""
        dump = self.workdir / "environment"
        self.run(f'env -0 > "{dump}"', timeout=30)
        pairs = [item.split("=", 1) for item in dump.read_text().split("\0") if "=" in item]
        return {k: v for k, v in pairs if not k.startswith("BASH_FUNC_")}

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


class Stack:
    """``make run`` on free ports, as the docs start it; stopped (its whole process group) at the end."""

    def __init__(self, root: Path, env: dict[str, str], workdir: Path, ports: dict[str, int]) -> None:
        self.output = workdir / "make-run.out"
        self.log = workdir / "stack.log"
        command = [
            "make",
            "--no-print-directory",
            "run",
            f"PORT={ports['api']}",
            f"AWS_PORT={ports['aws']}",
            f"PAGE_PORT={ports['page']}",
            f"ARGS=--log-file={self.log}",
        ]
        self.command = " ".join(command)
        # a stack of its own: the data a developer's `make run` keeps in .leadflow/ is neither read nor
        # written (the documented outputs are those of a first start)
        env = {**env, "LEADFLOW_DATA_DIR": str(workdir / ".leadflow")}
        with self.output.open("w") as handle:
            self.process = subprocess.Popen(
                command, cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )

    def banner(self, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output.read_text(errors="replace")
            if "Ready." in text:
                return text
            if self.process.poll() is not None:
                raise DocFailure(f"`{self.command}` exited ({self.process.returncode}):\n{text[-3000:]}")
            time.sleep(0.3)
        raise DocFailure(f"`{self.command}` printed no banner within {timeout:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        parts = [self.output.read_text(errors="replace")[-2000:]]
        if self.log.exists():
            parts.append("stack log: " + self.log.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.output.read_text(errors="replace")


@dataclass
class Report:
    path: Path
    name: str  # the path from the repository's root
    executed: list[str] = field(default_factory=list)  # "README.md, block 3 (line 40, ```sh)"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    commands: int = 0
    stack_started: bool = False
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.name}: {len(self.executed)} blocks executed ({self.commands} commands), "
            f"{len(self.skipped)} skipped, {self.seconds:.0f} s"
        )


def base_environment(home: Path) -> dict[str, str]:
    """What a user's terminal has before they read the docs: no virtualenv, no AWS, no Leadflow."""
    venv = str(Path(os.environ.get("VIRTUAL_ENV", "/nonexistent")))
    path = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if p and "/.venv" not in p]
    path = [p for p in path if not p.startswith(venv)] or ["/usr/local/bin", "/usr/bin", "/bin"]
    return {"PATH": os.pathsep.join(path), "HOME": str(home), "LANG": "C.UTF-8", "TERM": "dumb"}


class Document:
    def __init__(self, path: Path, root: Path, workdir: Path, runs_every_shell_block: bool) -> None:
        self.path = path
        self.root = root
        self.workdir = workdir
        self.every = runs_every_shell_block
        self.ports = {name: free_port() for name in DEFAULT_PORTS}
        self.report = Report(path, str(path.relative_to(root)) if path.is_relative_to(root) else path.name)
        self.stack: Stack | None = None
        self.last_output = ""

    def localise(self, text: str) -> str:
        """The documented default ports rewritten to this run's."""
        for name, default in DEFAULT_PORTS.items():
            for host in ("127.0.0.1", "localhost"):
                text = text.replace(f"{host}:{default}", f"{host}:{self.ports[name]}")
        return text

    def runs(self, block: Block) -> bool:
        kinds = {kind for kind, _ in block.directives}
        if block.language not in SHELLS:
            if "run" in kinds:
                raise DocFailure(f"{block.where()}: `docs-test: run` is for sh, bash or shell blocks")
            return False
        return self.every or "run" in kinds

    def run(self, timeout: float = 300) -> Report:
        started = time.monotonic()
        NAMES_FROM[:] = [self.root]
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        shell = Shell(self.root, base_environment(home), self.workdir)
        try:
            for item in read_markdown(self.path):
                self._item(item, shell, timeout)
        finally:
            shell.close()
            if self.stack is not None:
                self.stack.stop()
            self.report.seconds = time.monotonic() - started
        return self.report

    def _item(self, item: Block | Standalone, shell: Shell, timeout: float) -> None:
        if isinstance(item, Standalone):
            self._start_stack(shell, f"{display(item.path)}, line {item.line}")
            return
        kinds = dict(item.directives)
        if "output" in kinds:
            self._check_output(item)
            return
        if "stack" in kinds:
            self._start_stack(shell, item.where())
            if "run" not in kinds:  # the block is what starts the stack (make run): not run itself
                self.report.skipped.append((item.where(), f"the stack is started instead: {kinds['stack']}"))
                return
        if "skip" in kinds:
            self.report.skipped.append((item.where(), kinds["skip"]))
            return
        if not self.runs(item):
            return
        for command in split_commands(item):
            self._command(item, command, shell, timeout)
        self.report.executed.append(item.where())

    def _start_stack(self, shell: Shell, where: str) -> None:
        if self.stack is not None:
            raise DocFailure(f"{where}: a second `docs-test: stack` in one document")
        self.stack = Stack(self.root, shell.environment(), self.workdir, self.ports)
        self.last_output = self.stack.banner()
        self.report.stack_started = True

    def _check_output(self, block: Block) -> None:
        expected = self.localise(block.text)
        if not text_matches(self.last_output, expected, whole=True):
            raise DocFailure(
                f"{block.where()}: the output shown is not what the command before printed.\n"
                f"--- documented\n{expected}\n--- printed\n{self.last_output.rstrip()}"
            )

    def _command(self, block: Block, command: Command, shell: Shell, timeout: float) -> None:
        text = self.localise(command.text)
        expectation = parse_expectation(self.localise(command.expect)) if command.expect else Expectation()
        try:
            ran = shell.run(text, timeout)
        except TimeoutError as exc:
            raise self._failure(block, command, f"{exc}", None) from None
        self.report.commands += 1
        self.last_output = ran.stdout
        problem = self._judge(ran, expectation)
        if problem:
            raise self._failure(block, command, problem, ran)

    @staticmethod
    def _judge(ran: Ran, expectation: Expectation) -> str | None:
        if ran.exit != expectation.exit:
            return f"exit code {ran.exit}, the document expects {expectation.exit}"
        return _status_problem(ran.statuses, expectation.status) or _answer_problem(ran.stdout, expectation)

    def _failure(self, block: Block, command: Command, why: str, ran: Ran | None) -> DocFailure:
        lines = [
            f"{block.where()}, the command at line {command.line}:",
            *("    " + line for line in command.text.strip().splitlines()),
            f"  {why}",
        ]
        if command.expect:
            lines.append(f"  documented: # -> {command.expect}")
        if ran is not None:
            lines.append(f"  stdout: {ran.stdout.strip()[-2500:] or '(nothing)'}")
            lines.append(f"  stderr: {ran.stderr.strip()[-2500:] or '(nothing)'}")
        if self.stack is not None and self.stack.log.exists():
            lines.append(f"  the stack's log: {self.stack.log}")
        return DocFailure("\n".join(lines))


def _status_problem(statuses: list[int], shown: int | None) -> str | None:
    """The last curl answers what the document shows; every other one, and the last when the document
    shows nothing, answers below 400."""
    for n, status in enumerate(statuses):
        if n == len(statuses) - 1 and shown is not None:
            return None if status == shown else f"HTTP {status}, the document shows {shown}"
        if status >= 400 or status == 0:
            return f"curl got HTTP {status or 'no answer'} and the document does not say so"
    return None if shown is None or statuses else f"the document shows HTTP {shown}, but no curl ran"


def _answer_problem(stdout: str, expectation: Expectation) -> str | None:
    if expectation.pattern is not None:
        try:
            answer = last_json(stdout)
        except ValueError:
            return "the document shows a JSON answer; the output is not JSON"
        why = mismatch(answer, expectation.pattern)
        if why:
            return f"the answer differs from the document: {why}"
    if expectation.text and not text_matches(stdout, expectation.text, whole=False):
        return f"the output does not contain what the document shows: {expectation.text!r}"
    return None


def run_document(path: Path, root: Path, workdir: Path, every_shell_block: bool) -> Report:
    """Run one document (see the module's docstring); raises :class:`DocFailure` at the first difference."""
    if shutil.which("bash") is None:
        raise DocFailure("bash is needed to run the documents")
    return Document(path, root, workdir, every_shell_block).run()


def runnable_elsewhere(paths: Iterator[Path]) -> list[Path]:
    """Files (other than the two always run) with at least one block marked ``docs-test: run``."""

    def marked(line: str) -> bool:
        found = DIRECTIVE.match(line)
        return found is not None and found.group(1) == "run"

    return [p for p in paths if any(marked(line) for line in p.read_text().splitlines())]
