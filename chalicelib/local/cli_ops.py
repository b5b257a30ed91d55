"""The operator's routine work over the HTTP API (the local stack or a deployment): scoring models,
qualification rules and triggers, forms, leads, API keys, the console, benchmarks.

Commands find the API and a key in this order: ``--api-url`` / ``--api-key``, then ``LEADFLOW_API_URL`` /
``LEADFLOW_API_KEY``, then the profile (``--profile`` or ``LEADFLOW_PROFILE``, default ``default``) in
``~/.config/leadflow/profiles.toml`` (``LEADFLOW_PROFILES`` names another file)::

    [default]
    api_url = "http://127.0.0.1:8000"
    api_key = "lf_..."

    [prod]
    api_url = "https://api.example.com"
    api_key_env = "LEADFLOW_PROD_KEY"   # read the key from this variable instead of the file

Registered on the ``leadflow`` group by :func:`register` (``chalicelib/local/cli.py``)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import click

from chalicelib.local import http
from chalicelib.local.terminal import markup_safe, printable

DEFAULT_API_URL = "http://127.0.0.1:8000"
PROJECT_DIR = Path(__file__).resolve().parents[2]
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


def profiles_path() -> Path:
    named = os.environ.get("LEADFLOW_PROFILES")
    if named:
        return Path(named)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "leadflow" / "profiles.toml"


def read_profile(name: str | None) -> dict[str, Any]:
    """The named profile (``{}`` when there is no file or, for the default, no such profile)."""
    path = profiles_path()
    profiles: dict[str, Any] = {}
    if path.is_file():
        try:
            profiles = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise click.ClickException(f"{path} is not valid TOML: {exc}") from None
    if name is not None and name not in profiles:
        raise click.ClickException(f"no profile {name!r} in {path}")
    found = profiles.get(name or "default", {})
    return dict(found) if isinstance(found, dict) else {}


class ApiRefused(click.ClickException):
    """A non-2xx answer, shown as the API's error code, message and every field it names."""

    def __init__(self, method: str, path: str, status: int, answer: Any) -> None:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        text = f"{method} {path}: {status} {error.get('code', '')} {error.get('message', answer)}".rstrip()
        for field in error.get("fields") or []:
            text += f"\n  {field.get('field')}: {field.get('message')}"
        super().__init__(printable(text).replace("\\n  ", "\n  "))  # messages quote what was sent
        self.status = status
        self.answer = answer


@dataclass(frozen=True)
class Api:
    url: str
    key: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            status, answer = http.call(method, self.url + path, body, {"X-Api-Key": self.key})
        except OSError as exc:  # connection refused, DNS, timeout
            raise click.ClickException(f"cannot reach {self.url}: {exc}") from None
        if not 200 <= status < 300:
            raise ApiRefused(method, path, status, answer)
        return answer


def api_options(command: F) -> F:
    """``--api-url``, ``--api-key`` and ``--profile``, resolved into an ``api: Api`` argument."""

    @click.option("--api-url", envvar="LEADFLOW_API_URL", default=None, help="The API (default: profile).")
    @click.option("--api-key", envvar="LEADFLOW_API_KEY", default=None, help="An API key (default: profile).")
    @click.option("--profile", envvar="LEADFLOW_PROFILE", default=None, help="A profile of profiles.toml.")
    @functools.wraps(command)
    def wrapper(
        *args: Any, api_url: str | None, api_key: str | None, profile: str | None, **kwargs: Any
    ) -> Any:
        found = read_profile(profile)
        url = (api_url or found.get("api_url") or DEFAULT_API_URL).rstrip("/")
        key = api_key or found.get("api_key") or os.environ.get(str(found.get("api_key_env") or ""), "")
        if not key:
            raise click.UsageError(
                "no API key: pass --api-key, set LEADFLOW_API_KEY, or add api_key to a profile in "
                f"{profiles_path()}"
            )
        return command(*args, api=Api(url, key), **kwargs)

    return wrapper  # type: ignore[return-value]


def console() -> Any:
    from rich.console import Console

    return Console()


def documents(path: Path) -> list[dict[str, Any]]:
    """The definitions in a YAML or JSON file: one, a list, or several YAML documents."""
    import yaml

    try:
        loaded = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{path} is not valid YAML or JSON: {exc}") from None
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
    out.print(f"[green]saved[/green] {model_id} as draft version {saved['version']}")
    for warning in saved.get("warnings", []):
        out.print(f"  [yellow]warning[/yellow] {warning}")
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
            out.print(f"[red]invalid[/red] {path} ({model_id})")
            for error in exc.errors:
                out.print(f"  {error.field}: {error.message}")
            continue
        rules = len(doc.get("rules", []))
        out.print(f"[green]valid[/green]   {path} ({model_id}: {rules} rules)")
        for warning in model.warnings:
            out.print(f"  [yellow]warning[/yellow] {warning}")
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
    out.print(f"[green]published[/green] {model_id}; rescoring job [bold]{job['job_id']}[/bold]")
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
        out.print(f"[green]saved[/green] {kind} {ident}")


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
        out.print(f"[green]saved[/green] form {ident}  (browser origins: {origins})")


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
@api_options
def list_leads(api: Api, as_json: bool, **filters: Any) -> None:
    """One page of leads, newest first (or highest score first with --model-id)."""
    from rich.table import Table

    params = {k: str(v) for k, v in filters.items() if v is not None}
    page = api.call("GET", "/v1/leads?" + urlencode(params))
    if as_json:
        click.echo(json.dumps(page, indent=2))
        return
    scored = any("score" in lead for lead in page["leads"])
    table = Table("lead", "state", "status", "topic", "source", *(["score"] if scored else []), "created")
    for lead in page["leads"]:
        row = [
            lead["lead_id"],
            lead["state"],
            lead["status"],
            lead.get("topic") or "",
            lead.get("source") or "",
            *([str(lead.get("score", ""))] if scored else []),
            lead["created_at"],
        ]
        table.add_row(*(markup_safe(cell) for cell in row))
    out = console()
    out.print(table)
    if page.get("next_cursor"):
        out.print(f"more: --cursor {page['next_cursor']}")


