"""The deployment zip (``make package``: ``chalice package`` for python3.12 on arm64, then slimmed) is
under 5 MB, holds no development code, and the app in it imports and builds its adapters with only
what the Lambda Python runtime adds (boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from leadflow_local.packaging import LAMBDA_RUNTIME, Packaged, left_out, provided_by_runtime
from tests.infra.lambda_zip import native_packages, runtime_path


def test_runtime_packages_and_unused_assets_are_left_out():
    assert provided_by_runtime("botocore/data/dynamodb/2012-08-10/service-2.json.gz")
    assert provided_by_runtime("boto3-1.44.5.dist-info/METADATA")
    assert provided_by_runtime("six.py")
    assert left_out("aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js")
    assert left_out("chalicelib/domain/__pycache__/scoring.cpython-311.pyc")  # a checkout's, not the app's
    assert left_out("dns/resolver.py") and left_out("dnspython-2.9.2.dist-info/METADATA")
    assert left_out("chalicelib/services/__pycache__/capture.cpython-311.pyc")
    assert left_out("pydantic/v1/main.py") and left_out("pydantic/mypy.py")
    assert left_out("aws_lambda_powertools/utilities/feature_flags/feature_flags.py")
    assert not left_out("aws_lambda_powertools/utilities/idempotency/idempotency.py")
    for kept in (
        "pynamodb/models.py",
        "chalicelib/wiring.py",
        "app.py",
        "pydantic_core/__init__.py",
        "pydantic/main.py",
    ):
        assert not left_out(kept), kept


def test_the_deployment_zip_is_under_5_mb_without_development_code(packaged_app: Packaged):
    after = packaged_app.zip_bytes
    assert after < 5_000_000, (
        f"{after / 1e6:.2f} MB (chalice package: {packaged_app.zip_bytes_before_slim / 1e6:.2f} MB)"
    )
    names = zipfile.ZipFile(packaged_app.zip).namelist()
    assert "app.py" in names
    assert any(n.startswith("pynamodb/") for n in names)
    assert not any(n.startswith(("botocore/", "boto3/")) for n in names)
    # the local stack and the operator CLI stay home: a top-level package that `chalice package` never copies
    assert not any(n.startswith(("leadflow_local/", "chalicelib/local/")) for n in names), "development code"
    assert not any(n.split("/", 1)[0] in {"click", "rich", "yaml", "moto", "werkzeug"} for n in names)
    assert "chalicelib/console/index.html" in names, "the console is served by the API"


def test_every_function_runs_python_3_12_on_arm64_and_the_zip_is_built_for_it(
    packaged_app: Packaged, sam: dict[str, Any], tmp_path: Path
):
    functions = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions
    for function in functions:
        assert function["Properties"]["Runtime"] == LAMBDA_RUNTIME == "python3.12"
        assert function["Properties"]["Architectures"] == ["arm64"]
    zipfile.ZipFile(packaged_app.zip).extractall(tmp_path)
    # every compiled file is cpython-312 for aarch64 (native_packages asserts it)
    assert set(native_packages(tmp_path)) == {"pydantic_core", "wrapt", "_re2"}


def test_the_app_imports_from_the_zip_with_the_runtime_packages_only(packaged_app: Packaged, tmp_path: Path):
    path = runtime_path(packaged_app.zip, tmp_path)
    probe = (
        "import app, chalicelib.store.records, chalicelib.handlers.batch\n"
        "import aws_lambda_powertools.utilities.idempotency, aws_xray_sdk.core\n"
        "from chalicelib import wiring\n"
        "deps = wiring.deps()\n"
        "from chalicelib.domain.fields import normalise_email\n"  # without dnspython
        "from chalicelib.domain.rules import LinearPattern\n"  # RE2's compiled core, from the zip
        "assert normalise_email('Ada@Example.org') == 'ada@example.org'\n"
        "assert LinearPattern('(a+)+$').search('a' * 30 + '!') is False\n"
        "print(len(app.app.handler_map), type(deps.store).__name__)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    # -S: no site-packages, so nothing of the venv but the runtime's packages can be found
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "DynamoStore"
