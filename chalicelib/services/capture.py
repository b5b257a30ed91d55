"""Capture: a form submission or an API call becomes a contact, an account, a lead and (for forms)
a ``form_submitted`` interaction, written together or not at all.

Retried safely: matching reads current data and the write is one transaction conditioned on it; a lost
race (another capture for the same person) re-reads and re-plans. Replays of the same request are
answered from the idempotency record before any of this runs (see ``api``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.capture import Capture, capture_from_api
from chalicelib.domain.entities import Interaction
from chalicelib.domain.errors import AlreadyReceived, Conflict, NotFound, PersonErased
from chalicelib.domain.forms import FormDefinition, capture_from_submission
from chalicelib.domain.ids import new_id
from chalicelib.domain.interaction_counts import counted
from chalicelib.domain.matching import CapturePlan, plan_capture
from chalicelib.domain.screening import Verdict
from chalicelib.observability import count, logger
from chalicelib.store.retry import on_conflict
from chalicelib.wiring import Deps


@dataclass(frozen=True)
class Captured:
    #: ``None``: a contact-only form's capture (no lead).
    lead_id: str | None
    contact_id: str
    lead_created: bool
    contact_created: bool
    account_id: str | None
    #: The event was received before: nothing was written now, these are the first capture's ids.
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "contact_id": self.contact_id,
            "lead_created": self.lead_created,
            "contact_created": self.contact_created,
            "account_id": self.account_id,
        }


@dataclass(frozen=True)
class Received:
    """The event a capture records as an interaction: a form submission, a webhook delivery, a
    LinkedIn form response, an imported row. With a ``receipt`` (``receipt#<channel>#<event id>``),
    a second arrival of the same event changes nothing, however late it comes. ``type=None`` records
    no interaction (an imported row without an activity): only the receipt."""

    interaction_id: str
    type: str | None = "form_submitted"
    properties: dict[str, Any] = field(default_factory=dict)
    receipt: str | None = None
    occurred_at: datetime | None = None


def capture(capture: Capture, deps: Deps, received: Received | None = None) -> Captured:
    """Write a capture and, with ``received``, the interaction of the event that brought it.
    :class:`PersonErased` when the email was erased or its contact is being erased: nothing is
    written (the erasure bumps the contact's version, so a capture planned before it began fails its
    condition, re-reads and lands here)."""
    store = deps.store

    def attempt() -> Captured:
        now = datetime.now(UTC)
        known = store.find_for_capture(capture)
        if known.erased or (known.contact is not None and known.contact.erasing):
            count("CaptureOfErasedPersonDropped")
            raise PersonErased
        plan = plan_capture(capture, known, now, new_id)
        interaction = _interaction(plan, capture, received, now) if received and received.type else None
        if interaction is not None:
            # the contact is written anyway: it carries the interaction's time, and the activity
            # function skips the interaction (one conditional write less a capture)
            last = plan.contact.last_interaction_at
            if last is None or last < interaction.occurred_at:
                plan.contact.last_interaction_at = interaction.occurred_at
            # a new contact, or a new lead in its lead_ids: the contact's change rescores it (and
            # qualifies the lead), so the interaction's record need not rescore it a second time
            interaction = replace(
                interaction, noted=True, scored_with_contact=plan.contact_created or plan.lead_created
            )
            if plan.contact.agg is not None:
                # counted with the contact it is written with (one transaction: a retried or replayed
                # capture cannot count it twice); a contact from before the counts keeps none until
                # the backfill counts its history
                plan.contact.agg = counted(plan.contact.agg, [interaction])
        try:
            store.write_capture(plan, interaction, received.receipt if received else None)
        except AlreadyReceived as exc:
            count("DuplicateEvent")
            return _first_capture(exc.detail)
        _count(plan)
        lead_id = plan.lead.lead_id if plan.lead is not None else None
        logger.info("capture written", extra={"lead_id": lead_id, "contact_id": plan.contact.contact_id})
        return Captured(
            lead_id=lead_id,
            contact_id=plan.contact.contact_id,
            lead_created=plan.lead_created,
            contact_created=plan.contact_created,
            account_id=plan.contact.account_id,
        )

    return on_conflict(
        attempt,
        Conflict("too many simultaneous captures for this contact; retry the request"),
        deps.settings.capture_max_attempts,
    )


def _first_capture(detail: dict[str, Any]) -> Captured:
    return Captured(
        lead_id=str(detail["lead_id"]) if detail.get("lead_id") else None,
        contact_id=str(detail.get("contact_id") or ""),
        lead_created=bool(detail.get("lead_created")),
        contact_created=bool(detail.get("contact_created")),
        account_id=detail.get("account_id"),
        duplicate=True,
    )


def _interaction(plan: CapturePlan, capture: Capture, received: Received, now: datetime) -> Interaction:
    return Interaction(
        interaction_id=received.interaction_id,
        contact_id=plan.contact.contact_id,
        type=received.type or "form_submitted",
        occurred_at=received.occurred_at or now,
        lead_id=plan.lead.lead_id if plan.lead is not None else None,
        properties=received.properties or {"form_id": capture.lead.get("form_id")},
        source=capture.origin,
        account_id=plan.contact.account_id,
    )


def _count(plan: CapturePlan) -> None:
    if plan.contact_created:
        count("ContactCreated")
    if plan.account_created:
        count("AccountCreated")
    if plan.lead is not None:
        count("LeadCreated" if plan.lead_created else "LeadUpdated")


#: Form definitions change rarely and every submission needs one: each Lambda container keeps what it
#: read for this long (a change made through another container shows within this time).
FORM_CACHE_SECONDS = 10.0


def load_form(form_id: str, deps: Deps) -> FormDefinition:
    form = deps.forms_cache.get(form_id, lambda: deps.store.get_form(form_id), FORM_CACHE_SECONDS)
    if form is None:
        raise NotFound("form", form_id)
    return form


def forget_form(form_id: str, deps: Deps) -> None:
    deps.forms_cache.forget(form_id)


@dataclass(frozen=True)
class SubmissionAccepted:
    """A submission taken: captured (``captured``), or of an erased person (``captured=None``: nothing
    stored, and the visitor is told as always, the answer must not say who was erased)."""

    submission_id: str
    captured: Captured | None
    #: A double opt-in form's: the consent the submission asked for, given only by the person's
    #: confirmation (``services/forms.py: submit`` sends the e-mail).
    confirm_level: str | None = None

    @property
    def status(self) -> str:
        return "accepted" if self.captured is not None else "erased"


@dataclass(frozen=True)
class SubmissionQuarantined:
    """Set aside for review (a honeypot, a rejected CAPTCHA, two weak signals): no contact, account,
    lead or claim, only the quarantine record."""

    quarantine_id: str
    reason: str


SubmissionOutcome = SubmissionAccepted | SubmissionQuarantined


def submit_form(
    form_id: str,
    submitted: dict[str, Any],
    deps: Deps,
    verdict: Verdict,
) -> SubmissionOutcome:
    """Capture a form submission, or set it aside when the screening ``verdict``
    (:func:`chalicelib.domain.screening.screen`) says so. Signals that did not set it aside are noted on
    the ``form_submitted`` interaction, for review. A contact-only form (``creates_lead`` false) writes
    no lead; a form with ``double_opt_in`` gives no consent itself: the level it asked for is
    ``confirm_level``, for the confirmation e-mail (``services/forms.py: submit``)."""
    form = load_form(form_id, deps)
    if verdict.reason is not None:
        return set_aside(form_id, verdict.reason, submitted, deps, verdict.signals)
    if verdict.signals:
        count("SubmissionSuspected")
    submission = capture_from_submission(form_id, form, submitted)
    submission_id = new_id("s")
    signals = list(verdict.signals)
    properties: dict[str, Any] = {"form_id": form_id, **({"signals": signals} if signals else {})}
    if not form.creates_lead and form.campaign:
        properties["campaign"] = form.campaign  # no lead to carry it
    try:
        result = capture(submission, deps, Received(submission_id, properties=properties))
    except PersonErased:
        return SubmissionAccepted(submission_id, None)
    count("FormSubmitted")
    return SubmissionAccepted(submission_id, result, submission.pending_consent)


def set_aside(
    form_id: str, reason: str, submitted: dict[str, Any], deps: Deps, signals: Sequence[str] = ()
) -> SubmissionQuarantined:
    """The one quarantine path: keep the submission aside (never a contact) and answer like success,
    so a bot learns nothing."""
    quarantine_id = deps.store.quarantine(
        form_id, reason, submitted, datetime.now(UTC), list(signals) or [reason]
    )
    count("SubmissionRejected")
    logger.info(
        "submission quarantined", extra={"form_id": form_id, "quarantine_id": quarantine_id, "reason": reason}
    )
    return SubmissionQuarantined(quarantine_id, reason)


def create_lead(payload: dict[str, Any], deps: Deps) -> Captured:
    """``POST /v1/leads``: capture the lead (and its contact and account, by matching)."""
    return capture(capture_from_api(payload), deps)
