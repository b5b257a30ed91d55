"""Qualification, triggers, the hand-off publisher, and the lead lifecycle.

Exactly once: a rule's hand-offs are written in the same transaction that marks the lead qualified
and records the rule as fired for this round (conditioned on the lead's version), with ids derived
from (lead, rule, round, action); a trigger's from (trigger, interaction, action). The outbox's stream
feeds the publisher, which sends each to the FIFO queue (deduplication id = hand-off id) before marking
it sent: a crash in between resends the same id, which the queue (5 minutes) or the consumer (any
time) recognises as the same work."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain import lifecycle
from chalicelib.domain.capture import Capture
from chalicelib.domain.entities import Interaction, Lead
from chalicelib.domain.errors import ConcurrentUpdate, Conflict, FieldError, NotFound, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import iso
from chalicelib.domain.qualification import (
    Handoff,
    QualificationRule,
    Trigger,
    first_batch,
    handoffs,
    lookback,
    parse_rule,
    parse_trigger,
    rules_that_fire,
)
from chalicelib.integrations.handoff import encode, envelope
from chalicelib.observability import correlation_id, count, logger
from chalicelib.services import capture, scoring
from chalicelib.services.leads import lead_view
from chalicelib.services.retry import on_conflict
from chalicelib.wiring import Deps

QUALIFICATION, TRIGGER = "qualification", "trigger"
ATTEMPTS = 10


# ---------------------------------------------------------------- rules and triggers


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


def get_definition(kind: str, ident: str, deps: Deps) -> dict[str, Any]:
    found = deps.handoffs.get_rule(kind, ident)
    if found is None:
        raise NotFound("qualification rule" if kind == QUALIFICATION else "trigger", ident)
    return {("rule_id" if kind == QUALIFICATION else "trigger_id"): ident, **found}


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


def _encoded(found: list[Handoff], deps: Deps, now: datetime) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            h.handoff_id,
            h.lead_id,
            h.kind,
            h.origin,
            encode(envelope(h, deps.settings.stage, now, correlation_id())),
        )
        for h in found
    ]


# ---------------------------------------------------------------- qualification


def qualify_lead(
    lead_id: str, deps: Deps, now: datetime, rules: list[QualificationRule] | None = None
) -> int:
    """Fire the rules that now hold for an open lead (each once per round); returns hand-offs written.
    Rules fire in batches that fit one transaction; a batch that does not fit waits for the next.
    ``rules``: the rules read once for a whole batch of records (read here when not given)."""
    rules = rules if rules is not None else load_rules(deps)
    written = 0
    for _ in range(ATTEMPTS):  # batches: each fires at least one rule, so there are few

        def fire() -> int | None:
            batch = _evaluate(lead_id, rules, deps, now)
            if batch is None:
                return None
            updated, transition, work = batch
            deps.handoffs.write_lead_change(updated, transition, _encoded(work, deps, now), now)
            if transition is not None:
                count("LeadQualified")
            logger.info(
                "rules fired", extra={"lead_id": lead_id, "rules": updated.fired_rules, "handoffs": len(work)}
            )
            return len(work)

        fired = on_conflict(fire, ConcurrentUpdate("the lead kept changing; the record will be retried"))
        if fired is None:
            return written
        written += fired
    raise ConcurrentUpdate("the lead kept changing; the record will be retried")


def _evaluate(
    lead_id: str, rules: list[QualificationRule], deps: Deps, now: datetime
) -> tuple[Lead, Any, list[Handoff]] | None:
    """The next batch of rules that fire for the lead, with the lead as it becomes and the hand-offs."""
    if not rules:
        return None
    lead = deps.store.get_lead(lead_id)
    if lead is None or not lead.is_open:
        return None
    contact = deps.store.get_contact(lead.contact_id)
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
    active = {m.model_id for m in scoring.active_models(deps)}
    scores = {k: v for k, v in deps.scoring.scores_of(lead_id).items() if k in active}
    days = lookback(rules)
    interactions = (
        []
        if days == 0
        else deps.scoring.interactions_since(
            lead.contact_id, now - timedelta(days=days) if days is not None else None
        )
    )
    fired = first_batch(rules_that_fire(rules, lead, contact, account, interactions, scores, now))
    if not fired:
        return None
    updated, transition = lifecycle.mark_qualified_by_marketing(lead, [r.rule_id for r in fired], now)
    work = [
        h
        for rule in fired
        for h in handoffs(
            rule.actions,
            f"rule:{rule.rule_id}",
            (lead.lead_id, rule.rule_id, str(lead.round)),
            updated,
            contact,
            account,
            scores,
            now,
        )
    ]
    return updated, transition, work


def leads_to_qualify(
    event_name: str, keys: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[str]:
    """Leads whose rules may hold anew: a score changed; a lead reopened or changed its fields; a
    contact changed what rules may read. Qualification's own writes (status, fired rules) are not
    among these, so it does not feed itself."""
    if event_name not in ("INSERT", "MODIFY") or new is None:
        return []
    if "model_id" in keys:
        return [str(keys["lead_id"])]
    old = old or {}
    if "lead_id" in keys:
        changed = any(old.get(k) != new.get(k) for k in ("state", "round", "fields", "account_id"))
        return [str(keys["lead_id"])] if changed and new.get("state") == "open" else []
    if "contact_id" in keys and any(old.get(k) != new.get(k) for k in ("fields", "consent", "account_id")):
        return [str(lead_id) for lead_id in new.get("lead_ids") or []]
    return []


# ---------------------------------------------------------------- triggers


def load_triggers(deps: Deps) -> list[Trigger]:
    found = []
    for trigger_id, spec in deps.handoffs.rules(TRIGGER, deps.settings.models_cache_seconds):
        try:
            found.append(parse_trigger(trigger_id, spec))
        except ValidationFailed:
            logger.warning("trigger no longer valid", extra={"trigger_id": trigger_id})
    return found


def run_triggers(
    interaction: Interaction, deps: Deps, now: datetime, triggers: list[Trigger] | None = None
) -> int:
    """Triggers that match one new interaction: create the lead (matched like a form, so a repeat
    updates rather than duplicates) and write the hand-offs (ids from trigger and interaction)."""
    contact_id = interaction.contact_id
    candidates = triggers if triggers is not None else load_triggers(deps)
    matching = [t for t in candidates if t.matches(interaction, max(now, interaction.occurred_at))]
    written = 0
    for trigger in matching:
        contact = deps.store.get_contact(contact_id)
        if contact is None:
            continue
        lead = _trigger_lead(trigger, contact.email, contact_id, deps)
        if lead is None:
            continue
        account = deps.store.get_account(lead.account_id) if lead.account_id else None
        work = handoffs(
            trigger.actions,
            f"trigger:{trigger.trigger_id}",
            (trigger.trigger_id, contact_id, interaction.interaction_id),
            lead,
            contact,
            account,
            deps.scoring.scores_of(lead.lead_id),
            now,
        )
        if deps.handoffs.write_handoffs(_encoded(work, deps, now), now):
            written += len(work)
    return written


def _trigger_lead(trigger: Trigger, email: str | None, contact_id: str, deps: Deps) -> Lead | None:
    action = trigger.creates_lead
    if action is not None and email:
        from chalicelib.domain.errors import PersonErased

        lead_fields = {"topic": action.topic, "source": action.source or "trigger"}
        try:
            made = capture.capture(
                Capture(
                    contact={"email": email},
                    lead={k: v for k, v in lead_fields.items() if v},
                    origin=f"trigger:{trigger.trigger_id}",
                    lead_matching=["contact.email", "lead.topic"],
                ),
                deps,
            )
        except PersonErased:
            return None  # erased (or being erased): no lead, no hand-off
        return deps.store.get_lead(made.lead_id)
    contact = deps.store.get_contact(contact_id)
    leads = deps.store.get_leads(contact.lead_ids) if contact else []
    open_leads = [lead for lead in leads if lead.is_open]
    return max(open_leads, key=lambda lead: lead.created_at) if open_leads else None


# ---------------------------------------------------------------- publishing


def publish_handoff(handoff_id: str, deps: Deps, now: datetime) -> bool:
    """Send a pending hand-off, then mark it sent; ``False`` when it was sent already."""
    record = deps.handoffs.get_handoff(handoff_id)
    if record is None or record.state != "pending":
        return False
    if _withhold(record.handoff_id, record.lead_id, record.kind, deps, now):
        return False
    deps.handoff_queue.send_fifo(record.envelope, group=record.lead_id, deduplication_id=record.handoff_id)
    deps.handoffs.mark_sent(handoff_id, now)
    count("HandoffPublished")
    return True


def _withhold(handoff_id: str, lead_id: str, kind: str, deps: Deps, now: datetime) -> bool:
    """No hand-off for a contact whose consent is ``none`` (never asked, or withdrawn): the hand-off is
    kept as withheld and the lead's timeline says why. Repeatable: only a pending one is withheld."""
    from chalicelib.services.identity import withheld_reason

    lead = deps.store.get_lead(lead_id)
    contact = deps.store.get_contact(lead.contact_id) if lead else None
    if lead is None or contact is None or contact.erasing:
        return True  # erased or being erased: never sent (the erasure removes the hand-off itself)
    reason = withheld_reason(contact)
    if reason is None:
        return False
    if deps.handoffs.mark_withheld(handoff_id, now):
        deps.handoffs.add_history(
            lead_id,
            "handoff_withheld",
            handoff_id,
            now,
            {"handoff_id": handoff_id, "handoff_kind": kind, "reason": reason},
        )
        count("HandoffWithheld")
        logger.info("hand-off withheld", extra={"handoff_id": handoff_id, "lead_id": lead_id})
    return True


