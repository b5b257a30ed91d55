"""Journeys (issue 18, item 1): versioned definitions, validated on save, and the pure decisions the
engine (``services/journeys.py``) takes for one enrollment: what a step does, where it goes next and
when it is due. No AWS here: the service reads and writes, this module decides.

A definition (``PUT /v1/journeys/{id}``)::

    {"name": "Welcome", "entry": {"segment_id": "s"} | {"trigger": {...}} | {"api": true},
     "consent": "marketing", "re_entry": "never" | "always" | {"after_days": 30},
     "steps": [{"id": "hello", "type": "email", "template_id": "welcome"}, ...],
     "exits": {"qualified": true, "unsubscribed": true}, "goal": <condition>}

Steps form a graph by id: each step goes to ``next`` (default: the following step of the list; the last
step ends the journey), a branch to ``yes``/``no``, a split to ``a``/``b``. Every error names its place
(``steps[2].template_id``), as the rules' compiler does (``domain/rules.py``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chalicelib.domain.changes import AnyChange, ContactChange, LeadChange, ScoreChange, differs
from chalicelib.domain.consent import CONSENT_LEVELS, consent_rank
from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.fields import MANAGED_FIELDS, RESERVED_FIELDS
from chalicelib.domain.qualification import HANDOFF_TYPES, Action, _actions
from chalicelib.domain.rules import Compiler, Condition, EventLeaf, Facts

STEP_TYPES = ("email", "wait", "branch", "split", "update_field", "create_lead", "sales_work", "exit")
STATES = ("draft", "live", "paused", "stopped")
#: Which state may follow which (``POST /v1/journeys/{id}/activate|pause|stop``).
MOVES = {
    "activate": ({"draft", "paused"}, "live"),
    "pause": ({"live"}, "paused"),
    "stop": ({"draft", "live", "paused"}, "stopped"),
}
EXIT_REASONS = ("completed", "exit_step", "qualified", "unsubscribed", "goal", "stopped", "gone", "merged")
ENGAGEMENTS = ("opened", "clicked", "visited", "form")
#: What an engagement branch listens for, by interaction type.
ENGAGEMENT_TYPES = {
    "email_opened": "opened",
    "email_clicked": "clicked",
    "page_visited": "visited",
    "form_submitted": "form",
}
#: Statuses (with state ``qualified``) at which a lead counts as marketing-qualified or beyond.
QUALIFIED_STATUSES = frozenset({"marketing_qualified", "contacted", "sales_accepted"})
MAX_STEPS = 50
MAX_WAIT = timedelta(days=365)
#: The shortest wait: the sweep that moves people on runs once a minute, a shorter wait means nothing.
MIN_WAIT = timedelta(minutes=1)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_FIELD = re.compile(r"(contact|lead)\.[a-z][a-z0-9_]{0,63}")
_DEFINITION_KEYS = {"name", "entry", "consent", "re_entry", "steps", "exits", "goal", "description"}
_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}


@dataclass(frozen=True)
class Catalog:
    """What a definition may refer to, as the service found it: each template's link names (and the
    message of a trial render that failed, else ``None``), the saved segments, the forms, the scoring
    models (for ``score``/``grade`` conditions)."""

    templates: Mapping[str, tuple[frozenset[str], str | None]] = field(default_factory=dict)
    segments: frozenset[str] = frozenset()
    forms: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Step:
    step_id: str
    type: str
    spec: dict[str, Any]
    #: Where it goes: ``next`` (or ``yes``/``no``, ``a``/``b``); ``None``: the journey ends there.
    exits: dict[str, str | None]
    condition: Condition | None = None
    action: Action | None = None


@dataclass(frozen=True)
class Journey:
    """One version of a journey: what the engine runs for the people who entered on it."""

    journey_id: str
    version: int
    name: str
    entry: dict[str, Any]
    consent: str
    re_entry: str | int  # "never", "always", or days
    steps: dict[str, Step]
    first: str
    order: tuple[str, ...]
    exit_on_qualified: bool = True
    exit_on_unsubscribed: bool = True
    goal: Condition | None = None
    trigger: EventLeaf | None = None
    definition: dict[str, Any] = field(default_factory=dict, compare=False)

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]


@dataclass(frozen=True)
class JourneyHead:
    """A journey's current state and version (what new entrants get)."""

    journey_id: str
    name: str
    state: str
    version: int
    updated_at: datetime
    entry: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- parsing and validation


