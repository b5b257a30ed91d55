"""The operator's routine work over the HTTP API (the local stack or a deployment): scoring models,
qualification rules and triggers, forms, leads, API keys, the console, benchmarks.

Commands find the API and a key in this order: ``--api-url`` / ``--api-key``, then ``LEADFLOW_API_URL`` /
``LEADFLOW_API_KEY``, then a profile (:mod:`leadflow_local.profiles`: ``--profile`` or
``LEADFLOW_PROFILE``; else ``default`` of ``profiles.toml``; else ``local``, written by ``leadflow local``).
Commands that talk to AWS themselves (``keys``, ``handoff``) take the profile's ``env`` the same way.
Failures are one line on stderr and a non-zero exit (2 for a missing setting), never a traceback.

Registered on the ``leadflow`` group by :func:`register` (``leadflow_local/cli.py``)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import click

from leadflow_local import http, profiles, project
from leadflow_local.terminal import printable

DEFAULT_API_URL = "http://127.0.0.1:8000"
PROJECT_DIR = project.ROOT
#: ``leadflow bench SUITE``: the command of each suite, run from the project directory. When
#: ``bench/run.py`` exists it takes over (``python bench/run.py SUITE ...``).
#: Suites of their own beside the suite of ``bench/run.py`` (``suite`` is one of these or "run").
BENCH_SUITES: dict[str, list[str]] = {
    "run": ["-m", "bench.run"],
    "imports": ["-m", "bench.imports"],
    "predictive": ["bench/predictive.py"],
}
F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------- profiles and the API


class MissingSetting(click.ClickException):
    """A setting nobody gave (no key, no queue): one line, exit code 2 like a usage error."""

    exit_code = 2


def chosen_profile(name: str | None) -> profiles.Profile:
    try:
        return profiles.select(name)
    except profiles.ProfileError as exc:
        raise MissingSetting(str(exc)) from None


class ApiRefused(click.ClickException):
    """A non-2xx answer, shown as the API's error code, message and every field it names."""

    def __init__(self, method: str, path: str, status: int, answer: Any) -> None:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        fields = [f for f in error.get("fields") or [] if isinstance(f, dict)]
        text = f"{method} {path}: {status} {error.get('code', '')}".rstrip()
        if fields:  # each problem once: the message names the first field too
            text += "".join(f"\n  {f.get('field')}: {field_message(f)}" for f in fields)
        else:
            text += f" {error.get('message', answer)}"
        super().__init__(printable(text).replace("\\n  ", "\n  "))  # messages quote what was sent
        self.status = status
        self.answer = answer


def field_message(field: dict[str, Any]) -> str:
    """A field's message without the field's name in front (``rules[r1].when.op 'like' is not ...``)."""
    name, message = str(field.get("field") or ""), str(field.get("message") or "")
    if name and message.startswith(name):
        message = message[len(name) :].lstrip(": ")
    return message


def unreachable(url: str, source: str, exc: BaseException) -> click.ClickException:
    reason = getattr(exc, "reason", None) or exc
    return click.ClickException(
        f"cannot reach the API at {url} ({reason}; the address came from {source}): is the local stack "
        "running (make run)? Otherwise give --api-url, LEADFLOW_API_URL or --profile"
    )


@dataclass(frozen=True)
class Api:
    url: str
    key: str
    #: where the address came from, for messages ("--api-url", "profile 'local' of ...")
    source: str = "--api-url"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            status, answer = http.call(method, self.url + path, body, {"X-Api-Key": self.key})
        except OSError as exc:  # connection refused, DNS, timeout
            raise unreachable(self.url, self.source, exc) from None
        if not 200 <= status < 300:
            raise ApiRefused(method, path, status, answer)
        return answer


