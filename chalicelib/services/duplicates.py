"""Suspected duplicates: detection on the contacts stream, and the suggestions operators review.

Retries: detection only ever rewrites the same suspicions, so a redelivered record changes nothing.
It never merges: strong suspicions are suggestions like weak ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.domain import duplicates as dup
from chalicelib.observability import count, logger
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.ports import DuplicateStore

Strength = Literal["strong", "weak"]


def detect(contact_id: str, deps: Deps, now: datetime) -> int:
    """Record every suspicion against contacts sharing one of the contact's blocking keys; returns how
    many. The keys are on the contact's own item (written with it: ``IndexedKeys``), so detection only
    reads. Never merges: strong suspicions are suggestions like weak ones."""
    contact = deps.store.get_contact(contact_id)
    if contact is None or contact.erasing:
        return 0  # gone, or being erased: its keys went with the write that began the erasure
    others = deps.identity.candidates(contact) - {contact_id}
    if not others:
        return 0
    # eventually consistent (half the units: issue 19): a candidate changed a moment ago is judged
    # again against this contact when its own change is detected
    found = dup.suspicions(contact, deps.store.get_contacts(sorted(others), consistent=False))
    written = deps.identity.record_suspicions(found, now)
    if written:
        count("DuplicateSuspected", written)
        logger.info("duplicates suspected", extra={"contact_id": contact_id, "suspicions": written})
    return written


@dataclass(frozen=True)
class Suggestion:
    """A contact suspected to be the same person, and why (never merged automatically)."""

    contact_id: str
    confidence: float
    strength: str
    reasons: list[dict[str, Any]]


def duplicate_of(contact_id: str, duplicates: DuplicateStore) -> list[Suggestion]:
    """Suggestions for one contact, the strongest first (the lead and contact views show them)."""
    found = duplicates.suspects_of(contact_id)
    return [
        Suggestion(s["contact_id"], s["confidence"], s["strength"], s["reasons"])
        for s in sorted(found, key=lambda s: -float(s["confidence"]))
    ]


def list_duplicates(
    deps: Deps, limit: int = 25, cursor: str | None = None, strength: Strength | None = None
) -> dict[str, Any]:
    """Suspected duplicate contacts (only the ``strong`` or ``weak`` ones when ``strength`` says so),
    with their reasons and confidence, and each contact's leads; one page of ``limit`` after ``cursor``."""
    items, next_cursor = deps.identity.list_duplicates(limit, cursor)
    if strength:
        items = [i for i in items if i.get("strength") == strength]
    contacts = {
        c.contact_id: c for c in deps.store.get_contacts([c for i in items for c in i["contact_ids"]])
    }
    for item in items:
        item["lead_ids"] = {
            cid: contacts[cid].lead_ids if cid in contacts else [] for cid in item["contact_ids"]
        }
    return {
        "duplicates": [i for i in items if all(c in contacts for c in i["contact_ids"])],
        "next_cursor": next_cursor,
    }