def lenient_catalog(body: Any) -> Catalog:
    """A catalog that accepts every name the body uses: to run a saved version whose references went
    (``services/journeys.py: version_of``), and to check a definition offline, where the templates,
    segments, forms and models it names cannot be looked up (``leadflow journeys validate``)."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            names.add(value)

    walk(body)
    everything = frozenset(names)
    return Catalog(dict.fromkeys(names, (everything, None)), everything, everything, everything)


def _extra_leaves(models: frozenset[str], compiler: Compiler) -> Any:
    """The qualification rules' ``score``/``grade``/``sales_ready`` leaves (domain/qualification.py)."""
    from chalicelib.domain.qualification import score_leaves

    return score_leaves(models, set(), compiler)


def _duration(spec: dict[str, Any], where: str, compiler: Compiler) -> timedelta | None:
    units = [unit for unit in _UNIT_SECONDS if unit in spec]
    if len(units) != 1:
        return None
    unit = units[0]
    value = spec[unit]
    if isinstance(value, bool) or not isinstance(value, int | float):
        compiler.fail(f"{where}.{unit}", f"{where}.{unit} must be a number")
        return timedelta(0)
    if not -MAX_WAIT.total_seconds() <= value * _UNIT_SECONDS[unit] <= MAX_WAIT.total_seconds():
        return MAX_WAIT * 2  # beyond a year (timedelta would overflow on 1e308 days): refused below
    return timedelta(seconds=float(value) * _UNIT_SECONDS[unit])


def _check_wait(spec: dict[str, Any], where: str, catalog: Catalog, compiler: Compiler) -> None:  # noqa: ARG001 - one signature for every step check
    kinds = [k for k in ("minutes", "hours", "days", "until", "time_of_day") if k in spec]
    if len(kinds) != 1:
        compiler.fail(where, f"{where}: a wait needs one of minutes, hours, days, until or time_of_day")
        return
    kind = kinds[0]
    if kind == "until":
        if parse_until(spec["until"]) is None:
            compiler.fail(f"{where}.until", f"{where}.until must be an ISO 8601 date-time with a zone")
        return
    if kind == "time_of_day":
        if not isinstance(spec["time_of_day"], str) or not _TIME_OF_DAY.fullmatch(spec["time_of_day"]):
            compiler.fail(f"{where}.time_of_day", f"{where}.time_of_day must be HH:MM (24 hours)")
        zone = spec.get("time_zone")
        if zone is not None and zone_of(zone) is None:
            compiler.fail(f"{where}.time_zone", f"{where}.time_zone {zone!r} is not an IANA time zone")
        return
    duration = _duration(spec, where, compiler)
    if duration is not None and not MIN_WAIT <= duration <= MAX_WAIT:
        compiler.fail(
            f"{where}.{kind}", f"{where}.{kind}: a wait must be at least one minute and at most a year"
        )


