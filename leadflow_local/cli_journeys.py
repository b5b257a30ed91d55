"""``leadflow journeys`` and ``leadflow templates``: nurture journeys and e-mail templates as YAML or
JSON files (issue 18), checked offline with the API's own rules and saved over the API, then run,
watched and read from the terminal (docs/journeys.md, "From the command line").

Offline checks use the domain's own parsers: ``domain/journeys.py: parse_journey`` with a catalog that
accepts every name the definition uses (``lenient_catalog``: what needs the API's tables, namely that the
templates, segment, forms and scoring models exist, that each template renders and has the links the
branches name, is checked by ``apply``, or here from template files given with ``--template``), and
``domain/email.py: parse_template`` (every part compiles in Jinja2's sandbox and renders with no
fields). Files are read by :mod:`leadflow_local.definitions` (safe, bounded, YAML 1.2 scalars).

Everything the API returns that a person typed (names, subjects, addresses, a contact's fields in a
preview) is printed through :func:`leadflow_local.terminal.printable`: never a control sequence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import click

from leadflow_local.cli_ops import (
    FILE,
    Api,
    api_options,
    console,
    documents,
    field_message,
    identify,
    print_table,
    styled,
    table_with_ids,
)
from leadflow_local.terminal import printable

#: What ``validate`` cannot know without the API (``apply`` checks it, naming the step as well).
NEEDS_THE_API = (
    "checked by apply, not here: that the templates exist and render, that the links a branch names "
    "are in them, and that the segment, forms and scoring models exist"
)
#: The keys of a definition file that name it rather than being part of it.
JOURNEY_ID_KEYS = ("id", "journey_id")
TEMPLATE_ID_KEYS = ("id", "template_id")


def _quoted(value: str) -> str:
    return quote(value, safe="")


def _when(value: str | None) -> str:
    return (value or "")[:19].replace("T", " ")


# ---------------------------------------------------------------- reading definition files


def journey_file(path: Path, journey_id: str | None) -> tuple[str, dict[str, Any]]:
    """The journey in ``path`` and its id: ``--journey-id``, else the file's ``id``, else its name. The
    ``id`` key names the journey and is not sent (it is not a property of a journey)."""
    docs = documents(path)
    if len(docs) != 1:
        raise click.ClickException(f"{path} must hold exactly one journey")
    doc = docs[0]
    named = next((doc[k] for k in JOURNEY_ID_KEYS if isinstance(doc.get(k), str)), None)
    if journey_id and named not in (None, journey_id):
        raise click.ClickException(f"{path} is journey {named!r}, not {journey_id!r}")
    ident = journey_id or identify(doc, None, path, 1, *JOURNEY_ID_KEYS)
    return ident, {k: v for k, v in doc.items() if k not in JOURNEY_ID_KEYS}


def template_files(path: Path, template_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The templates in ``path`` (one, a list, or several YAML documents), each with its id."""
    docs = documents(path)
    return [
        (
            identify(doc, template_id, path, len(docs), *TEMPLATE_ID_KEYS),
            {k: v for k, v in doc.items() if k not in TEMPLATE_ID_KEYS},
        )
        for doc in docs
    ]


def template_links(template_id: str, body: dict[str, Any]) -> tuple[frozenset[str], str | None]:
    """What the API's catalog holds for a template (``services/journeys.py: _catalog``): the names of
    its tracked links, and why it does not parse or render (else ``None``)."""
    from chalicelib.domain.email import link_names, parse_template
    from chalicelib.domain.errors import ValidationFailed

    try:
        template = parse_template(template_id, body)
    except ValidationFailed as failed:
        return frozenset(), "; ".join(e.message for e in failed.errors)
    return link_names(template)


def offline_catalog(body: Any, templates: dict[str, tuple[frozenset[str], str | None]] | None) -> Any:
    """The catalog ``validate`` checks against: every name the body uses (the API checks they exist),
    except the templates when their files were given: then only those, with their real links."""
    from chalicelib.domain.journeys import Catalog, lenient_catalog

    lenient: Catalog = lenient_catalog(body)
    if templates is None:
        return lenient
    return Catalog(templates, lenient.segments, lenient.forms, lenient.models)


# ---------------------------------------------------------------- how steps read (as the console)


