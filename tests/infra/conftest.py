"""The app packaged once per test session (``chalice package`` for Lambda's runtime, slimmed, with the
operability resources): the templates and the zip every infra test reads."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from leadflow_local import packaging

REGION = "us-east-1"
CODE_URI = "s3://leadflow-artifacts-123456789012-us-east-1/deployment.zip"


@pytest.fixture(scope="session")
def packaged_app(tmp_path_factory: pytest.TempPathFactory) -> packaging.Packaged:
    return packaging.package("prod", tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="session")
def sam(packaged_app: packaging.Packaged) -> dict[str, Any]:
    """The SAM template ``make package`` writes (``out/sam.json``)."""
    return packaged_app.sam()


@pytest.fixture(scope="session")
def expanded(sam: dict[str, Any]) -> dict[str, Any]:
    """What CloudFormation deploys: the SAM transform run on the packaged template, its layers uploaded
    beside the zip (as ``leadflow deploy``'s ``upload_layers`` does)."""
    uploaded = copy.deepcopy(sam)
    for name, resource in uploaded["Resources"].items():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = CODE_URI.replace("deployment.zip", f"{name}.zip")
    return packaging.expand(uploaded, CODE_URI, REGION, {"Stage": "prod"})
