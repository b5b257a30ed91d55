"""People (users, teams), assignment rules and the routing decision, in pure Python.

Who gets a marketing-qualified lead: the assignment rules in order (``priority``, lowest first, then
``rule_id``); the first whose ``when`` holds (the condition language of ``domain/rules.py``, with the
qualification leaves ``score``/``grade``/``sales_ready``) and whose target can take the lead decides. A
rule without ``when`` matches every lead: that is how the default team is set (a catch-all rule with the
highest ``priority`` number), so an operator changes it through the API, not a redeploy. A target that
cannot take the lead (a user away, a team with nobody available) passes the lead to the next rule that
matches; when none can, the lead stays unassigned and the decision says why.

A team distributes in turn (``round_robin``: the team's cursor names the next member; members who are
away, or have capacity 0 — a manager who takes no leads — are skipped) or by load (``load_balanced``:
the available member with the lowest ``(open leads + 1) / capacity``, so a rep with twice the capacity
takes twice the leads; capacity 0 takes none). Members are ordered by user id, so the same facts
always give the same choice.

Exactly once: the decision names the team's ``turn`` it was made on; the store writes it in the lead's
transaction conditioned on that turn (and on the lead's version), so two leads deciding at once never
take the same turn: the loser re-reads and decides again."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.rules import Compiler, Condition, Facts

ROLES = ("admin", "marketing", "sales_manager", "sales_rep")
DISTRIBUTIONS = ("round_robin", "load_balanced")
ON_LAPSE = ("reassign", "escalate")
#: The statuses in which an SLA still waits for acceptance.
AWAITING_ACCEPTANCE = ("marketing_qualified", "new", "contacted")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def may_act_on(user: User | None, lead: Lead) -> bool:
    """A key without a person (a machine's) or a manager's acts on any lead; a rep only on a lead of
    one of their teams, or their own."""
    if user is None or user.manages:
        return True
    return lead.owner == user.user_id or (lead.team is not None and lead.team in user.teams)


def valid_id(value: str, name: str) -> None:
    if not _ID.fullmatch(value):
        raise ValidationFailed([FieldError(name, f"{name} must be 1-64 letters, digits, _ or -")])


# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    email: str
    roles: tuple[str, ...]
    teams: tuple[str, ...] = ()
    capacity: int = 0
    available: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def manages(self) -> bool:
        """Managers and admins act on any team's leads; a rep only on its own teams'."""
        return "admin" in self.roles or "sales_manager" in self.roles


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str
    distribution: str = "round_robin"
    manager: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Member:
    """A user of a team with their open leads (the load counter, read consistently)."""

    user: User
    open_leads: int = 0


# ---------------------------------------------------------------- assignment rules


@dataclass(frozen=True)
class Target:
    """``user``: one person; ``team``: the team's distribution; ``account_owner``: the account's
    owner (``account.fields["owner"]``, a user id) when there is one who can take it, else ``otherwise``."""

    kind: str  # user | team | account_owner
    ident: str | None = None
    otherwise: Target | None = None


@dataclass(frozen=True)
class Sla:
    accept_within_minutes: int
    on_lapse: str = "reassign"


@dataclass(frozen=True)
class AssignmentRule:
    rule_id: str
    priority: int
    when: Condition | None
    assign: Target
    sla: Sla | None = None
    definition: dict[str, Any] = field(default_factory=dict, compare=False)


def _target(spec: Any, where: str, errors: list[FieldError], depth: int = 0) -> Target | None:
    if not isinstance(spec, dict) or len(spec) == 0:
        errors.append(
            FieldError(where, f"{where} must be {{user}}, {{team}} or {{account_owner, otherwise}}")
        )
        return None
    keys = set(spec)
    if keys in ({"user"}, {"team"}):
        kind = "user" if "user" in spec else "team"
        value = spec[kind]
        if not isinstance(value, str) or not _ID.fullmatch(value):
            errors.append(FieldError(f"{where}.{kind}", f"{where}.{kind} must be a {kind} id"))
            return None
        return Target(kind, value)
    if "account_owner" in spec:
        unknown = keys - {"account_owner", "otherwise"}
        if unknown:
            errors.append(FieldError(f"{where}.{sorted(unknown)[0]}", f"{where}: unknown key"))
        if spec["account_owner"] is not True:
            errors.append(FieldError(f"{where}.account_owner", f"{where}.account_owner must be true"))
            return None
        if depth > 0 or "otherwise" not in spec:
            errors.append(FieldError(f"{where}.otherwise", f"{where}.otherwise must name a user or a team"))
            return None
        otherwise = _target(spec["otherwise"], f"{where}.otherwise", errors, depth + 1)
        if otherwise is not None and otherwise.kind == "account_owner":
            errors.append(FieldError(f"{where}.otherwise", f"{where}.otherwise must name a user or a team"))
            return None
        return Target("account_owner", None, otherwise)
    errors.append(FieldError(where, f"{where} must be {{user}}, {{team}} or {{account_owner, otherwise}}"))
    return None


def _sla(spec: Any, errors: list[FieldError]) -> Sla | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        errors.append(FieldError("sla", "sla must be an object"))
        return None
    for key in sorted(set(spec) - {"accept_within_minutes", "on_lapse"}):
        errors.append(FieldError(f"sla.{key}", f"{key} is not a property of an sla"))
    minutes = spec.get("accept_within_minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 60 * 24 * 30:
        errors.append(
            FieldError("sla.accept_within_minutes", "sla.accept_within_minutes must be 1-43200 minutes")
        )
        return None
    on_lapse = spec.get("on_lapse", "reassign")
    if on_lapse not in ON_LAPSE:
        errors.append(FieldError("sla.on_lapse", f"sla.on_lapse must be one of {', '.join(ON_LAPSE)}"))
        return None
    return Sla(minutes, on_lapse)


def parse_assignment_rule(rule_id: str, spec: Any, known_models: frozenset[str]) -> AssignmentRule:
    """Validate an assignment rule's shape; ValidationFailed names each bad field. Whether the users and
    teams it names exist is checked by the service (``check_targets``)."""
    from chalicelib.domain.qualification import score_leaves

    valid_id(rule_id, "rule_id")
    if not isinstance(spec, dict):
        raise ValidationFailed([FieldError("body", "an assignment rule must be a JSON object")])
    compiler = Compiler()
    compiler.extra_leaf = score_leaves(known_models, set(), compiler)
    for key in sorted(set(spec) - {"id", "priority", "when", "assign", "sla", "description"}):
        compiler.fail(key, f"{key} is not a property of an assignment rule")
    if spec.get("id", rule_id) != rule_id:
        compiler.fail("id", "id in the body must match the rule id in the path")
    priority = spec.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 1_000_000:
        compiler.fail("priority", "priority must be an integer 0-1000000 (lowest first)")
    when = compiler.condition(spec["when"], "when") if spec.get("when") is not None else None
    assign = _target(spec.get("assign"), "assign", compiler.errors)
    sla = _sla(spec.get("sla"), compiler.errors)
    description = spec.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 1000):
        compiler.fail("description", "description must be text of at most 1000 characters")
    if compiler.errors or assign is None:
        raise ValidationFailed(compiler.errors or [FieldError("assign", "assign is required")])
    return AssignmentRule(rule_id, int(priority or 0), when, assign, sla, spec)


def lookback_days(rules: Sequence[AssignmentRule]) -> float | None:
    """How far back the rules' event conditions look (``None``: all time; 0: no event condition)."""
    leaves = [leaf for rule in rules if rule.when is not None for leaf in rule.when.events()]
    if not leaves:
        return 0.0
    if any(leaf.within_days is None for leaf in leaves):
        return None
    return max(leaf.within_days or 0.0 for leaf in leaves)


def ordered(rules: Sequence[AssignmentRule]) -> list[AssignmentRule]:
    return sorted(rules, key=lambda r: (r.priority, r.rule_id))


def named_targets(rule: AssignmentRule) -> list[tuple[str, str, str]]:
    """``(field, kind, id)`` of each user and team a rule names (checked when it is saved)."""
    found: list[tuple[str, str, str]] = []
    target: Target | None = rule.assign
    where = "assign"
    while target is not None:
        if target.kind in ("user", "team") and target.ident is not None:
            found.append((f"{where}.{target.kind}", target.kind, target.ident))
        target, where = target.otherwise, f"{where}.otherwise"
    return found


# ---------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Roster:
    """What a decision reads: users by id, teams by id, each team's members (with open leads) and each
    team's turn (the round-robin cursor: how many leads the team has been given)."""

    users: Mapping[str, User]
    teams: Mapping[str, Team]
    open_leads: Mapping[str, int] = field(default_factory=dict)
    turns: Mapping[str, int] = field(default_factory=dict)

    def members(self, team_id: str) -> list[Member]:
        return [
            Member(user, self.open_leads.get(user.user_id, 0))
            for user in sorted(self.users.values(), key=lambda u: u.user_id)
            if team_id in user.teams
        ]

    def turn(self, team_id: str) -> int:
        return self.turns.get(team_id, 0)


@dataclass(frozen=True)
class Assigned:
    """The lead goes to ``user_id`` in ``team_id``; ``turn`` is the team turn the choice was made on
    (the write is conditioned on it; ``None``: no team distribution was involved)."""

    user_id: str
    team_id: str | None
    rule_id: str | None
    sla: Sla | None
    turn: int | None
    why: str


@dataclass(frozen=True)
class Unassigned:
    reason: str


Decision = Assigned | Unassigned


def facts_for(
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    interactions: Sequence[Interaction],
    score_extra: dict[str, Any],
    as_of: datetime,
) -> Facts:
    return Facts(lead, contact, account, interactions, as_of, score_extra)


def _can_take(user: User | None) -> bool:
    return user is not None and user.available


def _home_team(user: User, preferred: str | None) -> str | None:
    if preferred is not None and preferred in user.teams:
        return preferred
    return user.teams[0] if user.teams else None


def pick_in_team(team: Team, roster: Roster, exclude: frozenset[str] = frozenset()) -> tuple[str, int] | None:
    """The member the team's distribution gives the next lead to, and the turn it was chosen on;
    ``None`` when no member can take it (away, capacity 0, or excluded)."""
    members = [m for m in roster.members(team.team_id) if m.user.user_id not in exclude]
    turn = roster.turn(team.team_id)
    if team.distribution == "load_balanced":
        able = [m for m in members if m.user.available and m.user.capacity > 0]
        if not able:
            return None
        chosen = min(able, key=lambda m: ((m.open_leads + 1) / m.user.capacity, m.user.user_id))
        return chosen.user.user_id, turn
    everyone = roster.members(team.team_id)  # the cursor walks the whole team, so it is stable
    if not everyone:
        return None
    for step in range(len(everyone)):
        member = everyone[(turn + step) % len(everyone)]
        if member.user.available and member.user.capacity > 0 and member.user.user_id not in exclude:
            return member.user.user_id, turn
    return None


def next_turn(team: Team, roster: Roster, chosen: str, turn: int) -> int:
    """The team's turn after ``chosen`` took the lead on ``turn``: round robin moves the cursor past the
    chosen member (a skipped member keeps their place); load-balanced counts one more lead."""
    if team.distribution != "round_robin":
        return turn + 1
    ids = [m.user.user_id for m in roster.members(team.team_id)]
    if chosen not in ids:
        return turn + 1
    position, size = ids.index(chosen), len(ids)
    # the smallest turn > current turn that is congruent to position + 1
    ahead = (position + 1 - turn) % size or size
    return turn + ahead


def _resolve(
    target: Target,
    rule: AssignmentRule | None,
    account: Account | None,
    roster: Roster,
    preferred: str | None,
) -> Assigned | str:
    rule_id = rule.rule_id if rule else None
    sla = rule.sla if rule else None
    if target.kind == "user":
        user = roster.users.get(target.ident or "")
        if user is None:
            return f"user {target.ident} does not exist"
        if not user.available:
            return f"user {target.ident} is away"
        return Assigned(
            user.user_id, _home_team(user, preferred), rule_id, sla, None, f"rule {rule_id}: user"
        )
    if target.kind == "team":
        team = roster.teams.get(target.ident or "")
        if team is None:
            return f"team {target.ident} does not exist"
        picked = pick_in_team(team, roster)
        if picked is None:
            return f"nobody in team {team.team_id} is available"
        user_id, turn = picked
        return Assigned(user_id, team.team_id, rule_id, sla, turn, f"rule {rule_id}: {team.distribution}")
    owner = account.fields.get("owner") if account is not None else None
    user = roster.users.get(owner) if isinstance(owner, str) else None
    if user is not None and user.available:
        return Assigned(
            user.user_id, _home_team(user, preferred), rule_id, sla, None, f"rule {rule_id}: account owner"
        )
    if target.otherwise is None:
        return "the account has no owner who can take it"
    return _resolve(target.otherwise, rule, account, roster, preferred)


def decide(rules: Sequence[AssignmentRule], facts: Facts, roster: Roster) -> Decision:
    """The routing decision for a lead (see the module's docstring)."""
    reasons = []
    for rule in ordered(rules):
        if rule.when is not None and not rule.when.test(facts)[0]:
            continue
        found = _resolve(rule.assign, rule, facts.account, roster, None)
        if isinstance(found, Assigned):
            return found
        reasons.append(f"rule {rule.rule_id}: {found}")
    if not reasons:
        return Unassigned("no assignment rule matched (add a rule without `when` as the default team)")
    return Unassigned("; ".join(reasons))


def on_lapse(lead: Lead, sla: Sla, roster: Roster) -> Decision:
    """Who takes a lead whose SLA lapsed: ``reassign``: the next member of the lead's team (by its
    distribution, not the current owner); ``escalate``: the team's manager."""
    team = roster.teams.get(lead.team or "")
    if team is None:
        return Unassigned(f"the lead's team {lead.team} does not exist")
    if sla.on_lapse == "escalate":
        manager = roster.users.get(team.manager or "")
        if manager is None:
            return Unassigned(f"team {team.team_id} has no manager")
        return Assigned(
            manager.user_id, team.team_id, None, None, None, "sla lapsed: escalated to the manager"
        )
    picked = pick_in_team(team, roster, exclude=frozenset({lead.owner or ""}))
    if picked is None:
        return Unassigned(f"nobody else in team {team.team_id} is available")
    user_id, turn = picked
    return Assigned(user_id, team.team_id, None, None, turn, "sla lapsed: reassigned in the team")


# ---------------------------------------------------------------- what an assignment writes


@dataclass(frozen=True)
class TurnAdvance:
    team_id: str
    expected: int
    to: int


@dataclass(frozen=True)
class AssignmentWrite:
    """What the store writes in the lead's transaction beside the lead: the team's turn advanced
    (conditioned on the turn read), the open-lead counters moved, the assignment kept (its SLA due time
    makes it a timer), a lapsed timer settled once, an acceptance noted."""

    turn: TurnAdvance | None = None
    load: Mapping[str, int] = field(default_factory=dict)
    record: AssignmentRecord | None = None
    settle_timer: int | None = None
    accepted: tuple[int, datetime] | None = None
    #: ``(assignment number, at)``: the lead was marked ``contacted``; kept only if no activity came first
    first_activity: tuple[int, datetime] | None = None
    history: dict[str, Any] | None = None


@dataclass(frozen=True)
class AssignmentRecord:
    """One assignment of a lead (``number``: the lead's assignment count after it)."""

    lead_id: str
    number: int
    owner: str
    team: str | None
    at: datetime
    by: str
    why: str
    previous_owner: str | None = None
    rule_id: str | None = None
    qualified_at: datetime | None = None
    due_at: datetime | None = None
    on_lapse: str | None = None
    accepted_at: datetime | None = None
    #: The first completed activity logged or the ``contacted`` transition under this assignment, once.
    first_activity_at: datetime | None = None


def assign(
    lead: Lead,
    decision: Assigned,
    roster: Roster,
    at: datetime,
    by: str,
    qualified_at: datetime | None,
    why: str | None = None,
) -> tuple[Lead, AssignmentWrite]:
    """The lead as it becomes and what to write with it."""
    from dataclasses import replace

    number = lead.assignment + 1
    team = roster.teams.get(decision.team_id or "")
    turn = None
    if decision.turn is not None and team is not None:
        turn = TurnAdvance(
            team.team_id, decision.turn, next_turn(team, roster, decision.user_id, decision.turn)
        )
    load: dict[str, int] = {}
    if lead.owner and lead.is_open:
        load[lead.owner] = load.get(lead.owner, 0) - 1
    load[decision.user_id] = load.get(decision.user_id, 0) + 1
    load = {k: v for k, v in load.items() if v}
    due = at + timedelta(minutes=decision.sla.accept_within_minutes) if decision.sla else None
    reason = why or decision.why
    record = AssignmentRecord(
        lead.lead_id,
        number,
        decision.user_id,
        decision.team_id,
        at,
        by,
        reason,
        previous_owner=lead.owner,
        rule_id=decision.rule_id,
        qualified_at=qualified_at,
        due_at=due,
        on_lapse=decision.sla.on_lapse if decision.sla else None,
    )
    updated = replace(lead, owner=decision.user_id, team=decision.team_id, assignment=number, updated_at=at)
    history = {
        "by": by,
        "from": lead.owner,
        "to": decision.user_id,
        "team": decision.team_id,
        "why": reason,
        "assignment": number,
        "due_at": due.isoformat() if due else None,
    }
    return updated, AssignmentWrite(turn=turn, load=load, record=record, history=history)


def release(lead: Lead, before: Lead) -> dict[str, int]:
    """Open-lead counter moves when a lead changes state: closing takes one from its owner, reopening
    gives one back."""
    if not before.owner:
        return {}
    if before.is_open and not lead.is_open:
        return {before.owner: -1}
    if not before.is_open and lead.is_open:
        return {before.owner: 1}
    return {}


# ---------------------------------------------------------------- speed to lead


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``0.5``: the median, by the lower middle for an even count)."""
    if not values:
        return None
    ordered_values = sorted(values)
    import math

    rank = max(1, math.ceil(fraction * len(ordered_values)))
    return ordered_values[rank - 1]


def speed_to_lead(records: Sequence[AssignmentRecord]) -> dict[str, Any]:
    """Qualified -> accepted and qualified -> first activity (the first completed call, meeting or
    e-mail logged, or the ``contacted`` transition, whichever came first), in minutes, per team and per
    rep (the owner who holds the lead): count, median, p90 of each; leads still waiting are counted, not
    timed."""

    def minutes(group: Sequence[AssignmentRecord], attribute: str) -> list[float]:
        found: list[float] = []
        for r in group:
            at = getattr(r, attribute)
            if at is not None and r.qualified_at is not None:
                found.append((at - r.qualified_at).total_seconds() / 60)
        return found

    def summary(group: Sequence[AssignmentRecord]) -> dict[str, Any]:
        accepted = minutes(group, "accepted_at")
        active = minutes(group, "first_activity_at")
        return {
            "leads": len(group),
            "accepted": len(accepted),
            "median_minutes": _round(percentile(accepted, 0.5)),
            "p90_minutes": _round(percentile(accepted, 0.9)),
            "first_activity": len(active),
            "first_activity_median_minutes": _round(percentile(active, 0.5)),
            "first_activity_p90_minutes": _round(percentile(active, 0.9)),
        }

    # a lead's current (last) assignment of each round stands for it
    latest: dict[tuple[str, datetime | None], AssignmentRecord] = {}
    for record in records:
        key = (record.lead_id, record.qualified_at)
        if key not in latest or latest[key].number < record.number:
            latest[key] = record
    chosen = list(latest.values())
    teams: dict[str, list[AssignmentRecord]] = {}
    reps: dict[str, list[AssignmentRecord]] = {}
    for record in chosen:
        teams.setdefault(record.team or "-", []).append(record)
        reps.setdefault(record.owner, []).append(record)
    return {
        "overall": summary(chosen),
        "teams": {k: summary(v) for k, v in sorted(teams.items())},
        "reps": {k: summary(v) for k, v in sorted(reps.items())},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