def step_text(step: dict[str, Any]) -> str:
    """What a step does, in words (``chalicelib/console/journeys.js: stepText``)."""
    kind = step.get("type")
    if kind == "wait":
        return _wait_text(step)
    if kind == "branch":
        return _branch_text(step)
    if kind == "update_field":
        return f"set {step.get('field')} = {json.dumps(step.get('value'), ensure_ascii=False)}"
    if kind == "create_lead":
        return "create a lead" + (f" ({step['topic']})" if step.get("topic") else "")
    if kind == "sales_work":
        action = step.get("action") or {}
        subject = f' "{action["subject"]}"' if action.get("subject") else ""
        return f"hand to sales: {action.get('type') or 'task'}{subject}"
    said = {
        "email": f"send e-mail {step.get('template_id')!s}",
        "split": f"A/B split: {step.get('percent')}% to a",
        "exit": "exit",
    }
    return said.get(str(kind), str(kind))


def _wait_text(step: dict[str, Any]) -> str:
    unit = next((u for u in ("minutes", "hours", "days") if u in step), None)
    if unit:
        return f"wait {step[unit]} {unit}"
    if "until" in step:
        return f"wait until {step['until']}"
    zone = step.get("time_zone") or "the contact's time zone"
    return f"wait until {step.get('time_of_day')} ({zone})"


def _branch_text(step: dict[str, Any]) -> str:
    if "condition" in step:
        return f"if {json.dumps(step['condition'], ensure_ascii=False)}"
    engagement = step.get("engagement") or {}
    what, value = next(iter(engagement.items()), ("?", ""))
    said = {
        "opened": "opened the e-mail",
        "clicked": "clicked a link" if value is True else f"clicked {value}",
        "visited": f"visited a page with {value}",
        "form": f"submitted form {value}",
    }.get(what, str(what))
    return f"if they {said} within {step.get('within_hours')} h"


def step_exits(step: dict[str, Any], following: str | None) -> list[tuple[str, str | None]]:
    """Where a step goes (``next`` defaults to the following step; ``None``: the journey ends)."""
    kind = step.get("type")
    if kind == "exit":
        return []
    if kind == "branch":
        return [("yes", step.get("yes") or following), ("no", step.get("no") or following)]
    if kind == "split":
        return [("a", step.get("a") or following), ("b", step.get("b") or following)]
    return [("next", step.get("next") or following)]


def entry_text(entry: dict[str, Any]) -> str:
    if entry.get("segment_id"):
        return f"people in segment {entry['segment_id']} (now and as they come to match it)"
    if entry.get("trigger"):
        return f"trigger {json.dumps(entry['trigger'], ensure_ascii=False)}"
    return "enrolled through the API (leadflow journeys enroll)"


# ---------------------------------------------------------------- journeys

journeys = click.Group(
    "journeys", help="Nurture journeys from YAML or JSON files, run and watched (see docs/journeys.md)."
)


@journeys.command("validate")
@click.argument("paths", nargs=-1, required=True, type=FILE)
@click.option(
    "--template",
    "template_paths",
    multiple=True,
    type=FILE,
    help="Template files (as templates apply takes): check the e-mail steps and link names against them.",
)
def validate_journeys(paths: tuple[Path, ...], template_paths: tuple[Path, ...]) -> None:
    """Check journey files here with the API's own rules, saving nothing (no key needed); every problem
    names its step (steps[2].template_id). Exit code 1 when a file is refused."""
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.domain.journeys import parse_journey

    templates = None
    if template_paths:
        templates = {
            ident: template_links(ident, body)
            for path in template_paths
            for ident, body in template_files(path)
        }
    out, failed = console(), False
    for path in paths:
        try:
            journey_id, body = journey_file(path, None)
        except click.ClickException as unreadable:  # bad YAML: said, and on to the next file
            failed = True
            out.print(styled("invalid", "red"), unreadable.message, soft_wrap=True)
            continue
        try:
            journey = parse_journey(journey_id, body, offline_catalog(body, templates))
        except ValidationFailed as exc:
            failed = True
            out.print(styled("invalid", "red"), printable(f"{path} ({journey_id})"), soft_wrap=True)
            for error in exc.errors:  # one line each, whatever the terminal's width (for grep)
                message = field_message({"field": error.field, "message": error.message})
                if error.field == "journey_id" and not _named_inside(path):
                    message += " (the id is the file's name here: give the file an id key)"
                out.print(printable(f"  {error.field}: {message}"), soft_wrap=True)
            continue
        out.print(
            styled("valid", "green"),
            printable(
                f"  {path} ({journey_id}: {len(journey.steps)} steps, entry: {entry_text(journey.entry)})"
            ),
        )
    what = NEEDS_THE_API
    if templates is not None:
        what = "checked by apply, not here: that the segment, forms and scoring models exist"
    out.print(styled(what, "dim"))
    if failed:
        raise SystemExit(1)