def republish_unsent(deps: Deps, now: datetime, limit: int = 100) -> int:
    """The outbox sweeper: hand-offs still pending minutes after they were written (the stream's
    retries ran out, SQS was down) are sent now; the same ids, so nothing is duplicated."""
    sent = 0
    for handoff_id in deps.handoffs.unsent(now - timedelta(minutes=2), limit):
        sent += publish_handoff(handoff_id, deps, now)
    if sent:
        logger.warning("unsent hand-offs republished", extra={"count": sent})
    return sent


# ---------------------------------------------------------------- lifecycle (sales)


def transition(lead_id: str, action: str, body: dict[str, Any], by: str, deps: Deps) -> dict[str, Any]:
    """accept | qualify | disqualify | reopen; 409 with the current state when impossible."""

    def attempt() -> tuple[Lead, Any, dict[str, Any] | None]:
        now = datetime.now(UTC)
        lead = deps.store.get_lead(lead_id)
        if lead is None:
            raise NotFound("lead", lead_id)
        contact = opportunity = None
        if action == "accept":
            updated, moved = lifecycle.accept(lead, now, by)
        elif action == "disqualify":
            updated, moved = lifecycle.disqualify(lead, body.get("reason"), now, by)
        elif action == "reopen":
            updated, moved = lifecycle.reopen(lead, now, by)
        else:
            updated, moved = lifecycle.qualify(lead, now, by)
            contact, opportunity = _conversion(updated, body, deps, now)
        deps.handoffs.write_lead_change(updated, moved, [], now, contact=contact, opportunity=opportunity)
        return updated, moved, opportunity

    updated, moved, opportunity = on_conflict(attempt, Conflict("the lead kept changing; retry the request"))
    count(f"Lead{action.capitalize()}")
    answer = {**lead_view(updated), "transition": moved.as_dict()}
    if opportunity is not None:
        answer["opportunity_id"] = opportunity["opportunity_id"]
    return answer


