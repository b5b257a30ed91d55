"""Qualification rules and triggers (scoring.md), and the hand-offs they produce.

A qualification rule holds for an open lead (conditions may read the lead's scores, grades and
sales-ready flags); each of its actions becomes one hand-off, exactly once per (lead, rule, round) —
the hand-off id is derived from those, so a repeat cannot make a second one. A trigger reacts to one
interaction; its hand-offs are derived from (trigger, interaction)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.interactions import iso
from chalicelib.domain.rules import (
    OPERATORS,
    All,
    AnyOf,
    Attribute,
    Compiler,
    Condition,
    EventLeaf,
    Extra,
    Facts,
)
from chalicelib.domain.scoring import Score

HANDOFF_TYPES = ("task", "phone_call", "appointment", "opportunity")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PATH = re.compile(r"(lead|contact|account)\.[a-z][a-z0-9_]{0,63}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TEXT_FIELDS = ("subject", "name", "description")


@dataclass(frozen=True)
class Action:
    type: str
    texts: dict[str, str]
    due_in_hours: float | None = None
    owner: str | None = None
    topic: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class QualificationRule:
    rule_id: str
    when: Condition
    actions: tuple[Action, ...]
    models: frozenset[str] = frozenset()
    definition: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Trigger:
    trigger_id: str
    on: EventLeaf
    actions: tuple[Action, ...]
    definition: dict[str, Any] = field(default_factory=dict, compare=False)

    def matches(self, interaction: Interaction, as_of: datetime) -> bool:
        facts = Facts(None, None, None, [interaction], as_of)
        return self.on.test(facts)[0]

    @property
    def creates_lead(self) -> Action | None:
        return next((a for a in self.actions if a.type == "create_lead"), None)


@dataclass(frozen=True)
class Handoff:
    """One piece of sales work; ``handoff_id`` is the same however often it is derived."""

    handoff_id: str
    kind: str
    lead_id: str
    origin: str
    data: dict[str, Any]


# ---------------------------------------------------------------- templates


def check_template(text: Any, where: str, errors: list[FieldError]) -> None:
    if not isinstance(text, str) or len(text) > 1000:
        errors.append(FieldError(where, f"{where} must be text of at most 1000 characters"))
        return
    if text.count("{") != text.count("}"):
        errors.append(FieldError(where, f"{where} has an unbalanced brace"))
        return
    for placeholder in _PLACEHOLDER.findall(text):
        if not _PATH.fullmatch(placeholder):
            errors.append(
                FieldError(
                    where,
                    f"{where}: unknown placeholder {{{placeholder}}} (use lead.*, contact.*, account.*)",
                )
            )


def render(text: str, lead: Lead | None, contact: Contact | None, account: Account | None) -> str:
    def value(match: re.Match[str]) -> str:
        entity, name = match.group(1).split(".", 1)
        source: dict[str, Any] = {}
        if entity == "lead" and lead is not None:
            source = {**lead.fields, "state": lead.state, "status": lead.status}
        elif entity == "contact" and contact is not None:
            source = contact.fields
        elif entity == "account" and account is not None:
            source = account.fields
        found = source.get(name)
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(value, text).strip()


# ---------------------------------------------------------------- reading rules


def _actions(spec: Any, where: str, errors: list[FieldError], allowed: Sequence[str]) -> tuple[Action, ...]:
    if not isinstance(spec, list) or not spec or len(spec) > 10:
        errors.append(FieldError(where, f"{where} must be a list of 1-10 actions"))
        return ()
    actions = []
    for index, item in enumerate(spec):
        place = f"{where}[{index}]"
        if not isinstance(item, dict) or item.get("type") not in allowed:
            errors.append(FieldError(f"{place}.type", f"{place}.type must be one of {', '.join(allowed)}"))
            continue
        unknown = set(item) - {"type", *TEXT_FIELDS, "due_in_hours", "owner", "topic", "source"}
        errors.extend(
            FieldError(f"{place}.{key}", f"{place}: unknown key {key!r}") for key in sorted(unknown)
        )
        texts = {key: item[key] for key in TEXT_FIELDS if key in item}
        for key, text in texts.items():
            check_template(text, f"{place}.{key}", errors)
        due = item.get("due_in_hours")
        if due is not None and (
            isinstance(due, bool) or not isinstance(due, int | float) or not 0 <= due <= 8760
        ):
            errors.append(FieldError(f"{place}.due_in_hours", f"{place}.due_in_hours must be 0-8760 hours"))
        for key in ("owner", "topic", "source"):
            if key in item and (not isinstance(item[key], str) or len(item[key]) > 200):
                errors.append(FieldError(f"{place}.{key}", f"{place}.{key} must be text"))
        actions.append(
            Action(
                item["type"],
                {k: str(v) for k, v in texts.items()},
                due,
                item.get("owner"),
                item.get("topic"),
                item.get("source"),
            )
        )
    return tuple(actions)


def score_leaves(known_models: frozenset[str] | None, used: set[str], compiler: Compiler) -> Any:
    """The score leaves: ``score``, ``grade``, ``sales_ready`` of a named model (qualification rules and
    segments); ``known_models=None`` takes any model name (the caller checks it later)."""

    def leaf(spec: dict[str, Any], where: str, errors: list[FieldError]) -> Condition | None:
        kind = next((k for k in ("score", "grade", "sales_ready") if k in spec), None)
        if kind is None:
            return None
        model_id = spec[kind]
        if not isinstance(model_id, str) or (known_models is not None and model_id not in known_models):
            errors.append(
                FieldError(f"{where}.{kind}", f"{where}.{kind}: {model_id!r} is not a scoring model")
            )
            return Extra(f"{kind}:{model_id}", None)
        used.add(model_id)
        if kind == "sales_ready":
            return Extra(f"sales_ready:{model_id}", None)
        op = spec.get("op")
        if op not in OPERATORS:
            errors.append(FieldError(f"{where}.op", f"{where}.op {op!r} is not an operator"))
            return Extra(f"{kind}:{model_id}", None)
        if op not in ("exists", "missing") and "value" not in spec:
            errors.append(FieldError(f"{where}.value", f"{where}: {op} needs a value"))
            return Extra(f"{kind}:{model_id}", None)
        if not compiler.check_value(op, spec.get("value"), where):
            return Extra(f"{kind}:{model_id}", None)
        return Extra(f"{kind}:{model_id}", Attribute(op, spec.get("value"), lambda value: value))

    return leaf


def parse_rule(rule_id: str, spec: Any, known_models: frozenset[str]) -> QualificationRule:
    """Validate a qualification rule; ValidationFailed names each field (unknown models, templates)."""
    if not _ID.fullmatch(rule_id):
        raise ValidationFailed([FieldError("rule_id", "rule_id must be 1-64 letters, digits, _ or -")])
    if not isinstance(spec, dict):
        raise ValidationFailed([FieldError("body", "a qualification rule must be a JSON object")])
    used: set[str] = set()
    compiler = Compiler()
    compiler.extra_leaf = score_leaves(known_models, used, compiler)
    for key in sorted(set(spec) - {"id", "when", "actions", "description"}):
        compiler.fail(key, f"{key} is not a property of a qualification rule")
    if spec.get("id", rule_id) != rule_id:
        compiler.fail("id", "id in the body must match the rule id in the path")
    when = compiler.condition(spec.get("when"), "when")
    actions = _actions(spec.get("actions"), "actions", compiler.errors, HANDOFF_TYPES)
    if compiler.errors or when is None:
        raise ValidationFailed(compiler.errors or [FieldError("when", "when is required")])
    return QualificationRule(rule_id, when, actions, frozenset(used), spec)


def parse_trigger(trigger_id: str, spec: Any) -> Trigger:
    if not _ID.fullmatch(trigger_id):
        raise ValidationFailed([FieldError("trigger_id", "trigger_id must be 1-64 letters, digits, _ or -")])
    if not isinstance(spec, dict):
        raise ValidationFailed([FieldError("body", "a trigger must be a JSON object")])
    compiler = Compiler()
    for key in sorted(set(spec) - {"id", "on", "actions", "description"}):
        compiler.fail(key, f"{key} is not a property of a trigger")
    on = compiler.condition(spec.get("on"), "on")
    if on is not None and not isinstance(on, EventLeaf):
        compiler.fail("on", "on must be one event condition")
    actions = _actions(spec.get("actions"), "actions", compiler.errors, ("create_lead", *HANDOFF_TYPES))
    if compiler.errors or not isinstance(on, EventLeaf):
        raise ValidationFailed(compiler.errors or [FieldError("on", "on is required")])
    return Trigger(trigger_id, on, actions, spec)


# ---------------------------------------------------------------- evaluating


def score_facts(scores: dict[str, Score]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for model_id, score in scores.items():
        extra[f"score:{model_id}"] = score.score
        extra[f"grade:{model_id}"] = score.grade
        extra[f"sales_ready:{model_id}"] = score.sales_ready
    return extra


def rules_that_fire(
    rules: Sequence[QualificationRule],
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    interactions: Sequence[Interaction],
    scores: dict[str, Score],
    as_of: datetime,
) -> list[QualificationRule]:
    """Rules that hold for an open lead and have not fired for it in this round."""
    if not lead.is_open:
        return []
    facts = Facts(lead, contact, account, interactions, as_of, score_facts(scores))
    return [r for r in rules if r.rule_id not in lead.fired_rules and r.when.test(facts)[0]]


#: DynamoDB writes at most 100 items in one transaction: the lead and its transition, then two items
#: (outbox record, history entry) per hand-off.
MAX_TRANSACTION_ITEMS = 100
#: Items an assignment adds to the lead's transaction when it becomes marketing-qualified.
ASSIGNMENT_ITEMS = 5


def first_batch(rules: Sequence[QualificationRule]) -> list[QualificationRule]:
    """The rules whose hand-offs fit one transaction (the rest fire in the next evaluation)."""
    chosen: list[QualificationRule] = []
    # the lead and its transition, and what assigning it may add (domain/routing.py: the team's turn,
    # two open-lead counters, the assignment and its timeline entry)
    items = 2 + ASSIGNMENT_ITEMS
    for rule in rules:
        needed = 2 * sum(1 for action in rule.actions if action.type != "create_lead")
        if chosen and items + needed > MAX_TRANSACTION_ITEMS:
            break
        chosen.append(rule)
        items += needed
    return chosen


def lookback(rules: Sequence[QualificationRule]) -> float | None:
    """How far back the rules' event conditions look (``None``: all time; 0: no event condition)."""
    leaves = [leaf for rule in rules for leaf in rule.when.events()]
    if not leaves:
        return 0.0
    if any(leaf.within_days is None for leaf in leaves):
        return None
    return max(leaf.within_days or 0.0 for leaf in leaves)