def resolve_api(api_url: str | None, api_key: str | None, profile: str | None) -> Api:
    """Options and variables first (click read both), then the profile, then the default address."""
    found = chosen_profile(profile)
    if api_url:
        source = "--api-url or LEADFLOW_API_URL"
    elif found.values.get("api_url"):
        source = found.describe()
    else:
        source = "the default address (no --api-url, LEADFLOW_API_URL nor profile)"
    url = (api_url or found.values.get("api_url") or DEFAULT_API_URL).rstrip("/")
    key_env = str(found.values.get("api_key_env") or "")
    key = api_key or found.values.get("api_key") or (os.environ.get(key_env, "") if key_env else "")
    if not key:
        raise MissingSetting(
            "no API key: pass --api-key, set LEADFLOW_API_KEY, add api_key to a profile in "
            f"{profiles.profiles_path()}, or start the local stack (make run), whose profile has one"
        )
    return Api(url, str(key), source)


def api_options(command: F) -> F:
    """``--api-url``, ``--api-key`` and ``--profile``, resolved into an ``api: Api`` argument."""

    @click.option("--api-url", envvar="LEADFLOW_API_URL", default=None, help="The API (default: profile).")
    @click.option("--api-key", envvar="LEADFLOW_API_KEY", default=None, help="An API key (default: profile).")
    @click.option("--profile", envvar="LEADFLOW_PROFILE", default=None, help="A profile (docs/operators.md).")
    @functools.wraps(command)
    def wrapper(
        *args: Any, api_url: str | None, api_key: str | None, profile: str | None, **kwargs: Any
    ) -> Any:
        return command(*args, api=resolve_api(api_url, api_key, profile), **kwargs)

    return wrapper  # type: ignore[return-value]


def aws_failure(exc: BaseException) -> str | None:
    """One line for what boto3 and PynamoDB raise when AWS (or moto) cannot be used; ``None`` for
    anything else (a bug: let it show its traceback)."""
    from botocore import exceptions as boto

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, boto.BotoCoreError | boto.ClientError):
        cause = getattr(cause, "cause", None) or cause.__cause__
    if isinstance(cause, boto.NoRegionError):
        return "no AWS region: set AWS_DEFAULT_REGION (or start the local stack: make run)"
    if isinstance(cause, boto.NoCredentialsError | boto.PartialCredentialsError):
        return "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID (or start the local stack: make run)"
    if isinstance(cause, boto.EndpointConnectionError | boto.ConnectionClosedError):
        return f"cannot reach the AWS endpoint ({cause}): is the local stack running (make run)?"
    if isinstance(cause, boto.ClientError):
        error = cause.response.get("Error", {})
        return f"AWS refused {cause.operation_name}: {error.get('Code')}: {error.get('Message')}"
    if isinstance(cause, boto.BotoCoreError):
        return f"AWS: {cause}"
    return None


def aws_command(command: F) -> F:
    """``--profile`` for a command that talks to AWS itself: the environment prepared from the profile
    (:func:`profiles.use_aws_environment`), and AWS's failures as one line naming where the settings
    came from."""

    @click.option(
        "--profile", envvar="LEADFLOW_PROFILE", default=None, help="A profile whose env names the AWS side."
    )
    @functools.wraps(command)
    def wrapper(*args: Any, profile: str | None, **kwargs: Any) -> Any:
        try:
            used = profiles.use_aws_environment(profile)
        except profiles.ProfileError as exc:
            raise MissingSetting(str(exc)) from None
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            message = aws_failure(exc)
            if message is None:
                raise
            where = f"settings from {used.describe()}" if used else _own_aws_settings()
            raise click.ClickException(f"{message} ({where})") from None

    return wrapper  # type: ignore[return-value]


def _own_aws_settings() -> str:
    named = [k for k in (*profiles.AWS_TARGET, "API_KEYS_TABLE", "HANDOFF_QUEUE_URL") if os.environ.get(k)]
    if named:
        return "AWS settings from this environment: " + ", ".join(named)
    return "no AWS settings: no profile, no AWS_* variables"


def console() -> Any:
    """Rich output without markup: names, ids and messages are shown as they are (``rules[r1]``, a hand-off
    id in brackets); styles come from :func:`styled` only."""
    from rich.console import Console

    return Console(markup=False, highlight=False)


def styled(text: str, style: str) -> Any:
    from rich.text import Text

    return Text(text, style=style)


