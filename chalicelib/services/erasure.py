"""Erasure: a person's data removed everywhere, as a job, and kept removed.

``DELETE /v1/contacts/{id}`` (:func:`request_erasure`) makes it effective at once and answers 202 with
the job: it writes the erasure's marker, the email's **tombstone** (``tombstone#<HMAC(deployment key,
email)>`` in the keys table, read in the same batch as the email's claim by every capture, so a late
form, webhook, LinkedIn response, import row, trigger or tracked interaction for that email stores
nothing), and flags the contact ``erasing`` on its version (a capture planned before fails its
condition and finds the tombstone when it tries again; an interaction is written only in a transaction
that checks the contact is not being erased). Then it queues the job; asking again answers with the
same job (and queues it again while it is not done: a run is safe to repeat).

The job (:func:`run_erasure`, function ``erase_contacts``) runs in two passes. The first removes, keyed
by the person: leads with their scores, history, hand-offs in the outbox and opportunities;
interactions; the email claim; the account when nobody else is in it (with its name and domain
claims); identity items (blocking keys, suspicions, merges); and, found by the email and phone where
nothing is keyed by the person: quarantined submissions, idempotency answers, import row errors
(redacted) and the rows of import files still in the bucket; messages waiting in the hand-off queue
(their group is the lead), its dead-letter queue and the tracking dead-letter queue; and last the
contact. It tells sales to forget what was handed to them (a ``leadflow.contact.erased`` CloudEvent,
ids only, per lead that had hand-offs). The second pass, ``ERASURE_SETTLE_SECONDS`` (60) later, does the
keyed part and the hand-off queues again, for writes that were in flight when the first began (a score
or a hand-off computed from a stream record read before the flag). The job keeps ids and counts only.

What cannot be recalled: a hand-off a sales system has received (in flight or processed) is theirs; the
``leadflow.contact.erased`` event asks them to delete it. A message in flight at the moment of a sweep
(held by a consumer) is not visible to it; the second pass sweeps again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import iso
from chalicelib.observability import count, logger
from chalicelib.services import assignment, journeys
from chalicelib.wiring import Deps

PASSES = 2
ERASED_EVENT = "leadflow.contact.erased"


def job_id_of(contact_id: str) -> str:
    return f"erase-{contact_id}"


@dataclass(frozen=True)
class ErasureRequested:
    """An erasure made effective: its job (``GET /v1/jobs/{job_id}``), ``running`` or ``done``."""

    job_id: str
    erasure_id: str | None
    contact_id: str
    state: str


def request_erasure(contact_id: str, deps: Deps) -> ErasureRequested:
    """Make the erasure effective now and queue its job; the same job however often it is asked."""
    from chalicelib.domain.errors import ConcurrentUpdate
    from chalicelib.store.retry import on_conflict

    now = datetime.now(UTC)
    job_id = job_id_of(contact_id)
    marker = deps.identity.erasure_marker(contact_id)

    def begin() -> None:
        contact = deps.store.get_contact(contact_id)
        if contact is None:
            return
        data = {"erasure_id": (marker or {}).get("erasure_id") or new_id("e"), "job_id": job_id}
        deps.identity.begin_erasure(contact, data, now)

    on_conflict(begin, ConcurrentUpdate("the contact kept changing; send the erasure again"))
    marker = deps.identity.erasure_marker(contact_id)
    if marker is None:
        raise NotFound("contact", contact_id)
    deps.scoring.create_job(job_id, "erasure", "-", 0, PASSES, now)
    job = deps.scoring.get_job(job_id)
    if job is not None and int(job.segments_done) < PASSES:
        deps.erasure_queue.send_json({"kind": "erase", "job_id": job_id, "contact_id": contact_id, "pass": 1})
    count("ErasureRequested")
    logger.info("erasure requested", extra={"contact_id": contact_id, "job_id": job_id})
    return ErasureRequested(
        job_id=job_id,
        erasure_id=marker.get("erasure_id"),
        contact_id=contact_id,
        state="done" if job is not None and int(job.segments_done) >= PASSES else "running",
    )


def run_erasure(message: dict[str, Any], deps: Deps, now: datetime) -> dict[str, Any]:
    """One pass of an erasure job (see the module's docstring); safe to run again."""
    job_id, contact_id, number = (
        str(message["job_id"]),
        str(message["contact_id"]),
        int(message.get("pass", 1)),
    )
    job = deps.scoring.get_job(job_id)
    if job is None:
        return {}
    state: dict[str, Any] = dict(job.result or {})
    marker = deps.identity.erasure_marker(contact_id) or {}
    erasure_id = str(marker.get("erasure_id") or state.get("erasure_id") or new_id("e"))
    contact = deps.store.get_contact(contact_id)
    lead_ids = sorted({*state.get("lead_ids", []), *(contact.lead_ids if contact else [])})
    account_id = (contact.account_id if contact else None) or state.get("account_id")
    state.update(erasure_id=erasure_id, contact_id=contact_id, lead_ids=lead_ids, account_id=account_id)
    deps.scoring.set_job_result(job_id, state)  # ids first: a later pass needs them, the contact may be gone
    email = contact.email if contact else None
    personal = _personal(contact)
    # routing: the leads leave their owners' open leads (once), their assignments go (services/assignment.py)
    assignments = assignment.forget_leads(lead_ids, deps, now)
    counts = deps.identity.erase_person(contact_id, email, lead_ids, account_id, personal)
    counts["assignments"] = assignments
    sent: dict[str, list[str]] = counts.pop("sent_handoffs", {})
    counts["import_file_rows"] = _erase_import_rows(email, deps)
    counts["email_messages"] = deps.mail.forget_contact(contact_id)  # what was sent to them (issue 18)
    counts["journey_items"] = journeys.forget_person(contact_id, deps, now)  # enrollments, engagement
    counts.update(_sweep_queues(deps, set(lead_ids), personal))
    if number == 1:
        counts["erasure_notices"] = _tell_sales(sent, contact_id, erasure_id, deps, now)
    merged = _added(state.get("counts", {}), counts)
    state.update(counts=merged, passes_done=max(number, int(state.get("passes_done", 0))))
    if number >= PASSES:
        deps.identity.finish_erasure(contact_id, erasure_id, merged, now)
        state["erased_at"] = iso(now)
    deps.scoring.set_job_result(job_id, state)
    deps.scoring.record_page(job_id, f"pass{number}", 0, segment_done=True)
    if number < PASSES:
        deps.erasure_queue.send_json(
            {**message, "pass": number + 1}, delay_seconds=deps.settings.erasure_settle_seconds
        )
    count("ErasurePassDone")
    logger.info("erasure pass done", extra={"job_id": job_id, "pass": number, "counts": counts})
    return counts


def _personal(contact: Any) -> list[str]:
    """What to hunt for where records are not keyed by the person: the email and the phone."""
    if contact is None:
        return []
    values = (contact.email, contact.fields.get("email"), contact.fields.get("phone"))
    return sorted({v for v in values if isinstance(v, str) and len(v) >= 5})


def _added(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    merged = dict(total)
    for kind, n in more.items():
        if isinstance(n, int | bool):
            merged[kind] = int(merged.get(kind, 0)) + int(n)
    return merged


def _sweep_queues(deps: Deps, lead_ids: set[str], personal: list[str]) -> dict[str, Any]:
    """Messages that wait in the hand-off queue and its dead-letter queue for the person's leads (the
    lead is the message group; the erasure notice itself stays), and in the tracking dead-letter queue
    naming the email or phone."""
    settings = deps.settings
    needles = [p.casefold() for p in personal]

    def for_the_leads(message: dict[str, Any]) -> bool:
        group = message.get("Attributes", {}).get("MessageGroupId")
        return group in lead_ids and ERASED_EVENT not in message.get("Body", "")

    def naming_the_person(message: dict[str, Any]) -> bool:
        body = message.get("Body", "").casefold()
        return any(n in body for n in needles)

    found: dict[str, Any] = {"handoff_messages": 0, "tracking_dead_letters": 0, "queues_truncated": 0}
    for url, doomed, kind in (
        (settings.handoff_queue_url, for_the_leads, "handoff_messages"),
        (settings.handoff_dlq_url, for_the_leads, "handoff_messages"),
        (settings.tracking_dlq_url, naming_the_person, "tracking_dead_letters"),
    ):
        if (
            not url
            or (kind == "tracking_dead_letters" and not needles)
            or (kind == "handoff_messages" and not lead_ids)
        ):
            continue
        deleted, truncated = deps.queue_admin.sweep(url, doomed)
        found[kind] += deleted
        found["queues_truncated"] += int(truncated)
    return found


def _tell_sales(
    sent: dict[str, list[str]], contact_id: str, erasure_id: str, deps: Deps, now: datetime
) -> int:
    """One ``leadflow.contact.erased`` CloudEvent per lead whose hand-offs sales may hold: ids only,
    in the lead's message group (after anything sent for it), asking them to delete what they got."""
    told = 0
    for lead_id, handoff_ids in sorted(sent.items()):
        event = {
            "specversion": "1.0",
            "id": f"{erasure_id}.{lead_id}",
            "source": f"urn:leadflow:{deps.settings.stage}",
            "type": ERASED_EVENT,
            "time": iso(now),
            "subject": lead_id,
            "datacontenttype": "application/json",
            "data": {
                "erasure_id": erasure_id,
                "contact_id": contact_id,
                "lead_id": lead_id,
                "handoff_ids": sorted(handoff_ids),
            },
        }
        deps.handoff_queue.send_fifo(json.dumps(event), group=lead_id, deduplication_id=str(event["id"]))
        told += 1
    return told


def _erase_import_rows(email: str | None, deps: Deps) -> int:
    from chalicelib.services.data_rights import erase_import_rows

    return erase_import_rows(email, deps)