def handoff_id(*parts: str) -> str:
    return "h_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def handoffs(
    actions: Sequence[Action],
    origin: str,
    id_parts: Sequence[str],
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    scores: dict[str, Score],
    now: datetime,
) -> list[Handoff]:
    """The hand-offs of these actions, each carrying what sales needs: the work, the lead, contact and
    account, the rule or trigger, and the scores with their top reasons."""
    found = []
    for index, action in enumerate(actions):
        if action.type == "create_lead":
            continue
        # the assigned owner (routing, domain/routing.py) comes first; a rule's fixed owner text otherwise
        work: dict[str, Any] = {"kind": action.type, "owner": lead.owner or action.owner, "team": lead.team}
        for key, text in action.texts.items():
            work[key] = render(text, lead, contact, account)
        if action.due_in_hours is not None:
            work["due_at"] = iso(now + timedelta(hours=action.due_in_hours))
        ident = handoff_id(*id_parts, str(index))
        data = {
            "handoff": {"id": ident, **work},
            "origin": origin,
            "lead": _lead_data(lead),
            "contact": {"contact_id": contact.contact_id, "email": contact.email, **contact.fields}
            if contact
            else None,
            "account": {"account_id": account.account_id, **account.fields} if account else None,
            "scores": [_score_data(s) for s in sorted(scores.values(), key=lambda s: s.model_id)],
        }
        found.append(Handoff(ident, action.type, lead.lead_id, origin, data))
    return found


def _lead_data(lead: Lead) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "state": lead.state,
        "status": lead.status,
        "round": lead.round,
        "topic": lead.topic,
        "source": lead.source,
        "fields": lead.fields,
    }


def _score_data(score: Score) -> dict[str, Any]:
    reasons = sorted(score.breakdown, key=lambda entry: -abs(entry.points))[:3]
    return {**score.summary(), "top_reasons": [{"rule_id": r.rule_id, "points": r.points} for r in reasons]}


def needs_score(rule: QualificationRule) -> bool:
    """True when the rule cannot hold for a lead without any score (every way it can hold goes through
    a ``score``/``grade``/``sales_ready`` leaf that a missing score fails): qualification skips such
    rules for a lead not scored yet (its score's change qualifies it)."""
    return _needs_score(rule.when)


def _needs_score(condition: Condition) -> bool:
    if isinstance(condition, Extra):
        return not condition.test(Facts(None, None, None, [], datetime.min.replace(tzinfo=UTC)))[0]
    if isinstance(condition, All):
        return any(_needs_score(part) for part in condition.parts)
    if isinstance(condition, AnyOf):
        return all(_needs_score(part) for part in condition.parts)
    return False  # an attribute, an event, a negation: may hold without a score
