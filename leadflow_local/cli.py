"""``leadflow``: the operator's command line."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import click

from leadflow_local import cli_journeys, cli_ops, cli_users, http, profiles


@click.group()
def main() -> None:
    """Leadflow: serverless lead management."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind the API and moto to.")
@click.option("--port", default=8000, show_default=True, help="Port of the HTTP API.")
@click.option(
    "--aws-port", default=5000, show_default=True, help="Port of the moto server (the AWS endpoint)."
)
@click.option(
    "--page-port",
    default=8080,
    show_default=True,
    help="With --demo: port of the sample landing page (examples/landing); 0 serves none.",
)
@click.option(
    "--api-key", envvar="LEADFLOW_API_KEY", default=None, help="Admin API key to create (random if unset)."
)
@click.option("--demo", is_flag=True, help="Define sample forms, post sample submissions, serve the page.")
@click.option(
    "--log-file",
    default=None,
    help="Where the stack's logs go (default: out/local/leadflow-PORT.log); '-' keeps them on the terminal.",
)
@click.option(
    "--profile/--no-profile",
    "write_profile",
    default=True,
    help="Write the CLI profile 'local' (local.toml) that every leadflow command then uses.",
)
@click.option(
    "--data-dir",
    envvar="LEADFLOW_DATA_DIR",
    default=".leadflow",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the stack keeps its data across restarts (snapshots of moto's state).",
)
@click.option("--no-persist", is_flag=True, help="Keep the data in memory only: a restart starts empty.")
@click.option(
    "--snapshot-seconds",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.5),
    help="How often changed data is saved (and at Ctrl-C); a kill -9 loses at most this much.",
)
def local(
    host: str,
    port: int,
    aws_port: int,
    page_port: int,
    api_key: str | None,
    demo: bool,
    log_file: str | None,
    write_profile: bool,
    data_dir: Path,
    no_persist: bool,
    snapshot_seconds: float,
) -> None:
    """Run the whole stack on this machine: moto, the tables and queues of infra/, the API, the pump."""
    _checkout("local")
    from leadflow_local import stack

    ports = {"--port": port, "--aws-port": aws_port, **({"--page-port": page_port} if demo else {})}
    _check_ports(host, ports)
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log_path = (
        None
        if log_file == "-"
        else Path(log_file or stack.PROJECT_DIR / "out" / "local" / f"leadflow-{port}.log")
    )
    with _output(log_path) as terminal:
        try:
            kept = None if no_persist else data_dir
            with stack.running(host, port, aws_port, api_key, kept, snapshot_seconds) as running:
                lines, page = _start_demo(running, host, page_port) if demo else ([], None)
                written = None
                if write_profile:
                    written = profiles.write_local(
                        running.api_url, running.api_key, _profile_env(running), os.getpid()
                    )
                try:
                    _banner(terminal, running, written, lines, log_path)
                    # a timed wait: a signal the kernel hands to another thread only sets a flag that
                    # the main thread reads when it runs Python, and an untimed wait never does
                    while not stopped.wait(0.5):
                        pass
                finally:
                    if written is not None:
                        profiles.remove_local(os.getpid())
                    if page is not None:
                        page.stop()
        except stack.StartFailed as exc:
            where = f"; the logs are in {log_path}" if log_path else ""
            raise click.ClickException(f"the local stack did not start: {exc}{where}") from None
        click.echo("Stopped.", file=terminal)


def _checkout(command: str) -> None:
    """One line, not a traceback, when a command that runs the checkout's app runs outside one (an
    installed ``leadflow``: leadflow_local/project.py)."""
    from leadflow_local import project

    try:
        project.require(command)
    except project.NotACheckout as error:
        raise click.ClickException(str(error)) from None


def _check_ports(host: str, ports: dict[str, int]) -> None:
    """A port in use is one line naming it, before anything starts."""
    import errno
    import socket

    for option, number in ports.items():
        if number == 0:
            continue
        with socket.socket() as probe:
            # as the servers bind: a port left in TIME_WAIT by a stack just stopped is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, number))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    message = f"cannot listen on {host}:{number} ({option}): {exc.strerror}"
                    raise click.ClickException(message) from None
                make = {"--port": "PORT", "--aws-port": "AWS_PORT", "--page-port": "PAGE_PORT"}[option]
                raise click.ClickException(
                    f"port {number} on {host} is in use ({option}): stop what listens there (another "
                    f"leadflow local?) or choose another port: {option} N, or make run {make}=N"
                ) from None


