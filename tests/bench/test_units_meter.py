"""The meter charges index writes by DynamoDB's rule (Developer Guide, "Global Secondary Indexes",
"Write Capacity Units"): an index is written only when what it holds changes, twice when its key
changes, and not at all for an item outside it (indexes are sparse). The items before and after each
write are read from moto's memory (``moto_peek``); without them the meter approximates (a put charged
every index its item is in, an update 1 per ``ALL`` index whether or not the item is in it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bench.units import Index, Meter, install, metering, moto_peek

TABLE = "meter-test"
#: ``by_state``: ALL, on every item; ``by_owner``: ALL, sparse; ``by_tag``: keys only, sparse.
INDEXES = [
    Index(keys=("state",), table_keys=("id",), projection="ALL"),
    Index(keys=("owner",), table_keys=("id",), projection="ALL"),
    Index(keys=("tag",), table_keys=("id",), projection="KEYS_ONLY"),
]


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    install()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("id", "state", "owner", "tag")
            ],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": f"by_{name}",
                    "KeySchema": [{"AttributeName": name, "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": projection},
                }
                for name, projection in (("state", "ALL"), ("owner", "ALL"), ("tag", "KEYS_ONLY"))
            ],
        )
        yield client


def wcu(client: Any, peek: bool, call: str, **params: Any) -> float:
    meter = Meter(indexes={TABLE: INDEXES}, peek=moto_peek if peek else None)
    with metering(meter):
        getattr(client, call)(**({} if call == "transact_write_items" else {"TableName": TABLE}), **params)
    return meter.wcu


def item(**attributes: str) -> dict[str, Any]:
    return {name: {"S": value} for name, value in {"id": "i1", **attributes}.items()}


def test_a_new_item_writes_each_index_it_is_in_once(dynamodb: Any):
    assert wcu(dynamodb, True, "put_item", Item=item(state="open", tag="t")) == 1 + 2  # by_state, by_tag


def test_putting_the_same_item_again_writes_no_index(dynamodb: Any):
    dynamodb.put_item(TableName=TABLE, Item=item(state="open", tag="t"))
    assert wcu(dynamodb, True, "put_item", Item=item(state="open", tag="t")) == 1
    assert wcu(dynamodb, False, "put_item", Item=item(state="open", tag="t")) == 3, "the old approximation"


def test_an_update_of_an_attribute_only_all_projects_writes_those_indexes_the_item_is_in(dynamodb: Any):
    dynamodb.put_item(TableName=TABLE, Item=item(state="open", tag="t"))
    update = {
        "Key": {"id": {"S": "i1"}},
        "UpdateExpression": "SET #n = :v",
        "ExpressionAttributeNames": {"#n": "note"},
        "ExpressionAttributeValues": {":v": {"S": "x"}},
    }
    assert wcu(dynamodb, True, "update_item", **update) == 1 + 1  # by_state only: not in by_owner
    assert wcu(dynamodb, False, "update_item", **update) == 1 + 2, "the old one charged sparse by_owner"


def test_changing_an_index_key_deletes_the_old_entry_and_puts_the_new(dynamodb: Any):
    dynamodb.put_item(TableName=TABLE, Item=item(state="open", tag="t"))
    assert wcu(dynamodb, True, "put_item", Item=item(state="won", tag="t")) == 1 + 2
    assert wcu(dynamodb, False, "put_item", Item=item(state="lost", tag="t")) == 1 + 2, (
        "the old meter: 1 per index the item is in, so a key change (2) and an unchanged index (0) "
        "happened to sum the same here"
    )


def test_an_item_leaving_an_index_and_a_delete_write_each_index_it_was_in(dynamodb: Any):
    dynamodb.put_item(TableName=TABLE, Item=item(state="open", tag="t"))
    # left by_tag; by_state projects every attribute, and one went
    assert wcu(dynamodb, True, "put_item", Item=item(state="open")) == 1 + 1 + 1
    assert wcu(dynamodb, True, "delete_item", Key={"id": {"S": "i1"}}) == 1 + 1  # by_state
    assert wcu(dynamodb, False, "delete_item", Key={"id": {"S": "i1"}}) == 1 + 3, "every index, before"


def test_an_item_over_a_kilobyte_is_charged_its_larger_size_even_when_an_update_shrinks_it(dynamodb: Any):
    dynamodb.put_item(TableName=TABLE, Item=item(body="x" * 1500))
    update = {"Key": {"id": {"S": "i1"}}, "UpdateExpression": "REMOVE body"}
    assert wcu(dynamodb, True, "update_item", **update) == 2
    assert (
        wcu(
            dynamodb,
            True,
            "transact_write_items",
            TransactItems=[{"Put": {"TableName": TABLE, "Item": item()}}],
        )
        == 2
    )