def parse_until(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def zone_of(name: Any) -> Any:
    """The IANA zone called ``name``, or ``None``."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str) or not 1 <= len(name) <= 64 or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _target(step: dict[str, Any], key: str, where: str, ids: set[str], compiler: Compiler) -> str | None:
    target = step.get(key)
    if target is None:
        return None
    if not isinstance(target, str) or target not in ids:
        compiler.fail(f"{where}.{key}", f"{where}.{key}: {target!r} is not a step of this journey")
        return None
    return target


def _check_engagement(
    spec: Any, where: str, links: frozenset[str], catalog: Catalog, compiler: Compiler
) -> None:
    if not isinstance(spec, dict) or len([k for k in spec if k in ENGAGEMENTS]) != 1:
        compiler.fail(where, f"{where} must name one of {', '.join(ENGAGEMENTS)}")
        return
    for key in sorted(set(spec) - set(ENGAGEMENTS)):
        compiler.fail(f"{where}.{key}", f"{where}: unknown key {key!r}")
    if "opened" in spec and spec["opened"] is not True:
        compiler.fail(f"{where}.opened", f"{where}.opened must be true")
    if "clicked" in spec:
        name = spec["clicked"]
        if name is not True and (not isinstance(name, str) or name not in links):
            known = ", ".join(sorted(links)) or "none"
            compiler.fail(
                f"{where}.clicked",
                f"{where}.clicked: {name!r} is not a link of the journey's e-mails (links: {known})",
            )
    if "visited" in spec and (not isinstance(spec["visited"], str) or not 1 <= len(spec["visited"]) <= 500):
        compiler.fail(f"{where}.visited", f"{where}.visited must be (part of) a page address")
    if "form" in spec and not _named(spec["form"], catalog.forms):
        compiler.fail(f"{where}.form", f"{where}.form: {spec['form']!r} is not a form")


def _named(value: Any, names: frozenset[str]) -> bool:
    """``value`` is one of ``names`` (a list or an object names nothing; ``in`` would raise on them)."""
    return isinstance(value, str) and value in names


def _check_entry(spec: Any, catalog: Catalog, compiler: Compiler) -> EventLeaf | None:
    if not isinstance(spec, dict) or len([k for k in spec if k in ("segment_id", "trigger", "api")]) != 1:
        compiler.fail("entry", "entry must be {segment_id}, {trigger} or {api: true}")
        return None
    if "segment_id" in spec:
        if not _named(spec["segment_id"], catalog.segments):
            compiler.fail(
                "entry.segment_id", f"entry.segment_id: {spec['segment_id']!r} is not a saved segment"
            )
        return None
    if "api" in spec:
        if spec["api"] is not True:
            compiler.fail("entry.api", "entry.api must be true")
        return None
    return _check_trigger(spec["trigger"], catalog, compiler)


def _check_trigger(trigger: Any, catalog: Catalog, compiler: Compiler) -> EventLeaf | None:
    """``{form_id}``, ``{grade, value}`` (a lead of a model reaching a grade) or one event condition."""
    if not isinstance(trigger, dict):
        compiler.fail("entry.trigger", "entry.trigger must be an object")
        return None
    if "form_id" in trigger:
        if not _named(trigger["form_id"], catalog.forms):
            compiler.fail(
                "entry.trigger.form_id", f"entry.trigger.form_id: {trigger['form_id']!r} is not a form"
            )
        return None
    if "grade" in trigger:
        if not _named(trigger["grade"], catalog.models):
            compiler.fail(
                "entry.trigger.grade", f"entry.trigger.grade: {trigger['grade']!r} is not a scoring model"
            )
        if not isinstance(trigger.get("value"), str) or not 1 <= len(trigger["value"]) <= 8:
            compiler.fail("entry.trigger.value", "entry.trigger.value must be the grade to reach (A, B...)")
        return None
    leaf = compiler.condition(trigger, "entry.trigger")
    if leaf is not None and not isinstance(leaf, EventLeaf):
        compiler.fail(
            "entry.trigger", "entry.trigger must be one event condition, {form_id} or {grade, value}"
        )
        return None
    return leaf if isinstance(leaf, EventLeaf) else None


def _re_entry(value: Any, compiler: Compiler) -> str | int:
    if value is None or value in ("never", "always"):
        return value or "never"
    if isinstance(value, dict) and set(value) == {"after_days"}:
        days = value["after_days"]
        if isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 3650:
            return days
    compiler.fail("re_entry", "re_entry must be never, always or {after_days: 1-3650}")
    return "never"


def parse_journey(
    journey_id: str, body: Any, catalog: Catalog, version: int = 0, now: datetime | None = None
) -> Journey:
    """Validate a definition against what it refers to; :class:`ValidationFailed` names every problem
    (``steps[2].template_id``, ``steps[1].days``, ``steps[3].next``...). ``now`` (on save): a wait
    ``until`` a moment must be after it and at most a year later (a saved version is parsed again
    without it when it runs, so a date that has passed since does not break its people)."""
    if not _ID.fullmatch(journey_id):
        raise ValidationFailed([FieldError("journey_id", "journey_id must be 1-64 letters, digits, _ or -")])
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "a journey must be a JSON object")])
    compiler = Compiler()
    compiler.extra_leaf = _extra_leaves(catalog.models, compiler)
    for key in sorted(set(body) - _DEFINITION_KEYS):
        compiler.fail(key, f"{key} is not a property of a journey")
    name, consent = _header(body, compiler)
    trigger = _check_entry(body.get("entry"), catalog, compiler)
    re_entry = _re_entry(body.get("re_entry"), compiler)
    exits = _exits(body, compiler)
    if "goal" in body and "goal" in exits:
        compiler.fail(
            "exits.goal", "exits.goal and goal are the same exit: give the goal once, in one of them"
        )
    goal_spec = body.get("goal", exits.get("goal"))
    goal = compiler.condition(goal_spec, "goal") if goal_spec is not None else None
    raw = body.get("steps")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
        compiler.fail("steps", f"steps must be a list of 1-{MAX_STEPS} steps")
        raise ValidationFailed(compiler.errors)
    ids = _step_ids(raw, compiler)
    links = frozenset(
        link
        for step in raw
        if isinstance(step, dict) and step.get("type") == "email"
        for link in catalog.templates.get(str(step.get("template_id")), (frozenset(), None))[0]
    )
    steps: dict[str, Step] = {}
    for index, spec in enumerate(raw):
        step = _step(index, spec, ids, links, catalog, compiler)
        if step is not None:
            steps[step.step_id] = step
    _check_across_steps(raw, trigger, re_entry, now, compiler)
    if not compiler.errors:
        _check_loops(steps, ids, compiler)
    if compiler.errors:
        raise ValidationFailed(compiler.errors)
    return Journey(
        journey_id=journey_id,
        version=version,
        name=str(name),
        entry=dict(body["entry"]),
        consent=str(consent),
        re_entry=re_entry,
        steps=steps,
        first=ids[0],
        order=tuple(ids),
        exit_on_qualified=bool(exits.get("qualified", True)),
        exit_on_unsubscribed=bool(exits.get("unsubscribed", True)),
        goal=goal,
        trigger=trigger,
        definition=body,
    )


def _header(body: dict[str, Any], compiler: Compiler) -> tuple[Any, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        compiler.fail("name", "name must be text of 1-200 characters")
    consent = body.get("consent", "marketing")
    if consent not in CONSENT_LEVELS or consent == "none":
        compiler.fail("consent", f"consent must be one of {', '.join(CONSENT_LEVELS[1:])}")
    return name, consent


def _exits(body: dict[str, Any], compiler: Compiler) -> dict[str, Any]:
    exits = body.get("exits", {})
    if not isinstance(exits, dict) or set(exits) - {"qualified", "unsubscribed", "goal"}:
        compiler.fail("exits", "exits may hold qualified, unsubscribed (true/false) and goal (a condition)")
        return {}
    for key in ("qualified", "unsubscribed"):
        if not isinstance(exits.get(key, True), bool):
            compiler.fail(f"exits.{key}", f"exits.{key} must be true or false")
    return exits


def _step_ids(raw: list[Any], compiler: Compiler) -> list[str]:
    ids: list[str] = []
    for index, step in enumerate(raw):
        where = f"steps[{index}]"
        step_id = step.get("id") if isinstance(step, dict) else None
        if not isinstance(step_id, str) or not _ID.fullmatch(step_id):
            compiler.fail(f"{where}.id", f"{where}.id must be 1-64 letters, digits, _ or -")
        elif step_id in ids:
            compiler.fail(f"{where}.id", f"{where}.id {step_id!r} is used by another step")
        ids.append(step_id if isinstance(step_id, str) else f"#{index}")
    return ids


def _step(
    index: int, spec: Any, ids: list[str], links: frozenset[str], catalog: Catalog, compiler: Compiler
) -> Step | None:
    """One step checked (its place named ``steps[index]``), with where it goes."""
    where = f"steps[{index}]"
    if not isinstance(spec, dict):
        compiler.fail(where, f"{where} must be a step object")
        return None
    kind = spec.get("type")
    if kind not in STEP_TYPES:
        compiler.fail(f"{where}.type", f"{where}.type must be one of {', '.join(STEP_TYPES)}")
        return None
    following = ids[index + 1] if index + 1 < len(ids) else None
    known = set(ids)

    def target(key: str) -> str | None:
        return _target(spec, key, where, known, compiler) or following

    exits: dict[str, str | None] = {
        "branch": lambda: {"yes": target("yes"), "no": target("no")},
        "split": lambda: {"a": target("a"), "b": target("b")},
        "exit": dict,
    }.get(str(kind), lambda: {"next": target("next")})()
    condition: Condition | None = None
    action: Action | None = None
    if kind == "branch":
        condition = _check_branch(spec, where, links, catalog, compiler)
    elif kind == "sales_work":
        made = _actions([spec.get("action")], f"{where}.action", compiler.errors, HANDOFF_TYPES)
        action = made[0] if made else None
    else:
        _CHECKS.get(str(kind), _nothing)(spec, where, catalog, compiler)
    return Step(ids[index], str(kind), spec, exits, condition, action)


def _nothing(spec: dict[str, Any], where: str, catalog: Catalog, compiler: Compiler) -> None:  # noqa: ARG001 - one signature for every step check
    return None


def _check_split(spec: dict[str, Any], where: str, catalog: Catalog, compiler: Compiler) -> None:  # noqa: ARG001 - one signature for every step check
    percent = spec.get("percent")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
        compiler.fail(f"{where}.percent", f"{where}.percent must be 1-99 (the share sent to a)")


def _check_create_lead(spec: dict[str, Any], where: str, catalog: Catalog, compiler: Compiler) -> None:  # noqa: ARG001 - one signature for every step check
    for key in ("topic", "source"):
        if key in spec and (not isinstance(spec[key], str) or not 1 <= len(spec[key]) <= 200):
            compiler.fail(f"{where}.{key}", f"{where}.{key} must be text")


def _check_branch(
    spec: dict[str, Any], where: str, links: frozenset[str], catalog: Catalog, compiler: Compiler
) -> Condition | None:
    if ("engagement" in spec) == ("condition" in spec):
        compiler.fail(where, f"{where}: a branch needs engagement or condition")
        return None
    if "condition" in spec:
        return compiler.condition(spec["condition"], f"{where}.condition")
    _check_engagement(spec["engagement"], f"{where}.engagement", links, catalog, compiler)
    hours = spec.get("within_hours")
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 8760:
        compiler.fail(
            f"{where}.within_hours", f"{where}.within_hours must be a whole number of hours, 1-8760"
        )
    return None


def _check_email(spec: dict[str, Any], where: str, catalog: Catalog, compiler: Compiler) -> None:
    template_id = spec.get("template_id")
    found = catalog.templates.get(template_id) if isinstance(template_id, str) else None
    if found is None:
        compiler.fail(
            f"{where}.template_id", f"{where}.template_id: {template_id!r} is not an e-mail template"
        )
    elif found[1] is not None:
        compiler.fail(
            f"{where}.template_id", f"{where}.template_id: the template does not render: {found[1]}"
        )


def _check_update(spec: dict[str, Any], where: str, catalog: Catalog, compiler: Compiler) -> None:  # noqa: ARG001 - one signature for every step check
    if not isinstance(spec.get("field"), str) or not _FIELD.fullmatch(spec["field"]):
        compiler.fail(f"{where}.field", f"{where}.field must be contact.<name> or lead.<name>")
    value = spec.get("value")
    if not isinstance(value, str | int | float | bool) or (isinstance(value, str) and len(value) > 500):
        compiler.fail(f"{where}.value", f"{where}.value must be text (up to 500), a number or a boolean")


_CHECKS = {
    "email": _check_email,
    "wait": _check_wait,
    "update_field": _check_update,
    "create_lead": _check_create_lead,
    "split": _check_split,
}


def _check_across_steps(
    raw: list[Any], trigger: EventLeaf | None, re_entry: str | int, now: datetime | None, compiler: Compiler
) -> None:
    """The checks on save only (``now`` given; a version saved before them still runs): waits
    ``until`` a moment, and a trigger the journey's own e-mail would match again."""
    if now is None:
        return
    _check_untils(raw, now, compiler)
    _check_updated_fields(raw, compiler)
    if trigger is not None and re_entry == "always":
        _check_self_trigger(trigger, raw, compiler)


def _check_self_trigger(trigger: EventLeaf, raw: list[Any], compiler: Compiler) -> None:
    """A journey entered by an interaction its own e-mail records (``email_sent``, or any event) and
    re-entered ``always`` reads as a loop without a wait. The engine never lets it run (a journey's own
    e-mail enters nobody: ``services/journeys.py: _trigger_entries``, which also stops two journeys
    feeding each other); this refusal only tells the author early that the trigger cannot mean what
    it says. Tested on the ``email_sent`` each of its e-mails records."""
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    for step in raw:
        if not (isinstance(step, dict) and step.get("type") == "email"):
            continue
        sent = Interaction(
            interaction_id="journey-check",
            contact_id="journey-check",
            type="email_sent",
            occurred_at=moment,
            properties={"message_id": "journey-check", "template_id": str(step.get("template_id"))},
            source="email",
        )
        if trigger.test(Facts(None, None, None, [sent], moment))[0]:
            compiler.fail(
                "entry.trigger",
                f"entry.trigger: the journey's own e-mail ({step.get('template_id')}) records email_sent,"
                " which this trigger matches; with re_entry always that reads as a loop without end (a"
                " journey's own e-mail enters nobody: use re_entry never or after_days, or a where that"
                " leaves the journey's templates out)",
            )
            return


#: What an ``update_field`` step may not set: what Leadflow keeps itself (ids, the lifecycle, consent,
#: scores: ``domain/fields.py``) and the contact's address, which identifies the person (a merge or a
#: capture changes it). Written as a custom field of the same name, each would only pose as the real one.
NOT_UPDATABLE = RESERVED_FIELDS | MANAGED_FIELDS | {"contact.email"}


def _check_updated_fields(raw: list[Any], compiler: Compiler) -> None:
    for index, spec in enumerate(raw):
        if (
            isinstance(spec, dict)
            and spec.get("type") == "update_field"
            and spec.get("field") in NOT_UPDATABLE
        ):
            compiler.fail(
                f"steps[{index}].field",
                f"steps[{index}].field: {spec['field']} is kept by Leadflow itself and cannot be set by a"
                " journey (consent changes through the preference page or PUT /v1/contacts/{id}/consent;"
                " a lead's status through its lifecycle; a contact's address through a capture or a merge)",
            )


def _check_untils(raw: list[Any], now: datetime, compiler: Compiler) -> None:
    """A wait until a moment already past is a wait of zero; one more than a year away, of years."""
    for index, spec in enumerate(raw):
        if not (isinstance(spec, dict) and spec.get("type") == "wait" and "until" in spec):
            continue
        until = parse_until(spec["until"])
        if until is not None and not now < until <= now + MAX_WAIT:
            compiler.fail(
                f"steps[{index}].until",
                f"steps[{index}].until must be after now and at most a year from now",
            )


def _check_loops(steps: dict[str, Step], order: list[str], compiler: Compiler) -> None:
    """A cycle in which no step is a wait would run without end in one delivery: refused, naming a
    step on it. Waits break cycles (a loop that waits a day is a reminder, not a runaway)."""
    colour: dict[str, int] = {}

    def visit(step_id: str, path: list[str]) -> None:
        colour[step_id] = 1
        path.append(step_id)
        for target in steps[step_id].exits.values():
            if target is None or steps[target].type == "wait":
                continue
            if colour.get(target) == 1:
                index = order.index(target)
                cycle = " -> ".join([*path[path.index(target) :], target])
                compiler.fail(f"steps[{index}]", f"steps[{index}]: a loop without a wait ({cycle})")
            elif target not in colour:
                visit(target, path)
        path.pop()
        colour[step_id] = 2

    for step_id in order:
        if step_id not in colour and steps[step_id].type != "wait":
            visit(step_id, [])


# ---------------------------------------------------------------- the engine's decisions


@dataclass(frozen=True)
class Enrollment:
    """One person's way through one journey: the version they entered on, where they are, since when,
    when the engine looks again (``due_at``; ``None`` once finished), and what they did meanwhile
    (``events``: ``opened``, ``clicked:<link>``, ``visited:<url>``, ``form:<id>`` -> when)."""

    journey_id: str
    contact_id: str
    version: int
    run: int
    step: str | None
    state: str  # "active" | "done"
    seq: int
    entered_at: datetime
    step_at: datetime
    due_at: datetime | None
    lead_id: str | None = None
    reason: str | None = None
    finished_at: datetime | None = None
    events: dict[str, datetime] = field(default_factory=dict)
    #: The step waits for engagement: the interactions stream wakes it (``waiting_on`` on the item).
    waiting: bool = False


def journey_facts(enrollments: Sequence[Enrollment]) -> dict[str, Any]:
    """What a segment's ``journey.<id>.<attribute>`` leaves read (``domain/segments.py``): a person in
    a journey is ``in`` it at a step; one who left is ``exited`` with the reason and when; one never
    enrolled has no values (``missing``)."""
    from chalicelib.domain.segments import journey_key

    facts: dict[str, Any] = {}
    for e in enrollments:
        active = e.state == "active"
        facts[journey_key(e.journey_id, "state")] = "in" if active else "exited"
        facts[journey_key(e.journey_id, "entered_at")] = e.entered_at
        facts[journey_key(e.journey_id, "step")] = e.step if active else None
        facts[journey_key(e.journey_id, "exited_at")] = None if active else e.finished_at
        facts[journey_key(e.journey_id, "exit_reason")] = None if active else e.reason
    return facts


def may_enter(previous: Enrollment | None, re_entry: str | int, now: datetime) -> bool:
    """Whether a person (with this earlier enrollment, if any) may enter again now."""
    if previous is None:
        return True
    if previous.state != "done":
        return False
    if re_entry == "always":
        return True
    if re_entry == "never":
        return False
    finished = previous.finished_at or previous.entered_at
    return now >= finished + timedelta(days=int(re_entry))


def time_zone(contact: Contact | None, account: Account | None, step: Step) -> Any:
    """The zone of a time-of-day wait: the step's, else the contact's ``time_zone`` field, else the
    account's, else UTC."""
    for candidate in (
        step.spec.get("time_zone"),
        contact.fields.get("time_zone") if contact else None,
        account.fields.get("time_zone") if account else None,
    ):
        zone = zone_of(candidate)
        if zone is not None:
            return zone
    return UTC


def due_at(step: Step, entered: datetime, zone: Any = UTC) -> datetime:
    """When the engine should look at a person who reached ``step`` at ``entered``: at once, except a
    wait (its end) and an engagement branch (the end of its window; engagement wakes it earlier)."""
    spec = step.spec
    if step.type == "branch" and "engagement" in spec:
        return entered + timedelta(hours=float(spec["within_hours"]))
    if step.type != "wait":
        return entered
    if "until" in spec:
        until = parse_until(spec["until"])
        return max(entered, until) if until else entered
    if "time_of_day" in spec:
        hours, minutes = (int(part) for part in spec["time_of_day"].split(":"))
        local = entered.astimezone(zone)
        target = datetime.combine(local.date(), time(hours, minutes), tzinfo=zone)
        if target <= local:
            target = datetime.combine(local.date() + timedelta(days=1), time(hours, minutes), tzinfo=zone)
        return target.astimezone(UTC)
    for unit, seconds in _UNIT_SECONDS.items():
        if unit in spec:
            return entered + timedelta(seconds=float(spec[unit]) * seconds)
    return entered


def engagement_key(spec: dict[str, Any]) -> str:
    """The enrollment event an engagement branch looks for (``clicked`` any link: ``clicked:*``)."""
    kind = next(k for k in ENGAGEMENTS if k in spec)
    value = spec[kind]
    if kind == "opened":
        return "opened"
    if value is True:
        return f"{kind}:*"
    return f"{kind}:{value}"


def event_keys(interaction: Interaction) -> list[str]:
    """The enrollment events one interaction records (a click on ``pricing``: ``clicked:pricing`` and
    ``clicked:*``)."""
    kind = ENGAGEMENT_TYPES.get(interaction.type)
    if kind is None:
        return []
    props = interaction.properties or {}
    if kind == "opened":
        return ["opened"]
    value = {"clicked": props.get("link"), "visited": props.get("url"), "form": props.get("form_id")}[kind]
    keys = [f"{kind}:*"]
    if isinstance(value, str) and value:
        keys.append(f"{kind}:{value[:500]}")
    return keys


def engaged(step: Step, events: Mapping[str, datetime], since: datetime) -> bool:
    """Did the person do what the branch asks since ``since`` (a visit matches by substring)?"""
    wanted = engagement_key(step.spec["engagement"])
    if wanted.startswith("visited:") and wanted != "visited:*":
        part = wanted.removeprefix("visited:")
        return any(k.startswith("visited:") and part in k[8:] and at >= since for k, at in events.items())
    at = events.get(wanted)
    return at is not None and at >= since


def split_choice(contact_id: str, journey_id: str, step: Step) -> str:
    """``a`` or ``b``, deterministic: a hash of contact and step below the step's percent."""
    digest = hashlib.sha256(f"{journey_id}\x1f{step.step_id}\x1f{contact_id}".encode()).hexdigest()
    return "a" if int(digest[:8], 16) % 100 < int(step.spec["percent"]) else "b"


def qualified(leads: Sequence[Lead]) -> bool:
    return any(lead.state == "qualified" or lead.status in QUALIFIED_STATUSES for lead in leads)


def below_consent(contact: Contact, level: str) -> bool:
    return consent_rank(contact.consent) < consent_rank(level)


@dataclass(frozen=True)
class Outcome:
    """What one look at an enrollment decided: move to ``next_step`` (``None`` and ``reason``: finish),
    or ``stay`` (not due yet: a wait, an engagement window still open)."""

    stay: bool = False
    next_step: str | None = None
    reason: str | None = None
    #: The exit taken from the step (``next``, ``yes``, ``no``, ``a``, ``b``): for the report.
    via: str = "next"


def exit_reason(
    journey: Journey,
    contact: Contact,
    leads: Sequence[Lead],
    facts: Facts | None,
) -> str | None:
    """An exit that applies now, checked before every step: qualified, unsubscribed, goal."""
    if journey.exit_on_qualified and qualified(leads):
        return "qualified"
    if journey.exit_on_unsubscribed and below_consent(contact, journey.consent):
        return "unsubscribed"
    if journey.goal is not None and facts is not None and journey.goal.test(facts)[0]:
        return "goal"
    return None


@dataclass(frozen=True)
class ExitWatch:
    """What the exits of the running (live or paused) journeys read, over every version people may be
    on: which stream changes may make someone leave now (``exit_wakes``). An erasure always may."""

    qualified: bool = False
    unsubscribed: bool = False
    #: Some goal exists: it may read any field, score or status (the scoring language), so any
    #: change of the lead, its contact or its scores may reach it.
    goal: bool = False


def exit_watch(journeys: Sequence[Journey]) -> ExitWatch | None:
    """The watch of these journeys' exits; ``None`` when there are none (then no change wakes)."""
    if not journeys:
        return None
    return ExitWatch(
        qualified=any(j.exit_on_qualified for j in journeys),
        unsubscribed=any(j.exit_on_unsubscribed for j in journeys),
        goal=any(j.goal is not None for j in journeys),
    )


def exit_wakes(change: AnyChange, watch: ExitWatch) -> bool:
    """Whether this lead, contact or score change may make its person leave a running journey now, so
    the person's enrollments are worth one keyed query and a look (``services/journeys.py:
    wake_exits``). Without a goal, only the transitions the exits read: a lead becoming
    marketing-qualified (or beyond), a contact's consent going down, an erasure beginning. With a goal,
    any change the goal may read (status, state, fields, account, a score).

    Decided for the images a record may lack: a change without its old image (trimmed to fit a retry)
    wakes (it cannot be told apart, and a look is harmless); a new contact wakes nothing (it is in no
    journey yet); a new lead wakes when it is already qualified (an import) or a goal may read it; a
    removal wakes nothing (an erased person's enrollments go with the erasure, and a look finds them
    gone)."""
    if change.event == "REMOVE":
        return False
    if isinstance(change, ContactChange):
        return _contact_wakes(change, watch)
    if isinstance(change, LeadChange):
        return _lead_wakes(change, watch)
    return isinstance(change, ScoreChange) and watch.goal


def _contact_wakes(change: ContactChange, watch: ExitWatch) -> bool:
    if change.new is None or change.event == "INSERT":
        return False
    if change.old is None:
        return True
    if change.new.erasing and not change.old.erasing:
        return True
    if watch.unsubscribed and consent_rank(change.new.consent) < consent_rank(change.old.consent):
        return True
    return watch.goal and differs(change.old, change.new, ("fields", "account_id", "consent"))


def _lead_wakes(change: LeadChange, watch: ExitWatch) -> bool:
    if change.new is None:
        return False
    newly_qualified = qualified([change.new]) and (change.old is None or not qualified([change.old]))
    if change.event == "INSERT":
        return (watch.qualified and newly_qualified) or watch.goal
    if change.old is None or (watch.qualified and newly_qualified):
        return True
    read = ("status", "state", "fields", "account_id", "round")
    return watch.goal and differs(change.old, change.new, read)


def after(step: Step, via: str = "next") -> Outcome:
    """Leave ``step`` by ``via``: the target step, or the end of the journey."""
    if step.type == "exit":
        return Outcome(next_step=None, reason="exit_step", via="exit")
    target = step.exits.get(via)
    return Outcome(next_step=target, reason=None if target else "completed", via=via)


def decide_branch(step: Step, enrollment: Enrollment, facts: Facts | None, now: datetime) -> Outcome:
    """An engagement branch: ``yes`` as soon as the person engaged (since they entered the journey: a
    click during an earlier wait counts), ``no`` when the window closed, else stay. A condition branch:
    ``yes``/``no`` at once."""
    if "engagement" in step.spec:
        if engaged(step, enrollment.events, enrollment.entered_at):
            return after(step, "yes")
        if enrollment.due_at is not None and now >= enrollment.due_at:
            return after(step, "no")
        return Outcome(stay=True)
    holds = step.condition is not None and facts is not None and step.condition.test(facts)[0]
    return after(step, "yes" if holds else "no")


def iso_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()
