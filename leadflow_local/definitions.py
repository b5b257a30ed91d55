"""Definition files (journeys, e-mail templates, scoring models, rules, forms) read safely, YAML or JSON.

What the API will get is JSON, so a file must stand for JSON and nothing else:

- **Safe**: ``yaml.SafeLoader`` underneath (no Python objects, no code); a file over
  :data:`MAX_FILE_BYTES` is refused before it is parsed.
- **Bounded**: anchors and aliases are allowed (a shared condition, ``<<: *defaults``), but PyYAML
  shares an aliased value instead of copying it, so a few lines can stand for gigabytes of JSON
  ("billion laughs"). The size of the JSON a file stands for is counted over the shared graph
  (each shared value measured once, in linear time) and a file standing for more than
  :data:`MAX_EXPANDED_CHARS` is refused, as is a recursive alias and nesting deeper than
  :data:`MAX_DEPTH`. Nothing walks the expanded tree before that check.
- **YAML 1.2's core schema, not 1.1's**: PyYAML implements YAML 1.1, where ``yes``/``no``/``on``/``off``
  are booleans (a branch's ``yes: call`` would become ``True: call``, a trigger's ``on:`` a ``True``
  key), ``1:30`` is the base-60 integer 90, ``012`` is octal 10 and ``2026-12-01`` is a ``date``. Here
  only ``true``/``false`` are booleans, integers are decimal (or ``0o``/``0x``), and dates stay text,
  as JSON would have them. (A hand-written resolver table rather than ruamel.yaml: PyYAML is already
  the CLI's YAML library, and these four resolvers are the whole difference that matters here.)
- **Strict**: a key given twice in one mapping is an error (YAML and JSON parsers silently keep the
  last one), keys must be text, numbers finite; each problem names its line or its place
  (``steps[2].engagement``), in one line.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

#: A definition the API takes is at most 64 KB of JSON (``chalicelib/api/http.py: MAX_BODY_BYTES``);
#: comments and indentation make YAML larger, so the file may be bigger, within reason.
MAX_FILE_BYTES = 1_000_000
#: The JSON a file may stand for once its aliases are expanded (characters, about).
MAX_EXPANDED_CHARS = 1_000_000
MAX_DEPTH = 64
_CORE = "tag:yaml.org,2002:"


class DefinitionError(Exception):
    """A file that is not a definition: one line, naming the file and the place."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and duplicate keys refused."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag not in {f"{_CORE}{t}" for t in ("bool", "int", "float", "timestamp")}
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == f"{_CORE}merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: SafeConstructor says so, with its line
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith(("0o", "0x")):
        return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
    return sign * int(digits, 10)


def _yaml_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    if text.lstrip("+-") == ".inf":
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


_Loader.add_implicit_resolver(
    f"{_CORE}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    f"{_CORE}int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    f"{_CORE}float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_constructor(f"{_CORE}int", _yaml_int)
_Loader.add_constructor(f"{_CORE}float", _yaml_float)


def load(path: Path) -> list[Any]:
    """The documents of a file: JSON when it is named ``*.json``, else YAML (one document or several,
    separated by ``---``; empty documents are skipped)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DefinitionError(
                f"{path} is {size:,} bytes: a definition file is at most {MAX_FILE_BYTES:,}"
            )
        raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise DefinitionError(f"{path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    return loads(text, str(path), as_json=path.suffix.lower() == ".json")


def loads(text: str, name: str = "<text>", as_json: bool = False) -> list[Any]:
    """:func:`load` for text already read (``name`` is for messages)."""
    if len(text) > MAX_FILE_BYTES:
        raise DefinitionError(f"{name} is over {MAX_FILE_BYTES:,} characters")
    try:
        documents = [_json(text)] if as_json else _yaml(text)
    except _Duplicate as exc:
        raise DefinitionError(f"{name} is not valid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            f"{name} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise DefinitionError(f"{name} is not valid YAML: {_yaml_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{name} is not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise DefinitionError(f"{name} is nested too deeply") from None
    measure = _Measure(name)
    total = 0
    for index, document in enumerate(documents):
        where = f"document {index + 1}" if len(documents) > 1 else ""
        total = _bounded(total + measure.size(document, where), where or "the top", name)
    return documents


class _Duplicate(ValueError):
    pass


def _json(text: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in items:
            if key in found:
                raise _Duplicate(f"the key {key!r} is given twice in one object")
            found[key] = value
        return found

    def constant(value: str) -> Any:
        raise _Duplicate(f"{value} is not a JSON number")

    return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)


def _yaml(text: str) -> list[Any]:
    loader = _Loader(text)
    found: list[Any] = []
    try:
        while loader.check_data():
            document = loader.get_data()
            if document is not None:  # an empty document (``---`` twice) is skipped
                found.append(document)
    finally:
        loader.dispose()
    return found


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = " ".join(part for part in (exc.context, exc.problem) if part)
    return where + " ".join(what.split())


def _place(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    text = str(key)
    step = text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", text) else json.dumps(text)
    return f"{where}.{step}" if where else step


class _Measure:
    """The characters of JSON a loaded value stands for, a shared container counted at each of its uses
    but measured once; refuses what JSON cannot hold and what grows past :data:`MAX_EXPANDED_CHARS`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.memo: dict[int, int] = {}
        self.active: set[int] = set()

    def size(self, value: Any, where: str, depth: int = 0) -> int:
        at = where or "the top"
        if not isinstance(value, dict | list):
            return _bounded(_scalar_size(value, at, self.name), at, self.name)
        key = id(value)
        if key in self.memo:
            return _bounded(self.memo[key], at, self.name)
        if key in self.active:
            raise DefinitionError(f"{self.name}: {at} contains itself (a recursive alias)")
        if depth >= MAX_DEPTH:
            shown = at if len(at) <= 60 else at[:60] + "..."
            raise DefinitionError(f"{self.name}: nested more than {MAX_DEPTH} levels deep (at {shown})")
        self.active.add(key)
        size = 2
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            if isinstance(value, dict) and not isinstance(k, str):
                raise DefinitionError(
                    f"{self.name}: {at} has the key {k!r}, which is not text (quote it: JSON keys are text)"
                )
            size += len(str(k)) + 4 + self.size(v, _place(where, k), depth + 1)
            _bounded(size, at, self.name)
        self.active.discard(key)
        self.memo[key] = size
        return size


def _scalar_size(value: Any, at: str, name: str) -> int:
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return len(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DefinitionError(f"{name}: {at} is {value}, which JSON cannot hold")
        return len(repr(value))
    if isinstance(value, str):
        return len(value) + 2
    kind = type(value).__name__
    raise DefinitionError(f"{name}: {at} is a YAML {kind}, which JSON cannot hold (quote it to make it text)")


def _bounded(size: int, at: str, name: str) -> int:
    if size > MAX_EXPANDED_CHARS:
        raise DefinitionError(
            f"{name}: {at} stands for over {MAX_EXPANDED_CHARS:,} characters of JSON once its aliases are "
            "expanded (an alias bomb?)"
        )
    return size
