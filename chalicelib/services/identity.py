"""Identity and data rights: suspected duplicates, merges and their undo, segments, consent changes,
export and erasure.

Retries: duplicate detection runs on the contacts stream and only ever rewrites the same items, so a
redelivered record changes nothing. A merge is one transaction on the versions read (a capture that
changed a contact first makes it start again); the moves that follow it (leads, interactions) are
conditional and repeatable. An erasure deletes what is still there, so it can be run again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import duplicates as dup
from chalicelib.domain.consent import CONSENT_LEVELS
from chalicelib.domain.entities import ConsentChange, Contact
from chalicelib.domain.errors import ConcurrentUpdate, Conflict, FieldError, NotFound, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import iso
from chalicelib.domain.merging import check_merge, merged
from chalicelib.domain.rules import Facts
from chalicelib.domain.segments import compile_condition, parse_segment
from chalicelib.observability import count, logger
from chalicelib.services import scoring
from chalicelib.services.leads import account_view, contact_view, lead_view, page_size, score_view
from chalicelib.services.retry import on_conflict
from chalicelib.store.identity import IdentityStore
from chalicelib.store.records import ContactRecord
from chalicelib.wiring import Deps

MAX_DUPLICATES = 20


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- duplicates


def detect(contact_id: str, deps: Deps, identity: IdentityStore, now: datetime) -> int:
    """Refresh the contact's blocking keys and record every suspicion against contacts sharing one;
    returns how many. Never merges: strong suspicions are suggestions like weak ones."""
    contact = deps.store.get_contact(contact_id)
    if contact is None or contact.erasing:
        return 0  # gone, or being erased: its keys are removed, not refreshed
    keys = dup.blocking_keys(contact)
    others = identity.candidates(keys) - {contact_id}
    identity.replace_keys(contact_id, keys, now)
    if not others:
        return 0
    found = dup.suspicions(contact, deps.store.get_contacts(sorted(others)))
    written = identity.record_suspicions(found, now)
    if written:
        count("DuplicateSuspected", written)
        logger.info("duplicates suspected", extra={"contact_id": contact_id, "suspicions": written})
    return written


def duplicate_of(contact_id: str, identity: IdentityStore) -> list[dict[str, Any]]:
    """Suggestions for one contact (the lead and contact views show them): never merged automatically."""
    found = identity.suspects_of(contact_id)
    return [
        {
            "contact_id": s["contact_id"],
            "confidence": s["confidence"],
            "strength": s["strength"],
            "reasons": s["reasons"],
        }
        for s in sorted(found, key=lambda s: -float(s["confidence"]))
    ]


def list_duplicates(params: dict[str, str], deps: Deps, identity: IdentityStore) -> dict[str, Any]:
    """Suspected duplicate contacts with their reasons and confidence, and each contact's leads."""
    unknown = sorted(set(params) - {"limit", "cursor", "strength"})
    if unknown:
        raise ValidationFailed([FieldError(name, f"{name} is not a filter of this list") for name in unknown])
    if params.get("strength") not in (None, "strong", "weak"):
        raise ValidationFailed([FieldError("strength", "strength must be strong or weak")])
    limit = page_size(params)
    items, cursor = identity.list_duplicates(limit, params.get("cursor"))
    if params.get("strength"):
        items = [i for i in items if i.get("strength") == params["strength"]]
    contacts = {
        c.contact_id: c for c in deps.store.get_contacts([c for i in items for c in i["contact_ids"]])
    }
    for item in items:
        item["lead_ids"] = {
            cid: contacts[cid].lead_ids if cid in contacts else [] for cid in item["contact_ids"]
        }
    return {
        "duplicates": [i for i in items if all(c in contacts for c in i["contact_ids"])],
        "next_cursor": cursor,
    }


# ---------------------------------------------------------------- merge and undo


