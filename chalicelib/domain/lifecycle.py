"""The lead lifecycle (scoring.md): open -> qualified | disqualified, and back to open by reopening.
Every transition is recorded with who, when and why; an impossible one is refused with the state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain.entities import LEAD_DISQUALIFIED, LEAD_OPEN, LEAD_QUALIFIED, Lead
from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed

DISQUALIFY_REASONS = ("lost", "cannot_contact", "no_longer_interested", "canceled", "spam")
#: Open statuses from which marketing qualification moves a lead (it never demotes sales_accepted).
QUALIFIABLE_STATUSES = ("new", "contacted")


class TransitionRefused(Conflict):
    code = "invalid_transition"

    def __init__(self, action: str, lead: Lead) -> None:
        super().__init__(f"cannot {action} a lead that is {lead.state} ({lead.status})", "state")
        self.state = lead.state
        self.status = lead.status


@dataclass(frozen=True)
class Transition:
    lead_id: str
    action: str
    from_state: str
    from_status: str
    to_state: str
    to_status: str
    at: datetime
    by: str
    reason: str | None = None
    round: int = 1

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "from_state": self.from_state,
            "from_status": self.from_status,
            "to_state": self.to_state,
            "to_status": self.to_status,
            "by": self.by,
            "reason": self.reason,
            "round": self.round,
        }


def _move(
    lead: Lead,
    action: str,
    state: str,
    status: str,
    at: datetime,
    by: str,
    reason: str | None = None,
    round_: int | None = None,
    fired: list[str] | None = None,
) -> tuple[Lead, Transition]:
    moved = replace(lead, state=state, status=status, updated_at=at)
    if round_ is not None:
        moved.round = round_
    if fired is not None:
        moved.fired_rules = fired
    transition = Transition(
        lead.lead_id, action, lead.state, lead.status, state, status, at, by, reason, moved.round
    )
    return moved, transition


def accept(lead: Lead, at: datetime, by: str) -> tuple[Lead, Transition]:
    if not lead.is_open or lead.status == "sales_accepted":
        raise TransitionRefused("accept", lead)
    return _move(lead, "accept", LEAD_OPEN, "sales_accepted", at, by)


#: Statuses from which a rep marks a lead ``contacted`` (reached out, no answer on interest yet): a new or
#: marketing-qualified lead. An accepted lead stays accepted (log the activity instead).
CONTACTABLE_STATUSES = ("new", "marketing_qualified")


def contacted(lead: Lead, at: datetime, by: str) -> tuple[Lead, Transition]:
    """open/new or open/marketing_qualified -> open/contacted; from there accept, qualify, disqualify
    (and marketing qualification, as from new)."""
    if not lead.is_open or lead.status not in CONTACTABLE_STATUSES:
        raise TransitionRefused("mark contacted", lead)
    return _move(lead, "contacted", LEAD_OPEN, "contacted", at, by)


def qualify(lead: Lead, at: datetime, by: str) -> tuple[Lead, Transition]:
    if not lead.is_open:
        raise TransitionRefused("qualify", lead)
    return _move(lead, "qualify", LEAD_QUALIFIED, "qualified", at, by)


def disqualify(lead: Lead, reason: object, at: datetime, by: str) -> tuple[Lead, Transition]:
    if reason not in DISQUALIFY_REASONS:
        raise ValidationFailed(
            [FieldError("reason", f"reason must be one of {', '.join(DISQUALIFY_REASONS)}")]
        )
    if not lead.is_open:
        raise TransitionRefused("disqualify", lead)
    return _move(lead, "disqualify", LEAD_DISQUALIFIED, str(reason), at, by, str(reason))


def reopen(lead: Lead, at: datetime, by: str) -> tuple[Lead, Transition]:
    """A closed lead opens again in a new qualification round: its rules may fire once more."""
    if lead.is_open:
        raise TransitionRefused("reopen", lead)
    return _move(lead, "reopen", LEAD_OPEN, "new", at, by, round_=lead.round + 1, fired=[])


def mark_qualified_by_marketing(
    lead: Lead, rule_ids: list[str], at: datetime
) -> tuple[Lead, Transition | None]:
    """Rules fired for an open lead: they are remembered for this round; a new or contacted lead becomes
    marketing-qualified (and stays so if its score later drops)."""
    fired = [*lead.fired_rules, *rule_ids]
    if lead.status in QUALIFIABLE_STATUSES:
        return _move(
            lead,
            "marketing_qualify",
            LEAD_OPEN,
            "marketing_qualified",
            at,
            "rule:" + ",".join(rule_ids),
            fired=fired,
        )
    return replace(lead, fired_rules=fired, updated_at=at), None
