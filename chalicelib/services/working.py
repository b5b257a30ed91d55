"""Working a lead as a sales rep does: edit its fields (on the version read: ``If-Match``), add notes,
log completed activities (recorded as interactions, so scoring, the contact's last activity and
triggers see them) and link the lead to another or a new contact.

Retried safely: an edit names the version it was made from, so a retry of an edit that was saved finds
a newer version and is refused (412), never applied twice; a link to the contact the lead already has
changes nothing; notes and activities are replayed by ``Idempotency-Key`` (``api/http.py``), and an
activity's interaction id is derived from that key, so even a replay past the key's expiry records it
once. Every write is one transaction on the versions read; a lost race re-reads and decides again."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain import working
from chalicelib.domain.entities import Contact, Lead
from chalicelib.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from chalicelib.domain.ids import derived_id, new_id
from chalicelib.domain.interactions import iso
from chalicelib.domain.matching import contact_key
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.working import Activity, ContactUnavailable, LeadEdit, LeadStaleVersion, LinkPlan
from chalicelib.observability import count
from chalicelib.store.retry import on_conflict

if TYPE_CHECKING:  # the ports are Protocol classes: imported for typing only (cold start)
    from chalicelib.domain.ports import AssignmentStore, ErasureStore, LeadStore, OpportunityStore, WorkStore


def _lead(lead_id: str, store: LeadStore) -> Lead:
    lead = store.get_lead(lead_id)
    if lead is None:
        raise NotFound("lead", lead_id)
    return lead


# ---------------------------------------------------------------- editing


def edit_lead(
    lead_id: str, expected_version: int, edit: LeadEdit, by: str, store: LeadStore, work: WorkStore
) -> Lead:
    """The lead (and its contact) edited as it is at ``expected_version``; :class:`LeadStaleVersion`
    (412) when the lead has moved on (an edit, a transition, a capture), so a rep never overwrites what
    another saved. A contact changed meanwhile by someone else is re-read and the edit re-applied to it:
    the edit sets only the fields it names."""

    def attempt() -> Lead:
        lead = _lead(lead_id, store)
        if (lead.version or 0) != expected_version:
            raise LeadStaleVersion(lead.version)
        contact = store.get_contact(lead.contact_id) if edit.contact else None
        now = datetime.now(UTC)
        result = working.apply_edit(lead, contact, edit, now)
        if not result.changed and result.lead.conflicts == lead.conflicts:
            return lead  # nothing to change: the version stays
        work.write_lead_edit(result.lead, result.contact, now, {"by": by, "changes": result.changed})
        return replace(result.lead, version=(lead.version or 0) + 1)

    edited = on_conflict(attempt, Conflict("the lead kept changing; read it again"))
    count("LeadEdited")
    return edited


# ---------------------------------------------------------------- notes and activities


@dataclass(frozen=True)
class Note:
    note_id: str
    lead_id: str
    text: str
    by: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "lead_id": self.lead_id,
            "text": self.text,
            "by": self.by,
            "at": iso(self.at),
        }


def add_note(lead_id: str, text: str, by: str, store: LeadStore, work: WorkStore) -> Note:
    """A note on the lead's timeline, attributed to ``by`` (the key's owner)."""
    _lead(lead_id, store)
    note = Note(new_id("n"), lead_id, text, by, datetime.now(UTC))
    try:
        work.add_note(lead_id, note.note_id, note.at, {"note_id": note.note_id, "text": text, "by": by})
    except Conflict:
        raise NotFound("lead", lead_id) from None  # removed (erased) between the read and the write
    count("LeadNoteAdded")
    return note


@dataclass(frozen=True)
class LoggedActivity:
    interaction_id: str
    lead_id: str
    contact_id: str
    activity: Activity
    by: str
    #: ``False``: this activity (its interaction id) was recorded before: a retry.
    recorded: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id,
            "lead_id": self.lead_id,
            "contact_id": self.contact_id,
            "type": self.activity.type,
            "interaction_type": working.ACTIVITY_TYPES[self.activity.type],
            "subject": self.activity.subject,
            "outcome": self.activity.outcome,
            "occurred_at": iso(self.activity.occurred_at),
            "by": self.by,
            "recorded": self.recorded,
        }


def activity_id(key_owner: str | None, idempotency_key: str | None) -> str:
    """The interaction id of a logged activity: derived from the request's ``Idempotency-Key`` (per
    API key) when there is one, so a retry names the same interaction; otherwise new."""
    if idempotency_key is None:
        return new_id("i")
    return derived_id("i", "activity", key_owner or "", idempotency_key)


def log_activity(
    lead_id: str,
    activity: Activity,
    interaction_id: str,
    by: str,
    store: LeadStore,
    assignments: AssignmentStore,
) -> LoggedActivity:
    """A completed call, meeting or e-mail, recorded as an interaction of the lead's contact naming the
    lead: the interactions stream scores it and shows it on the timeline. Refused (409) for a contact
    being erased; the same interaction id is recorded once.

    On an assigned open lead, the first activity is kept on its current assignment (speed to first
    activity), once: at the activity's time (never later than now); a retry (even one whose interaction
    was recorded before: it completes a write cut short) or a later activity changes nothing."""
    lead = _lead(lead_id, store)
    contact = store.get_contact(lead.contact_id)
    if contact is None or contact.erasing:
        raise ContactUnavailable("the lead's contact is being erased: nothing is recorded for it", "lead_id")
    interaction = working.activity_interaction(activity, lead, interaction_id, by)
    recorded = store.record_interaction(interaction)
    if recorded:
        count("ActivityLogged")
    if lead.owner and lead.assignment and lead.is_open:
        at = min(activity.occurred_at, datetime.now(UTC))
        if assignments.note_first_activity(lead_id, lead.assignment, at):
            count("FirstActivity")
    return LoggedActivity(interaction_id, lead_id, lead.contact_id, activity, by, recorded)


# ---------------------------------------------------------------- linking


@dataclass(frozen=True)
class Linked:
    lead: Lead
    from_contact_id: str | None
    contact: Contact
    contact_created: bool
    changed: bool
    moved_opportunities: list[str]


def _target(
    lead: Lead,
    contact_id: str | None,
    new_fields: dict[str, Any] | None,
    old: Contact | None,
    store: LeadStore,
    work: WorkStore,
    erasures: ErasureStore,
    now: datetime,
) -> tuple[Contact, bool]:
    """The contact to link to, and whether it is to be made."""
    if contact_id is not None:
        target = store.get_contact(contact_id)
        if target is None:
            if erasures.erased(contact_id):
                raise ContactUnavailable(f"contact {contact_id} was erased", "contact_id")
            raise ValidationFailed([FieldError("contact_id", f"contact {contact_id!r} does not exist")])
        if target.erasing:
            raise ContactUnavailable(f"contact {contact_id} is being erased", "contact_id")
        return target, False
    assert new_fields is not None
    email = str(new_fields["email"])
    owner, erased = work.email_owner(email)
    if erased:
        raise ContactUnavailable("a person with this e-mail was erased", "new_contact.email")
    if owner == lead.contact_id:  # a retry of this very link: the contact it made holds the lead
        found = store.get_contact(owner)
        if found is not None:
            return found, False
    if owner is not None:
        error = Conflict("a contact with this e-mail exists: link to it with contact_id", "new_contact.email")
        error.details = {"contact_id": owner}
        raise error
    return (
        Contact(
            contact_id=new_id("c"),
            email=email,
            fields=new_fields,
            created_at=now,
            updated_at=now,
            account_id=lead.account_id or (old.account_id if old else None),
            marketing_only=False,  # a rep made it to work the lead: a sales contact
            agg={},  # new: no interactions to count yet
        ),
        True,
    )


def link_lead(
    lead_id: str,
    contact_id: str | None,
    new_contact: dict[str, Any] | None,
    by: str,
    store: LeadStore,
    work: WorkStore,
    erasures: ErasureStore,
    opportunities: OpportunityStore,
) -> Linked:
    """Move the lead to another contact (``contact_id``) or a new one (``new_contact``, e-mail required
    and not held by anyone): the lead's contact and account, both contacts' lead lists, its open
    opportunities' contact, and the move on the timeline, in one transaction. The lead's interactions
    stay with the person who did them (the timeline still shows them); both contacts are rescored from
    their change on the contacts stream."""
    if (contact_id is None) == (new_contact is None):
        raise ValidationFailed([FieldError("contact_id", "give either contact_id or new_contact")])

    def attempt() -> tuple[LinkPlan, list[Opportunity]]:
        now = datetime.now(UTC)
        lead = _lead(lead_id, store)
        old = store.get_contact(lead.contact_id)
        target, created = _target(lead, contact_id, new_contact, old, store, work, erasures, now)
        plan = working.plan_link(lead, old, target, created, now)
        if not plan.changed:
            return plan, []
        moved = [
            replace(o, contact_id=target.contact_id, account_id=plan.lead.account_id, updated_at=now)
            for o in opportunities.opportunities_of_lead(lead_id)
        ]
        email_key = contact_key(target.email) if created and target.email else None
        work.write_link(
            plan.lead, plan.old, plan.new, created, email_key, now, working.link_entry(plan, by, now), moved
        )
        return plan, moved

    plan, moved = on_conflict(attempt, Conflict("the lead or its contacts kept changing; retry"))
    if plan.changed:
        count("LeadLinked")
    return Linked(
        lead=plan.lead,
        from_contact_id=plan.old.contact_id if plan.old else None,
        contact=plan.new,
        contact_created=plan.created,
        changed=plan.changed,
        moved_opportunities=[o.opportunity_id for o in moved],
    )
