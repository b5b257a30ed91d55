"""``leadflow deploy`` and ``leadflow destroy``: one stack per stage, from this checkout.

deploy: package (python3.12, arm64) -> upload the zip to an artifacts bucket (created when not given)
-> expand the SAM template here (the template CI lints and creates on moto) and upload it -> a change
set (create or update) with the stage's parameters -> show it (``--dry-run`` stops there and removes
it) -> execute and wait -> print the outputs. CloudFormation rolls a failed update back, so the
previous version keeps serving; a failed first creation leaves a stack in ROLLBACK_COMPLETE that must
be removed before the next try (both are said in one line, with the failing resources' reasons).

Every AWS error ends as one line (:class:`DeployError`) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadflow_local import packaging

STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
CAPABILITIES = ["CAPABILITY_IAM"]
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "The submitted information")
_BUSY = re.compile(r"_IN_PROGRESS$")
#: Seconds between two looks at a change set or stack (tests on moto shorten it).
POLL_SECONDS = 5.0
Echo = Callable[[str], None]


class DeployError(Exception):
    """What went wrong, in one line an operator can act on."""


def stack_name(stage: str) -> str:
    return f"leadflow-{stage}"


def prepare_template(template: dict[str, Any]) -> dict[str, Any]:
    """The expanded template as CloudFormation gets it (tests on moto replace this to adapt what moto
    lacks; see ``tests/infra/moto_cloud.py``)."""
    return template


@dataclass
class Options:
    stage: str
    region: str | None = None
    bucket: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    out: Path = Path("out")
    poll_seconds: float = field(default_factory=lambda: POLL_SECONDS)
    timeout_seconds: float = 3600.0


def parse_parameters(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``["AlarmEmail=ops@example.com", ...]`` -> a dict; a pair without ``=`` is refused."""
    found = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise DeployError(f"--param {pair!r}: write it as NAME=VALUE")
        found[key.strip()] = value
    return found


# ---------------------------------------------------------------- AWS errors as one line


_DENIED = re.compile(r"AccessDenied|UnauthorizedOperation|NotAuthorized|AuthorizationError|Forbidden")


@contextlib.contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Turn botocore's exceptions into :class:`DeployError` naming what was being done."""
    from botocore import exceptions

    try:
        yield
    except (exceptions.NoCredentialsError, exceptions.PartialCredentialsError):
        raise DeployError(
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or sign "
            "in with `aws sso login`"
        ) from None
    except exceptions.NoRegionError:
        raise DeployError("no AWS region: pass --region or set AWS_DEFAULT_REGION") from None
    except (exceptions.EndpointConnectionError, exceptions.ConnectTimeoutError) as error:
        raise DeployError(f"cannot reach AWS while {doing}: {error}") from None
    except exceptions.ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", "")) or str(error)
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            raise DeployError(f"the AWS credentials have expired ({doing}): renew them") from None
        if _DENIED.search(code) or _DENIED.search(message):
            raise DeployError(
                f"permission denied while {doing}: {message} (docs/deploy.md lists what the deployer needs)"
            ) from None
        raise DeployError(f"{doing} failed: {code}: {message}") from None
    except exceptions.BotoCoreError as error:
        raise DeployError(f"{doing} failed: {error}") from None


# ---------------------------------------------------------------- deploy


@dataclass
class Cloud:
    """The clients a deployment uses, in one region."""

    region: str
    account: str
    s3: Any
    cloudformation: Any
    secrets: Any
    lambda_: Any = None

    @classmethod
    def connect(cls, region: str | None) -> Cloud:
        import boto3

        with aws_errors("reading the AWS configuration"):
            session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
            if not session.region_name:
                raise DeployError("no AWS region: pass --region or set AWS_DEFAULT_REGION")
            with aws_errors("checking the AWS credentials (sts:GetCallerIdentity)"):
                account = str(session.client("sts").get_caller_identity()["Account"])
            return cls(
                region=session.region_name,
                account=account,
                s3=session.client("s3"),
                cloudformation=session.client("cloudformation"),
                secrets=session.client("secretsmanager"),
                lambda_=session.client("lambda"),
            )


