"""The packaged template (``chalice package --merge-template infra/template.json``) deploys what the
code relies on: tables with streams, queues with dead-letter queues, and event sources that report
partial failures, retry a finite number of times, bisect, and dead-letter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local import packaging
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def packaged(sam: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("sam") / "sam.json"
    path.write_text(json.dumps(sam))
    return {**sam, "__path__": str(path)}


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
    assert {v.get("Ref") for v in variables.values()} & tables == tables
    for function in functions(packaged).values():
        assert function["Properties"]["Environment"]["Variables"]["LEADFLOW_STAGE"] == "prod"


def test_placeholders_from_app_py_are_all_replaced(packaged: dict[str, Any]):
    text = json.dumps({k: v for k, v in packaged.items() if k != "__path__"})
    assert "placeholder" not in text


def test_chalice_config_holds_no_deployment_outputs():
    assert not (ROOT / ".chalice" / "deployed").exists()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert set(config["stages"]) == {"dev", "prod"}


def _cfn_lint(path: str) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).with_name("cfn-lint")  # the project's pinned cfn-lint, not another on PATH
    cfn_lint = str(beside) if beside.exists() else shutil.which("cfn-lint") or "cfn-lint"
    return subprocess.run([cfn_lint, path], capture_output=True, text=True, timeout=300)


def test_cfn_lint_passes_on_the_packaged_template(packaged: dict[str, Any]):
    result = _cfn_lint(packaged["__path__"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_passes_on_the_expanded_template(expanded: dict[str, Any], tmp_path: Path):
    """Linting the SAM template checks it against SAM's schemas only: a cycle that appears when SAM
    adds the bucket notification's DependsOn passed that lint. This lints what CloudFormation gets
    (E3004 is cfn-lint's own cycle rule)."""
    path = tmp_path / "template.json"
    path.write_text(json.dumps(expanded))
    result = _cfn_lint(str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_expanded_template_has_no_dependency_cycle(expanded: dict[str, Any]):
    assert packaging.cycles(expanded) == []
    graph = packaging.dependencies(expanded)
    # the cycle issue 14 found, broken: the bucket needs the function (its notification), and the
    # function, its role and its permission do not need the bucket (a computed name instead)
    assert (
        "ImportUploaded" in graph["ImportsBucket"]
        or "ImportUploadedImportUploadedS3EventPermission" in (graph["ImportsBucket"])
    )
    for name in ("ImportUploaded", "ImportUploadedRole"):
        assert "ImportsBucket" not in graph[name]


def test_the_cycle_check_follows_ref_getatt_both_sub_forms_depends_on_and_nesting():
    def template(**resources: Any) -> dict[str, Any]:
        return {"Resources": {name: {"Type": "AWS::SQS::Queue", **body} for name, body in resources.items()}}

    assert packaging.cycles(template(A={"Properties": {"X": {"Ref": "B"}}}, B={"DependsOn": "A"})) == [
        ["A", "B", "A"]
    ]
    assert packaging.cycles(
        template(A={"Properties": {"X": {"Fn::GetAtt": "B.Arn"}}}, B={"DependsOn": ["A"]})
    )
    assert packaging.cycles(
        template(A={"Properties": {"X": {"Fn::Sub": "${B.Arn}/x"}}}, B={"DependsOn": "A"})
    )
    nested = {"Fn::If": ["C", {"Fn::Join": ["", [{"Fn::Sub": ["${V}", {"V": {"Ref": "B"}}]}]]}, "x"]}
    assert packaging.cycles(
        template(A={"Properties": {"X": [nested]}}, B={"Properties": {"Y": {"Ref": "A"}}})
    )
    # ${!Literal}, a Sub variable named like a resource, parameters and pseudo parameters are no edges
    no_edges = {"Fn::Sub": ["${!B} ${B} ${AWS::Region} ${Stage}", {"B": "value"}]}
    assert (
        packaging.cycles(template(A={"Properties": {"X": no_edges}}, B={"Properties": {"Y": {"Ref": "A"}}}))
        == []
    )


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
    assert writers == {"ApiHandlerRole", "DetectDuplicatesRole"}
