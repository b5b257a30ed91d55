"""The deployment zip (``make package``: ``chalice package``, then ``infra/slim_zip.py``) is under
5 MB, and the app in it imports and builds its adapters with only what the Lambda Python runtime adds
(boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra"))
from slim_zip import left_out, provided_by_runtime, slim

RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")


@pytest.fixture(scope="module")
def slimmed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    command = [str(Path(sys.executable).with_name("chalice")), "package", "--pkg-format", "cloudformation"]
    subprocess.run(
        [*command, "--merge-template", "infra/template.json", "--stage", "prod", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    before, after = slim(out / "deployment.zip")
    return out / "deployment.zip", before, after


def test_runtime_packages_and_unused_assets_are_left_out():
    assert provided_by_runtime("botocore/data/dynamodb/2012-08-10/service-2.json.gz")
    assert provided_by_runtime("boto3-1.44.5.dist-info/METADATA")
    assert provided_by_runtime("six.py")
    assert left_out("aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js")
    assert left_out("dns/resolver.py") and left_out("dnspython-2.9.2.dist-info/METADATA")
    assert left_out("chalicelib/services/__pycache__/capture.cpython-311.pyc")
    for kept in ("pynamodb/models.py", "chalicelib/wiring.py", "app.py", "pydantic_core/__init__.py"):
        assert not left_out(kept), kept


def test_the_deployment_zip_is_under_5_mb(slimmed: tuple[Path, int, int]):
    path, before, after = slimmed
    assert after < 5_000_000, f"{after / 1e6:.2f} MB (chalice package: {before / 1e6:.2f} MB)"
    names = zipfile.ZipFile(path).namelist()
    assert "app.py" in names
    assert any(n.startswith("pynamodb/") for n in names)
    assert not any(n.startswith(("botocore/", "boto3/")) for n in names)


def test_the_app_imports_from_the_zip_with_the_runtime_packages_only(
    slimmed: tuple[Path, int, int], tmp_path: Path
):
    path, _, _ = slimmed
    code = tmp_path / "task"
    zipfile.ZipFile(path).extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    import botocore

    site = Path(botocore.__file__).parents[1]
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    probe = (
        "import app, chalicelib.store.records, chalicelib.handlers.batch\n"
        "import aws_lambda_powertools.utilities.idempotency\n"
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
        "PYTHONPATH": f"{code}:{runtime}",
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
