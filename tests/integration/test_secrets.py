"""Provider secrets come from the stage's Secrets Manager secret at run time (Powertools Parameters,
cached per container): a rotated value is used without a redeploy; a name the secret lacks, or no
secret, falls back to the environment."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import boto3
import pytest

from chalicelib import wiring
from chalicelib.secrets import secret

CODE = "890e4665-4dfe-4ab1-b689-ed553bceeed0"


def expected(key: str) -> str:
    return hmac.new(key.encode(), CODE.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def stage_secret(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = boto3.client("secretsmanager").create_secret(
        Name="leadflow/test/app", SecretString=json.dumps({"LINKEDIN_CLIENT_SECRET": "from-secrets-manager"})
    )["ARN"]
    monkeypatch.setenv("SECRETS_ARN", arn)
    monkeypatch.setenv("SECRETS_CACHE_SECONDS", "0")
    monkeypatch.setenv("LINKEDIN_CLIENT_SECRET", "from-the-environment")
    monkeypatch.setenv("CAPTCHA_SECRETS", json.dumps({"turnstile": "env-captcha"}))
    wiring.reset()
    return arn


def test_the_linkedin_challenge_is_signed_with_the_secret_from_secrets_manager(
    client: Any, stage_secret: str
):
    response = client.http.get(f"/v1/webhooks/linkedin?challengeCode={CODE}")
    assert response.status_code == 200
    assert response.json_body["challengeResponse"] == expected("from-secrets-manager")


def test_a_rotated_secret_is_used_without_a_redeploy(client: Any, stage_secret: str):
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stage_secret, SecretString=json.dumps({"LINKEDIN_CLIENT_SECRET": "rotated"})
    )
    response = client.http.get(f"/v1/webhooks/linkedin?challengeCode={CODE}")
    assert response.json_body["challengeResponse"] == expected("rotated")


def test_names_the_secret_lacks_come_from_the_environment(stage_secret: str):
    assert secret("CAPTCHA_SECRETS") == {"turnstile": "env-captcha"}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stage_secret, SecretString=json.dumps({"CAPTCHA_SECRETS": {"turnstile": "stored"}})
    )
    assert secret("CAPTCHA_SECRETS") == {"turnstile": "stored"}
    assert secret("LINKEDIN_CLIENT_SECRET") == "from-the-environment"


def test_an_unreadable_secret_is_treated_as_absent_and_its_value_never_logged(
    aws: Any, monkeypatch: pytest.MonkeyPatch
):
    import io

    from chalicelib.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    monkeypatch.setenv(
        "SECRETS_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:leadflow/none-AbCdEf"
    )
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", "env-token")
    wiring.reset()
    assert secret("LINKEDIN_ACCESS_TOKEN") == "env-token"
    logged = stream.getvalue()
    assert "stage secret unreadable" in logged and "env-token" not in logged


def test_secrets_are_cached_for_the_configured_time(stage_secret: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SECRETS_CACHE_SECONDS", "300")
    wiring.reset()
    assert secret("LINKEDIN_CLIENT_SECRET") == "from-secrets-manager"
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stage_secret, SecretString=json.dumps({"LINKEDIN_CLIENT_SECRET": "rotated"})
    )
    assert secret("LINKEDIN_CLIENT_SECRET") == "from-secrets-manager", "one read per cache period"