def documents(path: Path) -> list[dict[str, Any]]:
    """The definitions in a YAML or JSON file: one, a list, or several YAML documents (read safely and
    as JSON would have them: :mod:`leadflow_local.definitions`)."""
    from leadflow_local import definitions

    try:
        loaded = definitions.load(path)
    except definitions.DefinitionError as exc:
        raise click.ClickException(printable(str(exc))) from None
    found: list[Any] = []
    for doc in loaded:
        found.extend(doc if isinstance(doc, list) else [doc])
    if not found or not all(isinstance(doc, dict) for doc in found):
        raise click.ClickException(f"{path} must hold one definition (a mapping) or a list of them")
    return found


def identify(doc: dict[str, Any], given: str | None, path: Path, count: int, *keys: str) -> str:
    """The id of a definition: ``--id``, else its own ``id`` key, else the file's name (one definition)."""
    for key in keys:
        if isinstance(doc.get(key), str):
            return str(doc[key])
    if given and count == 1:
        return given
    if count == 1:
        return path.stem
    raise click.ClickException(f"{path}: every definition in a list needs an id")


# ---------------------------------------------------------------- scoring models

models = click.Group("models", help="Scoring models from YAML or JSON files (see docs/scoring.md).")
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _model(path: Path, model_id: str | None) -> tuple[str, dict[str, Any]]:
    docs = documents(path)
    if len(docs) != 1:
        raise click.ClickException(f"{path} must hold exactly one scoring model")
    doc = docs[0]
    if model_id and doc.get("id") not in (None, model_id):
        raise click.ClickException(f"{path} is model {doc['id']!r}, not {model_id!r}")
    return model_id or identify(doc, None, path, 1, "id"), doc


def _apply_model(api: Api, path: Path, model_id: str | None) -> tuple[str, dict[str, Any]]:
    model_id, doc = _model(path, model_id)
    saved = api.call("PUT", f"/v1/scoring-models/{quote(model_id, safe='')}", doc)
    out = console()
    out.print(styled("saved", "green"), f"{model_id} as draft version {saved['version']}")
    for warning in saved.get("warnings", []):
        out.print(" ", styled("warning", "yellow"), warning)
    return model_id, saved


@models.command("validate")
@click.argument("paths", nargs=-1, required=True, type=FILE)
def validate_models(paths: tuple[Path, ...]) -> None:
    """Check model files here, with the API's own rules, without saving anything (no key needed)."""
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.domain.predictive import parse_any

    out, failed = console(), False
    for path in paths:
        model_id, doc = _model(path, None)
        try:
            model = parse_any(model_id, 0, doc)
        except ValidationFailed as exc:
            failed = True
            out.print(styled("invalid", "red"), f"{path} ({model_id})")
            for error in exc.errors:
                out.print(
                    f"  {error.field}: {field_message({'field': error.field, 'message': error.message})}"
                )
            continue
        rules = len(doc.get("rules", []))
        out.print(styled("valid", "green"), f"  {path} ({model_id}: {rules} rules)")
        for warning in model.warnings:
            out.print(" ", styled("warning", "yellow"), warning)
    if failed:
        raise SystemExit(1)


@models.command("apply")
@click.argument("path", type=FILE)
@click.option("--model-id", default=None, help="Default: the file's id, else its name.")
@api_options
def apply_model(path: Path, model_id: str | None, api: Api) -> None:
    """Save the file as the model's new draft version."""
    _apply_model(api, path, model_id)


@models.command("simulate")
@click.argument("path", type=FILE)
@click.option("--model-id", default=None)
@api_options
def simulate_model(path: Path, model_id: str | None, api: Api) -> None:
    """Save the file as a draft and score current leads with it beside the active version (writes no
    scores): counts per grade, sales-ready, and the leads that would cross the sales-ready line."""
    from rich.table import Table

    model_id, _ = _apply_model(api, path, model_id)
    result = api.call("POST", f"/v1/scoring-models/{quote(model_id, safe='')}/simulate")
    out = console()
    note = " (stopped early: more leads exist)" if result["truncated"] else ""
    out.print(
        f"draft v{result['draft_version']} against active v{result['active_version'] or '-'}: "
        f"{result['leads_evaluated']} leads evaluated{note}, {result['scored']} scored, "
        f"{result['sales_ready']} sales-ready"
    )
    table = Table("grade", "leads")
    for grade, count in result["per_grade"].items():
        table.add_row(grade, str(count))
    out.print(table)
    crossing = result["crossing"]
    for label, ids in (
        ("into sales-ready", crossing["into_sales_ready"]),
        ("out of sales-ready", crossing["out_of_sales_ready"]),
    ):
        shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
        out.print(f"{label}: {len(ids)}" + (f"  {shown}" if ids else ""))


