"""``leadflow deploy`` and ``leadflow destroy`` against moto's server: a dry run changes nothing, a deploy
creates the stack and prints its outputs, a second one finds nothing to change, a parameter change
updates it, destroy removes it and lists what it keeps; and every AWS problem is one line and a
non-zero exit, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from leadflow_local import deploy
from leadflow_local.cli import main
from tests.infra import moto_cloud

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse")
STAGE = "ci"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_cloud.moto_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        patch.setattr(deploy, "prepare_template", moto_cloud.adapt_for_moto)
        patch.setattr(deploy, "POLL_SECONDS", 0.1)
        yield endpoint


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out")


def leadflow(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _stacks() -> list[str]:
    return [s["StackName"] for s in boto3.client("cloudformation").describe_stacks()["Stacks"]]


def one_line_error(result: Result) -> str:
    """The error a user sees: exit code 1, a single ``Error:`` line, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_dry_run_prints_the_change_set_and_creates_nothing(moto: str, build: Path):
    result = leadflow("deploy", "--stage", STAGE, "--region", "us-east-1", "--dry-run", "--out", str(build))
    assert result.exit_code == 0, result.output
    assert "change set deploy-" in result.output and f"(CREATE leadflow-{STAGE})" in result.output
    assert "Add     AWS::DynamoDB::Table" in result.output
    assert "AWS::Lambda::Function" in result.output and "SalesHandoffQueue" in result.output
    assert "dry run: nothing was changed" in result.output
    assert f"leadflow-{STAGE}" not in _stacks()
    assert "template:" in result.output and " bytes" in result.output


def test_deploy_creates_the_stack_and_prints_its_outputs_then_finds_nothing_to_change(moto: str, build: Path):
    result = leadflow("deploy", "--stage", STAGE, "--region", "us-east-1", "--out", str(build))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"leadflow-{STAGE} is up in us-east-1" in out
    api = next(line for line in out.splitlines() if line.startswith("API URL"))
    assert api.split()[-1].startswith("https://") and api.endswith("/api/")
    assert next(line for line in out.splitlines() if line.startswith("Console")).endswith("/api/console")
    assert "SalesHandoffQueue.fifo" in next(
        line for line in out.splitlines() if line.startswith("Hand-off queue")
    )
    letters = out.split("Dead letters", 1)[1]
    for queue in ("SalesHandoffDeadLetterQueue", "TrackingDeadLetterQueue", "ImportDeadLetterQueue"):
        assert queue in letters
    assert "leadflow keys create" in out
    assert f"leadflow-{STAGE}" in _stacks()

    again = leadflow("deploy", "--stage", STAGE, "--region", "us-east-1", "--out", str(build))
    assert again.exit_code == 0, again.output
    assert "no changes" in again.output


