"""Tables, streams and queues created from ``infra/template.json``: the same declarations the cloud
template deploys, so the local stack and AWS cannot drift apart."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from leadflow_local import project

TEMPLATE = project.ROOT / "infra" / "template.json"
_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
)
_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


#: ``Ref: AWS::NoValue``: the property (here, the variable) is left out.
NO_VALUE = object()
#: The pseudo parameters locally (moto's account).
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::URLSuffix": "amazonaws.com",
}
_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


@dataclass
class LocalResources:
    tables: dict[str, str] = field(default_factory=dict)
    streams: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    #: The template's parameters (their defaults) and conditions, evaluated.
    parameters: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    #: A computed name (the canonical JSON of its ``Fn::Sub``) -> the local resource's name, so a
    #: variable that computes a bucket's name gets the local bucket.
    computed_names: dict[str, str] = field(default_factory=dict)
    #: Other named resources (the SES configuration set), by logical id.
    names: dict[str, str] = field(default_factory=dict)
    #: The user pool and its app client (logical id -> id); absent (no Cognito client given): "".
    cognito: dict[str, str] = field(default_factory=dict)

    def ref(self, logical_id: str) -> str:
        """What CloudFormation's ``Ref`` gives: a table's or bucket's name, a queue's URL, a parameter."""
        if logical_id in self.parameters:
            return self.parameters[logical_id]
        if logical_id == "AWS::NoValue":
            return NO_VALUE  # type: ignore[return-value]
        if logical_id in PSEUDO:
            return PSEUDO[logical_id]
        if logical_id in self.cognito:
            return self.cognito[logical_id]
        return (
            self.tables.get(logical_id)
            or self.buckets.get(logical_id)
            or self.names.get(logical_id)
            or self.queue_urls[logical_id]
        )

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "StreamArn":
            return self.streams[logical_id]
        if attribute == "Arn":
            return self.queue_arns[logical_id]
        if attribute == "QueueName":
            return self.queue_urls[logical_id].rsplit("/", 1)[1]
        raise KeyError(f"{logical_id}.{attribute} is not supported locally")

    def resolve(self, value: Any) -> Any:
        """The value of ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::If`` against local resources."""
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            return self.get_att(*argument)
        if function == "Fn::Sub":
            return self.computed_names.get(_canonical(value)) or self._sub(argument)
        if function == "Fn::If":
            return self.resolve(argument[1] if self.conditions[argument[0]] else argument[2])
        return value

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name not in PSEUDO:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return _SUB_NAME.sub(value, text).replace("${!", "${")

    def evaluate(self, template: dict[str, Any]) -> None:
        """Parameters at their defaults and the conditions they decide."""
        for name, spec in template.get("Parameters", {}).items():
            self.parameters.setdefault(name, str(spec.get("Default", "")))
        for name in template.get("Conditions", {}):
            self.conditions[name] = self._condition(template, name)

    def _condition(self, template: dict[str, Any], name: str) -> bool:
        return bool(self._truth(template, template["Conditions"][name]))

    def _truth(self, template: dict[str, Any], expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Fn::Equals":
            left, right = (str(self.resolve(side)) for side in argument)
            return left == right
        if function == "Fn::Not":
            return not self._truth(template, argument[0])
        if function == "Fn::And":
            return all(self._truth(template, inner) for inner in argument)
        if function == "Fn::Or":
            return any(self._truth(template, inner) for inner in argument)
        if function == "Condition":
            return self._condition(template, argument)
        raise ValueError(f"{function} is not supported in local conditions")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == kind}


def create_resources(
    template: dict[str, Any],
    dynamodb: Any,
    sqs: Any,
    prefix: str,
    s3: Any = None,
    ses: Any = None,
    cognito: Any = None,
) -> LocalResources:
    """Create every table (with its stream and TTL), queue (dead-letter queues first), bucket (with
    an ``s3`` client), SES configuration set, with the default sender verified (with an ``sesv2``
    client), and user pool with its app client and groups (with a ``cognito-idp`` client; without
    one, they resolve to "": sign-in is off). What exists already is kept, so a restart on the same
    moto server finds its data."""
    found = LocalResources()
    found.evaluate(template)
    for logical_id in (
        *_of_type(template, "AWS::Cognito::UserPool"),
        *_of_type(template, "AWS::Cognito::UserPoolClient"),
    ):
        found.cognito[logical_id] = ""
    if cognito is not None:
        _create_user_pools(found, template, cognito, prefix)
    if s3 is not None:
        for logical_id, resource in _of_type(template, "AWS::S3::Bucket").items():
            name = f"{prefix}{logical_id}".lower()
            computed = resource.get("Properties", {}).get("BucketName")
            if isinstance(computed, dict):
                found.computed_names[_canonical(computed)] = name
            with contextlib.suppress(
                s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists
            ):
                s3.create_bucket(Bucket=name)
            found.buckets[logical_id] = name
    for logical_id, resource in _of_type(template, "AWS::DynamoDB::Table").items():
        _create_table(found, logical_id, resource["Properties"], dynamodb, prefix)
    queues = _of_type(template, "AWS::SQS::Queue")
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]["Properties"]):
        _create_queue(found, logical_id, queues[logical_id]["Properties"], sqs, prefix)
    _create_mail(found, template, ses, prefix)
    return found


def _create_mail(found: LocalResources, template: dict[str, Any], ses: Any, prefix: str) -> None:
    """The SES configuration sets (named even without an ``sesv2`` client) and the verified sender."""
    for logical_id in _of_type(template, "AWS::SES::ConfigurationSet"):
        name = f"{prefix}{logical_id}".lower()
        found.names[logical_id] = name
        if ses is not None:
            _unless_exists(partial(ses.create_configuration_set, ConfigurationSetName=name))
    sender = found.parameters.get("MailFrom")
    if ses is not None and sender:
        # SES sends only from a verified identity; on AWS that is a domain (docs/email.md)
        _unless_exists(partial(ses.create_email_identity, EmailIdentity=sender))


def _unless_exists(create: Any) -> None:
    """Create an SES resource; one there already (a restart on the same moto server) is kept. SES says
    ``AlreadyExistsException``; moto says ``ConfigurationSetAlreadyExistsException`` for a set."""
    from botocore.exceptions import ClientError

    try:
        create()
    except ClientError as error:
        if not error.response.get("Error", {}).get("Code", "").endswith("AlreadyExistsException"):
            raise


def _create_user_pools(found: LocalResources, template: dict[str, Any], cognito: Any, prefix: str) -> None:
    """Each user pool (found by name when it exists), its app clients and groups, as declared."""
    pools = {p["Name"]: p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"]}
    for logical_id, resource in _of_type(template, "AWS::Cognito::UserPool").items():
        props = {
            k: v for k, v in resource["Properties"].items() if k not in ("UserPoolName", "DeletionProtection")
        }
        name = f"{prefix}{logical_id}"
        if name not in pools:
            pools[name] = cognito.create_user_pool(PoolName=name, **props)["UserPool"]["Id"]
        found.cognito[logical_id] = pools[name]
    for logical_id, resource in _of_type(template, "AWS::Cognito::UserPoolClient").items():
        props = dict(resource["Properties"])
        pool_id = found.resolve(props.pop("UserPoolId"))
        props["ClientName"] = f"{prefix}{logical_id}"
        clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        known = next((c["ClientId"] for c in clients if c["ClientName"] == props["ClientName"]), None)
        found.cognito[logical_id] = (
            known
            or cognito.create_user_pool_client(UserPoolId=pool_id, **props)["UserPoolClient"]["ClientId"]
        )
    for resource in _of_type(template, "AWS::Cognito::UserPoolGroup").values():
        props = dict(resource["Properties"])
        pool_id = found.resolve(props.pop("UserPoolId"))
        with contextlib.suppress(cognito.exceptions.GroupExistsException):
            cognito.create_group(UserPoolId=pool_id, **props)


def _create_table(
    found: LocalResources, logical_id: str, props: dict[str, Any], dynamodb: Any, prefix: str
) -> None:
    name = f"{prefix}{logical_id}"
    # the capacity mode and throughputs are ``Fn::If``s on ``TableCapacity`` (infra/capacity.py):
    # locally on demand, the throughputs left out
    kwargs: dict[str, Any] = {key: _resolved(found, props[key]) for key in _TABLE_KEYS if key in props}
    kwargs = {key: value for key, value in kwargs.items() if value is not NO_VALUE}
    if "SSESpecification" in props:  # CloudFormation says SSEEnabled where the API says Enabled
        kwargs["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
    if "StreamSpecification" in props:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    try:
        dynamodb.create_table(TableName=name, **kwargs)
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
    except dynamodb.exceptions.ResourceInUseException:
        _add_new_indexes(name, {**props, **kwargs}, dynamodb)
    found.tables[logical_id] = name
    stream = dynamodb.describe_table(TableName=name)["Table"].get("LatestStreamArn")
    if stream:
        found.streams[logical_id] = stream


def _resolved(found: LocalResources, value: Any) -> Any:
    """``value`` with every intrinsic function inside it resolved, and what resolves to
    ``AWS::NoValue`` left out."""
    value = found.resolve(value)
    if isinstance(value, dict):
        pairs = ((key, _resolved(found, item)) for key, item in value.items())
        return {key: item for key, item in pairs if item is not NO_VALUE}
    if isinstance(value, list):
        return [item for item in (_resolved(found, item) for item in value) if item is not NO_VALUE]
    return value


def _add_new_indexes(name: str, props: dict[str, Any], dynamodb: Any) -> None:
    """A table kept from an earlier run (a restored snapshot) gets the global secondary indexes the
    template added since (issue 19: the scores' ``by_due``), as a deployment's update would; an index
    the template dropped is left (nothing reads it), and DynamoDB fills a new index from the items."""
    held = {
        i["IndexName"]
        for i in dynamodb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    }
    types = {a["AttributeName"]: a for a in props.get("AttributeDefinitions", [])}
    for index in props.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in held:
            continue
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=[types[k["AttributeName"]] for k in index["KeySchema"]],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index["IndexName"],
                        "KeySchema": index["KeySchema"],
                        "Projection": index["Projection"],
                    }
                }
            ],
        )


def _create_queue(
    found: LocalResources, logical_id: str, props: dict[str, Any], sqs: Any, prefix: str
) -> None:
    name = f"{prefix}{logical_id}" + (".fifo" if props.get("FifoQueue") else "")
    attributes = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in _QUEUE_ATTRIBUTES
        if key in props
    }
    if "RedrivePolicy" in props:
        policy = props["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": found.resolve(policy["deadLetterTargetArn"]),
                "maxReceiveCount": policy["maxReceiveCount"],
            }
        )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    found.queue_urls[logical_id] = url
    found.queue_arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]


def environment(template: dict[str, Any], found: LocalResources) -> dict[str, str]:
    """The functions' environment (``Globals.Function.Environment``), resolved against local resources."""
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    resolved = {name: found.resolve(value) for name, value in variables.items()}
    return {name: str(value) for name, value in resolved.items() if value is not NO_VALUE}


@dataclass(frozen=True)
class EventSource:
    """One event-source mapping of the template: which function reads which stream or queue, how."""

    function: str
    kind: str  # "DynamoDB" | "SQS"
    source: str  # logical id of the table or queue
    batch_size: int
    max_retries: int
    bisect: bool
    reports_failures: bool
    on_failure: str | None
    max_record_age: int | None = None


def event_sources(template: dict[str, Any]) -> list[EventSource]:
    found = []
    for function, resource in template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] not in ("DynamoDB", "SQS"):
                continue  # schedules are run by `leadflow` commands locally, not polled
            props = event["Properties"]
            ref = props.get("Stream") or props.get("Queue")
            destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            found.append(
                EventSource(
                    function=function,
                    kind=event["Type"],
                    source=ref["Fn::GetAtt"][0],
                    batch_size=int(props.get("BatchSize", 100 if event["Type"] == "DynamoDB" else 10)),
                    max_retries=int(props.get("MaximumRetryAttempts", 3)),
                    bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                    reports_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    on_failure=destination["Fn::GetAtt"][0] if destination else None,
                    max_record_age=int(props["MaximumRecordAgeInSeconds"])
                    if "MaximumRecordAgeInSeconds" in props
                    else None,
                )
            )
    return found


@dataclass(frozen=True)
class BucketEvent:
    """A function the template subscribes to a bucket's ``ObjectCreated`` events under a prefix."""

    function: str
    bucket: str  # logical id
    prefix: str


def bucket_events(template: dict[str, Any]) -> list[BucketEvent]:
    found = []
    for function, resource in template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] != "S3":
                continue
            props = event["Properties"]
            rules = props.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            prefix = next((r["Value"] for r in rules if r["Name"] == "prefix"), "")
            found.append(BucketEvent(function=function, bucket=props["Bucket"]["Ref"], prefix=prefix))
    return found
