"""The stack's outputs name what operators need after a deploy (docs/deploy.md promises them): the API
keys table, the hand-off queue, and every dead-letter queue, each as ``<LogicalId>Url``: read from the
packaged template (``make package``: ``infra/template.json`` merged, then the operability resources, which
add the consumers' retry dead-letter queues and their outputs)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ROOT

TEMPLATE = json.loads((ROOT / "infra" / "template.json").read_text())


def test_every_dead_letter_queue_and_the_failures_queue_has_its_url_in_the_outputs(sam: dict[str, Any]):
    queues = [
        name
        for name, resource in sam["Resources"].items()
        if resource.get("Type") == "AWS::SQS::Queue"
        and ("DeadLetter" in name or name == "StreamFailuresQueue")
    ]
    assert len(queues) >= 6
    outputs = sam["Outputs"]
    for name in queues:
        assert outputs.get(f"{name}Url") == {"Value": {"Ref": name}}, name


def test_deploy_md_names_every_output_it_promises():
    text = (ROOT / "docs" / "deploy.md").read_text()
    for name in TEMPLATE["Outputs"]:
        assert f"`{name}`" in text, name
