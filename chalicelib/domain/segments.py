"""Segments: a condition over lead, contact and account fields and the leads' scores (the scoring
models' language, without event conditions, with qualification's ``score``/``grade``/``sales_ready``
leaves) that selects leads, and through them contacts."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.rules import OPERATORS, Attribute, Compiler, Condition, Extra, as_number

_SEGMENT_KEYS = {"name", "condition"}
_SEGMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Segment:
    segment_id: str | None
    condition: Condition
    #: ``lead.state`` when the condition requires one value of it (an index can then be used).
    state: str | None
    definition: dict[str, Any]
    #: a model's score range every match must be in, when the condition says so (``by_model_score``).
    score_pin: ScorePin | None = None


@dataclass(frozen=True)
class ScorePin:
    """What the top level of a condition requires of one model's score: that the lead has one, in
    ``[low, below)`` (``None``: unbounded), of one of ``grades``, sales-ready. The service turns grades
    and sales-readiness into a range of scores with the model's lines, and reads that range from the
    scores' ``by_model_score`` index; the whole condition is then checked on every lead read, so the
    range only has to hold every match (it may hold more)."""

    model_id: str
    low: float | None = None
    below: float | None = None
    grades: tuple[str, ...] | None = None
    sales_ready: bool = False


SEGMENT_PAGE = 100


@dataclass(frozen=True)
class SegmentQuery:
    """``POST /v1/segments/query``: a condition (or a saved ``segment_id``'s), one page of ``limit``
    leads after ``cursor``. Build it with :meth:`of`, which reads the values as the caller sent them."""

    condition: Any = None
    segment_id: str | None = None
    limit: int = SEGMENT_PAGE
    cursor: str | None = None

    @classmethod
    def of(
        cls, condition: Any = None, segment_id: Any = None, limit: Any = SEGMENT_PAGE, cursor: Any = None
    ) -> SegmentQuery:
        """``limit`` as an integer (or its digits) from 1 to 100, else 422; a ``cursor`` that is not
        text is ignored; a ``segment_id`` is read as text. Without a ``segment_id``, the condition is
        judged first (the order the API has always reported errors in); a saved segment's is judged when
        the query runs."""
        if segment_id is None:
            if condition is None:
                raise ValidationFailed([FieldError("condition", "give a condition or a segment_id")])
            compile_condition(condition)
        text = str(limit)
        if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= SEGMENT_PAGE:
            raise ValidationFailed(
                [FieldError("limit", f"limit must be an integer from 1 to {SEGMENT_PAGE}")]
            )
        return cls(
            condition=condition,
            segment_id=None if segment_id is None else str(segment_id),
            limit=int(text),
            cursor=cursor if isinstance(cursor, str) else None,
        )


def _no_events(spec: dict[str, Any], where: str, errors: list[FieldError]) -> Condition | None:
    if "event" in spec:
        errors.append(
            FieldError(
                f"{where}.event",
                f"{where}: a segment selects by lead, contact and account fields, not events",
            )
        )
    return None


def pinned_state(spec: Any) -> str | None:
    """The ``lead.state`` every match must have, when the condition says so at its top level."""
    if not isinstance(spec, dict):
        return None
    if spec.get("field") == "lead.state" and spec.get("op") == "eq" and isinstance(spec.get("value"), str):
        return str(spec["value"])
    if isinstance(spec.get("all"), list):
        for part in spec["all"]:
            if (state := pinned_state(part)) is not None:
                return state
    return None


def _top_leaves(spec: Any) -> list[dict[str, Any]]:
    """The leaves every match must satisfy: the condition itself, or the parts of its top-level
    ``all`` (nested ``all`` too)."""
    if not isinstance(spec, dict):
        return []
    if isinstance(spec.get("all"), list):
        return [leaf for part in spec["all"] for leaf in _top_leaves(part)]
    return [spec]


_SCORE_KINDS = ("score", "grade", "sales_ready")


def _narrow(pin: ScorePin, leaf: dict[str, Any]) -> ScorePin:
    op, value = leaf.get("op"), leaf.get("value")
    if "sales_ready" in leaf:
        return ScorePin(pin.model_id, pin.low, pin.below, pin.grades, True)
    if "grade" in leaf:
        wanted = (value,) if op == "eq" else tuple(value) if op == "in" and isinstance(value, list) else None
        if wanted is None:
            return pin
        named = tuple(str(g) for g in wanted)
        grades = named if pin.grades is None else tuple(g for g in pin.grades if g in named)
        return ScorePin(pin.model_id, pin.low, pin.below, grades, pin.sales_ready)
    number = as_number(value)
    if number is None:
        return pin
    low = number if op in ("gt", "gte", "eq") else None
    below = number if op == "lt" else math.nextafter(number, math.inf) if op in ("lte", "eq") else None
    return ScorePin(
        pin.model_id,
        low if pin.low is None or (low is not None and low > pin.low) else pin.low,
        below if pin.below is None or (below is not None and below < pin.below) else pin.below,
        pin.grades,
        pin.sales_ready,
    )


def pinned_score(spec: Any) -> ScorePin | None:
    """The score range of the first model a top-level leaf names (any ``score``/``grade``/
    ``sales_ready`` leaf but ``missing`` requires the lead to have that model's score: a lead without
    one makes every other operator false), narrowed by that model's other top-level leaves."""
    pin: ScorePin | None = None
    for leaf in _top_leaves(spec):
        kind = next((k for k in _SCORE_KINDS if k in leaf), None)
        if kind is None or not isinstance(leaf[kind], str) or leaf.get("op") == "missing":
            continue
        if pin is None:
            pin = ScorePin(leaf[kind])
        if leaf[kind] == pin.model_id:
            pin = _narrow(pin, leaf)
    return pin


#: What a segment may ask of a person's journeys: ``journey.<journey id>.<one of these>``.
JOURNEY_FIELDS = ("state", "entered_at", "exited_at", "exit_reason", "step")
_JOURNEY_FIELD = re.compile(r"journey\.([A-Za-z0-9_-]{1,64})\.([a-z_]{1,32})")


def journey_key(journey_id: str, attribute: str) -> str:
    """The name a journey leaf reads its value under in ``Facts.extra``."""
    return f"journey:{journey_id}:{attribute}"


def _journey_leaf(spec: dict[str, Any], where: str, compiler: Compiler) -> Condition | None:
    """``{"field": "journey.<id>.<attribute>", "op", "value"}``: a value the evaluator supplies from the
    person's enrollments (``domain/journeys.py: journey_facts``), else ``None`` for other leaves."""
    path = spec.get("field")
    if not isinstance(path, str) or not path.startswith("journey."):
        return None
    found = _JOURNEY_FIELD.fullmatch(path)
    if found is None or found.group(2) not in JOURNEY_FIELDS:
        compiler.fail(
            f"{where}.field",
            f"{where}.field: {path[:80]!r} is not journey.<journey id>.<{'|'.join(JOURNEY_FIELDS)}>",
        )
        return Extra(path, None)
    for key in sorted(set(spec) - {"field", "op", "value"}):
        compiler.fail(f"{where}.{key}", f"{where}: {key} is not a property of a field condition")
    op = spec.get("op")
    if op not in OPERATORS:
        compiler.fail(f"{where}.op", f"{where}.op {op!r} is not an operator")
    elif op not in ("exists", "missing") and "value" not in spec:
        compiler.fail(f"{where}.value", f"{where}: {op} needs a value")
    elif compiler.check_value(op, spec.get("value"), where):
        return Extra(
            journey_key(found.group(1), found.group(2)), Attribute(op, spec.get("value"), lambda v: v)
        )
    return Extra(path, None)


def pinned_journey(spec: Any) -> str | None:
    """The journey of the first top-level ``journey.<id>.*`` leaf that only a person enrolled in that
    journey (now or before) can satisfy: every operator but ``missing`` is false on a missing value,
    and one never enrolled has none. The segment is then read from that journey's enrollments."""
    for leaf in _top_leaves(spec):
        path = leaf.get("field")
        if not isinstance(path, str) or leaf.get("op") == "missing":
            continue
        found = _JOURNEY_FIELD.fullmatch(path)
        if found is not None and found.group(2) in JOURNEY_FIELDS:
            return found.group(1)
    return None


def journeys_named(spec: Any) -> list[str]:
    """Every journey a ``journey.<id>.*`` leaf of the condition names (anywhere in it)."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            path = node.get("field")
            if isinstance(path, str) and (hit := _JOURNEY_FIELD.fullmatch(path)):
                found[hit.group(1)] = None
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return list(found)


def _segment_leaves(known_models: frozenset[str] | None, compiler: Compiler) -> Any:
    from chalicelib.domain.qualification import score_leaves

    scores = score_leaves(known_models, set(), compiler)

    def leaf(spec: dict[str, Any], where: str, errors: list[FieldError]) -> Condition | None:
        return (
            scores(spec, where, errors)
            or _journey_leaf(spec, where, compiler)
            or _no_events(spec, where, errors)
        )

    return leaf


def compile_condition(
    spec: Any, where: str = "condition", known_models: frozenset[str] | None = None
) -> tuple[Condition, str | None]:
    """The compiled condition and the ``lead.state`` it pins. ``known_models`` are the scoring models
    a score leaf may name (``None``: any name, checked when the query runs)."""
    compiler = Compiler()
    compiler.extra_leaf = _segment_leaves(known_models, compiler)
    condition = compiler.condition(spec, where)
    if compiler.errors or condition is None:
        raise ValidationFailed(compiler.errors or [FieldError(where, f"{where} is not a condition")])
    return condition, pinned_state(spec)


def parse_segment(segment_id: str | None, spec: Any, known_models: frozenset[str] | None = None) -> Segment:
    if not isinstance(spec, dict):
        raise ValidationFailed([FieldError("body", "a segment must be a JSON object")])
    unknown = sorted(set(spec) - _SEGMENT_KEYS)
    if unknown:
        raise ValidationFailed([FieldError(k, f"{k} is not a property of a segment") for k in unknown])
    if "condition" not in spec:
        raise ValidationFailed([FieldError("condition", "condition is required")])
    condition, state = compile_condition(spec["condition"], known_models=known_models)
    return Segment(segment_id, condition, state, spec, pinned_score(spec["condition"]))


def expand_segments(
    audience: Any, saved: Callable[[str], dict[str, Any] | None], where: str = "audience"
) -> tuple[Any, list[str]]:
    """A scoring model's audience with every ``{"segment": "<id>"}`` replaced by that saved segment's
    condition, and the ids used. The model version keeps the condition as it was when the model was
    saved: changing the segment later changes no published model until the model is saved again."""
    used: list[str] = []

    def walk(node: Any, path: str, depth: int) -> Any:
        if depth > 20:
            raise ValidationFailed([FieldError(path, f"{path} is nested too deeply")])
        if isinstance(node, dict) and set(node) == {"segment"}:
            segment_id = node["segment"]
            valid = isinstance(segment_id, str) and _SEGMENT_ID.fullmatch(segment_id) is not None
            found = saved(segment_id) if valid else None
            if found is None:
                raise ValidationFailed(
                    [FieldError(f"{path}.segment", f"{path}.segment {segment_id!r} is not a saved segment")]
                )
            used.append(segment_id)
            return found["condition"]
        if isinstance(node, dict):
            return {
                key: [walk(part, f"{path}.{key}[{n}]", depth + 1) for n, part in enumerate(value)]
                if key in ("all", "any") and isinstance(value, list)
                else walk(value, f"{path}.{key}", depth + 1)
                if key == "not"
                else value
                for key, value in node.items()
            }
        return node

    return walk(audience, where, 0), used
