"""The condition language shared by scoring models, qualification rules, triggers and segments.

A condition is JSON (see ``scoring.md``): attribute leaves ``{"field", "op", "value"}``, event leaves
``{"event", "where", "within_days", "min_count", "max_count"}`` and the combinators ``all``, ``any``,
``not``. :func:`compile_condition` validates one (naming the offending field) and turns it into a
:class:`Condition`, a tree of small objects whose :meth:`Condition.test` answers for a :class:`Facts`
and names the interactions that made it true.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import FieldError
from chalicelib.domain.fields import ENTITIES, KEPT_IN_FIELDS, RESERVED_FIELDS
from chalicelib.domain.interactions import KNOWN_TYPES

OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "matches",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
    "missing",
)
_NEGATED = {"ne": "eq", "not_in": "in", "not_contains": "contains"}
_PROPERTY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,4}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}|\*")
NO_IDS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Facts:
    """What conditions look at: a lead with its contact and account, the interactions that count for
    it (newest first or any order), and the moment of evaluation. Extra values (scores, grades) can be
    supplied by whoever evaluates qualification rules."""

    lead: Lead | None
    contact: Contact | None
    account: Account | None
    interactions: Sequence[Interaction]
    as_of: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    #: The lead's interaction counts per type (``*``: all), of every time, kept with the contact
    #: (``domain/interaction_counts.py``): an "all time" event condition without ``where`` counts from
    #: them, ``interactions`` being only those of the models' longest window. ``None``: count what
    #: ``interactions`` holds.
    totals: Mapping[str, int] | None = None
    _by_type: dict[str, list[Interaction]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def of_type(self, event_type: str) -> Sequence[Interaction]:
        """The interactions of one type (``*``: all), in their order; grouped once per evaluation, so
        each event condition looks only at its own type."""
        if event_type == "*":
            return self.interactions
        if not self._by_type and self.interactions:
            for interaction in self.interactions:
                self._by_type.setdefault(interaction.type, []).append(interaction)
        return self._by_type.get(event_type, [])


class InvalidCondition(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


# ---------------------------------------------------------------- values


def finite(value: Any) -> float | None:
    """A JSON number as a finite float; ``None`` for NaN, infinities, and integers too big for a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_number(value: Any) -> float | None:
    """Numbers compare as numbers: JSON numbers, stream images' Decimals, and numeric text."""
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            return finite(float(text)) if text else None
        except ValueError:
            return None
    return finite(value)


def as_moment(value: Any) -> datetime | None:
    """ISO dates and times, compared as moments in UTC (a date is its midnight UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    text = text.replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_text(value: Any) -> str:
    return str(value).strip().casefold()


class _Target:
    """A comparison's right-hand side, read once in every form it may be compared in."""

    def __init__(self, value: Any) -> None:
        self.raw = value
        self.text = as_text(value) if not isinstance(value, list) else ""
        self.number = as_number(value)
        self.moment = as_moment(value)
        self.items = [_Target(v) for v in value] if isinstance(value, list) else []


def _equal(value: Any, target: _Target) -> bool:
    if target.number is not None:
        number = as_number(value)
        if number is not None:
            return number == target.number
    if target.moment is not None:
        moment = as_moment(value)
        if moment is not None:
            return moment == target.moment
    return as_text(value) == target.text


def _order(value: Any, target: _Target) -> int | None:
    """-1, 0 or 1 comparing value with target as numbers, else as moments; None when neither."""
    if target.number is not None:
        number = as_number(value)
        if number is not None:
            return (number > target.number) - (number < target.number)
    if target.moment is not None:
        moment = as_moment(value)
        if moment is not None:
            return (moment > target.moment) - (moment < target.moment)
    return None


