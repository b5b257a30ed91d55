"""Assigning leads: when a lead becomes marketing-qualified (in qualification's own transaction), on
demand (``POST /v1/leads/{id}/assign``), and when an SLA lapses (the one-minute sweep).

Exactly once: every assignment is written in the lead's transaction, conditioned on the lead's version
and on the team turn the decision read (``domain/routing.py``); a lost race re-reads and decides again.
A lapse is acted on once: its timer is settled in the same transaction, on the condition that it is
still pending, and only while the lead still has the assignment the timer was set for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain import routing
from chalicelib.domain.entities import Account, Contact, Lead
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    FieldError,
    NotFound,
    NotPermitted,
    ValidationFailed,
)
from chalicelib.domain.interactions import iso
from chalicelib.domain.qualification import score_facts
from chalicelib.domain.routing import (
    AWAITING_ACCEPTANCE,
    Assigned,
    AssignmentRule,
    AssignmentWrite,
    Sla,
    User,
)
from chalicelib.domain.scoring import Score
from chalicelib.observability import count, logger
from chalicelib.store.retry import on_conflict

if TYPE_CHECKING:
    from chalicelib.wiring import Deps

#: Timers one sweep handles (the next minute's sweep takes the rest).
SWEEP_LIMIT = 500
#: Speed to lead reads at most this many days of qualifications (one index query per day).
MAX_REPORT_DAYS = 92


def load_rules(deps: Deps) -> list[AssignmentRule]:
    """The assignment rules that are valid now (one that names a model no longer known is skipped)."""
    from chalicelib.services.people import known_models

    stored = deps.people.assignment_rules(deps.settings.models_cache_seconds)
    if not stored:  # no routing configured: one query, and no read of the models
        return []
    known = known_models(deps.scoring)
    rules = []
    for rule_id, spec in stored:
        try:
            rules.append(routing.parse_assignment_rule(rule_id, spec, known))
        except ValidationFailed:
            logger.warning("assignment rule no longer valid", extra={"rule_id": rule_id})
    return routing.ordered(rules)


def route_qualified(
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    scores: dict[str, Score],
    deps: Deps,
    now: datetime,
) -> tuple[Lead, AssignmentWrite | None]:
    """A lead that just became marketing-qualified, assigned by the rules (unless it has an owner
    already): the lead as it becomes and what to write in qualification's transaction."""
    if lead.owner is not None:
        return lead, None
    rules = load_rules(deps)
    if not rules:
        return lead, None
    days = routing.lookback_days(rules)
    interactions = (
        []
        if days == 0
        else deps.scoring.interactions_since(lead.contact_id, now - timedelta(days=days) if days else None)
    )
    facts = routing.facts_for(lead, contact, account, interactions, score_facts(scores), now)
    roster = deps.people.roster()
    decision = routing.decide(rules, facts, roster)
    if isinstance(decision, routing.Unassigned):
        count("LeadUnassigned")
        logger.warning("lead not assigned", extra={"lead_id": lead.lead_id, "reason": decision.reason})
        return lead, None
    updated, write = routing.assign(lead, decision, roster, now, "routing", qualified_at=now)
    count("LeadAssigned")
    return updated, write


def assign_lead(
    lead_id: str, owner: str, reason: str | None, by: str, acting: User | None, deps: Deps
) -> Lead:
    """Give the lead to ``owner`` (on demand): 422 naming ``owner`` for an unknown or away user, 403
    when ``acting`` is a rep and the lead is another team's. Repeating it changes nothing (the lead
    already has that owner)."""

    def attempt() -> Lead:
        now = datetime.now(UTC)
        lead = deps.store.get_lead(lead_id)
        if lead is None:
            raise NotFound("lead", lead_id)
        if not routing.may_act_on(acting, lead):
            raise NotPermitted("a rep's key acts only on its own teams' leads", "lead_id")
        roster = deps.people.roster()
        user = roster.users.get(owner)
        if user is None:
            raise ValidationFailed([FieldError("owner", f"no such user: {owner}")])
        if not user.available:
            raise ValidationFailed([FieldError("owner", f"user {owner} is away")])
        if acting is not None and not acting.manages and not set(user.teams) & set(acting.teams):
            raise NotPermitted("a rep's key assigns only to people of its own teams", "owner")
        if not lead.is_open:
            raise Conflict(f"cannot assign a lead that is {lead.state}", "state")
        if lead.owner == owner:
            return lead
        team = lead.team if lead.team in user.teams else (user.teams[0] if user.teams else None)
        decision = Assigned(owner, team, None, None, None, "assigned by hand")
        previous = deps.assignments.get_assignment(lead_id, lead.assignment) if lead.assignment else None
        updated, write = routing.assign(
            lead,
            decision,
            roster,
            now,
            by,
            qualified_at=previous.qualified_at if previous else None,
            why=reason or "assigned by hand",
        )
        deps.handoffs.write_lead_change(updated, None, [], now, assignment=write)
        count("LeadReassigned")
        return updated

    return on_conflict(attempt, Conflict("the lead kept changing; retry the request"))


def check_may_act(lead_id: str, acting: User | None, deps: Deps) -> None:
    """403 when ``acting`` is a rep and the lead is another team's (a machine's key, a manager's or an
    admin's acts on any lead). A lead that does not exist is left to the use case (its 404)."""
    if acting is None or acting.manages:
        return
    lead = deps.store.get_lead(lead_id)
    if lead is not None and not routing.may_act_on(acting, lead):
        raise NotPermitted("a rep's key acts only on its own teams' leads", "lead_id")


