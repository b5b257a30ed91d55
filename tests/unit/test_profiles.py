"""Where the CLI finds the API, its key and the AWS environment (leadflow_local/profiles.py): the local
stack's profile is used when nothing else is set, never over what the user set, and a shell set up
for a deployment is never sent to the local stack. Plain files in a temporary directory; no AWS."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from leadflow_local import profiles

LOCAL_ENV = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:38001",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "API_KEYS_TABLE": "leadflow-local-ApiKeysTable",
    "HANDOFF_QUEUE_URL": "http://127.0.0.1:38001/123456789012/leadflow-local-SalesHandoffQueue.fifo",
}
AWS_VARIABLES = (
    *profiles.AWS_TARGET,
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
    "API_KEYS_TABLE",
    "HANDOFF_QUEUE_URL",
    "HANDOFF_DLQ_URL",
)


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in ("LEADFLOW_PROFILES", "LEADFLOW_PROFILE", *AWS_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "leadflow"


def test_the_local_stacks_profile_is_written_owner_only_and_read_back(config: Path):
    path = profiles.write_local("http://127.0.0.1:38000", 'lf_"quoted"\x7f', LOCAL_ENV, pid=4242)
    assert path == config / "local.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = profiles.select(None)
    assert (found.name, found.path) == ("local", path)
    assert found.values["api_key"] == 'lf_"quoted"\x7f'  # TOML escaping round-trips
    assert found.env == LOCAL_ENV


def test_the_operators_default_profile_comes_before_the_local_stacks(config: Path):
    profiles.write_local("http://127.0.0.1:38000", "lf_local", LOCAL_ENV, pid=1)
    config.mkdir(exist_ok=True)
    (config / "profiles.toml").write_text('[default]\napi_url = "https://leads.example.com"\n')
    assert profiles.select(None).values["api_url"] == "https://leads.example.com"
    assert profiles.select("local").values["api_url"] == "http://127.0.0.1:38000"
    with pytest.raises(profiles.ProfileError, match="no profile 'prod'"):
        profiles.select("prod")


def test_nothing_set_and_no_stack_is_no_profile():
    assert profiles.select(None).name is None
    assert profiles.use_aws_environment(None) is None
    assert "AWS_DEFAULT_REGION" not in os.environ


def test_with_nothing_set_the_aws_commands_take_the_local_stacks_environment():
    profiles.write_local("http://127.0.0.1:38000", "lf_local", LOCAL_ENV, pid=1)
    used = profiles.use_aws_environment(None)
    assert used is not None and used.name == "local"
    assert {k: os.environ[k] for k in LOCAL_ENV} == LOCAL_ENV


def test_a_shell_set_up_for_a_deployment_is_never_sent_to_the_local_stack(monkeypatch: pytest.MonkeyPatch):
    profiles.write_local("http://127.0.0.1:38000", "lf_local", LOCAL_ENV, pid=1)
    monkeypatch.setenv("API_KEYS_TABLE", "leadflow-prod-ApiKeysTable-1ABC")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert profiles.use_aws_environment(None) is None
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert os.environ["API_KEYS_TABLE"] == "leadflow-prod-ApiKeysTable-1ABC"


def test_a_variable_holding_the_stacks_own_value_still_means_the_stack(monkeypatch: pytest.MonkeyPatch):
    # the README's older form: HANDOFF_QUEUE_URL=... AWS_ENDPOINT_URL=http://127.0.0.1:5000 leadflow ...
    profiles.write_local("http://127.0.0.1:38000", "lf_local", LOCAL_ENV, pid=1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", LOCAL_ENV["AWS_ENDPOINT_URL"])
    assert profiles.use_aws_environment(None) is not None
    assert os.environ["API_KEYS_TABLE"] == LOCAL_ENV["API_KEYS_TABLE"]


def test_a_named_profile_is_used_even_in_a_shell_set_up_for_aws(monkeypatch: pytest.MonkeyPatch):
    profiles.write_local("http://127.0.0.1:38000", "lf_local", LOCAL_ENV, pid=1)
    monkeypatch.setenv("AWS_PROFILE", "prod")
    assert profiles.use_aws_environment("local") is not None
    assert os.environ["AWS_ENDPOINT_URL"] == LOCAL_ENV["AWS_ENDPOINT_URL"]


def test_a_local_endpoint_alone_gets_a_region_and_dummy_credentials(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    profiles.use_aws_environment(None)
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
    assert os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] == "disabled"


def test_a_remote_endpoint_gets_no_invented_credentials(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://dynamodb.eu-west-1.amazonaws.com")
    profiles.use_aws_environment(None)
    assert "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_DEFAULT_REGION" not in os.environ


def test_the_profile_is_removed_by_the_stack_that_wrote_it_only(config: Path):
    profiles.write_local("http://127.0.0.1:38000", "lf_local", LOCAL_ENV, pid=1)
    profiles.remove_local(pid=2)  # another stack (or a stale one) leaves it alone
    assert (config / "local.toml").exists()
    profiles.remove_local(pid=1)
    assert not (config / "local.toml").exists()


def test_a_broken_profiles_file_is_one_line_naming_it(config: Path):
    config.mkdir(exist_ok=True)
    (config / "profiles.toml").write_text("[default\n")
    with pytest.raises(profiles.ProfileError, match=r"profiles\.toml is not valid TOML"):
        profiles.select(None)


def test_written_toml_is_valid_for_any_text():
    text = profiles._toml_string('a\\b"c\n\td\x00é😀\x7f')
    assert tomllib.loads(f"v = {text}")["v"] == 'a\\b"c\n\td\x00é😀\x7f'