class LinearPattern:
    """A ``matches`` pattern run by RE2, in time linear in the text: operators' patterns run on text
    anonymous visitors send, and Python's backtracking engine takes seconds on ``(a+)+$`` against a
    25-character title (minutes on a longer one). RE2 reads Python's syntax but for backreferences and
    lookaround (refused: :class:`InvalidPattern`); its ``\\w``, ``\\d`` and ``\\b`` are ASCII
    (``\\pL`` is a letter of any script). RE2's own matcher is called without capturing groups: the
    ``re2`` module's ``search`` builds a match object in Python, three times the cost of ``re``."""

    def __init__(self, pattern: str) -> None:
        import _re2  # google-re2's compiled core; loaded by the first model that has a pattern
        import re2

        options = re2.Options()
        options.log_errors = False  # a refused pattern is the operator's 422, not a line on stderr
        options.never_capture = True
        options.max_mem = 8 << 20
        self._regexp = _re2.RE2(pattern.encode("utf-8"), options)
        if not self._regexp.ok():
            raise InvalidPattern(self._regexp.error())
        self._unanchored = _re2.RE2.Anchor.UNANCHORED

    def search(self, text: str) -> bool:
        encoded = text.encode("utf-8", "replace")
        return bool(self._regexp.Match(self._unanchored, encoded, 0, len(encoded))[0][0] != -1)


