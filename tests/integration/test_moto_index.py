"""moto's queries through the partition index (``leadflow_local/moto_index.py``) give exactly moto's own
answers: the same items, order, pages, counts and projections, on tables, LSIs and GSIs (sparse ones
too), over a history of random puts, updates, deletes, batch writes and transactions."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from leadflow_local import moto_index, moto_transactions

HASHES = ["a", "b", "c"]
GROUPS = ["g1", "g2", "g3"]


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    moto_transactions.install()
    moto_index.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client)
        yield client
    moto_index.uninstall()


def _tables(client: Any) -> None:
    def attr(name: str, kind: str) -> dict[str, str]:
        return {"AttributeName": name, "AttributeType": kind}

    def key(name: str, kind: str) -> dict[str, str]:
        return {"AttributeName": name, "KeyType": kind}

    client.create_table(
        TableName="ranged",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            attr("pk", "S"),
            attr("sk", "S"),
            attr("lsk", "N"),
            attr("gpk", "S"),
            attr("gsk", "N"),
            attr("state", "S"),
        ],
        KeySchema=[key("pk", "HASH"), key("sk", "RANGE")],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_lsk",
                "KeySchema": [key("pk", "HASH"), key("lsk", "RANGE")],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_group",
                "KeySchema": [key("gpk", "HASH"), key("gsk", "RANGE")],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_state",  # hash only, sparse
                "KeySchema": [key("state", "HASH")],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
            },
        ],
    )
    client.create_table(
        TableName="plain",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[attr("id", "S"), attr("gpk", "S"), attr("gsk", "N")],
        KeySchema=[key("id", "HASH")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_group",
                "KeySchema": [key("gpk", "HASH"), key("gsk", "RANGE")],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )


def _item(rng: random.Random, table: str) -> dict[str, Any]:
    item: dict[str, Any] = (
        {"pk": {"S": rng.choice(HASHES)}, "sk": {"S": f"s{rng.randrange(12):02d}"}}
        if table == "ranged"
        else {"id": {"S": f"i{rng.randrange(15)}"}}
    )
    if rng.random() < 0.8:  # sparse: some items are in no index
        item["gpk"] = {"S": rng.choice(GROUPS)}
    if rng.random() < 0.8:
        item["gsk"] = {"N": str(rng.randrange(6))}  # ties, so the table's keys break them
    if table == "ranged":
        if rng.random() < 0.7:
            item["lsk"] = {"N": str(rng.randrange(5))}
        if rng.random() < 0.5:
            item["state"] = {"S": rng.choice(["new", "hot"])}
    item["note"] = {"S": "x" * rng.randrange(30)}
    item["n"] = {"N": str(rng.randrange(100))}
    return item


def _key(item: dict[str, Any], table: str) -> dict[str, Any]:
    return {k: item[k] for k in (("pk", "sk") if table == "ranged" else ("id",))}


def _update(client: Any, rng: random.Random, table: str, item: dict[str, Any]) -> None:
    """In place: moves an item between partitions, or out of (and into) a sparse index."""
    values: dict[str, Any] = {":n": {"N": str(rng.randrange(100))}}
    roll = rng.random()
    if roll < 0.35:
        expression = "SET gpk = :g, n = :n REMOVE gsk"
        values[":g"] = {"S": rng.choice(GROUPS)}
    elif roll < 0.7:
        expression = "SET gsk = :k, n = :n"
        values[":k"] = {"N": str(rng.randrange(6))}
    else:
        expression = "SET n = :n REMOVE gpk" + (", #s" if table == "ranged" else "")
    names = {"#s": "state"} if "#s" in expression else None
    client.update_item(
        TableName=table,
        Key=_key(item, table),
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
        **({"ExpressionAttributeNames": names} if names else {}),
    )


def _write(client: Any, rng: random.Random) -> None:
    table = rng.choice(["ranged", "plain"])
    item = _item(rng, table)
    roll = rng.random()
    if roll < 0.4:
        client.put_item(TableName=table, Item=item)
    elif roll < 0.65:
        _update(client, rng, table, item)
    elif roll < 0.8:
        client.delete_item(TableName=table, Key=_key(item, table))
    elif roll < 0.9:
        put, gone = _item(rng, table), _item(rng, table)
        if _key(put, table) == _key(gone, table):
            return
        client.batch_write_item(
            RequestItems={
                table: [{"PutRequest": {"Item": put}}, {"DeleteRequest": {"Key": _key(gone, table)}}]
            }
        )
    else:  # a transaction: applied, or cancelled by its condition (nothing written)
        other = _item(rng, table)
        if _key(other, table) == _key(item, table):
            return
        try:
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": item}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": _key(other, table),
                            "UpdateExpression": "SET gpk = :g",
                            "ConditionExpression": "attribute_exists(n)",
                            "ExpressionAttributeValues": {":g": {"S": rng.choice(GROUPS)}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise


def _key_condition(
    rng: random.Random, table: str, index: str | None, names: dict[str, str], values: dict[str, Any]
) -> str:
    if index is None and table == "plain":
        values[":h"] = {"S": f"i{rng.randrange(15)}"}
        return "id = :h"
    if index == "by_state":
        names["#s"] = "state"
        values[":h"] = {"S": rng.choice(["new", "hot", "cold"])}
        return "#s = :h"
    if index == "by_group":
        values[":h"] = {"S": rng.choice(GROUPS)}
        ranges = [" AND gsk >= :r", " AND gsk BETWEEN :r AND :q", " AND gsk = :r"]
        bound: dict[str, Any] = {"N": str(rng.randrange(4))}
        head = "gpk = :h"
    elif index == "by_lsk":
        values[":h"] = {"S": rng.choice(HASHES)}
        ranges, bound, head = [" AND lsk < :r"], {"N": str(rng.randrange(5))}, "pk = :h"
    else:
        values[":h"] = {"S": rng.choice(HASHES)}
        ranges = [" AND sk > :r", " AND begins_with(sk, :r)", " AND sk <= :r"]
        bound, head = {"S": rng.choice(["s0", "s05", "s1", "s10"])}, "pk = :h"
    if rng.random() < 0.5:
        return head
    condition = head + rng.choice(ranges)
    values[":r"] = bound
    if ":q" in condition:
        values[":q"] = {"N": str(rng.randrange(4, 7))}
    return condition


def _random_query(rng: random.Random) -> dict[str, Any]:
    """A query on a table or one of its indexes, with or without a range condition, filter,
    projection, ``Limit`` and direction."""
    table = rng.choice(["ranged", "ranged", "plain"])
    index = rng.choice([None, "by_group"] + (["by_lsk", "by_state"] if table == "ranged" else []))
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    condition = _key_condition(rng, table, index, names, values)
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ScanIndexForward": rng.random() < 0.5,
    }
    if index is not None:
        query["IndexName"] = index
    if rng.random() < 0.3:
        query["FilterExpression"] = "n > :f"
        values[":f"] = {"N": str(rng.randrange(100))}
    if rng.random() < 0.2 and index != "by_state":
        query["ProjectionExpression"] = "n, gpk"
    if rng.random() < 0.1:
        query["Select"] = "COUNT"
        query.pop("ProjectionExpression", None)
    if rng.random() < 0.7:
        query["Limit"] = rng.randrange(1, 5)
    query["ExpressionAttributeValues"] = values
    if names:
        query["ExpressionAttributeNames"] = names
    return query


def _pages(client: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a query, following ``LastEvaluatedKey``; what each answered (or its error)."""
    pages: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    for _ in range(200):
        try:
            answer = client.query(**query, **({"ExclusiveStartKey": start} if start else {}))
        except ClientError as exc:
            return [*pages, {"error": exc.response["Error"]}]
        answer.pop("ResponseMetadata", None)
        pages.append(answer)
        start = answer.get("LastEvaluatedKey")
        if start is None:
            return pages
    raise AssertionError(f"no end to the pages of {query}")