def deploy(options: Options, echo: Echo, packaged: packaging.Packaged | None = None) -> dict[str, str]:
    """Deploy (or, with ``dry_run``, show) the stage; the stack's outputs (``{}`` for a dry run)."""
    if not STAGE_PATTERN.match(options.stage):
        raise DeployError(
            f"--stage {options.stage!r}: lower-case letters, digits and '-', "
            "starting with a letter, at most 16"
        )
    cloud = Cloud.connect(options.region)
    name = stack_name(options.stage)
    if packaged is None:
        echo(f"packaging {options.stage} for {packaging.LAMBDA_RUNTIME} on arm64 ...")
        try:
            packaged = packaging.package(options.stage, options.out)
        except packaging.PackagingError as error:
            raise DeployError(str(error).splitlines()[-1] if str(error) else "packaging failed") from None
    bucket = options.bucket or f"leadflow-artifacts-{cloud.account}-{cloud.region}"
    ensure_bucket(cloud, bucket, created_by_us=options.bucket is None, echo=echo)
    digest = hashlib.sha256(packaged.zip.read_bytes()).hexdigest()[:16]
    zip_key = f"leadflow/{options.stage}/deployment-{digest}.zip"
    upload(cloud, bucket, zip_key, packaged.zip.read_bytes(), echo)
    sam = upload_layers(cloud, bucket, options.stage, packaged.sam(), packaged.template.parent, echo)
    parameters = resolve_parameters(sam, options)
    if "SecretsArn" in sam.get("Parameters", {}) and "SecretsArn" not in parameters:
        parameters["SecretsArn"] = ensure_secret(cloud, options.stage, options.dry_run, echo)
    template = prepare_template(
        packaging.expand(sam, f"s3://{bucket}/{zip_key}", cloud.region, {"Stage": options.stage})
    )
    body = json.dumps(template, separators=(",", ":")).encode()
    template_key = f"leadflow/{options.stage}/template-{hashlib.sha256(body).hexdigest()[:16]}.json"
    upload(cloud, bucket, template_key, body, echo)
    echo(
        f"template: {len(body):,} bytes (s3://{bucket}/{template_key}); "
        f"code: {packaged.zip.stat().st_size:,} bytes"
    )
    status = stack_status(cloud, name)
    kind = change_set_kind(name, options.stage, status)
    if kind == "CREATE":
        check_concurrency(cloud, sam, parameters)
    url = f"https://{bucket}.s3.{cloud.region}.amazonaws.com/{template_key}"
    change_set = create_change_set(cloud, name, kind, url, parameters, template, options)
    if change_set is None:
        echo(f"no changes: {name} already runs this version")
        return outputs(cloud, name)
    show_change_set(cloud, name, change_set, kind, echo)
    if options.dry_run:
        discard_change_set(cloud, name, change_set, kind, options)
        echo("dry run: nothing was changed")
        return {}
    return execute(cloud, name, change_set, kind, options, echo)


def ensure_bucket(cloud: Cloud, bucket: str, created_by_us: bool, echo: Echo) -> None:
    """The artifacts bucket exists and is ours; created private and encrypted when we name it."""
    from botocore.exceptions import ClientError

    try:
        cloud.s3.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("403", "AccessDenied"):
            raise DeployError(f"the artifacts bucket {bucket} belongs to someone else or denies us") from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            with aws_errors(f"reading the artifacts bucket {bucket}"):
                raise
    if not created_by_us:
        raise DeployError(
            f"--bucket {bucket}: no such bucket in {cloud.region} (omit --bucket to have one made)"
        )
    with aws_errors(f"creating the artifacts bucket {bucket}"):
        location = {} if cloud.region == "us-east-1" else {"LocationConstraint": cloud.region}
        cloud.s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": location} if location else {}))
        cloud.s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    echo(f"created the artifacts bucket {bucket}")


def upload(cloud: Cloud, bucket: str, key: str, body: bytes, echo: Echo) -> None:
    """Content-addressed keys: what is there already is not sent again."""
    from botocore.exceptions import ClientError

    with contextlib.suppress(ClientError):
        cloud.s3.head_object(Bucket=bucket, Key=key)
        return
    with aws_errors(f"uploading s3://{bucket}/{key}"):
        cloud.s3.put_object(Bucket=bucket, Key=key, Body=body)
    echo(f"uploaded s3://{bucket}/{key}")


#: Lambda keeps this many concurrent executions of an account unreserved.
UNRESERVED_MINIMUM = 10