def _facts(title: str, pairs: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=markup_safe(title), show_header=False, title_justify="left", box=None)
    for key, value in pairs.items():
        if value not in (None, "", {}, []):
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            table.add_row(f"[dim]{markup_safe(key)}[/dim]", markup_safe(shown))
    return table


def breakdown_table(score: dict[str, Any]) -> Any:
    """A score's breakdown as a table whose points add up to the score (before rounding)."""
    from rich.table import Table

    ready = ", sales-ready" if score.get("sales_ready") else ""
    grade = score.get("grade") or "-"
    title = f"{score['model_id']} v{score['model_version']}: {score['score']} (grade {grade}{ready})"
    table = Table("rule", "points", "interactions", title=title, title_justify="left", show_footer=True)
    total = 0.0
    for line in score["breakdown"]:
        total += line["points"]
        name = markup_safe(line["rule_id"]) + (
            f" [dim]({markup_safe(line['kind'])})[/dim]" if line.get("kind") not in (None, "factor") else ""
        )
        ids = ", ".join(line.get("interaction_ids", []))
        table.add_row(name, _points(line["points"]), markup_safe(ids))
    table.columns[0].footer = "sum"
    table.columns[1].footer = _points(total)
    table.columns[1].justify = "right"
    return table


def _points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


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
            f"[yellow]not applied[/yellow] {markup_safe(conflict['field'])}: "
            f"{markup_safe(conflict['submitted'])} (kept {markup_safe(conflict['current'])}, "
            f"from {markup_safe(conflict['source'])})"
        )
    if not lead["scores"]:
        out.print("[dim]not scored by any active model[/dim]")
    for score in lead["scores"]:
        out.print(breakdown_table(score))
    if entries:
        from rich.table import Table

        table = Table("at", "kind", "what", title="timeline (newest first)", title_justify="left")
        for entry in entries[:20]:
            rest = {k: v for k, v in entry.items() if k not in ("at", "kind")}
            what = json.dumps(rest, separators=(", ", ": "), ensure_ascii=False)[:120]
            table.add_row(markup_safe(entry["at"]), markup_safe(entry["kind"]), markup_safe(what))
        out.print(table)


# ---------------------------------------------------------------- keys (the table, like keys create)


@click.command("revoke")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """Revoke a key by its id (API containers stop trusting it within a minute)."""
    from chalicelib import wiring
    from chalicelib.store import api_keys

    wiring.deps()  # binds the record classes to this environment's tables
    if not api_keys.revoke(key_id, datetime.now(UTC)):
        raise click.ClickException(f"no API key {key_id!r}")
    click.echo(f"revoked {key_id}")


@click.command("list")
def list_keys() -> None:
    """The keys (ids, names, scopes, when created and revoked), never their secrets."""
    from rich.table import Table

    from chalicelib import wiring
    from chalicelib.store import api_keys

    wiring.deps()
    table = Table("key", "name", "scopes", "created", "revoked")
    for key in api_keys.list_keys():
        revoked = key.revoked_at.isoformat() if key.revoked_at else ""
        table.add_row(key.key_id, key.name, ",".join(sorted(key.scopes)), key.created_at.isoformat(), revoked)
    console().print(table)


# ---------------------------------------------------------------- console and bench


@click.command("console")
@click.option("--api-url", envvar="LEADFLOW_API_URL", default=None)
@click.option("--profile", envvar="LEADFLOW_PROFILE", default=None)
@click.option("--open/--no-open", "open_browser", default=True, help="Open it in the default browser.")
def open_console(api_url: str | None, profile: str | None, open_browser: bool) -> None:
    """The web console's address (it asks for an API key and keeps it for the tab only)."""
    url = (api_url or read_profile(profile).get("api_url") or DEFAULT_API_URL).rstrip("/") + "/console"
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
    command = bench_command(suite, extra)
    click.echo("$ " + " ".join(command[1:]), err=True)
    raise SystemExit(subprocess.run(command, cwd=PROJECT_DIR, check=False).returncode)  # noqa: S603


def register(main: click.Group) -> None:
    """Add these commands to the ``leadflow`` group (``keys`` gains ``revoke`` and ``list``)."""
    for command in (models, rules, forms, leads, open_console, bench):
        main.add_command(command)
    keys = main.commands.get("keys")
    if isinstance(keys, click.Group):
        keys.add_command(revoke_key)
        keys.add_command(list_keys)
