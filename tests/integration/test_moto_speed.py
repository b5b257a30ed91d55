"""moto's DynamoDB data-plane answers written with json (``leadflow_local/moto_speed.py``) parse, in
botocore, exactly as the ones moto's shape-driven serializer writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from leadflow_local import moto_speed

ITEM = {
    "pk": {"S": "a"},
    "sk": {"N": "1"},
    "blob": {"B": b"\x00\x01\xff"},
    "blobs": {"BS": [b"\x00", b"\x01"]},
    "number": {"N": "1.50"},
    "numbers": {"NS": ["1", "2.5"]},
    "strings": {"SS": ["x", "y"]},
    "list": {"L": [{"NULL": True}, {"BOOL": False}, {"S": "é ✓ \u2028"}, {"M": {"deep": {"N": "-3"}}}]},
    "map": {"M": {"empty": {"S": ""}, "flag": {"BOOL": True}}},
}


def operations(dynamodb: Any) -> list[Callable[[], Any]]:
    def put(n: int) -> dict[str, Any]:
        return {**ITEM, "sk": {"N": str(n)}}

    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    return [
        lambda: dynamodb.put_item(TableName="t", Item=put(1), ReturnConsumedCapacity="TOTAL"),
        lambda: dynamodb.put_item(TableName="t", Item=put(1), ReturnValues="ALL_OLD"),
        lambda: dynamodb.get_item(TableName="t", Key=key),
        lambda: dynamodb.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"N": "0"}}),
        lambda: dynamodb.get_item(
            TableName="t",
            Key=key,
            ProjectionExpression="#b, #m.flag",
            ExpressionAttributeNames={"#b": "blob", "#m": "map"},
        ),
        lambda: dynamodb.batch_write_item(
            RequestItems={"t": [{"PutRequest": {"Item": put(n)}} for n in range(2, 6)]}
        ),
        lambda: dynamodb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Limit=2,
            ReturnConsumedCapacity="INDEXES",
        ),
        lambda: dynamodb.query(
            TableName="t",
            IndexName="by_number",
            KeyConditionExpression="#n = :n",
            ExpressionAttributeNames={"#n": "number"},
            ExpressionAttributeValues={":n": {"N": "1.5"}},
        ),
        lambda: dynamodb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Select="COUNT",
        ),
        lambda: dynamodb.scan(TableName="t", Limit=3),
        lambda: dynamodb.batch_get_item(
            RequestItems={
                "t": {
                    "Keys": [key, {"pk": {"S": "a"}, "sk": {"N": "3"}}, {"pk": {"S": "x"}, "sk": {"N": "9"}}]
                }
            }
        ),
        lambda: dynamodb.update_item(
            TableName="t",
            Key=key,
            UpdateExpression="SET #c = if_not_exists(#c, :zero) + :one REMOVE #b",
            ExpressionAttributeNames={"#c": "count", "#b": "blob"},
            ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        lambda: dynamodb.update_item(
            TableName="t",
            Key=key,
            UpdateExpression="SET x = :x",
            ExpressionAttributeValues={":x": {"S": "y"}},
        ),
        lambda: dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}]),
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": put(7)}},
                {"Delete": {"TableName": "t", "Key": key}},
            ]
        ),
        lambda: dynamodb.delete_item(
            TableName="t", Key={"pk": {"S": "a"}, "sk": {"N": "2"}}, ReturnValues="ALL_OLD"
        ),
    ]


def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process moto only, whatever earlier tests left in the environment."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # or moto's streams answer 404
    }.items():
        monkeypatch.setenv(name, value)


def answers(install: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    isolated(monkeypatch)
    (moto_speed.install if install else moto_speed.uninstall)()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "number", "AttributeType": "N"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_number",
                    "KeySchema": [{"AttributeName": "number", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        found = []
        for operation in operations(dynamodb):
            answer = operation()
            answer.pop("ResponseMetadata")
            found.append(answer)
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
        for record in page["Records"]:  # moto's own random ids aside; the times compared apart
            record.pop("eventID")
            record["dynamodb"].pop("SizeBytes")  # moto measures its own dump, the time's digits included
        found.append(page["Records"])
        return found


@pytest.fixture
def restore_moto() -> Iterator[None]:
    yield
    moto_speed.uninstall()


def test_json_writer_answers_parse_exactly_as_moto_serializers_do(
    restore_moto: None, monkeypatch: pytest.MonkeyPatch
):
    with_serializer = answers(install=False, monkeypatch=monkeypatch)
    with_json = answers(install=True, monkeypatch=monkeypatch)
    times = [
        (a["dynamodb"].pop("ApproximateCreationDateTime"), b["dynamodb"].pop("ApproximateCreationDateTime"))
        for a, b in zip(with_json[-1], with_serializer[-1], strict=True)
    ]
    for written, serialized in times:  # two runs a moment apart: the same kind of value, close
        assert written.tzinfo is not None and serialized.tzinfo is not None
        assert abs((written - serialized).total_seconds()) < 60
    assert with_json == with_serializer
    assert with_json[2]["Item"]["blob"] == {"B": b"\x00\x01\xff"}  # the comparison saw real items
    assert "Item" not in with_json[3]  # a missing item: no member at all, as before
    records = with_json[-1]
    assert len(records) > 10 and {"INSERT", "MODIFY", "REMOVE"} <= {r["eventName"] for r in records}


def test_only_data_plane_operations_take_the_json_writer(restore_moto: None, monkeypatch: pytest.MonkeyPatch):
    isolated(monkeypatch)
    moto_speed.install()
    calls: list[Any] = []
    original = moto_speed.write

    def spy(result: Any) -> str:
        calls.append(result)
        return original(result)

    moto_speed.write = spy
    try:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            dynamodb.create_table(
                TableName="u",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            dynamodb.describe_table(TableName="u")
            assert calls == []
            dynamodb.put_item(TableName="u", Item={"pk": {"S": "a"}})
            assert len(calls) == 1
    finally:
        moto_speed.write = original