def _named_inside(path: Path) -> bool:
    docs = documents(path)
    return len(docs) == 1 and any(isinstance(docs[0].get(k), str) for k in JOURNEY_ID_KEYS)


@journeys.command("apply")
@click.argument("path", type=FILE)
@click.option("--journey-id", default=None, help="Default: the file's id, else its name.")
@api_options
def apply_journey(path: Path, journey_id: str | None, api: Api) -> None:
    """Save the file as the journey's new version (a live journey's new version is for new entrants).
    The API's refusal names each step that is wrong; exit code 1."""
    journey_id, body = journey_file(path, journey_id)
    saved = api.call("PUT", f"/v1/journeys/{_quoted(journey_id)}", body)
    out = console()
    out.print(
        styled("saved", "green"),
        printable(f"journey {journey_id} version {saved['version']} ({saved['state']})"),
    )
    if saved["state"] in ("live", "paused") and saved["version"] > 1:
        out.print(
            styled(f"  new entrants get version {saved['version']}; people already in keep theirs", "dim"),
            soft_wrap=True,
        )


def _move(action: str, journey_id: str, api: Api) -> None:
    moved = api.call("POST", f"/v1/journeys/{_quoted(journey_id)}/{action}", {})
    console().print(printable(f"journey {journey_id} is {moved['state']} (version {moved['version']})"))


@journeys.command("activate")
@click.argument("journey_id")
@api_options
def activate(journey_id: str, api: Api) -> None:
    """draft or paused -> live: people enter (a segment journey: who matches now, and as people match)."""
    _move("activate", journey_id, api)


@journeys.command("pause")
@click.argument("journey_id")
@api_options
def pause(journey_id: str, api: Api) -> None:
    """live -> paused: nobody enters; people stay at their step until it is activated again."""
    _move("pause", journey_id, api)


@journeys.command("stop")
@click.argument("journey_id")
@api_options
def stop(journey_id: str, api: Api) -> None:
    """-> stopped, for good: each person leaves at their next step."""
    _move("stop", journey_id, api)


FUNNEL = ("entered", "active", "sent", "opened", "clicked", "qualified")


def _listed(api: Api, path: str, as_json: bool, empty: str) -> list[dict[str, Any]]:
    """The items a list command shows as a table; ``[]`` when it printed them already (``--json``) or
    there are none (said so, with the command that makes one)."""
    items: list[dict[str, Any]] = api.call("GET", path)["items"]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return []
    if not items:
        console().print(styled(empty, "dim"))
    return items


@journeys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def list_journeys(as_json: bool, api: Api) -> None:
    """Every journey with its state, version and funnel."""
    items = _listed(api, "/v1/journeys", as_json, "no journeys yet: leadflow journeys apply FILE")
    if not items:
        return
    out = console()
    table = table_with_ids("journey", [j["journey_id"] for j in items], "name", "state", "version")
    for name in (*FUNNEL, "changed"):
        table.add_column("in" if name == "active" else name, justify="right" if name != "changed" else "left")
    for item in items:
        report = item.get("report") or {}
        table.add_row(
            item["journey_id"],
            printable(item.get("name") or ""),
            item["state"],
            f"v{item['version']}",
            *(str(report.get(key, 0)) for key in FUNNEL),
            _when(item.get("updated_at")),
        )
    print_table(out, table)