def refuse_if_erased(contact_id: str, identity: IdentityStore) -> None:
    """An erased contact's id answers 409 (``conflict``, naming the erasure) wherever it is used."""
    erasure_id = identity.erased(contact_id)
    if erasure_id:
        raise Conflict(f"contact {contact_id} was erased ({erasure_id})", "contact_id")


def _contact_or_refuse(contact_id: str, deps: Deps, identity: IdentityStore) -> Contact:
    contact = deps.store.get_contact(contact_id)
    if contact is not None:
        return contact
    refuse_if_erased(contact_id, identity)
    raise NotFound("contact", contact_id)


def merge(survivor_id: str, body: dict[str, Any], deps: Deps, identity: IdentityStore) -> dict[str, Any]:
    """Merge ``duplicate_ids`` into the survivor; 409 for itself or an erased contact."""
    ids = body.get("duplicate_ids")
    unknown = sorted(set(body) - {"duplicate_ids"})
    if unknown:
        raise ValidationFailed([FieldError(k, f"{k} is not a property of a merge") for k in unknown])
    if (
        not isinstance(ids, list)
        or not all(isinstance(i, str) and i for i in ids)
        or len(ids) > MAX_DUPLICATES
    ):
        raise ValidationFailed(
            [FieldError("duplicate_ids", f"duplicate_ids must be a list of 1-{MAX_DUPLICATES} contact ids")]
        )
    check_merge(survivor_id, ids)

    def attempt() -> tuple[datetime, str, Any, list[Contact]]:
        now = _now()
        survivor = _contact_or_refuse(survivor_id, deps, identity)
        duplicates = [_contact_or_refuse(i, deps, identity) for i in ids]
        result = merged(survivor, duplicates, now)
        merge_id = new_id("m")
        record = {
            "merge_id": merge_id,
            "state": "done",
            "survivor_id": survivor_id,
            "duplicate_ids": ids,
            "merged_at": iso(now),
            "before": [_image(c) for c in [survivor, *duplicates]],
            "moved_leads": {d.contact_id: d.lead_ids for d in duplicates},
        }
        identity.write_merge(result, duplicates, merge_id, record, now)
        return now, merge_id, result, duplicates

    # the moves after the merge are conditional and repeatable: a conflict there is not the merge's
    now, merge_id, result, duplicates = on_conflict(
        attempt, ConcurrentUpdate("the contacts kept changing; send the merge again")
    )
    interactions = {}
    for duplicate in duplicates:
        for lead_id in duplicate.lead_ids:
            identity.move_lead(lead_id, duplicate.contact_id, survivor_id)
        interactions[duplicate.contact_id] = identity.move_interactions(duplicate.contact_id, survivor_id)
        identity.forget_contact(duplicate.contact_id)
    identity.note_moved_interactions(merge_id, interactions)
    scoring.rescore_contacts([survivor_id], deps, now)
    detect(survivor_id, deps, identity, now)
    count("ContactsMerged")
    logger.info("contacts merged", extra={"merge_id": merge_id, "survivor_id": survivor_id, "merged": ids})
    return {
        "merge_id": merge_id,
        "contact_id": survivor_id,
        "merged_ids": ids,
        "lead_ids": result.lead_ids,
        "interactions_moved": sum(len(v) for v in interactions.values()),
    }


def _image(contact: Contact) -> dict[str, Any]:
    """A contact as stored, to restore it on undo."""
    return dict(ContactRecord.serialize(_record(contact)))


def _record(contact: Contact) -> ContactRecord:
    from chalicelib.store.dynamo import contact_record

    return contact_record(contact)


def _from_image(image: dict[str, Any]) -> Contact:
    from chalicelib.store.dynamo import contact_from

    return contact_from(ContactRecord.from_raw_data(image))


