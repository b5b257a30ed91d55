"""The packaged template (``chalice package --merge-template infra/template.json``) deploys what the
code relies on: tables with streams, queues with dead-letter queues, and event sources that report
partial failures, retry a finite number of times, bisect, and dead-letter."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("package")
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    subprocess.run(
        [
            str(chalice),
            "package",
            "--pkg-format",
            "cloudformation",
            "--merge-template",
            "infra/template.json",
            "--stage",
            "prod",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    template = json.loads((out / "sam.json").read_text())
    template["__path__"] = str(out / "sam.json")
    return dict(template)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def test_stream_event_sources_report_failures_retry_finitely_bisect_and_dead_letter(packaged: dict[str, Any]):
    sources = [
        event["Properties"]
        for function in functions(packaged).values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "DynamoDB"
    ]
    assert len(sources) >= 5, "note_activity, and score_changes on four streams"
    for props in sources:
        table, attribute = props["Stream"]["Fn::GetAtt"]
        assert attribute == "StreamArn"
        assert "StreamSpecification" in packaged["Resources"][table]["Properties"]
        assert props["StartingPosition"] == "TRIM_HORIZON"
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 0 < props["MaximumRetryAttempts"] <= 10
        assert props["MaximumRecordAgeInSeconds"] > 0
        assert props["BisectBatchOnFunctionError"] is True
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["StreamFailuresQueue", "Arn"]
        }


def test_queue_event_sources_report_failures_and_queues_have_dead_letter_queues(packaged: dict[str, Any]):
    resources = packaged["Resources"]
    for function in functions(packaged).values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                props = event["Properties"]
                assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
                queue = resources[props["Queue"]["Fn::GetAtt"][0]]["Properties"]
                assert queue["RedrivePolicy"]["maxReceiveCount"] > 0
                assert queue["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]
    handoff = resources["SalesHandoffQueue"]["Properties"]
    assert handoff["FifoQueue"] is True and handoff["ContentBasedDeduplication"] is False
    assert resources["SalesHandoffDeadLetterQueue"]["Properties"]["FifoQueue"] is True


def test_tables_have_streams_and_every_function_gets_their_names(packaged: dict[str, Any]):
    resources = packaged["Resources"]
    tables = {k for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
    for name in ("ContactsTable", "AccountsTable", "LeadsTable", "InteractionsTable"):
        assert "StreamViewType" in resources[name]["Properties"]["StreamSpecification"]
    variables = packaged["Globals"]["Function"]["Environment"]["Variables"]
    assert {v["Ref"] for v in variables.values() if v["Ref"] in tables} == tables
    for function in functions(packaged).values():
        assert function["Properties"]["Environment"]["Variables"]["LEADFLOW_STAGE"] == "prod"


def test_placeholders_from_app_py_are_all_replaced(packaged: dict[str, Any]):
    text = json.dumps({k: v for k, v in packaged.items() if k != "__path__"})
    assert "placeholder" not in text


def test_chalice_config_holds_no_deployment_outputs():
    assert not (ROOT / ".chalice" / "deployed").exists()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert set(config["stages"]) == {"dev", "prod"}


def test_cfn_lint_passes_on_the_packaged_template(packaged: dict[str, Any]):
    beside = Path(sys.executable).with_name("cfn-lint")  # the project's pinned cfn-lint, not another on PATH
    cfn_lint = str(beside) if beside.exists() else shutil.which("cfn-lint") or "cfn-lint"
    result = subprocess.run([cfn_lint, packaged["__path__"]], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scoring_function_reads_interactions_leads_contacts_and_accounts(packaged: dict[str, Any]):
    events = packaged["Resources"]["ScoreChanges"]["Properties"]["Events"]
    tables = {event["Properties"]["Stream"]["Fn::GetAtt"][0] for event in events.values()}
    assert tables == {"InteractionsTable", "LeadsTable", "ContactsTable", "AccountsTable"}
    assert "ScoresTable" not in tables, "the scoring function never consumes what it writes"


def test_duplicate_detection_reads_the_contacts_stream_and_only_the_api_writes_identity(
    packaged: dict[str, Any],
):
    resources = packaged["Resources"]
    events = resources["DetectDuplicates"]["Properties"]["Events"]
    assert {e["Properties"]["Stream"]["Fn::GetAtt"][0] for e in events.values()} == {"ContactsTable"}
    writers = set()
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                targets = json.dumps(statement.get("Resource"))
                if "IdentityTable" in targets and "dynamodb:PutItem" in statement["Action"]:
                    writers.add(name)
    assert writers == {"ApiHandlerRole", "DetectDuplicatesRole", "EraseContactsRole"}