@models.command("publish")
@click.argument("path", type=FILE)
@click.option("--model-id", default=None)
@click.option("--wait/--no-wait", default=True, help="Follow the rescoring job with a progress bar.")
@click.option("--timeout", default=1800, show_default=True, help="Seconds to follow the job.")
@api_options
def publish_model(path: Path, model_id: str | None, wait: bool, timeout: int, api: Api) -> None:
    """Save the file as a draft, publish it, and follow the rescoring of every lead."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    model_id, _ = _apply_model(api, path, model_id)
    job = api.call("POST", f"/v1/scoring-models/{quote(model_id, safe='')}/publish", {})
    out = console()
    out.print(styled("published", "green"), f"{model_id}; rescoring job {job['job_id']}")
    if not wait:
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    deadline = time.monotonic() + timeout
    with Progress(*columns, console=out) as progress:
        task = progress.add_task("segments", total=None)
        while True:
            state = api.call("GET", f"/v1/jobs/{quote(job['job_id'], safe='')}")
            progress.update(
                task,
                total=state["segments"],
                completed=state["segments_done"],
                description=f"{state['leads_scored']:>7} leads scored",
            )
            if state["state"] == "done" or time.monotonic() > deadline:
                break
            time.sleep(1)
    if state["state"] != "done":
        raise click.ClickException(f"the rescoring job is still running: leadflow jobs {job['job_id']}")
    out.print(f"done: {state['leads_scored']} leads scored in {state['pages_done']} pages")


# ---------------------------------------------------------------- rules, triggers, forms

rules = click.Group("rules", help="Qualification rules and triggers (see docs/scoring.md).")
forms = click.Group("forms", help="Form definitions (field mapping, origins, honeypot).")


@rules.command("apply")
@click.argument("path", type=FILE)
@click.option("--rule-id", default=None, help="Default: each definition's id, else the file's name.")
@api_options
def apply_rules(path: Path, rule_id: str | None, api: Api) -> None:
    """Save each qualification rule (or trigger: a definition with ``on``) in the file."""
    docs = documents(path)
    out = console()
    for doc in docs:
        ident = identify(doc, rule_id, path, len(docs), "id")
        kind, route = ("trigger", "triggers") if "on" in doc else ("rule", "qualification-rules")
        api.call("PUT", f"/v1/{route}/{quote(ident, safe='')}", doc)
        out.print(styled("saved", "green"), f"{kind} {ident}")


@forms.command("apply")
@click.argument("path", type=FILE)
@click.option("--form-id", default=None, help="Default: each definition's id, else the file's name.")
@api_options
def apply_forms(path: Path, form_id: str | None, api: Api) -> None:
    """Save each form definition in the file (an ``id`` key names the form and is not sent)."""
    docs = documents(path)
    out = console()
    for doc in docs:
        ident = identify(doc, form_id, path, len(docs), "id", "form_id")
        body = {k: v for k, v in doc.items() if k not in ("id", "form_id")}
        api.call("PUT", f"/v1/forms/{quote(ident, safe='')}", body)
        origins = ", ".join(body.get("allowed_origins", [])) or "none (servers only)"
        out.print(styled("saved", "green"), f"form {ident}  (browser origins: {origins})")


# ---------------------------------------------------------------- leads

leads = click.Group("leads", help="Leads as sales and operators see them.")


@leads.command("list")
@click.option("--state", type=click.Choice(["open", "qualified", "disqualified"]))
@click.option("--status")
@click.option("--source")
@click.option("--model-id", help="Order by this model's score (with --grade, --min-score).")
@click.option("--grade")
@click.option("--min-score", type=int)
@click.option("--limit", default=25, show_default=True, type=click.IntRange(1, 100))
@click.option("--cursor", help="The next_cursor of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@click.option("--ids", "ids_only", is_flag=True, help="Print only the lead ids, one a line (for scripts).")
@api_options
def list_leads(api: Api, as_json: bool, ids_only: bool, **filters: Any) -> None:
    """One page of leads, newest first (or highest score first with --model-id)."""
    params = {k: str(v) for k, v in filters.items() if v is not None}
    page = api.call("GET", "/v1/leads?" + urlencode(params))
    if as_json:
        click.echo(json.dumps(page, indent=2))
        return
    if ids_only:
        for lead in page["leads"]:
            click.echo(lead["lead_id"])
        return
    scored = any("score" in lead for lead in page["leads"])
    out = console()
    wide = out.width >= 100  # a narrow terminal leaves the source out (--json has everything)
    rows = []
    for lead in page["leads"]:
        status = lead["status"] if lead["state"] != "disqualified" else f"disqualified: {lead['status']}"
        created = _when(lead["created_at"])[: 16 if wide or not scored else 10]
        row = [lead["lead_id"], status, *([_score(lead.get("score"))] if scored else []), created]
        visitor = [lead.get("topic") or "", *([lead.get("source") or ""] if wide else [])]
        rows.append([*row, *(printable(value) for value in visitor)])  # what visitors typed
    table = table_with_ids("lead", [row[0] for row in rows])
    # nothing is cut: status, score and time keep their width, topic and source fold when narrow
    for index, name in enumerate(["status", *(["score"] if scored else []), "created"], start=1):
        width = max([len(name), *(len(row[index]) for row in rows)])
        table.add_column(name, min_width=width, justify="right" if name == "score" else "left")
    topics = [len(row[-2] if wide else row[-1]) for row in rows]
    table.add_column("topic", overflow="fold", min_width=min(24, max([5, *topics])))
    if wide:
        table.add_column("source", overflow="fold")
    for row in rows:
        table.add_row(*row)
    print_table(out, table) if page["leads"] else out.print(styled("no leads", "dim"))
    if page.get("next_cursor"):
        out.print(f"more: --cursor {page['next_cursor']}", soft_wrap=True)


def table_with_ids(header: str, ids: list[str], *others: str, **options: Any) -> Any:
    """A table whose first column holds ids, never cut nor folded: it is as wide as the longest id, and the
    other columns fold when the terminal is narrow (no vertical rules, to leave them room)."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, **options)
    width = max([len(header), *(len(i) for i in ids)])
    table.add_column(header, no_wrap=True, min_width=width, overflow="ignore")
    for name in others:
        table.add_column(name, overflow="fold")
    return table


