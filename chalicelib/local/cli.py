"""``leadflow``: the operator's command line."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click


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
    "--api-key", envvar="LEADFLOW_API_KEY", default=None, help="Admin API key to create (random if unset)."
)
@click.option("--demo", is_flag=True, help="Define a sample form and post sample submissions.")
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
    api_key: str | None,
    demo: bool,
    data_dir: Path,
    no_persist: bool,
    snapshot_seconds: float,
) -> None:
    """Run the whole stack on this machine: moto, the tables and queues of infra/, the API, the pump."""
    from chalicelib.local import stack

    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    kept = None if no_persist else data_dir
    with stack.running(host, port, aws_port, api_key, kept, snapshot_seconds) as running:
        lines = []
        if demo:
            from chalicelib.local import demo as sample

            answers = sample.run(running.api_url, running.api_key)
            lines.append(f"Demo           form 'contact-us' and {len(answers)} submissions:")
            lines += [f"                 {answer}" for answer in answers]
            import_id = sample.start_import(running.api_url, running.api_key)
            progress = f"{running.api_url}/v1/imports/{import_id}"
            lines.append(f"Demo import    curl -s -H 'X-Api-Key: {running.api_key}' {progress}")
            lead = next((a["lead_id"] for a in answers if "lead_id" in a), None)
            if lead:
                url = f"{running.api_url}/v1/leads/{lead}"
                lines.append(f"Read a lead    curl -s -H 'X-Api-Key: {running.api_key}' {url}")
        click.echo("")
        click.echo(f"Leadflow API   {running.api_url}")
        click.echo(f"AWS endpoint   {running.aws_endpoint}  (moto; AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled)")
        click.echo(f"Admin API key  {running.api_key}")
        click.echo(_data_line(running))
        queues = running.resources.queue_urls
        click.echo(
            f"Hand-offs      HANDOFF_QUEUE_URL={queues['SalesHandoffQueue']} "
            f"HANDOFF_DLQ_URL={queues['SalesHandoffDeadLetterQueue']} AWS_ENDPOINT_URL={running.aws_endpoint}"
            " leadflow handoff tail"
        )
        for line in lines:
            click.echo(line)
        click.echo("Ready. Ctrl-C stops everything.")
        sys.stdout.flush()
        stopped.wait()
    click.echo("Stopped.")


def _data_line(running: Any) -> str:
    if running.data_dir is None:
        return "Data           in memory only (--no-persist): a restart starts empty"
    since = f"restored from the snapshot of {running.restored.saved_at}" if running.restored else "new"
    return (
        f"Data           {running.data_dir}/ ({since}); saved at Ctrl-C and every "
        f"{running.snapshot_seconds:g} s: a kill -9 loses at most the last {running.snapshot_seconds:g} s"
    )


@main.group()
def keys() -> None:
    """API keys (written straight to the keys table of the current AWS environment)."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option(
    "--scope", "scopes", multiple=True, required=True, type=click.Choice(["ingest", "sales", "admin"])
)
def create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print its secret once."""
    from chalicelib import wiring
    from chalicelib.services.access import create_key

    secret, key = create_key(name, list(scopes), wiring.deps().store)
    click.echo(f"{key.key_id}\t{secret}")


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--api-url", envvar="LEADFLOW_API_URL", default="http://127.0.0.1:8000", show_default=True)
@click.option("--api-key", envvar="LEADFLOW_API_KEY", required=True, help="A key with the ingest scope.")
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
def import_file(
    path: Path,
    api_url: str,
    api_key: str,
    mapping_file: Path | None,
    topic: str,
    source: str,
    campaign: str,
    name: str,
    wait: bool,
) -> None:
    """Import the leads of a CSV file (Dynamics, Salesforce and HubSpot exports are recognised)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from chalicelib.local import importer
    from chalicelib.local.terminal import markup_safe

    mapping = _read_mapping(mapping_file) if mapping_file else None
    options = {"topic": topic, "source": source, "campaign": campaign, "name": name or path.name}
    console = Console()
    try:
        import_id = importer.start(api_url, api_key, path, mapping, options)
    except importer.ImportRefused as refused:
        console.print(f"[red]refused[/red] {markup_safe(refused)}")
        for field in (refused.answer.get("error", {}).get("fields") or [])[:20]:
            console.print(f"  {markup_safe(field['field'])}: {markup_safe(field['message'])}")
        raise SystemExit(1) from None
    console.print(f"import [bold]{import_id}[/bold]")
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

        final = importer.follow(api_url, api_key, import_id, show)
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
        console.print(f"[red]failed[/red]: {markup_safe(final.get('error', {}).get('message'))}")
        raise SystemExit(1)