def test_indexed_queries_give_motos_answers_over_random_writes(dynamodb: Any) -> None:
    rng = random.Random(19)
    asked = answered = 0
    for _round in range(40):
        for _ in range(rng.randrange(1, 12)):
            _write(dynamodb, rng)
        for _ in range(6):
            query = _random_query(rng)
            with moto_index.bypassed():
                expected = _pages(dynamodb, query)
            assert _pages(dynamodb, query) == expected, query
            asked += 1
            answered += sum(len(page.get("Items", ())) for page in expected)
    assert asked == 240
    assert answered > 300  # the queries found items (not a comparison of empty answers)


def test_the_index_follows_items_moved_in_place_and_out_of_a_sparse_index(dynamodb: Any) -> None:
    item = {"pk": {"S": "a"}, "sk": {"S": "s1"}, "gpk": {"S": "g1"}, "gsk": {"N": "1"}, "state": {"S": "hot"}}
    dynamodb.put_item(TableName="ranged", Item=item)

    def keys(index: str, value: str, attr: str = "gpk") -> list[str]:
        answer = dynamodb.query(
            TableName="ranged",
            IndexName=index,
            KeyConditionExpression="#a = :v",
            ExpressionAttributeNames={"#a": attr},
            ExpressionAttributeValues={":v": {"S": value}},
        )
        return [found["sk"]["S"] for found in answer["Items"]]

    assert keys("by_group", "g1") == ["s1"]
    assert keys("by_state", "hot", "state") == ["s1"]
    dynamodb.update_item(
        TableName="ranged",
        Key={"pk": {"S": "a"}, "sk": {"S": "s1"}},
        UpdateExpression="SET gpk = :g REMOVE #s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":g": {"S": "g2"}},
    )
    assert keys("by_group", "g1") == []
    assert keys("by_group", "g2") == ["s1"]
    assert keys("by_state", "hot", "state") == []
    dynamodb.delete_item(TableName="ranged", Key={"pk": {"S": "a"}, "sk": {"S": "s1"}})
    assert keys("by_group", "g2") == []


def test_a_transaction_undone_half_way_leaves_the_index_as_the_items(dynamodb: Any) -> None:
    """``moto_transactions`` puts items back when applying fails half way (an update expression moto
    refuses late): the index follows them back."""
    dynamodb.put_item(TableName="plain", Item={"id": {"S": "i1"}, "gpk": {"S": "g1"}, "gsk": {"N": "1"}})
    dynamodb.query(  # the index is built now, so the transaction's writes are followed, not rebuilt
        TableName="plain",
        IndexName="by_group",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
    )
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "plain", "Item": {"id": {"S": "i1"}, "gpk": {"S": "g3"}}}},
                {
                    "Update": {
                        "TableName": "plain",
                        "Key": {"id": {"S": "i2"}},
                        "UpdateExpression": "SET gsk = gsk + :one",  # gsk missing: fails when applied
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    for group in ("g1", "g3"):
        query = {
            "TableName": "plain",
            "IndexName": "by_group",
            "KeyConditionExpression": "gpk = :g",
            "ExpressionAttributeValues": {":g": {"S": group}},
        }
        with moto_index.bypassed():
            expected = _pages(dynamodb, query)
        assert _pages(dynamodb, query) == expected
    assert [
        i["id"]["S"]
        for i in _pages(dynamodb, {**query, "ExpressionAttributeValues": {":g": {"S": "g1"}}})[0]["Items"]
    ] == ["i1"]
