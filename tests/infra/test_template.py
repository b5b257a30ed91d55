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

from leadflow_local import packaging
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
    assert len(sources) >= 5, "the two dispatchers, scoring, qualification, the publisher"
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
    # high-throughput FIFO: limits per lead (message group), not 300 sends/s for the whole queue
    assert (handoff["DeduplicationScope"], handoff["FifoThroughputLimit"]) == (
        "messageGroup",
        "perMessageGroupId",
    )
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


def _stream_readers(template: dict[str, Any]) -> dict[str, set[str]]:
    readers: dict[str, set[str]] = {}
    for name, function in functions(template).items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "DynamoDB":
                readers.setdefault(event["Properties"]["Stream"]["Fn::GetAtt"][0], set()).add(name)
    return readers


def test_scoring_runs_on_interactions_leads_contacts_and_accounts(packaged: dict[str, Any]):
    from chalicelib.handlers.dispatch import STREAMS

    readers = _stream_readers(packaged)
    scoring = {t for t, names in readers.items() if "ScoreChanges" in names}
    assert scoring == {"LeadsTable", "AccountsTable"}
    assert (
        readers["InteractionsTable"] == {"InteractionsStream"} and "score_changes" in STREAMS["interactions"]
    )
    assert readers["ContactsTable"] == {"ContactsStream"} and "score_changes" in STREAMS["contacts"]
    assert "ScoresTable" not in scoring, "the scoring function never consumes what it writes"


