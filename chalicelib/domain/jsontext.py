"""JSON text from clients, read strictly: one parser for request bodies, signed webhook bodies,
LinkedIn notifications and JSON in query parameters.

Python's ``json`` accepts things no client should send and that break later, far from the request:
``NaN`` and ``Infinity`` (and ``1e400``, read as infinity), lone UTF-16 surrogates (``"\\ud800"``: a
``str`` that cannot be encoded, so DynamoDB, hashing or logging fails), duplicate keys (the last one
silently wins, while a signature checker or another parser may read the first), and nesting deep
enough to exhaust the recursion limit (or DynamoDB's 32 levels). :func:`loads` refuses each with
:class:`MalformedInput`, naming where it is (``contact.email``, ``interactions[0].properties.n``), so
the API answers 400 naming the field instead of a 500.
"""

from __future__ import annotations

import json
import math
from typing import Any

from chalicelib.domain.errors import MalformedInput

#: DynamoDB keeps documents nested at most 32 levels; nothing a client sends needs more.
MAX_DEPTH = 32


class _NonFinite:
    """Stands in for ``NaN``/``Infinity``/an overflowing number until the walk names where it is."""

    def __init__(self, text: str) -> None:
        self.text = text


class _Duplicated(dict[str, Any]):
    """An object that named a key twice (kept to name it with its path)."""

    duplicate: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            marked = _Duplicated(found)
            marked.duplicate = key
            return marked
        found[key] = value
    return found


def _float(text: str) -> Any:
    number = float(text)
    return number if math.isfinite(number) else _NonFinite(text)


def loads(text: str | bytes, where: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` (UTF-8 bytes or text); :class:`MalformedInput` names what is wrong and where."""
    try:
        value = json.loads(text, parse_constant=_NonFinite, parse_float=_float, object_pairs_hook=_pairs)
    except RecursionError:
        raise _too_deep(_deep_path(text, max_depth, where), max_depth) from None
    except UnicodeDecodeError:
        raise MalformedInput(f"{where} is not UTF-8", where) from None
    except ValueError as exc:
        raise MalformedInput(f"{where} is not valid JSON ({exc})", where) from None
    check(value, where, max_depth)
    return value


def check(value: Any, where: str = "body", max_depth: int = MAX_DEPTH) -> None:
    """Walk a parsed value without recursion: every string (keys too) encodable, numbers finite, no
    duplicate keys, no deeper than ``max_depth``."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            _encodable(item, path)
        elif isinstance(item, _NonFinite):
            raise MalformedInput(f"{path} must be a finite number (not {item.text})", path)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise _too_deep(path, max_depth)
            if isinstance(item, _Duplicated):
                name = _join(path, item.duplicate)
                raise MalformedInput(f"{name} is given twice in the same object", name)
            entries = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in entries:
                if isinstance(key, str):
                    _encodable(key, path)
                stack.append((child, _join(path, key), depth + 1))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return key if path == "body" else f"{path}.{key}"


def _encodable(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedInput(
            f"{path} holds a lone UTF-16 surrogate (such as \\ud800), which is not text", path
        ) from None


def _too_deep(path: str, max_depth: int) -> MalformedInput:
    shown = path if len(path) <= 120 else path[:117] + "..."
    return MalformedInput(f"{shown} is nested deeper than {max_depth} levels", shown)


def _deep_path(text: str | bytes, max_depth: int, where: str) -> str:
    """Where nesting first goes past ``max_depth``, found by scanning the text (the parser itself
    gave up at the recursion limit): the key or index of each open container."""
    source = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    scan = _Scan()
    i = 0
    while i < len(source) and len(scan.kinds) <= max_depth:
        i = scan.step(source, i)
    shown = where
    for label in scan.labels:
        shown = _join(shown, label)
    return shown


class _Scan:
    """The open containers while scanning JSON text: their kinds, how each is reached (``labels``,
    for all but the outermost) and each one's current key or index."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.labels: list[str | int] = []
        self.positions: list[str | int] = []

    def step(self, source: str, i: int) -> int:
        char = source[i]
        if char == '"':
            end = i + 1
            while end < len(source) and source[end] != '"':
                end += 2 if source[end] == "\\" else 1
            if self.kinds and self.kinds[-1] == "{" and source[end + 1 :].lstrip()[:1] == ":":
                self.positions[-1] = source[i + 1 : end]
            return end + 1
        if char in "[{":
            if self.kinds:
                self.labels.append(self.positions[-1])
            self.kinds.append(char)
            self.positions.append(0 if char == "[" else "")
        elif char in "]}" and self.kinds:
            self.kinds.pop()
            self.positions.pop()
            if self.labels:
                self.labels.pop()
        elif char == "," and self.kinds and self.kinds[-1] == "[":
            self.positions[-1] = int(self.positions[-1]) + 1
        return i + 1