@journeys.command("show")
@click.argument("journey_id")
@click.option("--json", "as_json", is_flag=True, help="Print the definition and report as JSON.")
@api_options
def show_journey(journey_id: str, as_json: bool, api: Api) -> None:
    """A journey's steps as the console shows them: numbered, what each does, where it goes, how many
    entered it and are there now."""
    path = f"/v1/journeys/{_quoted(journey_id)}"
    journey = api.call("GET", path)
    report = api.call("GET", f"{path}/report")
    if as_json:
        click.echo(json.dumps({**journey, "report": report}, indent=2))
        return
    out = console()
    out.print(printable(f"{journey['name']} ({journey['journey_id']})"))
    out.print(
        printable(f"{journey['state']}, version {journey['version']}; entry: {entry_text(journey['entry'])}")
    )
    steps = (journey.get("definition") or {}).get("steps") or []
    counts = {s["step"]: s for s in report.get("steps", [])}
    # a numbered list, not a table: each line whole on any terminal (and for grep)
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        after = steps[index + 1] if index + 1 < len(steps) else None
        following = after.get("id") if isinstance(after, dict) else None
        goes = ", ".join(f"{label} -> {target or 'end'}" for label, target in step_exits(step, following))
        seen = counts.get(step.get("id"), {})
        head = f"{index + 1:>2}. {step.get('id')} ({step.get('type')}): {step_text(step)}"
        here = f"entered {seen.get('entered', 0)}, here now {seen.get('at_step', 0)}"
        where = f"{goes or 'leaves the journey'}; {here}"
        out.print(printable(head), soft_wrap=True)
        out.print(styled("    " + printable(where), "dim"), soft_wrap=True)


@journeys.command("report")
@click.argument("journey_id")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def report(journey_id: str, as_json: bool, api: Api) -> None:
    """The funnel: the journey's totals and exits by reason, then each step's counts."""
    from rich.table import Table

    found = api.call("GET", f"/v1/journeys/{_quoted(journey_id)}/report")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    out = console()
    exited = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (found.get("exited") or {}).items()) or "none"
    out.print(
        printable(
            f"journey {found['journey_id']} ({found['state']}, version {found['version']}): entered "
            f"{found['entered']}, in the journey {found['active']}, sent {found['sent']}, opened "
            f"{found['opened']}, clicked {found['clicked']}, qualified {found['qualified']}; exited: {exited}"
        ),
        soft_wrap=True,
    )
    columns = ("entered", "at_step", "sent", "refused", "opened", "clicked")
    table = Table("step", "type", *(c.replace("_", " ") for c in columns))
    for column in table.columns[2:]:
        column.justify = "right"
    for step in found.get("steps", []):
        table.add_row(
            printable(step["step"]),
            printable(step.get("type") or "(earlier version)"),
            *(str(step.get(c, 0)) for c in columns),
        )
    print_table(out, table)


@journeys.command("enroll")
@click.argument("journey_id")
@click.option("--contact-id", default=None, help="The contact to enter.")
@click.option("--lead-id", default=None, help="Or a lead: its contact enters, with the lead.")
@api_options
def enroll(journey_id: str, contact_id: str | None, lead_id: str | None, api: Api) -> None:
    """Enter one person into a live journey on its current version. Entering someone already in, or
    whom the re-entry policy keeps out, changes nothing; a journey that is not live is exit code 1."""
    if (contact_id is None) == (lead_id is None):
        raise click.UsageError("give one of --contact-id or --lead-id")
    body = {"contact_id": contact_id} if contact_id else {"lead_id": lead_id}
    done = api.call("POST", f"/v1/journeys/{_quoted(journey_id)}/enroll", body)
    who = done.get("contact_id") or contact_id or lead_id
    said = {
        "enrolled": f"enrolled {who} at step {done.get('step')} (version {done.get('version')})",
        "already": f"{who} is already in it, at step {done.get('step')}",
        "not_again": f"{who} went through it before and its re-entry policy keeps them out",
        "not_live": f"journey {journey_id} is not live: nobody enters (leadflow journeys activate it)",
    }.get(done["result"], done["result"])
    if done["result"] == "not_live":
        raise click.ClickException(printable(said))
    console().print(printable(said))


