"""What every function, queue and table of the packaged template gets for production, derived from the
template itself so a function or queue added later is covered without anyone remembering to:

- each function: a log group with the stage's retention (``LoggingConfig`` points the function at it,
  so Lambda never creates an unmanaged ``/aws/lambda/...`` group), an ``Errors`` and a ``Throttles``
  alarm, and an ``IteratorAge`` alarm when it reads a DynamoDB stream;
- each dead-letter queue (a queue another queue's redrive policy or an event source's failure
  destination names): an alarm on its first message, and its URL as a stack output;
- each table: an alarm on throttled reads or writes;
- the API: 5XX and latency alarms;
- every alarm notifies the stage's topic (``AlarmTopicArn`` or the stack's ``AlarmTopic``), and one
  dashboard shows all of it.

Applied by ``python -m leadflow_local.packaging`` to ``chalice package``'s output.
"""

from __future__ import annotations

import copy
import json
from typing import Any

FUNCTION = "AWS::Serverless::Function"
QUEUE = "AWS::SQS::Queue"
TABLE = "AWS::DynamoDB::Table"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}

#: Thresholds (what pages someone). A stream reader five minutes behind is stuck or overwhelmed; a
#: single Lambda error or throttle, a single throttled DynamoDB request and a single dead letter are
#: worth a look in a system whose every step retries; five API 5XX in five minutes are an outage
#: (one may be a client's retry after a timeout); p95 latency over 5 s for 15 minutes is a slow API.
ITERATOR_AGE_MS = 300_000
API_5XX_PER_5_MINUTES = 5
API_P95_LATENCY_MS = 5_000


def _alarm(description: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": ALARM,
        "Properties": {
            "AlarmDescription": description,
            "AlarmActions": [TOPIC],
            "OKActions": [TOPIC],
            "Period": 300,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            **properties,
        },
    }


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def dead_letter_queues(template: dict[str, Any]) -> list[str]:
    """Queues that hold what failed: redrive targets and event-source failure destinations."""
    found: set[str] = set()
    for queue in _of_type(template, QUEUE).values():
        target = queue.get("Properties", {}).get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            found.add(target["Fn::GetAtt"][0])
    for function in _of_type(template, FUNCTION).values():
        properties = function.get("Properties", {})
        configs = [e.get("Properties", {}) for e in properties.get("Events", {}).values()]
        configs.append(properties.get("EventInvokeConfig", {}))
        for config in configs:
            destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            if isinstance(destination, dict) and "Fn::GetAtt" in destination:
                found.add(destination["Fn::GetAtt"][0])
    return sorted(found)


def stream_readers(template: dict[str, Any]) -> list[str]:
    return sorted(
        name
        for name, function in _of_type(template, FUNCTION).items()
        if any(e.get("Type") == "DynamoDB" for e in function["Properties"].get("Events", {}).values())
    )


