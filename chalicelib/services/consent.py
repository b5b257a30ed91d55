"""Consent: set or withdrawn by an operator, recorded in the contact's history; what it withholds.

Retried safely: the change is one write conditioned on the contact's version; a lost race re-reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from chalicelib.domain.consent import ConsentUpdate
from chalicelib.domain.entities import ConsentChange, Contact
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.observability import count, logger
from chalicelib.services.data_rights import contact_or_refuse
from chalicelib.store.retry import on_conflict
from chalicelib.wiring import Deps


def _now() -> datetime:
    return datetime.now(UTC)


def set_consent(contact_id: str, update: ConsentUpdate, deps: Deps) -> Contact:
    """Set (or withdraw: ``"none"``) a contact's consent, recorded in its history; the contact as
    saved. Lowering it below a model's ``min_consent`` removes that model's score (the contact's
    change rescores it)."""
    level, source = update.level, update.source

    def attempt() -> Contact:
        now = _now()
        contact = contact_or_refuse(contact_id, deps)
        change = ConsentChange(
            level=level, source=source if level != "none" else f"withdrawn:{source}", at=now
        )
        updated = replace(
            contact, consent=level, consent_history=[*contact.consent_history, change], updated_at=now
        )
        deps.identity.save_contact(updated)
        count("ConsentChanged")
        logger.info("consent changed", extra={"contact_id": contact_id, "level": level})
        return updated

    return on_conflict(attempt, ConcurrentUpdate("the contact kept changing; send the change again"))


def withheld_reason(contact: Contact | None) -> str | None:
    """Why no hand-off may be published for this contact, or ``None``. A contact that is not there
    withholds nothing: an erasure deletes the lead's hand-offs with it."""
    if contact is None or contact.consent != "none":
        return None
    if any(change.level != "none" for change in contact.consent_history):
        return "the contact withdrew consent"
    return "the contact never gave consent (imported or tracked, never asked)"