@journeys.command("messages")
@click.argument("journey_id")
@click.option("--contact-id", default=None, help="Only this contact's e-mails (of the page read).")
@click.option("--limit", default=25, show_default=True, type=click.IntRange(1, 200))
@click.option("--cursor", default=None, help="The next_cursor of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def messages(
    journey_id: str, contact_id: str | None, limit: int, cursor: str | None, as_json: bool, api: Api
) -> None:
    """What the journey sent (or refused) to whom, newest first, a page at a time."""
    params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
    if contact_id:  # the outbox narrowed to the journey and the contact
        path = "/v1/messages?" + urlencode({"journey_id": journey_id, "contact_id": contact_id, **params})
    else:
        path = f"/v1/journeys/{_quoted(journey_id)}/messages?" + urlencode(params)
    page = api.call("GET", path)
    if as_json:
        click.echo(json.dumps(page, indent=2))
        return
    out = console()
    items = page.get("items", [])
    if not items:
        out.print(styled("no e-mails", "dim"))
    else:
        table = table_with_ids("message", [m["message_id"] for m in items], "at", "to", "template", "status")
        for name in ("opens", "clicks"):
            table.add_column(name, justify="right")
        table.add_column("subject", overflow="fold")
        for m in items:
            status = m["status"] + (
                f" ({m['reason']})" if m.get("reason") and m["reason"] != m["status"] else ""
            )
            table.add_row(
                m["message_id"],
                _when(m.get("sent_at") or m.get("created_at")),
                printable(m.get("to") or ""),
                printable(f"{m['template_id']} v{m['version']}"),
                printable(status),
                str(m.get("opens", 0)),
                str(m.get("clicks", 0)),
                printable(m.get("subject") or ""),
            )
        print_table(out, table)
    if page.get("next_cursor"):
        out.print(f"more: --cursor {page['next_cursor']}", soft_wrap=True)


# ---------------------------------------------------------------- e-mail templates

templates = click.Group("templates", help="E-mail templates from YAML or JSON files (see docs/email.md).")