#: What a function with active tracing needs to send its segments to X-Ray (SAM adds this only to the
#: roles it creates; every Leadflow function has its own).
XRAY_STATEMENT = {
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


def _allow_tracing(template: dict[str, Any], function: dict[str, Any]) -> None:
    role = function["Properties"].get("Role")
    if (
        function["Properties"].get("Tracing") != "Active"
        or not isinstance(role, dict)
        or "Fn::GetAtt" not in role
    ):
        return
    policies = template["Resources"][role["Fn::GetAtt"][0]]["Properties"].setdefault("Policies", [])
    statements = policies[0]["PolicyDocument"]["Statement"] if policies else []
    if XRAY_STATEMENT not in statements:
        statements.append(copy.deepcopy(XRAY_STATEMENT))


def _function_resources(name: str, function: dict[str, Any], reads_stream: bool) -> dict[str, dict[str, Any]]:
    log_group = f"{name}LogGroup"
    function["Properties"]["LoggingConfig"] = {"LogGroup": {"Ref": log_group}}
    dimension = [{"Name": "FunctionName", "Value": {"Ref": name}}]
    added = {
        log_group: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/leadflow/${{Stage}}/{name}"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        },
        f"{name}ErrorsAlarm": _alarm(
            f"{name} failed (an invocation raised or timed out): read its log group, fix, then redrive",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=dimension,
            Statistic="Sum",
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        ),
        f"{name}ThrottlesAlarm": _alarm(
            f"{name} was throttled: the account's or the function's concurrency is exhausted",
            Namespace="AWS/Lambda",
            MetricName="Throttles",
            Dimensions=dimension,
            Statistic="Sum",
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        ),
    }
    if reads_stream:
        added[f"{name}IteratorAgeAlarm"] = _alarm(
            f"{name} is more than {ITERATOR_AGE_MS // 60000} minutes behind its stream: a poison batch "
            "or too little concurrency",
            Namespace="AWS/Lambda",
            MetricName="IteratorAge",
            Dimensions=dimension,
            Statistic="Maximum",
            Threshold=ITERATOR_AGE_MS,
            ComparisonOperator="GreaterThanThreshold",
        )
    return added


def _queue_alarm(name: str) -> dict[str, Any]:
    return _alarm(
        f"Messages are waiting in {name}: inspect them, fix the cause, then redrive.",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [name, "QueueName"]}}],
        Statistic="Maximum",
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )


def _table_alarm(name: str) -> dict[str, Any]:
    dimension = [{"Name": "TableName", "Value": {"Ref": name}}]

    def metric(key: str, metric_name: str) -> dict[str, Any]:
        return {
            "Id": key,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/DynamoDB", "MetricName": metric_name, "Dimensions": dimension},
                "Period": 300,
                "Stat": "Sum",
            },
        }

    alarm = _alarm(
        f"{name} throttled requests: a hot partition key or a burst beyond on-demand's doubling",
        Metrics=[
            metric("reads", "ReadThrottleEvents"),
            metric("writes", "WriteThrottleEvents"),
            {
                "Id": "throttled",
                "Expression": "reads + writes",
                "Label": "throttled requests",
                "ReturnData": True,
            },
        ],
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarm["Properties"].pop("Period")
    return alarm


def _api_alarms() -> dict[str, dict[str, Any]]:
    dimensions = [
        {"Name": "ApiName", "Value": {"Fn::Sub": "leadflow-${Stage}"}},
        {"Name": "Stage", "Value": "api"},
    ]
    return {
        "Api5XXAlarm": _alarm(
            f"The API answered {API_5XX_PER_5_MINUTES} or more 5XX in 5 minutes: read APIHandler's log group",
            Namespace="AWS/ApiGateway",
            MetricName="5XXError",
            Dimensions=dimensions,
            Statistic="Sum",
            Threshold=API_5XX_PER_5_MINUTES,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        ),
        "ApiLatencyAlarm": _alarm(
            f"API p95 latency over {API_P95_LATENCY_MS} ms for 15 minutes",
            Namespace="AWS/ApiGateway",
            MetricName="Latency",
            Dimensions=dimensions,
            ExtendedStatistic="p95",
            EvaluationPeriods=3,
            Threshold=API_P95_LATENCY_MS,
            ComparisonOperator="GreaterThanThreshold",
        ),
    }


def _dashboard(template: dict[str, Any], queues: list[str], tables: list[str]) -> dict[str, Any]:
    """One CloudWatch dashboard; names resolved by ``Fn::Sub`` variables (``${F_Name}``)."""
    functions = sorted(_of_type(template, FUNCTION))
    readers = stream_readers(template)
    variables: dict[str, Any] = {}

    def var(kind: str, name: str, value: Any) -> str:
        key = f"{kind}{name}"
        variables[key] = value
        return f"${{{key}}}"

    def lambda_metrics(metric: str, names: list[str], stat: str = "Sum") -> list[list[Any]]:
        return [
            ["AWS/Lambda", metric, "FunctionName", var("F", n, {"Ref": n}), {"stat": stat, "label": n}]
            for n in names
        ]

    api = ["ApiName", "leadflow-${Stage}", "Stage", "api"]
    widgets = [
        (
            "API requests and errors",
            [["AWS/ApiGateway", "Count", *api], [".", "4XXError", *api], [".", "5XXError", *api]],
        ),
        (
            "API latency p50 / p95",
            [["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}], ["...", {"stat": "p95"}]],
        ),
        ("Lambda errors", lambda_metrics("Errors", functions)),
        ("Lambda throttles", lambda_metrics("Throttles", functions)),
        ("Lambda duration p95 (ms)", lambda_metrics("Duration", functions, "p95")),
        ("Stream iterator age (ms)", lambda_metrics("IteratorAge", readers, "Maximum")),
        (
            "Dead letters",
            [
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    var("Q", q, {"Fn::GetAtt": [q, "QueueName"]}),
                    {"label": q, "stat": "Maximum"},
                ]
                for q in queues
            ],
        ),
        (
            "DynamoDB throttled requests",
            [
                [
                    "AWS/DynamoDB",
                    metric,
                    "TableName",
                    var("T", t, {"Ref": t}),
                    {"label": f"{t} {metric[:-14].lower()}"},
                ]
                for t in tables
                for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
            ],
        ),
        (
            "Leads",
            [
                ["Leadflow", name, "service", "leadflow-service", {"stat": "Sum"}]
                for name in (
                    "LeadCreated",
                    "LeadScored",
                    "LeadQualified",
                    "HandoffPublished",
                    "SubmissionRejected",
                )
            ],
        ),
    ]
    body = {
        "widgets": [
            {
                "type": "metric",
                "width": 12,
                "height": 6,
                "x": 12 * (i % 2),
                "y": 6 * (i // 2),
                "properties": {
                    "title": title,
                    "metrics": metrics,
                    "region": "${AWS::Region}",
                    "period": 300,
                    "view": "timeSeries",
                    "stat": "Sum",
                },
            }
            for i, (title, metrics) in enumerate(widgets)
        ]
    }
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "leadflow-${Stage}"},
            "DashboardBody": {"Fn::Sub": [json.dumps(body, separators=(",", ":")), variables]},
        },
    }


