"""Entities: a contact (a person), an account (a company), a lead (an expression of interest of a
contact), an interaction (something a contact did). ``version`` is the optimistic-locking counter the
store keeps; ``None`` means "not stored yet"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Fields = dict[str, Any]

LEAD_OPEN = "open"
LEAD_QUALIFIED = "qualified"
LEAD_DISQUALIFIED = "disqualified"


@dataclass
class ConsentChange:
    level: str
    source: str
    at: datetime


@dataclass
class Contact:
    contact_id: str
    email: str | None
    fields: Fields
    created_at: datetime
    updated_at: datetime
    account_id: str | None = None
    #: Every lead of this contact, oldest first: read consistently with the contact, unlike an index.
    lead_ids: list[str] = field(default_factory=list)
    marketing_only: bool = True
    consent: str = "none"
    consent_history: list[ConsentChange] = field(default_factory=list)
    last_interaction_at: datetime | None = None
    #: An erasure has begun: nothing may be written for this person any more (captures, interactions,
    #: scores, hand-offs), and the erasure job removes what is there.
    erasing: bool = False
    version: int | None = None
    #: Interaction counts, ``<type>|<lead id or "">`` -> n, kept with each interaction's write
    #: (``domain/interaction_counts.py``; issue 19, item 5). ``None``: not kept (a contact written
    #: before them, until the backfill counts its history): its "all time" rules read the history.
    agg: dict[str, int] | None = None


@dataclass
class Account:
    account_id: str
    name: str | None
    domain: str | None
    fields: Fields
    created_at: datetime
    updated_at: datetime
    version: int | None = None


@dataclass
class Lead:
    lead_id: str
    contact_id: str
    fields: Fields
    created_at: datetime
    updated_at: datetime
    account_id: str | None = None
    state: str = LEAD_OPEN
    status: str = "new"
    #: Qualification round: reopening a closed lead starts the next one.
    round: int = 1
    #: Qualification rules that fired for this lead in this round (each fires once per round).
    fired_rules: list[str] = field(default_factory=list)
    owner: str | None = None
    #: The owner's team, and how many times the lead has been assigned (its assignment version: an
    #: SLA timer acts only on the assignment it was set for).
    team: str | None = None
    assignment: int = 0
    #: What captures said that differs from what the contact and lead hold (under ``fill_empty``):
    #: ``{"field", "submitted", "current", "source", "at"}``, newest last, at most 20.
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None
    #: The newest timeline entries its own changes wrote (transitions, hand-offs), kept on the lead
    #: (``store/history.py``: issue 19, no item of their own): ``{"sk", "kind", "at", "data"}``.
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def topic(self) -> str | None:
        value = self.fields.get("topic")
        return value if isinstance(value, str) else None

    @property
    def source(self) -> str | None:
        value = self.fields.get("source")
        return value if isinstance(value, str) else None

    @property
    def is_open(self) -> bool:
        return self.state == LEAD_OPEN


@dataclass(frozen=True)
class Interaction:
    interaction_id: str
    contact_id: str
    type: str
    occurred_at: datetime
    properties: Fields = field(default_factory=dict)
    lead_id: str | None = None
    source: str = "api"
    #: Written with its contact's ``last_interaction_at`` already set to it (a capture's own, in one
    #: transaction): the activity function has nothing to note (issue 19: one write less a capture).
    noted: bool = False
    #: Written in one transaction with a change of its contact that rescores the contact anyway (a new
    #: contact, or a new lead in its ``lead_ids``): the interaction's own record does not rescore it
    #: again (issue 19: scoring once per capture, not once per stream).
    scored_with_contact: bool = False
    #: The contact's account when the interaction was written (kept when the contact moves: the
    #: account-scoped models read an account's interactions from one index, ``by_account_time``).
    account_id: str | None = None