def _conversion(
    lead: Lead, body: dict[str, Any], deps: Deps, now: datetime
) -> tuple[Any, dict[str, Any] | None]:
    """Qualifying makes the contact a sales contact and, unless told not to, an opportunity."""
    create = body.get("create_opportunity", True)
    if not isinstance(create, bool):
        raise ValidationFailed([FieldError("create_opportunity", "create_opportunity must be true or false")])
    contact = deps.store.get_contact(lead.contact_id)
    sales_contact = replace(contact, marketing_only=False, updated_at=now) if contact else None
    if not create:
        return sales_contact, None
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
    name = ": ".join(p for p in ((account.name if account else None), lead.topic or "Opportunity") if p)
    return sales_contact, {
        "opportunity_id": new_id("o"),
        "lead_id": lead.lead_id,
        "contact_id": lead.contact_id,
        "account_id": lead.account_id,
        "name": name[:500],
        "created_at": now,
    }


def timeline(lead_id: str, deps: Deps, limit: int = 200) -> dict[str, Any]:
    """Interactions, score changes, transitions and hand-offs of a lead, newest first."""
    lead = deps.store.get_lead(lead_id)
    if lead is None:
        raise NotFound("lead", lead_id)
    entries = deps.handoffs.history(lead_id, limit)
    for interaction in deps.scoring.latest_interactions(lead.contact_id, limit):
        if interaction.lead_id in (None, lead_id):
            entries.append(
                {
                    "kind": "interaction",
                    "at": iso(interaction.occurred_at),
                    "interaction_id": interaction.interaction_id,
                    "type": interaction.type,
                }
            )
    entries.sort(key=lambda e: e["at"], reverse=True)
    return {"lead_id": lead_id, "entries": entries[:limit]}