def undo_merge(merge_id: str, deps: Deps, identity: IdentityStore) -> dict[str, Any]:
    """The duplicates come back as they were, with their leads and the interactions they brought; the
    survivor gets its own values back and keeps leads it gained since. 409 when undone already."""

    def attempt() -> tuple[datetime, dict[str, Any], Contact, list[Contact]]:
        now = _now()
        record = identity.get_merge(merge_id)
        if record is None:
            raise NotFound("merge", merge_id)
        if record["state"] != "done":
            raise Conflict(f"merge {merge_id} was undone already", "merge_id")
        before = [_from_image(i) for i in record["before"]]
        survivor_before, restored = before[0], before[1:]
        current = deps.store.get_contact(record["survivor_id"])
        if current is None:
            raise Conflict("the surviving contact no longer exists (erased)", "merge_id")
        moved = {lead for leads in record["moved_leads"].values() for lead in leads}
        survivor = replace(
            survivor_before,
            lead_ids=[i for i in current.lead_ids if i not in moved],
            version=current.version,
            updated_at=now,
        )
        undone = {**record, "state": "undone", "undone_at": iso(now)}
        identity.write_unmerge(survivor, restored, merge_id, undone, now)
        return now, record, survivor, restored

    now, record, survivor, restored = on_conflict(
        attempt, ConcurrentUpdate("the contacts kept changing; send the undo again")
    )
    for contact in restored:
        for lead_id in contact.lead_ids:
            identity.move_lead(lead_id, survivor.contact_id, contact.contact_id)
    _move_back_interactions(record, restored, identity)
    touched = [survivor.contact_id, *(c.contact_id for c in restored)]
    scoring.rescore_contacts(touched, deps, now)
    for contact_id in touched:
        detect(contact_id, deps, identity, now)
    count("MergeUndone")
    return {"merge_id": merge_id, "state": "undone", "contact_ids": touched}


def _move_back_interactions(record: dict[str, Any], restored: list[Contact], identity: IdentityStore) -> None:
    """Interactions that came with a duplicate go back to it (read from the survivor, by id)."""
    for contact in restored:
        ids = set(record.get("moved_interactions", {}).get(contact.contact_id, []))
        if ids:
            identity.move_interactions(record["survivor_id"], contact.contact_id, only=ids)


# ---------------------------------------------------------------- consent


def set_consent(contact_id: str, body: dict[str, Any], deps: Deps, identity: IdentityStore) -> dict[str, Any]:
    """Set (or withdraw: ``"none"``) a contact's consent, recorded in its history. Lowering it below a
    model's ``min_consent`` removes that model's score (the contact's change rescores it)."""
    unknown = sorted(set(body) - {"level", "source"})
    if unknown:
        raise ValidationFailed([FieldError(k, f"{k} is not a property of a consent change") for k in unknown])
    level, source = body.get("level"), body.get("source", "api")
    if level not in CONSENT_LEVELS:
        raise ValidationFailed([FieldError("level", f"level must be one of {', '.join(CONSENT_LEVELS)}")])
    if not isinstance(source, str) or not 1 <= len(source) <= 100:
        raise ValidationFailed([FieldError("source", "source must be text of 1-100 characters")])

    def attempt() -> dict[str, Any]:
        now = _now()
        contact = _contact_or_refuse(contact_id, deps, identity)
        change = ConsentChange(
            level=level, source=source if level != "none" else f"withdrawn:{source}", at=now
        )
        updated = replace(
            contact, consent=level, consent_history=[*contact.consent_history, change], updated_at=now
        )
        identity.save_contact(updated)
        count("ConsentChanged")
        logger.info("consent changed", extra={"contact_id": contact_id, "level": level})
        return contact_view(updated)

    return on_conflict(attempt, ConcurrentUpdate("the contact kept changing; send the change again"))


def withheld_reason(contact: Contact | None) -> str | None:
    """Why no hand-off may be published for this contact, or ``None``. A contact that is not there
    withholds nothing: an erasure deletes the lead's hand-offs with it."""
    if contact is None or contact.consent != "none":
        return None
    if any(change.level != "none" for change in contact.consent_history):
        return "the contact withdrew consent"
    return "the contact never gave consent (imported or tracked, never asked)"


# ---------------------------------------------------------------- export and erasure


