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


def answers(install: bool) -> list[Any]:
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
        )
        found = []
        for operation in operations(dynamodb):
            answer = operation()
            answer.pop("ResponseMetadata")
            found.append(answer)
        return found


@pytest.fixture
def restore_moto() -> Iterator[None]:
    yield
    moto_speed.uninstall()


def test_json_writer_answers_parse_exactly_as_moto_serializers_do(restore_moto: None):
    with_serializer = answers(install=False)
    with_json = answers(install=True)
    assert with_json == with_serializer
    assert with_json[2]["Item"]["blob"] == {"B": b"\x00\x01\xff"}  # the comparison saw real items
    assert "Item" not in with_json[3]  # a missing item: no member at all, as before


def test_only_data_plane_operations_take_the_json_writer(restore_moto: None):
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