def add(sam: dict[str, Any]) -> dict[str, Any]:
    """``sam`` with the log groups, alarms, dashboard and outputs above (a new dict)."""
    template = copy.deepcopy(sam)
    resources = template["Resources"]
    readers = set(stream_readers(template))
    added: dict[str, dict[str, Any]] = {}
    for name, function in _of_type(template, FUNCTION).items():
        added.update(_function_resources(name, function, name in readers))
        _allow_tracing(template, function)
    queues = dead_letter_queues(template)
    alarmed = {
        json.dumps(alarm["Properties"].get("Dimensions", []))
        for alarm in _of_type(template, ALARM).values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
    }
    for queue in queues:
        alarm = _queue_alarm(queue)
        if json.dumps(alarm["Properties"]["Dimensions"]) not in alarmed:
            added[f"{queue}Alarm"] = alarm
        template.setdefault("Outputs", {})[f"{queue}Url"] = {"Value": {"Ref": queue}}
    tables = sorted(_of_type(template, TABLE))
    for table in tables:
        added[f"{table}ThrottlesAlarm"] = _table_alarm(table)
    added.update(_api_alarms())
    clash = set(added) & set(resources)
    if clash:
        raise ValueError(f"the template already has {sorted(clash)}")
    resources.update(added)
    for alarm in _of_type(template, ALARM).values():  # hand-written alarms notify too
        alarm["Properties"].setdefault("AlarmActions", [TOPIC])
        alarm["Properties"].setdefault("OKActions", [TOPIC])
    resources["Dashboard"] = _dashboard(template, queues, tables)
    outputs = template.setdefault("Outputs", {})
    outputs["AlarmTopic"] = {"Value": TOPIC}
    outputs["DashboardURL"] = {
        "Value": {
            "Fn::Sub": "https://${AWS::Region}.console.${AWS::URLSuffix}/cloudwatch/home?region=${AWS::Region}"
            "#dashboards:name=leadflow-${Stage}"
        }
    }
    return template
