"""Shared fixtures: AWS on moto (in-process), resources created from infra/template.json."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The CLI reads profiles from the user's configuration directory, where `leadflow local` writes one: the
# tests (and every process they start) use a directory of their own, so that a developer's running
# stack can never answer for them.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="leadflow-tests-config-")
for _name in ("LEADFLOW_PROFILE", "LEADFLOW_PROFILES"):
    os.environ.pop(_name, None)
EVENTS = ROOT / "events"

_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def load_event(relative: str) -> Any:
    return json.loads((EVENTS / relative).read_text())


def _share_motos_signing_key() -> None:
    """moto's every new user pool imports the same private key from the same JSON, recovering its RSA
    primes (0.16 s a pool: a third of the ``aws`` fixture, which makes two pools per test); the tests
    import it once. Only moto's Cognito module sees the shared key (``models.jwk``); any other data
    is imported as before."""
    from types import SimpleNamespace

    from joserfc import jwk
    from moto.cognitoidp import models
    from moto.utilities.utils import load_resource

    if getattr(models.jwk, "shared_by_the_tests", False):
        return
    data = load_resource("cognitoidp/resources/jwks-private.json")
    key = jwk.RSAKey.import_key(data)

    def import_key(value: Any, *args: Any, **kwargs: Any) -> Any:
        return key if value == data else jwk.RSAKey.import_key(value, *args, **kwargs)

    models.jwk = SimpleNamespace(RSAKey=SimpleNamespace(import_key=import_key), shared_by_the_tests=True)  # type: ignore[assignment]


_MODEL_FILES: dict[str, Any] = {}


def _share_botocore_model_files() -> None:
    """Every test's moto starts from a new boto3 session, and every new session (boto3's, PynamoDB's,
    Powertools') parses the same service-model JSON files again (80 ms a fixture); the tests parse
    each once. The files never change within a run; botocore's own cache (``instance_cache``) already
    hands one session the same objects every time, so sharing them across sessions changes nothing."""
    from botocore import loaders

    if getattr(loaders.JSONFileLoader.load_file, "shared_by_the_tests", False):
        return
    original = loaders.JSONFileLoader.load_file

    def load_file(self: Any, file_path: str) -> Any:
        if file_path not in _MODEL_FILES:
            _MODEL_FILES[file_path] = original(self, file_path)
        return _MODEL_FILES[file_path]

    load_file.shared_by_the_tests = True  # type: ignore[attr-defined]
    loaders.JSONFileLoader.load_file = load_file


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Every table and queue of the cloud template, on in-process moto; the app's settings point at them."""
    import boto3
    from moto import mock_aws

    from chalicelib import wiring
    from leadflow_local import moto_transactions
    from leadflow_local.resources import create_resources, environment, load_template

    moto_transactions.install()
    _share_motos_signing_key()
    _share_botocore_model_files()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in _AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        template = load_template()
        found = create_resources(
            template,
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            "test-",
            boto3.client("s3"),
            boto3.client("sesv2"),
            boto3.client("cognito-idp"),
        )
        for name, value in environment(template, found).items():
            monkeypatch.setenv(name, value)
        # a test clicks right after its send: no scanner window unless the test sets one
        monkeypatch.setenv("MAIL_SCAN_SECONDS", "0")
        wiring.reset()  # every adapter and cache the root built (API keys, forms, models)
        yield found
        wiring.reset()


@pytest.fixture
def deps(aws: Any) -> Any:
    from chalicelib import wiring

    return wiring.deps()


@pytest.fixture
def admin_key(deps: Any) -> str:
    from chalicelib.services.access import create_key

    secret, _ = create_key("tests", ["admin"], deps.store)
    return secret


@pytest.fixture
def client(aws: Any) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="dev", project_dir=str(ROOT)) as test_client:
        yield test_client