def on_transition(before: Lead, after: Lead, action: str, now: datetime) -> AssignmentWrite | None:
    """What a lifecycle transition moves: acceptance stops the SLA and times speed to lead; marking an
    assigned lead ``contacted`` is its first activity unless one was logged before (kept once); closing
    a lead takes it from its owner's open leads, reopening gives it back."""
    load = routing.release(after, before)
    accepted = (before.assignment, now) if action == "accept" and before.assignment else None
    assigned = bool(before.assignment and before.owner)
    first_activity = (before.assignment, now) if action == "contacted" and assigned else None
    if not load and accepted is None and first_activity is None:
        return None
    return AssignmentWrite(load=load, accepted=accepted, first_activity=first_activity)


def sweep_lapsed(deps: Deps, now: datetime, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """The one-minute schedule: every SLA timer due by ``now`` is acted on once: the lead is reassigned
    or escalated when it still waits for acceptance under the assignment the timer was set for and its
    owner has not acted on it (no first activity: a logged activity or ``contacted``); otherwise the
    timer is only settled."""
    done = {"due": 0, "reassigned": 0, "escalated": 0, "settled": 0, "unassigned": 0}
    for lead_id, number in deps.assignments.due_timers(now, limit):
        done["due"] += 1
        try:
            outcome = on_conflict(
                lambda lead_id=lead_id, number=number: _lapse(lead_id, number, deps, now),  # type: ignore[misc]
                ConcurrentUpdate("the lead kept changing; the next sweep retries"),
            )
        except ConcurrentUpdate:
            logger.warning("sla lapse deferred", extra={"lead_id": lead_id})
            continue
        done[outcome] += 1
    if done["due"]:
        logger.info("sla sweep", extra=done)
    return done


def _lapse(lead_id: str, number: int, deps: Deps, now: datetime) -> str:
    lead = deps.store.get_lead(lead_id)
    timer = deps.assignments.get_assignment(lead_id, number)
    if (
        lead is None
        or timer is None
        or timer.due_at is None
        or lead.assignment != number
        or timer.first_activity_at is not None
        or not lead.is_open
        or lead.status not in AWAITING_ACCEPTANCE
    ):
        deps.assignments.settle_timer(lead_id, number, now)
        return "settled"
    roster = deps.people.roster()
    decision = routing.on_lapse(lead, Sla(1, timer.on_lapse or "reassign"), roster)
    if isinstance(decision, routing.Unassigned):
        deps.handoffs.write_lead_change(
            lead,
            None,
            [],
            now,
            assignment=AssignmentWrite(settle_timer=number),
        )
        logger.warning(
            "sla lapsed, nobody to take the lead", extra={"lead_id": lead_id, "why": decision.reason}
        )
        count("SlaLapseUnassigned")
        return "unassigned"
    updated, write = routing.assign(lead, decision, roster, now, "sla", qualified_at=timer.qualified_at)
    deps.handoffs.write_lead_change(
        updated,
        None,
        [],
        now,
        assignment=AssignmentWrite(
            turn=write.turn, load=write.load, record=write.record, settle_timer=number, history=write.history
        ),
    )
    escalated = timer.on_lapse == "escalate"
    count("SlaEscalated" if escalated else "SlaReassigned")
    return "escalated" if escalated else "reassigned"


def forget_leads(lead_ids: list[str], deps: Deps, now: datetime) -> int:
    """An erasure's part (``services/erasure.py``, before the leads are deleted): each open lead that
    has an owner is released from the owner's open leads in a write conditioned on the lead's version
    (a repeated pass finds it released or gone: once), then its assignments (with their timers and the
    reasons people typed) are deleted. Returns the assignments deleted. Safe to run again."""
    from dataclasses import replace

    deleted = 0
    for lead_id in lead_ids:

        def release(lead_id: str = lead_id) -> None:
            lead = deps.store.get_lead(lead_id)
            if lead is None or lead.owner is None:
                return
            load = {lead.owner: -1} if lead.is_open else {}
            released = replace(lead, owner=None, team=None, updated_at=now)
            deps.handoffs.write_lead_change(released, None, [], now, assignment=AssignmentWrite(load=load))

        on_conflict(release, ConcurrentUpdate("the lead kept changing; the erasure pass is retried"))
        deleted += deps.assignments.forget_lead(lead_id)
    return deleted


def speed_to_lead(since: datetime | None, until: datetime | None, deps: Deps) -> dict[str, Any]:
    """Qualified -> accepted and -> first activity per team and rep, for leads qualified in
    ``[since, until]``."""
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=30)
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationFailed([FieldError("since", "since and until need a time zone (e.g. Z)")])
    if since > until:
        raise ValidationFailed([FieldError("since", "since must be before until")])
    if until - since > timedelta(days=MAX_REPORT_DAYS):
        raise ValidationFailed([FieldError("since", f"the report spans at most {MAX_REPORT_DAYS} days")])
    records = list(deps.assignments.assignments_qualified(since, until))
    return {"since": iso(since), "until": iso(until), **routing.speed_to_lead(records)}


def lead_assignments(lead_id: str, deps: Deps) -> list[dict[str, Any]]:
    """The lead's assignments, oldest first (404 for a lead that does not exist)."""
    if deps.store.get_lead(lead_id) is None:
        raise NotFound("lead", lead_id)
    return [
        {
            "number": a.number,
            "owner": a.owner,
            "team": a.team,
            "at": iso(a.at),
            "by": a.by,
            "why": a.why,
            "previous_owner": a.previous_owner,
            "due_at": iso(a.due_at) if a.due_at else None,
            "accepted_at": iso(a.accepted_at) if a.accepted_at else None,
            "first_activity_at": iso(a.first_activity_at) if a.first_activity_at else None,
        }
        for a in deps.assignments.assignments_of(lead_id)
    ]