def check_concurrency(cloud: Cloud, sam: dict[str, Any], parameters: dict[str, str]) -> None:
    """A new stack reserves ``ApiReservedConcurrency`` for the API; an account whose quota cannot spare
    it (new accounts may have 10) would fail half way through creation: say so before."""
    from botocore.exceptions import BotoCoreError, ClientError

    spec = sam.get("Parameters", {}).get("ApiReservedConcurrency")
    if spec is None or cloud.lambda_ is None:
        return
    wanted = int(parameters.get("ApiReservedConcurrency", spec.get("Default", 0)))
    if wanted <= 0:
        return
    try:
        limits = cloud.lambda_.get_account_settings()["AccountLimit"]
    except (ClientError, BotoCoreError, KeyError):
        return  # not allowed to look: CloudFormation will say it, if it is so
    unreserved, total = limits.get("UnreservedConcurrentExecutions", 0), limits.get("ConcurrentExecutions")
    if wanted > int(unreserved) - UNRESERVED_MINIMUM:
        raise DeployError(
            f"the account's Lambda concurrency cannot reserve {wanted} for the API ({unreserved} "
            f"unreserved of {total}): pass --param ApiReservedConcurrency=0, or ask AWS for a higher quota"
        )


def upload_layers(
    cloud: Cloud, bucket: str, stage: str, sam: dict[str, Any], build: Path, echo: Echo
) -> dict[str, Any]:
    """Every ``AWS::Serverless::LayerVersion`` whose ``ContentUri`` is a file of the build directory
    (a layer built beside the zip, e.g. the training layer) uploaded like the zip, its URI rewritten."""
    for name, resource in sam.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::LayerVersion":
            continue
        uri = resource.get("Properties", {}).get("ContentUri")
        if not isinstance(uri, str) or uri.startswith("s3://"):
            continue
        path = (build / uri).resolve()
        if not path.is_file():
            raise DeployError(f"the layer {name} needs {path}: build it first (see the Makefile)")
        body = path.read_bytes()
        key = f"leadflow/{stage}/{path.stem}-{hashlib.sha256(body).hexdigest()[:16]}{path.suffix}"
        upload(cloud, bucket, key, body, echo)
        resource["Properties"]["ContentUri"] = f"s3://{bucket}/{key}"
    return sam


def secret_name(stage: str) -> str:
    return f"leadflow/{stage}/app"


