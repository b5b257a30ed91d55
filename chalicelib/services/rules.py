"""Qualification rules and triggers as operators define them (``PUT /v1/qualification-rules/{id}``,
``PUT /v1/triggers/{id}``), and as the stream functions read them (cached like the models they read).

Safe to repeat: a definition is stored whole under its id; storing it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.qualification import (
    QualificationRule,
    Trigger,
    parse_rule,
    parse_trigger,
)
from chalicelib.observability import logger
from chalicelib.services import scoring
from chalicelib.wiring import Deps

QUALIFICATION, TRIGGER = "qualification", "trigger"


def _known_models(deps: Deps) -> frozenset[str]:
    return frozenset(head.model_id for head in deps.scoring.heads())


def put_rule(rule_id: str, body: Any, deps: Deps) -> tuple[bool, dict[str, Any]]:
    parse_rule(rule_id, body, _known_models(deps))
    created = deps.handoffs.put_rule(QUALIFICATION, rule_id, body, datetime.now(UTC))
    return created, {"rule_id": rule_id, **body}


def put_trigger(trigger_id: str, body: Any, deps: Deps) -> tuple[bool, dict[str, Any]]:
    parse_trigger(trigger_id, body)
    created = deps.handoffs.put_rule(TRIGGER, trigger_id, body, datetime.now(UTC))
    return created, {"trigger_id": trigger_id, **body}


@dataclass(frozen=True)
class Definition:
    """A qualification rule or a trigger as stored: its kind, id and specification."""

    kind: str
    ident: str
    spec: dict[str, Any]


def get_definition(kind: str, ident: str, deps: Deps) -> Definition:
    found = deps.handoffs.get_rule(kind, ident)
    if found is None:
        raise NotFound("qualification rule" if kind == QUALIFICATION else "trigger", ident)
    return Definition(kind, ident, found)


def list_definitions(kind: str, deps: Deps) -> list[dict[str, Any]]:
    key = "rule_id" if kind == QUALIFICATION else "trigger_id"
    return [{key: ident, **spec} for ident, spec in deps.handoffs.rules(kind)]


def load_rules(deps: Deps) -> list[QualificationRule]:
    """The rules, re-read at most every ``models_cache_seconds`` (like the models they read); a rule over
    a model that is not active cannot fire."""
    known = frozenset(model.model_id for model in scoring.active_models(deps))
    rules = []
    for rule_id, spec in deps.handoffs.rules(QUALIFICATION, deps.settings.models_cache_seconds):
        try:
            rules.append(parse_rule(rule_id, spec, known))
        except ValidationFailed:
            logger.warning("qualification rule no longer valid", extra={"rule_id": rule_id})
    return rules


def load_triggers(deps: Deps) -> list[Trigger]:
    found = []
    for trigger_id, spec in deps.handoffs.rules(TRIGGER, deps.settings.models_cache_seconds):
        try:
            found.append(parse_trigger(trigger_id, spec))
        except ValidationFailed:
            logger.warning("trigger no longer valid", extra={"trigger_id": trigger_id})
    return found
