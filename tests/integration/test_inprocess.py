"""The local stack's own AWS calls reach moto in process (``leadflow_local/inprocess.py``): the same
state as the moto server on its port, the same answers and errors, the gate's bookkeeping kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from leadflow_local import inprocess
from leadflow_local.stack import MotoServer


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    server = MotoServer("127.0.0.1", 0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client(service: str, endpoint: str) -> Any:
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}, connect_timeout=2)
    )


def over_the_socket(endpoint: str) -> str:
    """The same server by another name: not routed in process, so its requests use the socket."""
    return endpoint.replace("127.0.0.1", "localhost")


def make_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_what_the_stack_writes_in_process_is_what_outside_clients_read_over_http(moto_server: MotoServer):
    inside = client("dynamodb", moto_server.endpoint)
    outside = client("dynamodb", over_the_socket(moto_server.endpoint))
    make_table(inside, "one-state")
    inside.put_item(TableName="one-state", Item={"pk": {"S": "from-inside"}})
    outside.put_item(TableName="one-state", Item={"pk": {"S": "from-outside"}})

    read_outside = outside.get_item(TableName="one-state", Key={"pk": {"S": "from-inside"}})
    read_inside = inside.get_item(TableName="one-state", Key={"pk": {"S": "from-outside"}})
    assert read_outside["Item"] == {"pk": {"S": "from-inside"}}
    assert read_inside["Item"] == {"pk": {"S": "from-outside"}}

    sqs_inside, sqs_outside = (
        client("sqs", moto_server.endpoint),
        client("sqs", over_the_socket(moto_server.endpoint)),
    )
    url = sqs_inside.create_queue(QueueName="one-state")["QueueUrl"]
    sqs_inside.send_message(QueueUrl=url, MessageBody="hello")
    got = sqs_outside.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["hello"]


def test_stack_clients_reach_moto_without_the_socket(moto_server: MotoServer):
    inside = client("dynamodb", moto_server.endpoint)
    make_table(inside, "no-socket")
    moto_server.server.shutdown()  # nobody answers on the port any more
    moto_server.server.server_close()
    inside.put_item(TableName="no-socket", Item={"pk": {"S": "a"}})
    assert inside.get_item(TableName="no-socket", Key={"pk": {"S": "a"}})["Item"]["pk"] == {"S": "a"}
    s3 = client("s3", moto_server.endpoint)  # the WSGI path (no direct handler for S3)
    s3.create_bucket(Bucket="no-socket")
    s3.put_object(Bucket="no-socket", Key="imports/a.csv", Body=b"email\nada@example.com\n")
    body = s3.get_object(Bucket="no-socket", Key="imports/a.csv")["Body"].read()
    assert body == b"email\nada@example.com\n"
    with pytest.raises(EndpointConnectionError):  # the socket is closed
        client("dynamodb", over_the_socket(moto_server.endpoint)).list_tables()


def test_errors_come_back_as_they_do_over_http(moto_server: MotoServer):
    inside = client("dynamodb", moto_server.endpoint)
    make_table(inside, "errors")
    inside.put_item(TableName="errors", Item={"pk": {"S": "taken"}})
    with pytest.raises(ClientError) as failed:
        inside.put_item(
            TableName="errors", Item={"pk": {"S": "taken"}}, ConditionExpression="attribute_not_exists(pk)"
        )
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as cancelled:
        inside.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "errors", "Item": {"pk": {"S": "new"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "errors",
                        "Key": {"pk": {"S": "taken"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    with pytest.raises(ClientError) as missing:
        inside.get_item(TableName="no-such-table", Key={"pk": {"S": "a"}})
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    sqs = client("sqs", moto_server.endpoint)
    with pytest.raises(ClientError) as no_queue:
        sqs.get_queue_url(QueueName="no-such-queue")
    assert "NonExistentQueue" in no_queue.value.response["Error"]["Code"]


def test_in_process_writes_pass_the_gate_counted_woken_and_held_back_by_a_snapshot(moto_server: MotoServer):
    inside = client("dynamodb", moto_server.endpoint)
    make_table(inside, "gated")
    woken: list[int] = []
    moto_server.gate.on_write = lambda: woken.append(1)
    writes = moto_server.gate.writes
    inside.put_item(TableName="gated", Item={"pk": {"S": "a"}})
    inside.get_item(TableName="gated", Key={"pk": {"S": "a"}})
    assert moto_server.gate.writes == writes + 1 and len(woken) == 1  # the read is not a write

    done = threading.Event()

    def write() -> None:
        inside.put_item(TableName="gated", Item={"pk": {"S": "b"}})
        done.set()

    with moto_server.gate.closed():  # a snapshot copying moto's state
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        assert not done.is_set()
    writer.join(timeout=10)
    assert done.is_set()


def _answers(dynamodb: Any, sqs: Any) -> list[Any]:
    """The data-plane operations of ``test_moto_speed`` and some SQS ones, answers and errors, on a
    fresh table ``t`` and queue ``q`` (ids and times left out)."""
    from tests.integration.test_moto_speed import operations

    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
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
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    calls = [
        *operations(dynamodb),
        lambda: dynamodb.put_item(
            TableName="t",
            Item={"pk": {"S": "a"}, "sk": {"N": "7"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "n"}, "sk": {"N": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "a"}, "sk": {"N": "7"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        ),
        lambda: dynamodb.get_item(TableName="no-such-table", Key={"pk": {"S": "a"}}),
        lambda: dynamodb.query(TableName="t", KeyConditionExpression="nope = :p"),
        lambda: sqs.send_message(QueueUrl=url, MessageBody="é", MessageAttributes=_ATTRIBUTES),
        lambda: sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"]),
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]),
        lambda: sqs.get_queue_url(QueueName="no-such-queue"),
    ]
    found: list[Any] = []
    for call in calls:
        try:
            answer = call()
        except ClientError as exc:
            answer = {"error": exc.response}
        _without_ids(answer)
        found.append(answer)
    dynamodb.delete_table(TableName="t")
    sqs.delete_queue(QueueUrl=url)
    return found


_ATTRIBUTES = {"kind": {"DataType": "String", "StringValue": "x"}}


def _without_ids(answer: dict[str, Any]) -> None:
    for response in (answer, answer.get("error", {})):
        metadata = response.pop("ResponseMetadata", {})
        assert metadata.get("RetryAttempts", 0) == 0
    for message in answer.get("Messages", []):
        for name in ("MessageId", "ReceiptHandle"):
            message.pop(name)
        for name in ("SentTimestamp", "ApproximateFirstReceiveTimestamp"):
            message["Attributes"].pop(name)
    answer.pop("MessageId", None)


def test_json_calls_are_answered_before_signing_as_the_socket_answers_them(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
):
    from botocore.auth import SigV4Auth

    signed: list[str] = []
    sign = SigV4Auth.add_auth

    def spy(self: Any, request: Any) -> None:
        signed.append(request.url)
        sign(self, request)

    monkeypatch.setattr(SigV4Auth, "add_auth", spy)
    inside = _answers(client("dynamodb", moto_server.endpoint), client("sqs", moto_server.endpoint))
    assert signed == []  # nothing signed: answered at before-call
    outside_endpoint = over_the_socket(moto_server.endpoint)
    outside = _answers(client("dynamodb", outside_endpoint), client("sqs", outside_endpoint))
    assert signed  # the socket's requests are signed
    assert inside == outside
    errors = [answer["error"]["Error"]["Code"] for answer in inside if "error" in answer]
    assert errors == [
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "ResourceNotFoundException",
        "ValidationException",
        "AWS.SimpleQueueService.NonExistentQueue",
    ]
    cancelled = next(
        a for a in inside if a.get("error", {}).get("Error", {}).get("Code") == "TransactionCanceledException"
    )
    assert [r["Code"] for r in cancelled["error"]["CancellationReasons"]] == [
        "None",
        "ConditionalCheckFailed",
    ]
    assert inside[-3]["Messages"][0]["Body"] == "é"


def test_other_endpoints_are_left_alone(moto_server: MotoServer):
    inprocess.unroute(moto_server.endpoint)
    moto_server.server.shutdown()
    moto_server.server.server_close()
    with pytest.raises(EndpointConnectionError):  # over the (closed) socket: not answered in process
        client("dynamodb", moto_server.endpoint).list_tables()
