"""The contract's examples (docs/design/scoring.md) are the files that ship (events/): a change to one
without the other fails here."""

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