def ensure_secret(cloud: Cloud, stage: str, dry_run: bool, echo: Echo) -> str:
    """The ARN of the stage's secret (provider secrets, see chalicelib/secrets.py), created empty when
    missing, never overwritten. A dry run creates nothing (and passes no secret)."""
    from botocore.exceptions import ClientError

    name = secret_name(stage)
    try:
        with contextlib.suppress(KeyError):
            return str(cloud.secrets.describe_secret(SecretId=name)["ARN"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            with aws_errors(f"reading the secret {name}"):
                raise
    if dry_run:
        echo(f"would create the secret {name} (empty)")
        return ""
    with aws_errors(f"creating the secret {name}"):
        arn = str(
            cloud.secrets.create_secret(
                Name=name,
                SecretString="{}",
                Description="Leadflow: LINKEDIN_CLIENT_SECRET, LINKEDIN_ACCESS_TOKEN, CAPTCHA_SECRETS",
                Tags=[{"Key": "leadflow:stage", "Value": stage}],
            )["ARN"]
        )
    echo(f"created the secret {name} (empty: put the provider secrets there, see docs/deploy.md)")
    return arn


def resolve_parameters(sam: dict[str, Any], options: Options) -> dict[str, str]:
    """The given ``--param`` values checked against the template's parameters; ``Stage`` from
    ``--stage``. An unknown name is refused here, with the names the template has."""
    declared = sam.get("Parameters", {})
    unknown = sorted(set(options.parameters) - set(declared))
    if unknown:
        raise DeployError(
            f"unknown parameter {', '.join(unknown)}: the template has {', '.join(sorted(declared))}"
        )
    if "Stage" in options.parameters and options.parameters["Stage"] != options.stage:
        raise DeployError("--param Stage=...: the stage comes from --stage")
    return {**options.parameters, "Stage": options.stage}


def stack_status(cloud: Cloud, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        with contextlib.suppress(KeyError, IndexError):
            return str(cloud.cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        with aws_errors(f"reading the stack {name}"):
            raise
    return None


def change_set_kind(name: str, stage: str, status: str | None) -> str:
    """CREATE or UPDATE, or why neither is possible now."""
    if status in (None, "REVIEW_IN_PROGRESS"):
        return "CREATE"
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        raise DeployError(
            f"{name} is {status} (its first creation failed; nothing serves): remove it with "
            f"`leadflow destroy --stage {stage}`, then deploy again"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(
            f"{name} is UPDATE_ROLLBACK_FAILED: fix the resource named in its events, run "
            f"`aws cloudformation continue-update-rollback --stack-name {name}`, then deploy again"
        )
    if _BUSY.search(status):
        raise DeployError(f"{name} is busy ({status}): wait until it has finished, then deploy again")
    return "UPDATE"


def _parameter_list(
    template: dict[str, Any], given: dict[str, str], kind: str, previous: set[str]
) -> list[dict[str, Any]]:
    """Given values; on an update, the previous value of every parameter not given (so a stage keeps
    its settings); the template's default otherwise. A parameter without any value is refused."""
    found = []
    for key, spec in template.get("Parameters", {}).items():
        if key in given:
            found.append({"ParameterKey": key, "ParameterValue": given[key]})
        elif kind == "UPDATE" and key in previous:
            found.append({"ParameterKey": key, "UsePreviousValue": True})
        elif "Default" not in spec:
            raise DeployError(
                f"parameter {key} has no value: pass --param {key}=... ({spec.get('Description', '')})"
            )
    return found


def create_change_set(
    cloud: Cloud,
    name: str,
    kind: str,
    url: str,
    parameters: dict[str, str],
    template: dict[str, Any],
    options: Options,
) -> str | None:
    """The change set's name, or ``None`` when the template and parameters change nothing."""
    previous: set[str] = set()
    if kind == "UPDATE":
        with aws_errors(f"reading the stack {name}"):
            stack = cloud.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        previous = {p["ParameterKey"] for p in stack.get("Parameters", [])}
    change_set = "deploy-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with aws_errors(f"creating the change set for {name}"):
        cloud.cloudformation.create_change_set(
            StackName=name,
            ChangeSetName=change_set,
            ChangeSetType=kind,
            TemplateURL=url,
            Parameters=_parameter_list(template, parameters, kind, previous),
            Capabilities=CAPABILITIES,
            Tags=[{"Key": "leadflow:stage", "Value": options.stage}],
            Description=f"leadflow deploy --stage {options.stage}",
        )
    deadline = time.monotonic() + options.timeout_seconds
    while True:
        with aws_errors(f"reading the change set {change_set}"):
            described = cloud.cloudformation.describe_change_set(StackName=name, ChangeSetName=change_set)
        status = described.get("Status", "")
        if status == "CREATE_COMPLETE":
            return change_set
        if status == "FAILED":
            reason = str(described.get("StatusReason", ""))
            if any(marker in reason for marker in _NO_CHANGES):
                discard_change_set(cloud, name, change_set, kind, options)
                return None
            raise DeployError(f"CloudFormation refused the change set: {reason}")
        if time.monotonic() > deadline:
            raise DeployError(f"the change set {change_set} was not ready in time ({status})")
        time.sleep(options.poll_seconds)


def change_list(cloud: Cloud, name: str, change_set: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        with aws_errors(f"reading the change set {change_set}"):
            page = cloud.cloudformation.describe_change_set(
                StackName=name, ChangeSetName=change_set, **({"NextToken": token} if token else {})
            )
        changes += [c["ResourceChange"] for c in page.get("Changes", []) if "ResourceChange" in c]
        token = page.get("NextToken")
        if not token:
            return changes


def show_change_set(cloud: Cloud, name: str, change_set: str, kind: str, echo: Echo) -> None:
    changes = change_list(cloud, name, change_set)
    echo(f"change set {change_set} ({kind} {name}): {len(changes)} resource changes")
    for change in sorted(
        changes,
        key=lambda c: (c.get("Action", ""), c.get("ResourceType", ""), c.get("LogicalResourceId", "")),
    ):
        replacement = change.get("Replacement")
        note = (
            "  (replaced)"
            if replacement == "True"
            else "  (may be replaced)"
            if replacement == "Conditional"
            else ""
        )
        echo(
            f"  {change.get('Action', '?'):<7} {change.get('ResourceType', '?'):<36} "
            f"{change.get('LogicalResourceId', '?')}{note}"
        )


def discard_change_set(cloud: Cloud, name: str, change_set: str, kind: str, options: Options) -> None:
    """Remove an unexecuted change set, and the empty stack a CREATE change set makes."""
    with aws_errors(f"removing the change set {change_set}"):
        cloud.cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
        if kind == "CREATE":
            cloud.cloudformation.delete_stack(StackName=name)
    if kind == "CREATE":
        wait(cloud, name, options, lambda status: status is None or status == "DELETE_COMPLETE")


def wait(cloud: Cloud, name: str, options: Options, done: Callable[[str | None], bool]) -> str | None:
    deadline = time.monotonic() + options.timeout_seconds
    while True:
        status = stack_status(cloud, name)
        if done(status) or (status is not None and not _BUSY.search(status)):
            return status
        if time.monotonic() > deadline:
            raise DeployError(f"{name} is still {status}: follow it in the CloudFormation console")
        time.sleep(options.poll_seconds)


def failures(cloud: Cloud, name: str, since: datetime) -> list[str]:
    """The failed resources' reasons since ``since``, oldest first."""
    with aws_errors(f"reading the events of {name}"):
        events = cloud.cloudformation.describe_stack_events(StackName=name).get("StackEvents", [])
    found = []
    for event in reversed(events):
        stamp = event.get("Timestamp")
        if stamp is not None and stamp < since:
            continue
        if str(event.get("ResourceStatus", "")).endswith("_FAILED") and event.get("ResourceStatusReason"):
            found.append(f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}")
    return found


def execute(
    cloud: Cloud, name: str, change_set: str, kind: str, options: Options, echo: Echo
) -> dict[str, str]:
    started = datetime.now(UTC).replace(microsecond=0)
    with aws_errors(f"executing the change set {change_set}"):
        cloud.cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
    echo(f"{'creating' if kind == 'CREATE' else 'updating'} {name} in {cloud.region} ...")
    status = wait(cloud, name, options, lambda s: s in ("CREATE_COMPLETE", "UPDATE_COMPLETE"))
    if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        found = outputs(cloud, name)
        print_outputs(found, name, cloud.region, echo)
        return found
    for reason in failures(cloud, name, started)[:5]:
        echo(f"  failed: {reason}")
    if kind == "UPDATE":
        raise DeployError(
            f"the update failed and was rolled back ({status}): the previous version is still serving"
        )
    raise DeployError(
        f"the creation failed ({status}): remove it with `leadflow destroy --stage {options.stage}` "
        "and deploy again"
    )


def outputs(cloud: Cloud, name: str) -> dict[str, str]:
    with aws_errors(f"reading the outputs of {name}"):
        stack = cloud.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def print_outputs(found: dict[str, str], name: str, region: str, echo: Echo) -> None:
    echo(f"{name} is up in {region}")
    echo(f"API URL          {found.get('EndpointURL', '?')}")
    echo(f"Console          {found.get('ConsoleURL', '?')}")
    echo(f"Hand-off queue   {found.get('SalesHandoffQueueUrl', '?')}")
    letters = {k: v for k, v in found.items() if "DeadLetterQueueUrl" in k or k == "StreamFailuresQueueUrl"}
    echo("Dead letters")
    for key in sorted(letters):
        echo(f"  {key.removesuffix('Url'):<40} {letters[key]}")
    if "ApiKeysTableName" in found:
        echo(
            f"First admin key  API_KEYS_TABLE={found['ApiKeysTableName']} AWS_DEFAULT_REGION={region} "
            "leadflow keys create --name ops --scope admin"
        )


# ---------------------------------------------------------------- destroy


def destroy(stage: str, region: str | None, echo: Echo, options: Options | None = None) -> list[str]:
    """Delete the stage's stack; the retained resources (tables, dead-letter queues, the imports
    bucket) stay, and are listed."""
    if not STAGE_PATTERN.match(stage):
        raise DeployError(f"--stage {stage!r}: no such stage name")
    options = options or Options(stage=stage, region=region)
    cloud = Cloud.connect(region)
    name = stack_name(stage)
    if stack_status(cloud, name) is None:
        raise DeployError(f"no stack {name} in {cloud.region}")
    kept = retained(cloud, name)
    with aws_errors(f"deleting {name}"):
        cloud.cloudformation.delete_stack(StackName=name)
    echo(f"deleting {name} in {cloud.region} ...")
    started = datetime.now(UTC).replace(microsecond=0)
    status = wait(cloud, name, options, lambda s: s in (None, "DELETE_COMPLETE"))
    if status not in (None, "DELETE_COMPLETE"):
        for reason in failures(cloud, name, started)[:5]:
            echo(f"  failed: {reason}")
        raise DeployError(
            f"{name} could not be deleted ({status}); fix the resources above and run destroy again"
        )
    echo(f"deleted {name}")
    if kept:
        echo("kept (DeletionPolicy Retain: your data; delete them by hand once you no longer need them):")
        for line in kept:
            echo(f"  {line}")
    return kept


def retained(cloud: Cloud, name: str) -> list[str]:
    with aws_errors(f"reading the template of {name}"):
        body = cloud.cloudformation.get_template(StackName=name)["TemplateBody"]
        summaries = cloud.cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    template = body if isinstance(body, dict) else json.loads(body)
    keep = {k for k, v in template.get("Resources", {}).items() if v.get("DeletionPolicy") == "Retain"}
    return sorted(
        f"{s['ResourceType']:<24} {s.get('PhysicalResourceId', '')}"
        for s in summaries
        if s["LogicalResourceId"] in keep
    )
