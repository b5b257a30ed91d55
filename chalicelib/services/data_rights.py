"""Data rights: everything held about a person (export), the erased contact's refusal, and the rows
naming a person in kept import files. The erasure job itself is ``services/erasure.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.scoring import Score
from chalicelib.services import opportunities
from chalicelib.services.lifecycle import timeline
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.opportunities import Opportunity
    from chalicelib.domain.ports import ErasureStore


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ExportedLead:
    """A lead in an export: its scores (the scored ones) and its timeline's entries."""

    lead: Lead
    scores: list[Score]
    timeline: list[dict[str, Any]]


@dataclass(frozen=True)
class ContactExport:
    """Everything held about a person (``api/views.py`` shapes the JSON)."""

    exported_at: datetime
    contact: Contact
    account: Account | None
    leads: list[ExportedLead]
    interactions: list[Interaction]
    opportunities: list[Opportunity]
    suspected_duplicates: list[dict[str, Any]]


def refuse_if_erased(contact_id: str, erasures: ErasureStore) -> None:
    """An erased contact's id answers 409 (``conflict``, naming the erasure) wherever it is used."""
    erasure_id = erasures.erased(contact_id)
    if erasure_id:
        raise Conflict(f"contact {contact_id} was erased ({erasure_id})", "contact_id")


def contact_or_refuse(contact_id: str, deps: Deps) -> Contact:
    contact = deps.store.get_contact(contact_id)
    if contact is not None:
        return contact
    refuse_if_erased(contact_id, deps.identity)
    raise NotFound("contact", contact_id)


def export(contact_id: str, deps: Deps) -> ContactExport:
    """Everything held about the person."""
    contact = contact_or_refuse(contact_id, deps)
    account = deps.store.get_account(contact.account_id) if contact.account_id else None
    leads = []
    for lead in deps.store.get_leads(contact.lead_ids):
        scores = deps.scoring.scores_of(lead.lead_id)
        leads.append(
            ExportedLead(
                lead,
                [s for s in scores.values() if s.score is not None],
                timeline(lead.lead_id, deps)["entries"],
            )
        )
    return ContactExport(
        exported_at=_now(),
        contact=contact,
        account=account,
        leads=leads,
        interactions=list(deps.store.interactions_of(contact_id)),
        opportunities=opportunities.of_leads(contact.lead_ids, deps.handoffs),
        suspected_duplicates=deps.identity.suspects_of(contact_id),
    )


def without_rows_naming(data: bytes, email: str) -> tuple[bytes, int]:
    """The CSV file without the lines that hold the email (compared without case, in UTF-8 or the
    Windows code page exports use); the header line is kept."""
    needles = {email.casefold().encode(codec, "ignore") for codec in ("utf-8", "cp1252")}
    lines = data.split(b"\n")
    kept = lines[:1] + [line for line in lines[1:] if not any(n and n in line.lower() for n in needles)]
    return b"\n".join(kept), len(lines) - len(kept)


def erase_import_rows(email: str | None, deps: Deps) -> int:
    """Rows naming the person in the import files still kept in the bucket (they expire after 30 days);
    returns how many rows were removed."""
    from chalicelib.services.imports import MAX_FILE_BYTES

    if not email:
        return 0
    removed = 0
    for key in deps.objects.keys("imports/"):
        data = deps.objects.get(key, MAX_FILE_BYTES)
        kept, dropped = without_rows_naming(data, email)
        if dropped:
            deps.objects.put(key, kept)
            removed += dropped
    return removed