def test_a_changed_parameter_updates_the_stack_and_keeps_the_others(moto: str, build: Path):
    result = leadflow(
        "deploy",
        "--stage",
        STAGE,
        "--region",
        "us-east-1",
        "--out",
        str(build),
        "--param",
        "LogRetentionDays=30",
    )
    assert result.exit_code == 0, result.output
    assert f"(UPDATE leadflow-{STAGE})" in result.output
    stack = boto3.client("cloudformation").describe_stacks(StackName=f"leadflow-{STAGE}")["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values["LogRetentionDays"] == "30"
    assert values["Stage"] == STAGE


def test_a_stage_deployed_with_provisioned_capacity_provisions_the_lead_tables_only(moto: str, build: Path):
    """``TableCapacity=provisioned`` (infra/capacity.py) gives the tables that grow with leads their
    capacity (and, on AWS, auto scaling: moto's CloudFormation creates no scaling targets, so
    ``test_template.py`` checks those) while configuration tables stay on demand. A stage of its own:
    moto's CloudFormation loses a table that an update changes (AWS changes the mode in place)."""
    stage = "capacity"
    base = ("deploy", "--stage", stage, "--region", "us-east-1", "--out", str(build))
    result = leadflow(*base, "--param", "TableCapacity=provisioned")
    assert result.exit_code == 0, result.output
    dynamodb = boto3.client("dynamodb")
    names = dynamodb.list_tables(Limit=100)["TableNames"]

    def described(logical_id: str) -> dict[str, Any]:
        (name,) = (n for n in names if n.startswith(f"leadflow-{stage}-{logical_id}-"))
        return dict(dynamodb.describe_table(TableName=name)["Table"])

    leads, forms = described("LeadsTable"), described("FormsTable")
    assert leads["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert leads["ProvisionedThroughput"]["WriteCapacityUnits"] == 1  # CapacityMinUnits' default
    assert {
        i["IndexName"]: i["ProvisionedThroughput"]["ReadCapacityUnits"]
        for i in leads["GlobalSecondaryIndexes"]
    } == {
        "by_state_shard": 1,
        "by_owner": 1,
    }
    assert forms["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    gone = leadflow("destroy", "--stage", stage, "--region", "us-east-1", "--yes")
    assert gone.exit_code == 0, gone.output


def test_bad_parameters_and_stage_names_are_one_clear_line(moto: str, build: Path):
    base = ("deploy", "--region", "us-east-1", "--out", str(build))
    assert "--stage 'Prod_1'" in one_line_error(leadflow(*base, "--stage", "Prod_1"))
    assert "write it as NAME=VALUE" in one_line_error(
        leadflow(*base, "--stage", STAGE, "--param", "AlarmEmail")
    )
    unknown = one_line_error(leadflow(*base, "--stage", STAGE, "--param", "Colour=blue"))
    assert "unknown parameter Colour" in unknown and "LogRetentionDays" in unknown


def test_missing_credentials_region_or_permission_is_one_line_and_exit_1(
    moto: str, build: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    base = ("deploy", "--stage", STAGE, "--out", str(build))
    with monkeypatch.context() as patch:
        patch.delenv("AWS_DEFAULT_REGION")
        patch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        assert "no AWS region" in one_line_error(leadflow(*base))
    with monkeypatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        patch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        assert "no AWS credentials" in one_line_error(leadflow(*base, "--region", "us-east-1"))
    with monkeypatch.context() as patch:
        _deny(patch, "CreateChangeSet")
        denied = one_line_error(leadflow(*base, "--region", "us-east-1", "--param", "LogRetentionDays=60"))
        assert "permission denied while creating the change set" in denied and "docs/deploy.md" in denied


def test_an_account_whose_lambda_quota_cannot_reserve_the_api_concurrency_is_told_before_creating(
    moto: str, build: Path, monkeypatch: pytest.MonkeyPatch
):
    from botocore.client import BaseClient

    call = BaseClient._make_api_call

    def small_account(self: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "GetAccountSettings":  # a new account: 10 concurrent executions in all
            return {"AccountLimit": {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}}
        return call(self, name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", small_account)
    base = ("deploy", "--stage", "small", "--region", "us-east-1", "--out", str(build))
    assert "ApiReservedConcurrency=0" in one_line_error(leadflow(*base))
    assert "leadflow-small" not in _stacks()
    dry = leadflow(*base, "--param", "ApiReservedConcurrency=0", "--dry-run")
    assert dry.exit_code == 0, dry.output


def test_a_layer_built_beside_the_zip_is_uploaded_and_its_uri_rewritten(moto: str, tmp_path: Path):
    (tmp_path / "training-layer.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    sam = {
        "Resources": {
            "TrainingLayer": {
                "Type": "AWS::Serverless::LayerVersion",
                "Properties": {"ContentUri": "./training-layer.zip"},
            }
        }
    }
    cloud = deploy.Cloud.connect("us-east-1")
    boto3.client("s3").create_bucket(Bucket="artifacts-for-layers")
    done = deploy.upload_layers(cloud, "artifacts-for-layers", STAGE, sam, tmp_path, lambda _line: None)
    uri = done["Resources"]["TrainingLayer"]["Properties"]["ContentUri"]
    assert uri.startswith("s3://artifacts-for-layers/leadflow/ci/training-layer-") and uri.endswith(".zip")
    key = uri.split("/", 3)[3]
    assert (
        boto3.client("s3").get_object(Bucket="artifacts-for-layers", Key=key)["Body"].read().startswith(b"PK")
    )
    missing = {
        "Resources": {
            "L": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "./none.zip"}}
        }
    }
    with pytest.raises(deploy.DeployError, match="build it first"):
        deploy.upload_layers(cloud, "artifacts-for-layers", STAGE, missing, tmp_path, lambda _line: None)


def _deny(patch: pytest.MonkeyPatch, operation: str) -> None:
    """What IAM answers a deployer without ``cloudformation:<operation>`` (moto grants everything)."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    call = BaseClient._make_api_call

    def denied(self: Any, name: str, params: dict[str, Any]) -> Any:
        if name == operation:
            message = (
                f"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:{name}"
            )
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, name)
        return call(self, name, params)

    patch.setattr(BaseClient, "_make_api_call", denied)


def test_destroy_removes_the_stack_and_lists_what_it_keeps(moto: str):
    result = leadflow("destroy", "--stage", STAGE, "--region", "us-east-1", "--yes")
    assert result.exit_code == 0, result.output
    assert f"deleted leadflow-{STAGE}" in result.output
    kept = result.output.split("kept", 1)[1]
    assert "AWS::DynamoDB::Table" in kept and "AWS::SQS::Queue" in kept
    assert f"leadflow-{STAGE}" not in _stacks()
    # the data is still there
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert any(f"leadflow-{STAGE}-LeadsTable" in t for t in tables)
    assert "no stack leadflow-ci" in one_line_error(
        leadflow("destroy", "--stage", STAGE, "--region", "us-east-1", "--yes")
    )