def print_table(out: Any, table: Any) -> None:
    """A table at least as wide as its columns' minimum widths: a terminal narrower than that wraps the
    lines, nothing is cropped."""
    from rich.measure import Measurement

    needed = Measurement.get(out, out.options, table).minimum
    out.print(table, width=max(out.width, needed), crop=False)


def _when(value: str | None) -> str:
    """An API time (ISO 8601, UTC) to the second, as a person reads it: ``2026-12-06 18:43:23``
    (the timeline's times are UTC, as the API's are)."""
    return (value or "")[:19].replace("T", " ")


def _score(value: Any) -> str:
    """A score is an integer (scoring.md); anything else is shown as the API sent it."""
    return "" if value is None else str(value)


def _facts(title: str, pairs: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=printable(title), show_header=False, title_justify="left", box=None)
    for key, value in pairs.items():
        if value not in (None, "", {}, []):
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            table.add_row(styled(printable(key), "dim"), printable(shown))
    return table


TREND_ARROWS = {"up": "↑", "down": "↓", "flat": "→"}


def trend_text(score: dict[str, Any]) -> str:
    """`` ↑ from 40``: the trend since the previous scoring (nothing for a first score)."""
    trend, previous = score.get("trend"), score.get("previous_score")
    return f" {TREND_ARROWS[trend]} from {previous}" if trend in TREND_ARROWS and previous is not None else ""