def export(contact_id: str, deps: Deps, identity: IdentityStore) -> dict[str, Any]:
    """Everything held about the person, as JSON."""
    from chalicelib.services.qualification import timeline

    contact = _contact_or_refuse(contact_id, deps, identity)
    account = deps.store.get_account(contact.account_id) if contact.account_id else None
    leads = []
    for lead in deps.store.get_leads(contact.lead_ids):
        scores = deps.scoring.scores_of(lead.lead_id)
        leads.append(
            {
                **lead_view(lead),
                "scores": [score_view(s) for s in scores.values() if s.score is not None],
                "timeline": timeline(lead.lead_id, deps)["entries"],
            }
        )
    interactions = [
        {
            "interaction_id": i.interaction_id,
            "type": i.type,
            "occurred_at": iso(i.occurred_at),
            "lead_id": i.lead_id,
            "source": i.source,
            "properties": i.properties,
        }
        for i in deps.store.interactions_of(contact_id)
    ]
    return {
        "exported_at": iso(_now()),
        "contact": contact_view(contact),
        "account": account_view(account) if account else None,
        "leads": leads,
        "interactions": interactions,
        "suspected_duplicates": identity.suspects_of(contact_id),
    }


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


# ---------------------------------------------------------------- segments


def put_segment(segment_id: str, body: Any, identity: IdentityStore) -> tuple[bool, dict[str, Any]]:
    segment = parse_segment(segment_id, body)
    created = identity.put_segment(segment_id, segment.definition, _now())
    return created, {"segment_id": segment_id, **segment.definition}


def get_segment(segment_id: str, identity: IdentityStore) -> dict[str, Any]:
    found = identity.get_segment(segment_id)
    if found is None:
        raise NotFound("segment", segment_id)
    return {"segment_id": segment_id, **found}


def query_segment(body: Any, deps: Deps, identity: IdentityStore) -> dict[str, Any]:
    """The contacts of the leads matching the condition (or the saved ``segment_id``'s), one page of
    leads at a time. Uses the ``by_state`` index when the condition pins ``lead.state``; otherwise a
    paged scan, and the answer says ``"scanned": true``. A page may hold fewer contacts than
    ``limit`` (leads read, not contacts found, are limited); follow ``next_cursor`` until null."""
    from chalicelib.domain.ports import LeadFilter

    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "the body must be a JSON object")])
    unknown = sorted(set(body) - {"condition", "segment_id", "limit", "cursor"})
    if unknown:
        raise ValidationFailed([FieldError(k, f"{k} is not a property of a segment query") for k in unknown])
    spec = body.get("condition")
    if "segment_id" in body:
        spec = get_segment(str(body["segment_id"]), identity)["condition"]
    if spec is None:
        raise ValidationFailed([FieldError("condition", "give a condition or a segment_id")])
    condition, state = compile_condition(spec)
    limit = page_size({"limit": str(body.get("limit", 100))})
    cursor = body.get("cursor")
    page = deps.store.list_leads(LeadFilter(state=state), limit, cursor if isinstance(cursor, str) else None)
    leads = page.items
    contacts = {c.contact_id: c for c in deps.store.get_contacts([lead.contact_id for lead in leads])}
    accounts: dict[str, Any] = {}
    now = _now()
    matched: dict[str, list[str]] = {}
    for lead in leads:
        if lead.account_id and lead.account_id not in accounts:
            accounts[lead.account_id] = deps.store.get_account(lead.account_id)
        facts = Facts(lead, contacts.get(lead.contact_id), accounts.get(lead.account_id or ""), [], now)
        if condition.test(facts)[0] and lead.contact_id in contacts:
            matched.setdefault(lead.contact_id, []).append(lead.lead_id)
    return {
        "contacts": [
            {**contact_view(contacts[cid]), "matching_lead_ids": lead_ids}
            for cid, lead_ids in matched.items()
        ],
        "leads_read": len(leads),
        "scanned": state is None,
        "index": None if state is None else "by_state",
        "next_cursor": page.next_cursor,
    }
