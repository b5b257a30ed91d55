"""The local stack's faster moto transactions keep DynamoDB's all-or-nothing semantics."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


def _items(client: Any, table: str) -> list[str]:
    return sorted(i["key"]["S"] for i in client.scan(TableName=table)["Items"])


def _stream_records(aws: Any, table: str) -> int:
    streams = boto3.client("dynamodbstreams")
    arn = aws.streams[table]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])


def test_a_failed_condition_cancels_every_write_and_names_the_item(aws: Any):
    client = boto3.client("dynamodb")
    table = aws.tables["KeysTable"]
    client.put_item(TableName=table, Item={"key": {"S": "taken"}, "owner_id": {"S": "a"}})

    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"key": {"S": "new"}, "owner_id": {"S": "b"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"key": {"S": "taken"}, "owner_id": {"S": "b"}},
                        "ConditionExpression": "attribute_not_exists(#k)",
                        "ExpressionAttributeNames": {"#k": "key"},
                    }
                },
            ]
        )

    reasons = cancelled.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert _items(client, table) == ["taken"]


def test_a_write_that_fails_half_way_is_rolled_back_with_its_stream_records(aws: Any):
    client = boto3.client("dynamodb")
    table = aws.tables["ContactsTable"]
    before = _stream_records(aws, "ContactsTable")

    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"contact_id": {"S": "c1"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"contact_id": {"S": "c2"}},
                        "UpdateExpression": "SET #a = #a + :one",  # adds a number to a missing attribute
                        "ExpressionAttributeNames": {"#a": "count"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    assert client.scan(TableName=table)["Items"] == []
    assert _stream_records(aws, "ContactsTable") == before


def test_the_same_item_twice_in_one_transaction_is_refused(aws: Any):
    client = boto3.client("dynamodb")
    table = aws.tables["KeysTable"]
    put = {"Put": {"TableName": table, "Item": {"key": {"S": "k"}, "owner_id": {"S": "a"}}}}

    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[put, put])
    assert _items(client, table) == []


def test_conditional_updates_are_atomic_under_threads_like_dynamodb(
    aws: Any, monkeypatch: pytest.MonkeyPatch
):
    """The root cause of the flaky token-bucket test: moto in-process applied a conditional update in two
    unguarded steps (check, then write), so two threads could both pass the check. Here the gap between
    check and write is widened on purpose; with every DynamoDB request applied one at a time (as
    DynamoDB applies each conditional write atomically) exactly ``burst`` tokens are handed out."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import moto.dynamodb.models as dynamo_models

    from chalicelib.settings import get_settings
    from chalicelib.store.ratelimits import Limit, RateLimits

    original = dynamo_models.create_condition_expression_parser

    def slow_parser(*args: Any, **kwargs: Any) -> Any:
        parser = original(*args, **kwargs)
        parse = parser.parse

        def slow_parse() -> Any:
            op = parse()
            check = op.expr

            def slow_check(item: Any) -> Any:
                held = check(item)
                time.sleep(0.02)  # another thread's request runs here unless requests are serialised
                return held

            op.expr = slow_check  # type: ignore[method-assign]
            return op

        parser.parse = slow_parse  # type: ignore[method-assign]
        return parser

    monkeypatch.setattr(dynamo_models, "create_condition_expression_parser", slow_parser)
    settings = get_settings()
    limits = RateLimits(settings.rate_limits_table, settings.region, settings.aws_endpoint_url)
    with ThreadPoolExecutor(8) as pool:
        decisions = list(pool.map(lambda _: limits.take("form#race", Limit(1, 5), 3_000_000_000), range(16)))
    assert sum(d.allowed for d in decisions) == 5