def test_no_stream_has_more_than_two_readers(expanded: dict[str, Any]):
    """AWS throttles a shard's third reader: the interactions and contacts streams have one dispatcher
    each (with three consumers), the others at most two functions."""
    mappings: dict[str, int] = {}
    for resource in expanded["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            source = resource["Properties"]["EventSourceArn"]
            if "StreamArn" in json.dumps(source):
                key = json.dumps(source, sort_keys=True)
                mappings[key] = mappings.get(key, 0) + 1
    assert mappings and max(mappings.values()) <= 2, mappings


def test_each_stream_consumer_has_its_own_retry_queue_and_dead_letter_queue(packaged: dict[str, Any]):
    from chalicelib.handlers.dispatch import STREAMS

    resources = packaged["Resources"]
    variables = packaged["Globals"]["Function"]["Environment"]["Variables"]
    retried = {
        e["Properties"]["Queue"]["Fn::GetAtt"][0]
        for e in resources["RetryStreamConsumers"]["Properties"]["Events"].values()
    }
    for consumer in {c for consumers in STREAMS.values() for c in consumers}:
        queue = variables[f"{consumer.upper()}_RETRY_QUEUE_URL"]["Ref"]
        assert queue in retried
        dead = resources[queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert resources[dead]["DeletionPolicy"] == "Retain"
        assert dead not in {
            d["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for q, d in resources.items()
            if q != queue and d["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in d["Properties"]
        }


def test_duplicate_detection_runs_on_the_contacts_stream_and_only_the_api_writes_identity(
    packaged: dict[str, Any],
):
    from chalicelib.handlers.dispatch import STREAMS

    assert "detect_duplicates" in STREAMS["contacts"]
    assert _stream_readers(packaged)["ContactsTable"] == {"ContactsStream"}
    writers = set()
    for name, resource in packaged["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                targets = json.dumps(statement.get("Resource"))
                if "IdentityTable" in targets and "dynamodb:PutItem" in statement.get("Action", []):
                    writers.add(name)
    assert writers == {
        "ApiHandlerRole",
        "ContactsStreamRole",
        "RetryStreamConsumersRole",
        "EraseContactsRole",
    }


# ---------------------------------------------------------------- production settings (issue 14)

TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def _alarms_on(template: dict[str, Any], namespace: str, metric: str) -> dict[str, Any]:
    """Alarm name -> the value of its single dimension, for alarms on ``namespace``/``metric``."""
    found = {}
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm" and (
            props.get("Namespace"),
            props.get("MetricName"),
        ) == (
            namespace,
            metric,
        ):
            found[name] = props["Dimensions"][0]["Value"]
    return found


def test_the_stage_parameters_exist_with_safe_defaults(sam: dict[str, Any]):
    parameters = sam["Parameters"]
    expected = {
        "Stage": "dev",
        "AlarmEmail": "",
        "AlarmTopicArn": "",
        "LogRetentionDays": 90,
        "TableDeletionProtection": "true",
        "PointInTimeRecovery": "true",
        "ApiThrottlingRate": 100,
        "ApiThrottlingBurst": 200,
        "ApiReservedConcurrency": 20,
        "WafEnabled": "false",
        "WafRequestsPerMinutePerIp": 300,
        "TrainingLayerArn": "",
        "SecretsArn": "",
    }
    assert {k: parameters[k]["Default"] for k in expected} == expected
    for name, spec in parameters.items():
        assert spec.get("Description"), f"{name} says what it is for"


def test_every_function_logs_to_its_own_group_with_the_stage_retention_and_traces(sam: dict[str, Any]):
    resources = sam["Resources"]
    for name, function in functions(sam).items():
        props = function["Properties"]
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert props["Tracing"] == "Active", name


def test_every_function_alarms_on_errors_and_throttles_and_stream_readers_on_iterator_age(
    sam: dict[str, Any],
):
    names = set(functions(sam))
    errors = {v["Ref"] for v in _alarms_on(sam, "AWS/Lambda", "Errors").values()}
    throttles = {v["Ref"] for v in _alarms_on(sam, "AWS/Lambda", "Throttles").values()}
    assert errors == throttles == names
    readers = {
        name
        for name, function in functions(sam).items()
        if any(e["Type"] == "DynamoDB" for e in function["Properties"].get("Events", {}).values())
    }
    assert readers and {v["Ref"] for v in _alarms_on(sam, "AWS/Lambda", "IteratorAge").values()} == readers


def test_every_dead_letter_queue_is_retained_alarmed_and_an_output(sam: dict[str, Any]):
    resources = sam["Resources"]
    dead = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in resources.values()
        if q["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in q["Properties"]
    } | {"StreamFailuresQueue"}
    alarmed = {
        v["Fn::GetAtt"][0] for v in _alarms_on(sam, "AWS/SQS", "ApproximateNumberOfMessagesVisible").values()
    }
    assert dead <= alarmed
    for queue in dead:
        assert resources[queue]["DeletionPolicy"] == resources[queue]["UpdateReplacePolicy"] == "Retain", (
            queue
        )
        assert sam["Outputs"][f"{queue}Url"] == {"Value": {"Ref": queue}}


def test_every_table_is_retained_protected_recoverable_and_alarmed_on_throttles(sam: dict[str, Any]):
    resources = sam["Resources"]
    tables = {k: v for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
    throttled = set()
    for resource in resources.values():
        for metric in (
            resource.get("Properties", {}).get("Metrics", [])
            if resource["Type"] == "AWS::CloudWatch::Alarm"
            else []
        ):
            stat = metric.get("MetricStat", {}).get("Metric", {})
            if stat.get("MetricName") in ("ReadThrottleEvents", "WriteThrottleEvents"):
                throttled.add(stat["Dimensions"][0]["Value"]["Ref"])
    assert throttled == set(tables)
    for name, table in tables.items():
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
        assert table["Properties"]["DeletionProtectionEnabled"] == {"Fn::If": ["ProtectTables", True, False]}
        if name not in ("RateLimitsTable", "IdempotencyTable"):  # tokens and replay answers expire anyway
            recovery = table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
            assert recovery == {"Fn::If": ["RecoverTables", True, False]}, name


def test_every_alarm_notifies_the_stage_topic(sam: dict[str, Any]):
    resources = sam["Resources"]
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) > 40
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [TOPIC], name
    assert resources["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_api_stage_is_throttled_traced_and_alarmed_on_5xx_and_latency(expanded: dict[str, Any]):
    resources = expanded["Resources"]
    stage = next(v for v in resources.values() if v["Type"] == "AWS::ApiGateway::Stage")["Properties"]
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "HttpMethod": "*",
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurst"},
            "ThrottlingRateLimit": {"Ref": "ApiThrottlingRate"},
        }
    ]
    api_name = resources["RestAPI"]["Properties"]["Name"]
    for alarm in ("Api5XXAlarm", "ApiLatencyAlarm"):
        dimensions = resources[alarm]["Properties"]["Dimensions"]
        assert {"Name": "ApiName", "Value": api_name} in dimensions, "the alarm watches this stage's API"


def test_waf_is_optional_rate_limits_per_ip_and_then_turns_the_apps_per_ip_limit_off(
    expanded: dict[str, Any],
):
    resources = expanded["Resources"]
    acl, association = resources["WebAcl"], resources["WebAclAssociation"]
    assert acl["Condition"] == association["Condition"] == "WafOn"
    (rule,) = acl["Properties"]["Rules"]
    assert rule["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert rule["Action"] == {"Block": {}}
    assert "${RestAPI}" in association["Properties"]["ResourceArn"]["Fn::Sub"]
    per_ip = {"Fn::If": ["WafOn", "0", {"Ref": "AWS::NoValue"}]}  # without WAF: the app's own setting
    for name, function in resources.items():
        if function["Type"] == "AWS::Lambda::Function":
            variables = function["Properties"]["Environment"]["Variables"]
            assert variables["RATE_LIMIT_IP_PER_MINUTE"] == per_ip, name
            assert (
                "RATE_LIMIT_FORM_PER_MINUTE" not in variables
                or variables["RATE_LIMIT_FORM_PER_MINUTE"] != "0"
            )


def test_captures_keep_reserved_concurrency_and_queue_triggers_are_capped(sam: dict[str, Any]):
    api = sam["Resources"]["APIHandler"]["Properties"]
    assert api["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReserveApiConcurrency", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    caps = {}
    for name, function in functions(sam).items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                caps[name] = event["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    assert caps and all(2 <= cap <= 10 for cap in caps.values()), caps


def test_the_dashboard_shows_every_function_dead_letter_queue_and_table(sam: dict[str, Any]):
    body, variables = sam["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    json.loads(body)
    referenced = {v.get("Ref") or v["Fn::GetAtt"][0] for v in variables.values()}
    assert set(functions(sam)) <= referenced
    assert {k for k, v in sam["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"} <= referenced
    assert "SalesHandoffDeadLetterQueue" in referenced
    assert "DashboardURL" in sam["Outputs"] and "ConsoleURL" in sam["Outputs"]


def test_the_template_fits_cloudformations_limits(expanded: dict[str, Any]):
    """Uploaded to S3 (a template over 51,200 bytes cannot be sent inline): at most 1 MB and 500
    resources."""
    size = len(json.dumps(expanded, separators=(",", ":")))
    assert 51_200 < size < 1_000_000, size
    assert len(expanded["Resources"]) < 500


def test_the_leads_state_index_is_sharded_not_one_partition_per_state(sam: dict[str, Any]):
    from chalicelib.store.records import LeadRecord

    indexes = {
        i["IndexName"]: i for i in sam["Resources"]["LeadsTable"]["Properties"]["GlobalSecondaryIndexes"]
    }
    assert set(indexes) == {"by_state_shard", "by_owner"}
    index = indexes[LeadRecord.by_state_shard.Meta.index_name]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["state_shard", "created_at"]
    # a person's leads (GET /v1/leads?owner=): sparse (only assigned leads), on the owner's own key
    owner = indexes[LeadRecord.by_owner.Meta.index_name]
    assert [k["AttributeName"] for k in owner["KeySchema"]] == ["owner", "created_at"]


def test_memory_sizes_are_the_measured_ones(sam: dict[str, Any]):
    """docs/scaling.md, "Memory": a function peaks at about 125 MB (``python -m bench.memory``), so none
    gets 128 MB; the API gets 1,024 MB for its first call (CPU comes with memory), the stream and queue
    functions 512 MB, the light schedules and LinkedIn's I/O-bound worker 256 MB, training 1,769 MB (the
    weekly schedule only queues training runs: 256 MB)."""
    sizes = {name: f["Properties"]["MemorySize"] for name, f in functions(sam).items()}
    assert min(sizes.values()) >= 256, sizes
    assert sizes["APIHandler"] == 1024
    assert sizes["InteractionsStream"] == sizes["ContactsStream"] == sizes["RecordInteractions"] == 512
    assert sizes["TrainPredictive"] == 1769 and sizes["RetrainPredictive"] == 256
    assert functions(sam)["TrainPredictive"]["Properties"]["Timeout"] == 900


def test_only_the_training_function_carries_the_training_layer_built_beside_the_zip(sam: dict[str, Any]):
    """numpy, scipy and scikit-learn are on ``train_predictive`` alone: the layer ``make package`` builds
    (``./training-layer.zip``, python3.12 on arm64), or the stage's ``TrainingLayerArn``."""
    layered = {name for name, f in functions(sam).items() if "Layers" in f["Properties"]}
    assert layered == {"TrainPredictive"}
    assert functions(sam)["TrainPredictive"]["Properties"]["Layers"] == {
        "Fn::If": ["HasTrainingLayer", [{"Ref": "TrainingLayerArn"}], [{"Ref": "TrainingLayer"}]]
    }
    layer = sam["Resources"]["TrainingLayer"]
    assert layer["Condition"] == "BuildsTrainingLayer"
    assert layer["Properties"]["ContentUri"] == "./training-layer.zip"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_the_capacity_settings_are_what_infra_capacity_writes():
    """A table added to ``infra/capacity.py``'s list, or an index added to one of its tables, gets its
    throughput and scaling resources from the script: this fails until it is run."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "capacity.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_provisioned_capacity_scales_reads_and_writes_of_every_lead_table_and_index(sam: dict[str, Any]):
    resources = sam["Resources"]
    assert sam["Parameters"]["TableCapacity"]["Default"] == "on-demand"  # bursts absorbed unless asked
    targets = {
        (json.dumps(r["Properties"]["ResourceId"]), r["Properties"]["ScalableDimension"]): name
        for name, r in resources.items()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    policies = {
        r["Properties"]["ScalingTargetId"]["Ref"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
    }
    provisioned = set()
    for name, table in resources.items():
        if table["Type"] != "AWS::DynamoDB::Table":
            continue
        props = table["Properties"]
        if props["BillingMode"] == "PAY_PER_REQUEST":
            assert "ProvisionedThroughput" not in props, name
            continue
        provisioned.add(name)
        assert props["BillingMode"] == {"Fn::If": ["ProvisionedTables", "PROVISIONED", "PAY_PER_REQUEST"]}
        # an index under a condition of its own (``Fn::If``: the contacts' by_dup_phone) scales under both
        indexes = [
            (i["Fn::If"][1], f"ProvisionedTablesAnd{i['Fn::If'][0]}")
            if "Fn::If" in i
            else (i, "ProvisionedTables")
            for i in props.get("GlobalSecondaryIndexes", [])
        ]
        scaled = [("table/${Table}", "table", props, "ProvisionedTables")] + [
            (f"table/${{Table}}/index/{i['IndexName']}", "index", i, condition) for i, condition in indexes
        ]
        for path, kind, holder, condition in scaled:
            assert holder["ProvisionedThroughput"]["Fn::If"][0] == "ProvisionedTables", (name, path)
            for units, metric in (
                ("ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
                ("WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
            ):
                key = (json.dumps({"Fn::Sub": [path, {"Table": {"Ref": name}}]}), f"dynamodb:{kind}:{units}")
                target = targets.pop(key)
                assert resources[target]["Condition"] == condition
                tracking = policies[target]["TargetTrackingScalingPolicyConfiguration"]
                assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == metric
                assert tracking["TargetValue"] == {"Ref": "CapacityTargetUtilization"}
    assert targets == {}  # no target for a table or index that is not there
    assert {"LeadsTable", "ContactsTable", "InteractionsTable", "ScoresTable", "HandoffsTable"} <= provisioned
    assert "FormsTable" not in provisioned


def test_the_api_returns_the_open_pixel_as_bytes_to_any_image_accept_header(sam: dict[str, Any]):
    """API Gateway decodes a base64 answer only when the request's first Accept type is a binary media
    type; mail clients fetch images with their preferred image type first (image/avif, image/webp)."""
    apis = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    assert apis, "no REST API in the packaged template"
    types = apis[0]["Properties"]["DefinitionBody"]["x-amazon-apigateway-binary-media-types"]
    assert "image/*" in types and "text/csv" in types
    assert "*/*" not in types  # every request body would be base64-encoded (docs/email.md)
