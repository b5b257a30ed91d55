"""What changed in a table, as the stream functions see it: one typed change per stream record, decoded
once (``chalicelib/store/changes.py``) with the old and new images as domain entities, so no use case
parses a storage image or guesses the table from key names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.domain.entities import Account, Contact, Interaction, Lead

Event = Literal["INSERT", "MODIFY", "REMOVE"]


@dataclass(frozen=True, kw_only=True)
class Change:
    event: Event
    #: The stream's sequence number of the record (what a partial batch failure names).
    sequence: str


@dataclass(frozen=True, kw_only=True)
class ContactChange(Change):
    contact_id: str
    old: Contact | None = None
    new: Contact | None = None


@dataclass(frozen=True, kw_only=True)
class AccountChange(Change):
    account_id: str
    old: Account | None = None
    new: Account | None = None


@dataclass(frozen=True, kw_only=True)
class LeadChange(Change):
    lead_id: str
    old: Lead | None = None
    new: Lead | None = None


@dataclass(frozen=True, kw_only=True)
class InteractionChange(Change):
    """Interactions are appended, never changed: their stream carries the new image only."""

    contact_id: str
    interaction_id: str
    new: Interaction | None = None


@dataclass(frozen=True, kw_only=True)
class ScoreChange(Change):
    lead_id: str
    model_id: str


@dataclass(frozen=True, kw_only=True)
class HandoffChange(Change):
    """An outbox entry (the hand-off itself is read back, consistently, by the publisher)."""

    handoff_id: str


AnyChange = ContactChange | AccountChange | LeadChange | InteractionChange | ScoreChange | HandoffChange


def differs(old: Any, new: Any, names: Iterable[str]) -> bool:
    """Whether any of these attributes changed. Without one of the images (a record that lost its old
    image to fit a retry message, an insert) everything counts as changed."""
    if old is None or new is None:
        return True
    return any(getattr(old, name) != getattr(new, name) for name in names)