def _template_bodies(
    path: Path | None,
    template_id: str | None,
    subject: str | None,
    html: Path | None,
    text: Path | None,
    sender: str | None,
    consent: str | None,
) -> list[tuple[str, dict[str, Any]]]:
    """The templates to save: the file's, with the options replacing its parts (one template), or the
    options alone (``--template-id --subject --html FILE --text FILE``)."""
    given = {
        "subject": subject,
        "html": _read_part(html, "--html"),
        "text": _read_part(text, "--text"),
        "from": sender,
        "consent": consent,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if path is None:
        if not template_id:
            raise click.UsageError("give a template file, or --template-id with --subject, --html and --text")
        missing = [f"--{part}" for part in ("subject", "html", "text") if part not in given]
        if missing:
            raise click.UsageError(f"without a template file, give {', '.join(missing)}")
        return [(template_id, given)]
    found = template_files(path, template_id)
    if given and len(found) != 1:
        raise click.UsageError(f"{path} holds {len(found)} templates: options may change only one")
    return [(ident, {**body, **given}) for ident, body in found]


def _read_part(path: Path | None, option: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint=option) from None


def _template_options(command: Any) -> Any:
    for option in reversed(
        (
            click.option("--template-id", default=None, help="Default: the file's id, else its name."),
            click.option("--subject", default=None, help="The subject (a Jinja2 template)."),
            click.option("--html", "html", type=FILE, default=None, help="A file holding the HTML part."),
            click.option("--text", "text", type=FILE, default=None, help="A file holding the text part."),
            click.option("--from", "sender", default=None, help="The sender (default: the stage's)."),
            click.option(
                "--consent", default=None, help="The consent the person needs (default: marketing)."
            ),
        )
    ):
        command = option(command)
    return command


@templates.command("validate")
@click.argument("path", type=FILE, required=False)
@_template_options
def validate_templates(path: Path | None, **options: Any) -> None:
    """Check template files (or parts given as options) here, with the API's own rules: every part
    compiles in Jinja2's sandbox and renders for a person with no fields. Prints each template's link
    names (what a journey's branch may name). Exit code 1 when one is refused."""
    out, failed = console(), False
    for ident, body in _template_bodies(path, **options):
        links, problem = template_links(ident, body)
        if problem is not None:
            failed = True
            out.print(styled("invalid", "red"), printable(f"template {ident}"), soft_wrap=True)
            for error in _template_errors(ident, body):
                out.print(printable(f"  {error}"), soft_wrap=True)
            continue
        named = ", ".join(sorted(links)) or "none"
        out.print(styled("valid", "green"), printable(f"  template {ident} (links: {named})"), soft_wrap=True)
    if failed:
        raise SystemExit(1)


def _template_errors(template_id: str, body: dict[str, Any]) -> list[str]:
    from chalicelib.domain.email import parse_template
    from chalicelib.domain.errors import ValidationFailed

    try:
        parse_template(template_id, body)
    except ValidationFailed as failed:
        return [
            f"{e.field}: {field_message({'field': e.field, 'message': e.message})}" for e in failed.errors
        ]
    return [template_links(template_id, body)[1] or "does not render"]


@templates.command("apply")
@click.argument("path", type=FILE, required=False)
@_template_options
@api_options
def apply_templates(path: Path | None, api: Api, **options: Any) -> None:
    """Save each template of the file (an ``id`` key names it and is not sent), or the one the options
    give, as its new version. The API's refusal names the part and line; exit code 1."""
    out = console()
    for ident, body in _template_bodies(path, **options):
        saved = api.call("PUT", f"/v1/email-templates/{_quoted(ident)}", body)
        links, problem = template_links(ident, body)
        named = "" if problem else f" (links: {', '.join(sorted(links)) or 'none'})"
        out.print(styled("saved", "green"), printable(f"template {ident} version {saved['version']}{named}"))


@templates.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def list_templates(as_json: bool, api: Api) -> None:
    """Every e-mail template (its current version)."""
    items = _listed(api, "/v1/email-templates", as_json, "no templates yet: leadflow templates apply FILE")
    if not items:
        return
    out = console()
    table = table_with_ids("template", [t["template_id"] for t in items], "version", "consent", "changed")
    table.add_column("subject", overflow="fold")
    for t in items:
        table.add_row(
            t["template_id"],
            f"v{t['version']}",
            t.get("consent") or "",
            _when(t.get("updated_at")),
            printable(t["subject"]),
        )
    print_table(out, table)


@templates.command("show")
@click.argument("template_id")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def show_template(template_id: str, as_json: bool, api: Api) -> None:
    """A template's current version: subject, sender, consent, link names, and its text and HTML parts."""
    found = api.call("GET", f"/v1/email-templates/{_quoted(template_id)}")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    links, _ = template_links(template_id, found)
    out = console()
    facts = {
        "template": f"{found['template_id']} v{found['version']} ({_when(found.get('updated_at'))})",
        "subject": found["subject"],
        "from": found.get("from") or "the stage's sender",
        "consent": found.get("consent"),
        "links": ", ".join(sorted(links)) or "none",
    }
    for key, value in facts.items():
        out.print(styled(f"{key:<9}", "dim"), printable(value))
    for part in ("text", "html"):
        out.print(styled(f"--- {part}", "dim"))
        _print_lines(out, found[part])


@templates.command("preview")
@click.argument("template_id")
@click.option(
    "--contact-id", default=None, help="Render for this contact (default: a person with no fields)."
)
@click.option("--html/--no-html", "with_html", default=False, help="Also print the HTML part.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def preview(template_id: str, contact_id: str | None, with_html: bool, as_json: bool, api: Api) -> None:
    """The template rendered by the API for a contact (links untracked, nothing sent or recorded)."""
    query = f"?{urlencode({'contact_id': contact_id})}" if contact_id else ""
    rendered = api.call("GET", f"/v1/email-templates/{_quoted(template_id)}/preview{query}")
    if as_json:
        click.echo(json.dumps(rendered, indent=2))
        return
    out = console()
    out.print(styled("subject ", "dim"), printable(rendered["subject"]))
    parts = ("text", "html") if with_html else ("text",)
    for part in parts:
        out.print(styled(f"--- {part}", "dim"))
        _print_lines(out, rendered[part])


def _print_lines(out: Any, text: str) -> None:
    """A part as its lines, each made printable (what a contact typed is in a preview)."""
    for line in str(text).splitlines():
        out.print(printable(line), soft_wrap=True)


def register(main: click.Group) -> None:
    for group in (journeys, templates):
        main.add_command(group)