def breakdown_table(score: dict[str, Any]) -> Any:
    """A score's breakdown as a table whose points add up to the score (before rounding)."""
    from rich.table import Table
    from rich.text import Text

    ready = ", sales-ready" if score.get("sales_ready") else ""
    grade = score.get("grade") or "-"
    shown = f"{score['score']}{trend_text(score)}"
    title = f"{score['model_id']} v{score['model_version']}: {shown} (grade {grade}{ready})"
    table = Table("rule", "points", "interactions", title=title, title_justify="left", show_footer=True)
    total = 0.0
    for line in score["breakdown"]:
        total += line["points"]
        name = Text(printable(line["rule_id"]))
        if line.get("kind") not in (None, "factor"):
            name.append(f" ({line['kind']})", style="dim")
        table.add_row(name, _points(line["points"]), printable(", ".join(line.get("interaction_ids", []))))
    table.columns[0].footer = "sum"
    table.columns[1].footer = _points(total)
    table.columns[1].justify = "right"
    return table


def _points(value: float) -> str:
    """Points to one decimal, as people read them: decay makes 24.999986 of 5 clicks worth 5 each (the
    API keeps the exact value, whose sum rounds to the score)."""
    text = f"{float(value):.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


@leads.command("show")
@click.argument("lead_id")
@click.option("--timeline/--no-timeline", default=True, help="Also show the newest 20 timeline entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def show_lead(lead_id: str, timeline: bool, as_json: bool, api: Api) -> None:
    """A lead with its contact, account, each score's breakdown and its timeline."""
    lead = api.call("GET", f"/v1/leads/{quote(lead_id, safe='')}")
    entries = api.call("GET", f"/v1/leads/{quote(lead_id, safe='')}/timeline")["entries"] if timeline else []
    if as_json:
        click.echo(json.dumps({**lead, "timeline": entries}, indent=2))
        return
    out = console()
    head = {
        "state": f"{lead['state']} ({lead['status']})",
        "topic": lead.get("topic"),
        "source": lead.get("source"),
    }
    out.print(
        _facts(f"lead {lead['lead_id']}", {**head, "created": lead["created_at"], **lead.get("fields", {})})
    )
    contact = lead.get("contact") or {}
    out.print(
        _facts(
            "contact",
            {"email": contact.get("email"), "consent": contact.get("consent"), **contact.get("fields", {})},
        )
    )
    if lead.get("account"):
        account = lead["account"]
        out.print(
            _facts(
                "account",
                {"name": account.get("name"), "domain": account.get("domain"), **account.get("fields", {})},
            )
        )
    for conflict in lead.get("conflicts") or []:
        out.print(
            styled("not applied ", "yellow"),
            printable(
                f"{conflict['field']}: {conflict['submitted']} (kept {conflict['current']}, "
                f"from {conflict['source']})"
            ),
            sep="",
        )
    if not lead["scores"]:
        out.print(styled("not scored by any active model", "dim"))
    for score in lead["scores"]:
        out.print(breakdown_table(score))
    if entries:
        out.print(timeline_table(entries[:20]))


def timeline_table(entries: list[dict[str, Any]]) -> Any:
    """The timeline as a table, newest first, each entry said in words (as the console says it)."""
    from rich.table import Table

    table = Table(title="timeline (newest first)", title_justify="left")
    table.add_column("at", no_wrap=True)
    table.add_column("what", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for entry in entries:
        detail = printable(timeline_detail(entry))  # subjects hold what visitors typed
        table.add_row(_when(entry.get("at")), printable(entry.get("kind", "")), detail)
    return table


def timeline_detail(entry: dict[str, Any]) -> str:
    kind = entry.get("kind")
    if kind == "interaction":
        return f"{entry.get('type')} ({entry.get('interaction_id')})"
    if kind == "score":
        before = entry.get("previous_score")
        ready = ", sales-ready" if entry.get("sales_ready") else ""
        return (
            f"{entry.get('model_id')} v{entry.get('model_version')}: "
            f"{'-' if before is None else before} -> {entry.get('score')} "
            f"(grade {entry.get('grade') or '-'}{ready})"
        )
    if kind == "transition":
        by = f" by {entry['by']}" if entry.get("by") else ""
        why = f" ({entry['reason']})" if entry.get("reason") else ""
        return (
            f"{entry.get('action')}: {entry.get('from_state')}/{entry.get('from_status')} -> "
            f"{entry.get('to_state')}/{entry.get('to_status')}{why}{by}"
        )
    if kind in ("handoff", "handoff_withheld"):
        text = entry.get("subject") or entry.get("name") or ""
        parts = [f"{entry.get('handoff_kind')}: {text}".rstrip(": ")]
        parts += [f"owner {entry['owner']}"] if entry.get("owner") else []
        parts += [f"due {_when(entry['due_at'])}"] if entry.get("due_at") else []
        parts += [f"from {entry['origin']}"] if entry.get("origin") else []
        parts += [f"withheld: {entry['reason']}"] if entry.get("reason") else []
        return ", ".join(parts) + f" [{entry.get('handoff_id')}]"
    rest = {k: v for k, v in entry.items() if k not in ("at", "kind")}
    return json.dumps(rest, separators=(", ", ": "))


# ---------------------------------------------------------------- keys (the table, like keys create)


@click.command("revoke")
@click.argument("key_id")
@aws_command
def revoke_key(key_id: str) -> None:
    """Revoke a key by its id (API containers stop trusting it within a minute)."""
    from chalicelib import wiring
    from chalicelib.store import api_keys

    wiring.deps()  # binds the record classes to this environment's tables
    if not api_keys.revoke(key_id, datetime.now(UTC)):
        raise click.ClickException(f"no API key {key_id!r}")
    click.echo(f"revoked {key_id}")


@click.command("list")
@aws_command
def list_keys() -> None:
    """The keys, newest first (ids, names, scopes, when created and revoked), never their secrets."""
    from chalicelib import wiring
    from chalicelib.store import api_keys

    wiring.deps()
    found = sorted(api_keys.list_keys(), key=lambda key: key.created_at, reverse=True)
    table = table_with_ids("key", [key.key_id for key in found], "name", "scopes", "created", "revoked")
    for key in found:
        revoked = _when(key.revoked_at.isoformat()) if key.revoked_at else ""
        created = _when(key.created_at.isoformat())
        table.add_row(key.key_id, key.name, ",".join(sorted(key.scopes)), created, revoked)
    print_table(console(), table)


# ---------------------------------------------------------------- console and bench


@click.command("console")
@click.option("--api-url", envvar="LEADFLOW_API_URL", default=None)
@click.option("--profile", envvar="LEADFLOW_PROFILE", default=None)
@click.option("--open/--no-open", "open_browser", default=True, help="Open it in the default browser.")
def open_console(api_url: str | None, profile: str | None, open_browser: bool) -> None:
    """The web console's address (it asks for an API key and keeps it for the tab only)."""
    base = api_url or chosen_profile(profile).values.get("api_url") or DEFAULT_API_URL
    url = str(base).rstrip("/") + "/console"
    click.echo(url)
    if open_browser:
        import webbrowser

        webbrowser.open(url)


def bench_command(suite: str, extra: tuple[str, ...]) -> list[str]:
    return [sys.executable, *BENCH_SUITES[suite], *extra]


@click.command("bench", context_settings={"ignore_unknown_options": True})
@click.argument("suite", type=click.Choice(sorted(BENCH_SUITES)), default="run")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def bench(suite: str, extra: tuple[str, ...]) -> None:
    """Run the benchmarks: `leadflow bench run --quick|--full|--only SECTIONS` (as `make bench*`), or
    `leadflow bench imports|predictive` (extra arguments go to the suite)."""
    try:
        cwd = project.require("bench")
    except project.NotACheckout as error:
        raise click.ClickException(str(error)) from None
    command = bench_command(suite, extra)
    click.echo("$ " + " ".join(command[1:]), err=True)
    raise SystemExit(subprocess.run(command, cwd=cwd, check=False).returncode)  # noqa: S603


def register(main: click.Group) -> None:
    """Add these commands to the ``leadflow`` group (``keys`` gains ``revoke`` and ``list``)."""
    for command in (models, rules, forms, leads, open_console, bench):
        main.add_command(command)
    keys = main.commands.get("keys")
    if isinstance(keys, click.Group):
        keys.add_command(revoke_key)
        keys.add_command(list_keys)