def _read_mapping(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return dict(yaml.safe_load(text))
    return dict(json.loads(text))


@main.group()
def handoff() -> None:
    """The sales-handoff queue (set AWS_ENDPOINT_URL for the local stack)."""


def _sqs(endpoint_url: str | None) -> object:
    import boto3

    return boto3.session.Session().client("sqs", endpoint_url=endpoint_url)


@handoff.command()
@click.option("--queue-url", envvar="HANDOFF_QUEUE_URL", required=True, help="The sales-handoff queue.")
@click.option(
    "--endpoint-url", envvar="AWS_ENDPOINT_URL", default=None, help="The AWS endpoint (moto locally)."
)
@click.option("--follow/--once", default=True, help="Keep polling, or stop when the queue is empty.")
def tail(queue_url: str, endpoint_url: str | None, follow: bool) -> None:
    """Print each hand-off and delete it once printed (a stand-in for a sales system)."""
    from chalicelib.integrations.handoff_consumer import consume, summary
    from chalicelib.local.terminal import printable

    sqs = _sqs(endpoint_url)
    seen: set[str] = set()
    while True:
        consume(
            sqs,
            queue_url,
            lambda event: click.echo(printable(summary(event))),  # subjects hold what visitors typed
            seen,
            wait_seconds=5 if follow else 1,
        )
        if not follow:
            return


@handoff.command()
@click.option("--queue-url", envvar="HANDOFF_QUEUE_URL", required=True)
@click.option(
    "--dead-letter-url", envvar="HANDOFF_DLQ_URL", required=True, help="The hand-off dead-letter queue."
)
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", default=None)
def redrive(queue_url: str, dead_letter_url: str, endpoint_url: str | None) -> None:
    """Move dead-lettered hand-offs back to the queue."""
    from chalicelib.integrations.handoff_consumer import redrive as move

    click.echo(f"moved {move(_sqs(endpoint_url), dead_letter_url, queue_url)} hand-offs back")


# ---------------------------------------------------------------- predictive scoring


@main.group()
def predictive() -> None:
    """Predictive scoring models: training runs through the API (the local stack or a deployment)."""


@predictive.command("train")
@click.option("--model-id", default="propensity", show_default=True, help="The predictive model to train.")
@click.option("--publish", is_flag=True, help="Publish the new version when it passes the gate.")
@click.option("--api-url", envvar="LEADFLOW_API_URL", default="http://127.0.0.1:8000", show_default=True)
@click.option("--api-key", envvar="LEADFLOW_API_KEY", required=True, help="An admin API key.")
@click.option("--timeout", default=900, show_default=True, help="Seconds to wait for the training job.")
def train(model_id: str, publish: bool, api_url: str, api_key: str, timeout: int) -> None:
    """Train a new version from the leads whose outcome is known; print its metrics and whether the
    gate lets it replace the active version. Exit code 1 when training is refused."""
    import json
    import time

    from chalicelib.local.demo import call

    headers = {"X-Api-Key": api_key}
    status, body = call(
        "POST", f"{api_url}/v1/scoring-models/{model_id}/train", {"publish": publish}, headers
    )
    if status != 202:
        raise click.ClickException(f"training was refused: {status} {json.dumps(body)}")
    job_url = f"{api_url}/v1/jobs/{body['job_id']}"
    deadline = time.monotonic() + timeout
    while True:
        status, job = call("GET", job_url, None, headers)
        if status == 200 and job.get("state") == "done":
            break
        if time.monotonic() > deadline:
            raise click.ClickException(f"the training job is still running: GET {job_url}")
        time.sleep(2)
    result = job.get("result", {})
    click.echo(json.dumps(result, indent=2))
    if "error" in result:
        raise click.ClickException(result["error"]["message"])


# ---------------------------------------------------------------- operator commands over the API

from chalicelib.local import cli_ops  # noqa: E402 - models, rules, forms, leads, keys revoke|list, bench

cli_ops.register(main)


if __name__ == "__main__":
    main()
