"""The contract's examples (docs/design/scoring.md) are the files that ship (events/), and the API
reference is the OpenAPI document rendered: a change to one without the other fails here."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT, load_event

CONTRACT = ROOT / "docs" / "design" / "scoring.md"


def json_blocks() -> list[object]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", CONTRACT.read_text(), re.S)]


@pytest.mark.parametrize(
    ("index", "event"),
    [(0, "models/b2b_default.json"), (1, "rules/mql_default.json"), (2, "rules/webinar_signup_trigger.json")],
)
def test_the_contracts_examples_are_the_shipped_files(index: int, event: str):
    assert json_blocks()[index] == load_event(event)


def test_the_api_reference_is_the_current_openapi_document_rendered():
    """docs/api-reference.md had fallen behind the routes (the console's, identity's): regenerate it with
    `python docs/api_reference.py` whenever docs/openapi.json changes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("api_reference", ROOT / "docs" / "api_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert module.render(document) == (ROOT / "docs" / "api-reference.md").read_text()
