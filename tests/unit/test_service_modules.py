"""The use cases are cut by aggregate (issue 16): no module of chalicelib/services imports another that
imports it back, directly or through others (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import chalicelib.services

SERVICES = Path(chalicelib.services.__file__).parent


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("chalicelib.services."):
                found.add(node.module.split(".")[2])
            elif node.module == "chalicelib.services":
                found |= {alias.name for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    return {path.stem: imports_of(path) for path in SERVICES.glob("*.py")}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(edges):
                visit(nxt, [*path, nxt])

    for start in edges:
        visit(start, [start])
    return found


def test_the_cycle_finder_finds_a_cycle_through_a_third_module():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}})


def test_service_modules_import_each_other_without_cycles():
    assert cycles(graph()) == []


def test_qualification_and_identity_are_cut_by_aggregate():
    modules = set(graph())
    assert {"rules", "qualification", "triggers", "handoffs", "lifecycle"} <= modules
    assert {"duplicates", "merges", "consent", "data_rights", "segments"} <= modules
    assert "identity" not in modules