@contextmanager
def _output(log_path: Path | None) -> Iterator[TextIO]:
    """Everything the stack prints (JSON logs, metrics, the HTTP servers' lines) goes to ``log_path``;
    the banner and errors go to the terminal, returned here. Redirected at the descriptor level, so the
    loggers that bound ``sys.stdout`` at import follow."""
    if log_path is None:
        yield sys.stdout
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = open(os.dup(1), "w", buffering=1)  # noqa: SIM115 - closed below
    with log_path.open("a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            terminal.close()


def _start_demo(running: Any, host: str, page_port: int) -> tuple[list[str], Any]:
    from leadflow_local import demo as sample
    from leadflow_local.landing import LandingPage

    answers = sample.run(running.api_url, running.api_key)
    captured = sum(1 for a in answers if a.get("http_status") == 201)
    quarantined = sum(1 for a in answers if a.get("http_status") == 202)
    import_id = sample.start_import(running.api_url, running.api_key)
    page = LandingPage(host, page_port, running.api_url) if page_port else None
    sample.landing_form(running.api_url, running.api_key, page.origin if page else None)
    lines = [
        f"Demo           form contact-us: {captured} submissions captured, {quarantined} quarantined "
        f"(honeypot); a CSV import ({import_id}); form landing-demo for the landing page"
    ]
    if page is not None:
        page.start()
        lines.insert(0, f"Landing page   {page.url}   (examples/landing; its form posts to the API above)")
    return lines, page


def _profile_env(running: Any) -> dict[str, str]:
    """What the commands that talk to AWS need: the functions' environment (tables, queues) and moto's."""
    from leadflow_local import stack

    return {**running.environment, **stack.aws_environment(running.aws_endpoint)}


def _command() -> str:
    """How to call this CLI from where the user stands (the docs say ``.venv/bin/leadflow``)."""
    here = Path(sys.argv[0]).resolve()
    try:
        relative = here.relative_to(Path.cwd())
    except ValueError:
        return "leadflow"
    return str(relative) if relative.parts[0] == ".venv" else "leadflow"


def _banner(
    terminal: TextIO, running: Any, profile: Path | None, lines: list[str], logs: Path | None
) -> None:
    leadflow = _command()
    queue = running.resources.queue_urls["SalesHandoffQueue"]
    out = [
        "",
        f"Leadflow API   {running.api_url}   (console: {running.api_url}/console)",
        f"AWS endpoint   {running.aws_endpoint}   (moto; AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled)",
        f"Admin API key  {running.api_key}",
    ]
    out.append(_data_line(running))
    if running.people:
        pool = running.environment.get("COGNITO_USER_POOL_ID", "")
        out.append(f"Sign-in        {running.api_url}/console   (user pool {pool} on moto; local passwords)")
        out += [f"               {p.role:<14} {p.email:<22} {p.password}" for p in running.people]
    if profile is not None:
        out.append(f"CLI profile    {profile}: every {leadflow} command uses this stack")
    out.append(f"Hand-offs      {leadflow} handoff tail   (queue {queue})")
    out += lines
    if logs is not None:
        out.append(f"Logs           {logs}")
    out.append("Ready. Ctrl-C stops everything.")
    for line in out:
        click.echo(line, file=terminal)
    terminal.flush()


def _data_line(running: Any) -> str:
    if running.data_dir is None:
        return "Data           in memory only (--no-persist): a restart starts empty"
    since = f"restored from the snapshot of {running.restored.saved_at}" if running.restored else "new"
    return (
        f"Data           {Path(running.data_dir).resolve()}/ ({since}); saved at Ctrl-C and every "
        f"{running.snapshot_seconds:g} s: a kill -9 loses at most the last {running.snapshot_seconds:g} s"
    )


@main.group()
def keys() -> None:
    """API keys, written straight to the keys table of the AWS environment (the local stack's by default:
    its profile; or API_KEYS_TABLE, AWS_DEFAULT_REGION and credentials for a deployment)."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option(
    "--scope", "scopes", multiple=True, required=True, type=click.Choice(["ingest", "sales", "admin"])
)
@click.option("--user", "user_id", default=None, help="The person (user id) the key belongs to.")
@cli_ops.aws_command
def create(name: str, scopes: tuple[str, ...], user_id: str | None) -> None:
    """Create a key and print its secret once."""
    from chalicelib import wiring
    from chalicelib.services.access import create_key

    if user_id is not None and wiring.deps().people.get_user(user_id) is None:
        raise click.BadParameter(
            f"no such user: {user_id} (PUT /v1/users/{user_id} first)", param_hint="--user"
        )
    secret, key = create_key(name, list(scopes), wiring.deps().store, user_id=user_id)
    click.echo(f"{key.key_id}\t{secret}")


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON or YAML column mapping (see README, CSV imports); headers are recognised without one.",
)
@click.option("--topic", default="", help="The leads' topic.")
@click.option("--source", default="", help="The leads' source (default: import).")
@click.option("--campaign", default="")
@click.option("--name", default="", help="A name for the import (default: the file's).")
@click.option(
    "--wait/--no-wait", default=True, help="Follow the import with a progress bar until it is done."
)
@cli_ops.api_options
def import_file(
    path: Path,
    api: cli_ops.Api,
    mapping_file: Path | None,
    topic: str,
    source: str,
    campaign: str,
    name: str,
    wait: bool,
) -> None:
    """Import the leads of a CSV file (Dynamics, Salesforce and HubSpot exports are recognised)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from leadflow_local import importer
    from leadflow_local.terminal import markup_safe

    mapping = _read_mapping(mapping_file) if mapping_file else None
    options = {"topic": topic, "source": source, "campaign": campaign, "name": name or path.name}
    console = cli_ops.console()
    try:
        import_id = importer.start(api.url, api.key, path, mapping, options)
    except OSError as exc:
        raise cli_ops.unreachable(api.url, api.source, exc) from None
    except importer.ImportRefused as refused:
        raise cli_ops.ApiRefused("POST", "/v1/imports", refused.status, refused.answer) from None
    console.print(f"import {import_id}")
    if not wait:
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rows", total=None)

        def show(answer: dict[str, Any]) -> None:
            progress.update(
                task,
                total=answer.get("rows_total"),
                completed=answer.get("rows_done", 0),
                description=f"{answer['status']:<10}",
            )

        try:
            final = importer.follow(api.url, api.key, import_id, show)
        except OSError as exc:
            raise cli_ops.unreachable(api.url, api.source, exc) from None
    table = Table("created", "updated", "duplicates", "rejected", "interactions")
    counts = final["counts"]
    table.add_row(
        *(str(counts[k]) for k in ("created", "updated", "duplicates", "rejected")),
        str(final["interactions"]),
    )
    console.print(table)
    for error in final.get("errors", [])[:10]:
        details = "; ".join(f"{e['field']}: {e['message']}" for e in error["errors"])
        console.print(f"  row {error['row']} (line {error['line']}): {markup_safe(details)}")
    if final["status"] == "failed":
        raise click.ClickException(f"the import failed: {final.get('error', {}).get('message')}")


def _read_mapping(path: Path) -> dict[str, Any]:
    found = cli_ops.documents(path)  # YAML or JSON, read safely (leadflow_local/definitions.py)
    if len(found) != 1:
        raise click.ClickException(f"{path} must hold one column mapping")
    return found[0]


@main.group()
def handoff() -> None:
    """The sales-handoff queue: the local stack's by default (its profile), or HANDOFF_QUEUE_URL with the
    AWS environment of a deployment."""


def _sqs(endpoint_url: str | None) -> object:
    import boto3

    return boto3.session.Session().client("sqs", endpoint_url=endpoint_url)


def _setting(value: str | None, name: str, what: str) -> str:
    found = value or os.environ.get(name)
    if not found:
        raise cli_ops.MissingSetting(
            f"no {what}: set {name} (the stack's outputs name it), or start the local stack (make run), "
            "whose profile every leadflow command uses"
        )
    return found


@handoff.command()
@click.option("--queue-url", envvar="HANDOFF_QUEUE_URL", default=None, help="The sales-handoff queue.")
@click.option(
    "--endpoint-url", envvar="AWS_ENDPOINT_URL", default=None, help="The AWS endpoint (moto locally)."
)
@click.option("--follow/--once", default=True, help="Keep polling, or stop when the queue is empty.")
@click.option(
    "--count", type=click.IntRange(1), default=None, help="Stop after printing this many hand-offs."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Give up after this many seconds (exit 1 when --count was not reached).",
)
@cli_ops.aws_command
def tail(
    queue_url: str | None, endpoint_url: str | None, follow: bool, count: int | None, timeout: float | None
) -> None:
    """Print each hand-off and delete it once printed (a stand-in for a sales system)."""
    import time

    from chalicelib.integrations.handoff_consumer import consume, summary
    from leadflow_local.terminal import printable

    queue = _setting(queue_url, "HANDOFF_QUEUE_URL", "hand-off queue")
    sqs = _sqs(endpoint_url or os.environ.get("AWS_ENDPOINT_URL"))
    seen: set[str] = set()
    deadline = None if timeout is None else time.monotonic() + timeout
    printed = 0
    while True:
        wait = 5 if follow or count else 1
        if deadline is not None:
            wait = max(0, min(wait, int(deadline - time.monotonic())))
        printed += consume(
            sqs,
            queue,
            lambda event: click.echo(printable(summary(event))),  # subjects hold what visitors typed
            seen,
            wait_seconds=wait,
            limit=None if count is None else count - printed,
        )
        if count is not None and printed >= count:
            return
        if deadline is not None and time.monotonic() >= deadline:
            if count is not None:
                raise click.ClickException(f"{printed} of {count} hand-offs arrived within {timeout:g} s")
            return
        if not follow and count is None:
            return


@handoff.command()
@click.option("--queue-url", envvar="HANDOFF_QUEUE_URL", default=None)
@click.option(
    "--dead-letter-url", envvar="HANDOFF_DLQ_URL", default=None, help="The hand-off dead-letter queue."
)
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", default=None)
@cli_ops.aws_command
def redrive(queue_url: str | None, dead_letter_url: str | None, endpoint_url: str | None) -> None:
    """Move dead-lettered hand-offs back to the queue."""
    from chalicelib.integrations.handoff_consumer import redrive as move

    queue = _setting(queue_url, "HANDOFF_QUEUE_URL", "hand-off queue")
    dead_letters = _setting(dead_letter_url, "HANDOFF_DLQ_URL", "hand-off dead-letter queue")
    moved = move(_sqs(endpoint_url or os.environ.get("AWS_ENDPOINT_URL")), dead_letters, queue)
    click.echo(f"moved {moved} hand-offs back")


# ---------------------------------------------------------------- predictive scoring


@main.group()
def predictive() -> None:
    """Predictive scoring models: training runs through the API (the local stack or a deployment)."""


@predictive.command("train")
@click.option("--model-id", default="propensity", show_default=True, help="The predictive model to train.")
@click.option("--publish", is_flag=True, help="Publish the new version when it passes the gate.")
@click.option("--timeout", default=900, show_default=True, help="Seconds to wait for the training job.")
@cli_ops.api_options
def train(model_id: str, publish: bool, timeout: int, api: cli_ops.Api) -> None:
    """Train a new version from the leads whose outcome is known; print its metrics and whether the
    gate lets it replace the active version. Exit code 1 when training is refused."""
    import time

    try:
        status, body = http.call(
            "POST",
            f"{api.url}/v1/scoring-models/{model_id}/train",
            {"publish": publish},
            {"X-Api-Key": api.key},
        )
    except OSError as exc:
        raise cli_ops.unreachable(api.url, api.source, exc) from None
    if status != 202:
        raise click.ClickException(f"training was refused: {status} {json.dumps(body)}")
    deadline = time.monotonic() + timeout
    while True:
        job = api.call("GET", f"/v1/jobs/{body['job_id']}")
        if job.get("state") == "done":
            break
        if time.monotonic() > deadline:
            raise click.ClickException(f"the training job is still running: GET /v1/jobs/{body['job_id']}")
        time.sleep(2)
    result = job.get("result", {})
    click.echo(json.dumps(result, indent=2))
    if "error" in result:
        raise click.ClickException(result["error"]["message"])


# ---------------------------------------------------------------- deploying to AWS


@main.command()
@click.option("--stage", required=True, help="The stage (dev, prod, ...): the stack is leadflow-<stage>.")
@click.option("--region", default=None, help="The AWS region (default: AWS_DEFAULT_REGION or the profile's).")
@click.option("--bucket", default=None, help="An existing bucket for the artifacts (default: one is made).")
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="A stack parameter (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Show the change set, change nothing.")
@click.option(
    "--out",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Build dir.",
)
def deploy(
    stage: str, region: str | None, bucket: str | None, params: tuple[str, ...], dry_run: bool, out: Path
) -> None:
    """Package, upload and create or update the stage's CloudFormation stack; print its outputs."""
    _checkout("deploy")
    from leadflow_local import deploy as cloud

    try:
        options = cloud.Options(
            stage=stage,
            region=region,
            bucket=bucket,
            parameters=cloud.parse_parameters(params),
            dry_run=dry_run,
            out=out,
        )
        outputs = cloud.deploy(options, click.echo)
    except cloud.DeployError as error:
        raise click.ClickException(str(error)) from None
    if outputs.get("UserPoolId"):  # nobody can sign in yet: say how to add the first admin
        click.echo(
            "first admin: COGNITO_USER_POOL_ID="
            f"{outputs['UserPoolId']} leadflow users invite --email you@example.com --role admin "
            "(with the stage's tables: see README, Sign-in)"
        )


@main.command()
@click.option("--stage", required=True, help="The stage whose stack (leadflow-<stage>) is deleted.")
@click.option("--region", default=None, help="The AWS region (default: AWS_DEFAULT_REGION or the profile's).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def destroy(stage: str, region: str | None, yes: bool) -> None:
    """Delete the stage's stack. Tables, dead-letter queues and the imports bucket are kept."""
    from leadflow_local import deploy as cloud

    if not yes:
        click.confirm(f"Delete the stack leadflow-{stage} (its data is kept)?", abort=True)
    try:
        cloud.destroy(stage, region, click.echo)
    except cloud.DeployError as error:
        raise click.ClickException(str(error)) from None


# ---------------------------------------------------------------- operator commands over the API

cli_ops.register(main)
cli_users.register(main)
cli_journeys.register(main)


if __name__ == "__main__":
    main()
