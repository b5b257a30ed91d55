"""Qualification: the rules that now hold for an open lead fire, each once per round.

Exactly once: a rule's hand-offs are written in the same transaction that marks the lead qualified and
records the rule as fired for this round (conditioned on the lead's version), with ids derived from
(lead, rule, round, action); a lost race re-reads the lead and evaluates again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain import lifecycle
from chalicelib.domain.changes import AnyChange, ContactChange, LeadChange, ScoreChange, differs
from chalicelib.domain.entities import Lead
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.qualification import (
    Handoff,
    QualificationRule,
    first_batch,
    handoffs,
    lookback,
    needs_score,
    rules_that_fire,
)
from chalicelib.domain.routing import AssignmentWrite
from chalicelib.observability import count, logger
from chalicelib.services import assignment, scoring
from chalicelib.services.handoffs import encoded
from chalicelib.services.rules import load_rules
from chalicelib.store.retry import on_conflict
from chalicelib.wiring import Deps

#: Batches of rules fired for one lead in one evaluation (each batch fits one transaction).
ATTEMPTS = 10


def qualify_lead(
    lead_id: str, deps: Deps, now: datetime, rules: list[QualificationRule] | None = None
) -> int:
    """Fire the rules that now hold for an open lead (each once per round); returns hand-offs written.
    Rules fire in batches that fit one transaction; a batch that does not fit waits for the next.
    ``rules``: the rules read once for a whole batch of records (read here when not given)."""
    rules = rules if rules is not None else load_rules(deps)
    written = 0
    for _ in range(ATTEMPTS):  # batches: each fires at least one rule, so there are few

        def fire() -> tuple[int, bool] | None:
            batch = _evaluate(lead_id, rules, deps, now)
            if batch is None:
                return None
            updated, transition, work, assigned, more = batch
            deps.handoffs.write_lead_change(
                updated, transition, encoded(work, deps, now), now, assignment=assigned
            )
            if transition is not None:
                count("LeadQualified")
            logger.info(
                "rules fired", extra={"lead_id": lead_id, "rules": updated.fired_rules, "handoffs": len(work)}
            )
            return len(work), more

        fired = on_conflict(fire, ConcurrentUpdate("the lead kept changing; the record will be retried"))
        if fired is None:
            return written
        written += fired[0]
        if not fired[1]:
            # nothing more holds for the lead as written (what else was read is unchanged, or its own
            # change qualifies the lead again): no second read of the lead, contact, account, scores
            return written
    raise ConcurrentUpdate("the lead kept changing; the record will be retried")


def _evaluate(
    lead_id: str, rules: list[QualificationRule], deps: Deps, now: datetime
) -> tuple[Lead, Any, list[Handoff], AssignmentWrite | None, bool] | None:
    """The next batch of rules that fire for the lead, with the lead as it becomes, the hand-offs,
    when it becomes marketing-qualified its assignment (``services/assignment.py``: the hand-offs carry
    the assigned owner and team), and whether more rules hold for the lead as it becomes (another
    batch, or a rule the new status fires)."""
    if not rules:
        return None
    # issue 19: what can end the evaluation is read first, the rest only when it may fire something
    lead = deps.store.get_lead(lead_id)
    if lead is None or not lead.is_open:
        return None
    if all(rule.rule_id in lead.fired_rules for rule in rules):
        return None  # every rule fired in this round already (a score's change after its hand-off)
    active = {m.model_id for m in scoring.active_models(deps)}
    scores = {k: v for k, v in deps.scoring.scores_of(lead_id).items() if k in active}
    if not scores and all(needs_score(rule) for rule in rules):
        # a new lead qualified through its contact's change before it was scored: no rule can fire,
        # and its score's change qualifies it again (no read of its contact and account for nothing)
        return None
    contact = deps.store.get_contact(lead.contact_id)
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
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
    assigned = None
    if transition is not None:
        updated, assigned = assignment.route_qualified(updated, contact, account, scores, deps, now)
    more = bool(rules_that_fire(rules, updated, contact, account, interactions, scores, now))
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
    return updated, transition, work, assigned, more


def leads_to_qualify(change: AnyChange) -> list[str]:
    """Leads whose rules may hold anew: a score changed; a lead reopened or changed its fields; a
    contact changed what rules may read, or gained a lead. Qualification's own writes (status, fired
    rules) are not among these, so it does not feed itself.

    A new lead is always written with its contact's ``lead_ids`` (one transaction: the capture's), so
    the contact's change qualifies it and the lead's INSERT does not: one evaluation, not two (issue
    19; ``contacts_touched`` in scoring relies on the same)."""
    if change.event not in ("INSERT", "MODIFY"):
        return []
    if isinstance(change, ScoreChange):
        return [change.lead_id]
    if isinstance(change, LeadChange):
        if change.event == "INSERT":
            return []
        changed = differs(change.old, change.new, ("state", "round", "fields", "account_id"))
        return [change.lead_id] if changed and change.new is not None and change.new.state == "open" else []
    if isinstance(change, ContactChange) and change.new is not None:
        if change.old is None or differs(change.old, change.new, ("fields", "consent", "account_id")):
            return list(change.new.lead_ids)
        held = set(change.old.lead_ids)
        return [lead_id for lead_id in change.new.lead_ids if lead_id not in held]
    return []