class InvalidPattern(ValueError):
    """A pattern RE2 cannot run in linear time, or not a pattern at all."""


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a ``matches`` condition (``None``: it can)."""
    try:
        LinearPattern(pattern)
    except InvalidPattern as exc:
        reason = exc.args[0]
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return f"{reason}; patterns run in linear time (RE2), without backreferences or lookaround"
    return None


def _compare(op: str, value: Any, target: _Target, pattern: LinearPattern | None) -> bool:
    if op == "eq":
        return _equal(value, target)
    if op == "in":
        return any(_equal(value, item) for item in target.items)
    if op == "contains":
        return target.text in as_text(value)
    if op == "starts_with":
        return as_text(value).startswith(target.text)
    if op == "ends_with":
        return as_text(value).endswith(target.text)
    if op == "matches":
        return pattern is not None and pattern.search(str(value))
    order = _order(value, target)
    if order is None:
        return False
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]


def _present(value: Any) -> bool:
    return value is not None and value not in ("", [])


# ---------------------------------------------------------------- conditions


class Condition:
    """``test(facts) -> (holds, interaction ids that made it hold)``."""

    def test(self, facts: Facts) -> tuple[bool, frozenset[str]]:
        raise NotImplementedError

    def events(self) -> list[EventLeaf]:
        return []


class Attribute(Condition):
    def __init__(self, op: str, value: Any, getter: Callable[[Any], Any]) -> None:
        self.op = op
        self.positive = _NEGATED.get(op, op)
        self.negated = op in _NEGATED
        self.target = _Target(value)
        self.pattern = LinearPattern(value) if op == "matches" else None
        self.getter = getter

    def holds_for(self, value: Any) -> bool:
        present = _present(value)
        if self.op == "exists":
            return present
        if self.op == "missing":
            return not present
        if not present:
            return False  # a missing field makes every other operator false
        if isinstance(value, list):
            hit = any(_compare(self.positive, v, self.target, self.pattern) for v in value)
        else:  # the common case, without a list and a generator per comparison
            hit = _compare(self.positive, value, self.target, self.pattern)
        return not hit if self.negated else hit

    def test(self, facts: Facts) -> tuple[bool, frozenset[str]]:
        return self.holds_for(self.getter(facts)), NO_IDS


class EventLeaf(Condition):
    def __init__(
        self,
        event_type: str,
        where: Condition | None,
        within_days: float | None,
        min_count: int,
        max_count: int | None,
    ) -> None:
        self.event_type = event_type
        self.where = where
        self.within_days = within_days
        self.window = timedelta(days=within_days) if within_days is not None else None
        self.min_count = min_count
        self.max_count = max_count

    def matching(self, facts: Facts) -> list[Interaction]:
        """The interactions this leaf counts: of its type, matching ``where``, inside the window."""
        as_of, where = facts.as_of, self.where
        start = as_of - self.window if self.window is not None else None
        found = []
        for interaction in facts.of_type(self.event_type):
            at = interaction.occurred_at
            if at > as_of or (start is not None and at < start):
                continue
            if where is not None and not _where_holds(where, interaction.properties):
                continue
            found.append(interaction)
        return found

    def counted(self, facts: Facts) -> tuple[int, list[Interaction]]:
        """How many interactions this leaf counts, and those of them read. From ``facts.totals`` for an
        "all time" leaf without ``where``: the kept count less the interactions dated after ``as_of``
        (all of them are read: a window's read has no upper bound); the interactions named are then
        only those read (the models' longest window)."""
        found = self.matching(facts)
        if facts.totals is None or self.window is not None or self.where is not None:
            return len(found), found
        later = sum(1 for i in facts.of_type(self.event_type) if i.occurred_at > facts.as_of)
        return facts.totals.get(self.event_type, 0) - later, found

    def test(self, facts: Facts) -> tuple[bool, frozenset[str]]:
        count, found = self.counted(facts)
        holds = count >= self.min_count and (self.max_count is None or count <= self.max_count)
        return holds, (frozenset(i.interaction_id for i in found) if holds else NO_IDS)

    def events(self) -> list[EventLeaf]:
        return [self]


def _where_holds(condition: Condition, properties: dict[str, Any]) -> bool:
    if isinstance(condition, Attribute):
        return condition.holds_for(condition.getter(properties))
    if isinstance(condition, All):
        return all(_where_holds(c, properties) for c in condition.parts)
    if isinstance(condition, AnyOf):
        return any(_where_holds(c, properties) for c in condition.parts)
    if isinstance(condition, Not):
        return not _where_holds(condition.part, properties)
    return False


class All(Condition):
    def __init__(self, parts: list[Condition]) -> None:
        self.parts = parts

    def test(self, facts: Facts) -> tuple[bool, frozenset[str]]:
        ids: set[str] = set()
        for part in self.parts:
            holds, found = part.test(facts)
            if not holds:
                return False, NO_IDS
            ids |= found
        return True, frozenset(ids)

    def events(self) -> list[EventLeaf]:
        return [leaf for part in self.parts for leaf in part.events()]


class AnyOf(Condition):
    def __init__(self, parts: list[Condition]) -> None:
        self.parts = parts

    def test(self, facts: Facts) -> tuple[bool, frozenset[str]]:
        ids: set[str] = set()
        held = False
        for part in self.parts:
            holds, found = part.test(facts)
            if holds:
                held = True
                ids |= found
        return held, frozenset(ids) if held else NO_IDS

    def events(self) -> list[EventLeaf]:
        return [leaf for part in self.parts for leaf in part.events()]


class Not(Condition):
    def __init__(self, part: Condition) -> None:
        self.part = part

    def test(self, facts: Facts) -> tuple[bool, frozenset[str]]:
        holds, _ = self.part.test(facts)
        return not holds, NO_IDS

    def events(self) -> list[EventLeaf]:
        return self.part.events()


class Extra(Condition):
    """A leaf over values the evaluator supplies (``facts.extra``): qualification's score/grade leaves."""

    def __init__(self, key: str, attribute: Attribute | None) -> None:
        self.key = key
        self.attribute = attribute

    def test(self, facts: Facts) -> tuple[bool, frozenset[str]]:
        value = facts.extra.get(self.key)
        if self.attribute is None:
            return bool(value), NO_IDS
        return self.attribute.holds_for(value), NO_IDS


# ---------------------------------------------------------------- compiling


#: Paths that read an entity's own attribute (``fields.RESERVED_NAMES``): a custom field stored
#: under such a name (before names were reserved) is never read in its place.
_OWN = {
    "lead": {
        "state": "state",
        "status": "status",
        "owner": "owner",
        "lead_id": "lead_id",
        "contact_id": "contact_id",
        "account_id": "account_id",
        "round": "round",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    "contact": {
        "consent": "consent",
        "marketing_only": "marketing_only",
        "contact_id": "contact_id",
        "account_id": "account_id",
        "last_interaction_at": "last_interaction_at",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    "account": {"account_id": "account_id", "created_at": "created_at", "updated_at": "updated_at"},
}


def entity_getter(path: str) -> Callable[[Facts], Any]:
    entity, name = path.split(".", 1)
    pick: Callable[[Facts], Any] = {
        "lead": lambda f: f.lead,
        "contact": lambda f: f.contact,
        "account": lambda f: f.account,
    }[entity]
    own = _OWN[entity].get(name)
    if own is not None:
        return lambda f: getattr(pick(f), own, None) if pick(f) is not None else None
    if f"{entity}.{name}" in RESERVED_FIELDS and f"{entity}.{name}" not in KEPT_IN_FIELDS:
        return lambda _facts: None  # kept by Leadflow elsewhere (scores, history): not a field
    return lambda f: pick(f).fields.get(name) if pick(f) is not None else None


def property_getter(path: str) -> Callable[[dict[str, Any]], Any]:
    names = path.split(".")

    def get(properties: dict[str, Any]) -> Any:
        value: Any = properties
        for name in names:
            if not isinstance(value, dict):
                return None
            value = value.get(name)
        return value

    return get


#: A leaf the caller understands beyond the language (qualification's ``score``/``grade``/``sales_ready``).
ExtraLeaf = Callable[[dict[str, Any], str, list[FieldError]], Condition | None]


@dataclass
class Compiler:
    """Validates and compiles conditions; every error names its place (``rules[hot].when.all[1].op``)."""

    extra_leaf: ExtraLeaf | None = None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.errors.append(FieldError(where, message))

    def condition(self, spec: Any, where: str, *, in_event: bool = False) -> Condition | None:
        if not isinstance(spec, dict) or not spec:
            self.fail(where, f"{where} must be a condition object")
            return None
        if self.extra_leaf is not None and not in_event:
            leaf = self.extra_leaf(spec, where, self.errors)
            if leaf is not None:
                return leaf
        if "all" in spec or "any" in spec:
            return self._combinator(spec, where, in_event)
        if "not" in spec:
            self._only(spec, {"not"}, where)
            part = self.condition(spec["not"], f"{where}.not", in_event=in_event)
            return Not(part) if part else None
        if "event" in spec:
            if in_event:
                self.fail(where, f"{where}: an event condition cannot be inside an event's where")
                return None
            return self.event(spec, where)
        if "field" in spec:
            return self.attribute(spec, where, property_path=in_event)
        self.fail(where, f"{where} must have field, event, all, any or not")
        return None

    def _only(self, spec: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(spec) - allowed):
            self.fail(f"{where}.{key}", f"{where}: unknown key {key!r}")

    def _combinator(self, spec: dict[str, Any], where: str, in_event: bool) -> Condition | None:
        kind = "all" if "all" in spec else "any"
        self._only(spec, {kind}, where)
        parts_spec = spec[kind]
        if not isinstance(parts_spec, list) or not parts_spec:
            self.fail(f"{where}.{kind}", f"{where}.{kind} must be a non-empty list of conditions")
            return None
        parts = [
            self.condition(p, f"{where}.{kind}[{i}]", in_event=in_event) for i, p in enumerate(parts_spec)
        ]
        if any(p is None for p in parts):
            return None
        compiled = [p for p in parts if p is not None]
        return All(compiled) if kind == "all" else AnyOf(compiled)

    def attribute(self, spec: dict[str, Any], where: str, *, property_path: bool) -> Attribute | None:
        self._only(spec, {"field", "op", "value"}, where)
        path, op = spec.get("field"), spec.get("op")
        ok = True
        if not isinstance(path, str) or not (
            _PROPERTY.fullmatch(path) if property_path else _entity_path(path)
        ):
            expected = (
                "an event property name"
                if property_path
                else "<entity>.<name> with entity lead, contact or account"
            )
            self.fail(f"{where}.field", f"{where}.field {path!r} is not a known field: use {expected}")
            ok = False
        if op not in OPERATORS:
            self.fail(
                f"{where}.op", f"{where}.op {op!r} is not an operator (use one of {', '.join(OPERATORS)})"
            )
            return None
        if op not in ("exists", "missing") and "value" not in spec:
            self.fail(f"{where}.value", f"{where}: {op} needs a value")
            ok = False
        value = spec.get("value")
        ok = self.check_value(op, value, where) and ok
        if not ok:
            return None
        getter = property_getter(path) if property_path else entity_getter(path)  # type: ignore[arg-type]
        return Attribute(op, value, getter)

    def check_value(self, op: str, value: Any, where: str) -> bool:
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value or any(isinstance(v, dict | list) for v in value):
                self.fail(f"{where}.value", f"{where}: {op} needs a non-empty list of values")
                return False
        elif op == "matches":
            if not isinstance(value, str):
                self.fail(f"{where}.value", f"{where}: matches needs a regular expression")
                return False
            problem = pattern_problem(value)
            if problem is not None:
                self.fail(
                    f"{where}.value", f"{where}: {value!r} is not a usable regular expression ({problem})"
                )
                return False
        elif op in ("gt", "gte", "lt", "lte"):
            if as_number(value) is None and as_moment(value) is None:
                self.fail(f"{where}.value", f"{where}: {op} needs a number or an ISO date")
                return False
        elif op not in ("exists", "missing") and isinstance(value, dict | list):
            self.fail(f"{where}.value", f"{where}: {op} needs a single value")
            return False
        return True

    def event(self, spec: dict[str, Any], where: str) -> EventLeaf | None:
        self._only(spec, {"event", "where", "within_days", "min_count", "max_count"}, where)
        event_type = spec.get("event")
        ok = True
        if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
            self.fail(f"{where}.event", f"{where}.event must be an interaction type or *")
            ok = False
        elif event_type != "*" and event_type not in KNOWN_TYPES:
            self.warnings.append(
                f"{where}.event: {event_type!r} is not a type Leadflow knows; is anything sending it?"
            )
        within = self._number(spec, "within_days", where, minimum=0, integer=False)
        min_count = self._number(spec, "min_count", where, minimum=0, integer=True)
        max_count = self._number(spec, "max_count", where, minimum=0, integer=True)
        if min_count is not None and max_count is not None and max_count < min_count:
            self.fail(f"{where}.max_count", f"{where}: max_count is smaller than min_count")
            ok = False
        condition = None
        if "where" in spec:
            condition = self.condition(spec["where"], f"{where}.where", in_event=True)
            ok = ok and condition is not None
        failed_here = any(error.field.startswith(where) for error in self.errors)
        if not ok or failed_here:
            return None
        low = int(min_count) if min_count is not None else (0 if max_count is not None else 1)
        high = int(max_count) if max_count is not None else None
        return EventLeaf(str(event_type), condition, within, low, high)

    def _number(
        self, spec: dict[str, Any], key: str, where: str, *, minimum: float, integer: bool
    ) -> float | None:
        if key not in spec:
            return None
        value = spec[key]
        if finite(value) is None or (integer and not isinstance(value, int)):
            self.fail(f"{where}.{key}", f"{where}.{key} must be {'an integer' if integer else 'a number'}")
            return None
        if value < minimum or (key == "within_days" and value <= 0) or value > 36500:
            self.fail(f"{where}.{key}", f"{where}.{key} is out of range")
            return None
        return float(value)


def _entity_path(path: str) -> bool:
    entity, _, name = path.partition(".")
    return entity in ENTITIES and bool(_NAME.fullmatch(name))
