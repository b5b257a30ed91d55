"""A local stack restarted on a snapshot from before a new index gets the index (issue 19's ``by_due``
on the scores table), as a deployment's update would: the minute schedule's query finds it."""

from __future__ import annotations

import json
from typing import Any

import boto3
from moto import mock_aws


def test_a_table_kept_from_an_earlier_layout_gets_the_index_the_template_added(monkeypatch: Any) -> None:
    from leadflow_local.resources import create_resources, load_template

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        template = load_template()
        before = json.loads(json.dumps(template))
        props = before["Resources"]["ScoresTable"]["Properties"]
        props["GlobalSecondaryIndexes"] = [
            i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] != "by_due"
        ]
        props["AttributeDefinitions"] = [
            a for a in props["AttributeDefinitions"] if a["AttributeName"] not in ("due", "next_check_at")
        ]
        dynamodb = boto3.client("dynamodb")
        create_resources(before, dynamodb, boto3.client("sqs"), "old-", boto3.client("s3"))

        create_resources(template, dynamodb, boto3.client("sqs"), "old-", boto3.client("s3"))

        table = dynamodb.describe_table(TableName="old-ScoresTable")["Table"]
        assert "by_due" in {i["IndexName"] for i in table["GlobalSecondaryIndexes"]}
