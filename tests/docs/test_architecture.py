"""docs/architecture.md describes the import contracts `make lint` enforces: its table names exactly the
contracts of ``[tool.importlinter]`` in pyproject.toml, so a contract added or removed there without the
document (or the other way round) fails here."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def test_the_architecture_document_lists_every_import_contract_and_no_other():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    enforced = {contract["id"] for contract in config["contracts"]}
    document = (ROOT / "docs" / "architecture.md").read_text()
    listed = set(re.findall(r"^\| `([a-z-]+)` \|", document, flags=re.MULTILINE))
    assert enforced, "no contracts in pyproject.toml"
    assert listed == enforced, {
        "only in pyproject.toml": enforced - listed,
        "only in the document": listed - enforced,
    }


def test_the_readme_links_the_architecture_document():
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text()
