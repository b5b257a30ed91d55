"""The hand-off publisher: the outbox's stream sends each pending hand-off to the FIFO queue
(deduplication id = hand-off id) before marking it sent; a crash in between resends the same id, which
the queue (5 minutes) or the consumer (any time) recognises as the same work. A contact without consent
gets none: the hand-off is kept as withheld."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.outbox import OutboxEntry, contact_of, shown_work
from chalicelib.domain.qualification import (
    Handoff,
)
from chalicelib.integrations.handoff import encode, envelope
from chalicelib.observability import correlation_id, count, logger
from chalicelib.services.consent import withheld_reason
from chalicelib.wiring import Deps


def encoded(found: list[Handoff], deps: Deps, now: datetime) -> list[tuple[str, str, str, str, str]]:
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


def publish_handoff(handoff_id: str, deps: Deps, now: datetime) -> bool:
    """Send a pending hand-off, then mark it sent; ``False`` when it was sent already."""
    entry = deps.handoffs.get_handoff(handoff_id)
    if entry is None or entry.state != "pending":
        return False
    if _withhold(entry, deps, now):
        return False
    deps.handoff_queue.send_fifo(entry.envelope, group=entry.lead_id, deduplication_id=entry.handoff_id)
    deps.handoffs.mark_sent(handoff_id, now)
    count("HandoffPublished")
    return True


def _withhold(entry: OutboxEntry, deps: Deps, now: datetime) -> bool:
    """No hand-off for a contact whose consent is ``none`` (never asked, or withdrawn): the hand-off is
    kept as withheld and the lead's timeline says why, naming the work (its subject, not its id).
    Repeatable: only a pending one is withheld."""
    handoff_id, lead_id, kind = entry.handoff_id, entry.lead_id, entry.kind
    # the person the envelope is about, while the lead is still theirs (issue 19: no read of the lead
    # for its contact id); otherwise (no such contact, the lead moved or was removed) the lead's own
    contact_id = contact_of(entry.envelope)
    contact = deps.store.get_contact(contact_id) if contact_id else None
    if contact is None or lead_id not in contact.lead_ids:
        lead = deps.store.get_lead(lead_id)
        contact = deps.store.get_contact(lead.contact_id) if lead else None
        if lead is None:
            return True  # removed (an erased capture): never sent
    if contact is None or contact.erasing:
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
            {"handoff_id": handoff_id, "handoff_kind": kind, "reason": reason, **shown_work(entry.envelope)},
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
