"""Journeys (issue 18, items 1-2; docs/journeys.md): definitions and their states, entering people,
and the engine that moves each enrollment one step at a time.

The engine: an enrollment item per (contact, journey) holds its version, step, ``seq`` and ``due_at``;
the minute sweep (``sweep``) reads the due ones from the sparse sharded ``by_due`` index and queues
them on the JourneySteps queue; the worker (``run``) looks at one enrollment, does its step and moves
it on by a transaction conditioned on ``seq``, so each step runs once per person and version whatever
the redeliveries. The e-mail step calls ``mail.send_template`` with the cause
``journey:<id>:<version>:<step>`` (``:r<run>`` after a re-entry), which is exactly once on its own: a
crash after SES answered and before the move re-runs the step, finds the message and sends nothing.
A click (or open, visit, form) wakes an engagement branch through the interactions stream
(``on_interaction``): a keyed query of the person's enrollments, never a scan."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.changes import AnyChange, ContactChange, LeadChange, ScoreChange
from chalicelib.domain.entities import Contact, Interaction, Lead
from chalicelib.domain.errors import Conflict, FieldError, NotFound, PersonErased, ValidationFailed
from chalicelib.domain.journeys import (
    MOVES,
    Catalog,
    Enrollment,
    ExitWatch,
    Journey,
    JourneyHead,
    Outcome,
    Step,
    after,
    decide_branch,
    due_at,
    event_keys,
    exit_reason,
    exit_wakes,
    exit_watch,
    lenient_catalog,
    may_enter,
    parse_journey,
    split_choice,
    time_zone,
)
from chalicelib.domain.rules import Facts
from chalicelib.observability import count, logger
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.services.mail import MessagePage

#: Steps one look may take in a row (a definition has no loop without a wait; this bounds the rest).
MAX_STEPS_PER_RUN = 60
#: Due enrollments one sweep queues (the next minute takes the rest).
SWEEP_LIMIT = 2000
#: Enrollments of a stopped journey that one queue message finishes (``leave_stopped``).
STOP_PAGE = 100
_versions: dict[tuple[str, int], Journey] = {}


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- definitions


def _catalog(body: Any, deps: Deps) -> Catalog:
    """What the definition refers to, read from the stores: each e-mail step's template (its link
    names, and whether it renders with no fields at all), segments, forms, scoring models."""
    from chalicelib.domain.email import link_names

    steps = body.get("steps") if isinstance(body, dict) else None
    steps = steps if isinstance(steps, list) else []
    templates: dict[str, tuple[frozenset[str], str | None]] = {}
    forms: set[str] = set()
    for step in steps:
        if not isinstance(step, dict):
            continue
        template_id = step.get("template_id")
        if isinstance(template_id, str) and template_id not in templates:
            template = deps.mail.get_template(template_id)
            if template is None:
                continue
            templates[template_id] = link_names(template)
        engagement = step.get("engagement")
        if isinstance(engagement, dict) and isinstance(engagement.get("form"), str):
            forms.add(engagement["form"])
    entry = body.get("entry") if isinstance(body, dict) else None
    segments: set[str] = set()
    if isinstance(entry, dict):
        segment_id = entry.get("segment_id")
        if isinstance(segment_id, str) and deps.identity.get_segment(segment_id) is not None:
            segments.add(segment_id)
        trigger = entry.get("trigger")
        if isinstance(trigger, dict) and isinstance(trigger.get("form_id"), str):
            forms.add(trigger["form_id"])
    found_forms = frozenset(f for f in forms if deps.store.get_form(f) is not None)
    models = frozenset(head.model_id for head in deps.scoring.heads())
    return Catalog(templates, frozenset(segments), found_forms, models)


def put_journey(journey_id: str, body: Any, deps: Deps) -> tuple[JourneyHead, Journey]:
    """Validate (422 naming each step's problem) and save a new version. A live journey's new version
    is what new entrants get; people already in keep theirs."""
    journey = parse_journey(journey_id, body, _catalog(body, deps), now=_now())
    head = deps.journeys.put_version(journey_id, journey.name, journey.entry, body, _now())
    return head, replace(journey, version=head.version)


def head_of(journey_id: str, deps: Deps) -> JourneyHead:
    head = deps.journeys.get_head(journey_id)
    if head is None:
        raise NotFound("journey", journey_id)
    return head


def version_of(journey_id: str, version: int, deps: Deps) -> Journey:
    """A saved version, parsed (and kept: versions never change). Its references were checked when it
    was saved, so it is parsed here against what it names (no reads): a template deleted since refuses
    at its step, as a send would."""
    key = (journey_id, version)
    if key not in _versions:
        body = deps.journeys.get_version(journey_id, version)
        if body is None:
            raise NotFound("journey version", f"{journey_id} v{version}")
        _versions[key] = parse_journey(journey_id, body, lenient_catalog(body), version)
    return _versions[key]


def list_journeys(deps: Deps) -> list[JourneyHead]:
    return sorted(deps.journeys.heads(), key=lambda h: h.journey_id)


def move(journey_id: str, action: str, deps: Deps) -> JourneyHead:
    """``activate`` (draft/paused -> live), ``pause`` (live -> paused), ``stop`` (-> stopped: its people
    leave through the queue, a page of its enrollments at a time: ``leave_stopped``). 409 from any other
    state. Activating a segment journey enters the people who match now (queued, a page of the segment
    at a time)."""
    expected, target = MOVES[action]
    head = head_of(journey_id, deps)
    if head.state == target:
        return head  # a repeat (a retry) changes nothing
    now = _now()
    if not deps.journeys.set_state(journey_id, sorted(expected), target, now):
        raise Conflict(f"a {head.state} journey cannot be {action}d")
    if action == "activate" and "segment_id" in head.entry:
        deps.journey_queue.send_json({"populate": journey_id})
    if action == "stop":
        deps.journey_queue.send_json({"stop": journey_id})  # its people leave, a page at a time
    return replace(head, state=target, updated_at=now)


# ---------------------------------------------------------------- entering


@dataclass(frozen=True)
class Entered:
    """What an enrollment request did: ``enrolled``, or why not (``already``, ``not_again``,
    ``not_live``, ``no_consent``)."""

    result: str
    enrollment: Enrollment | None


def enroll(
    journey_id: str, contact_id: str, deps: Deps, now: datetime | None = None, lead_id: str | None = None
) -> Entered:
    """Enter one person into a live journey (the version current now), honouring the re-entry policy;
    safe to repeat (a second call finds them in)."""
    now = now or _now()
    head = head_of(journey_id, deps)
    if head.state != "live":
        return Entered("not_live", None)
    contact = deps.store.get_contact(contact_id)
    if contact is None:
        raise NotFound("contact", contact_id)
    if contact.erasing:
        raise PersonErased()
    journey = version_of(journey_id, head.version, deps)
    previous = deps.journeys.get_enrollment(contact_id, journey_id)
    if previous is not None and previous.state == "active":
        return Entered("already", previous)
    if not may_enter(previous, journey.re_entry, now):
        return Entered("not_again", previous)
    first = journey.step(journey.first)
    enrollment = Enrollment(
        journey_id=journey_id,
        contact_id=contact_id,
        version=journey.version,
        run=(previous.run + 1) if previous else 1,
        step=first.step_id,
        state="active",
        seq=(previous.seq + 1) if previous else 0,
        entered_at=now,
        step_at=now,
        due_at=_due(first, now, contact, deps),
        lead_id=lead_id,
    )
    if not deps.journeys.enroll(enrollment, previous, _waits_on_engagement(first)):
        return Entered("already", deps.journeys.get_enrollment(contact_id, journey_id))
    count("JourneyEntered")
    if enrollment.due_at is not None and enrollment.due_at <= now:
        _queue(deps, [(contact_id, journey_id)])
    return Entered("enrolled", enrollment)


def enroll_request(journey_id: str, contact_id: str | None, lead_id: str | None, deps: Deps) -> Entered:
    """``POST /v1/journeys/{id}/enroll``: by contact, or by lead (its contact enters, with the lead)."""
    if lead_id is not None:
        lead = deps.store.get_lead(lead_id)
        if lead is None:
            raise NotFound("lead", lead_id)
        return enroll(journey_id, lead.contact_id, deps, lead_id=lead_id)
    if contact_id is None:
        raise ValidationFailed([FieldError("contact_id", "give a contact_id or a lead_id")])
    return enroll(journey_id, contact_id, deps)


def populate(journey_id: str, cursor: str | None, deps: Deps) -> int:
    """Enter the people of a segment journey's segment, one page of leads; the next page is queued."""
    from chalicelib.domain.segments import SegmentQuery
    from chalicelib.services.segments import query_segment

    head = head_of(journey_id, deps)
    if head.state != "live":
        return 0
    page = query_segment(SegmentQuery.of(segment_id=head.entry["segment_id"], cursor=cursor), deps)
    entered = 0
    for match in page.matches:
        try:
            done = enroll(journey_id, match.contact.contact_id, deps, lead_id=match.matching_lead_ids[0])
        except (NotFound, PersonErased):
            continue
        entered += done.result == "enrolled"
    if page.next_cursor:
        deps.journey_queue.send_json({"populate": journey_id, "cursor": page.next_cursor})
    return entered


def leave_stopped(journey_id: str, cursor: str | None, deps: Deps, now: datetime | None = None) -> int:
    """A stopped journey's people leave (``exited.stopped``), one page of its enrollments (the
    ``by_journey`` index, keys only) per message, each page queuing the next, as ``populate`` pages a
    segment: never in the request, never a scan. How many left. Safe to repeat: a finished enrollment
    is skipped and each exit is the move conditioned on ``seq``. Someone the index does not list yet
    (it is eventually consistent: an entry racing the stop) still leaves at their next look."""
    now = now or _now()
    head = head_of(journey_id, deps)
    if head.state != "stopped":
        return 0
    contacts, next_cursor = deps.journeys.contacts_in_journey(journey_id, STOP_PAGE, cursor)
    left = 0
    for enrollment in deps.journeys.get_enrollments(contacts, journey_id):
        if enrollment.state == "active":
            left += _finish(enrollment, "stopped", now, deps, {}) is not None
    if next_cursor:
        deps.journey_queue.send_json({"stop": journey_id, "cursor": next_cursor})
    return left


def _queue(deps: Deps, due: list[tuple[str, str]]) -> None:
    bodies = [{"contact_id": c, "journey_id": j} for c, j in due]
    for start in range(0, len(bodies), 10):
        deps.journey_queue.send_many(bodies[start : start + 10])


def _waits_on_engagement(step: Step) -> bool:
    return step.type == "branch" and "engagement" in step.spec


def _due(step: Step, at: datetime, contact: Contact | None, deps: Deps) -> datetime:
    zone = None
    if step.type == "wait" and "time_of_day" in step.spec:
        account = deps.store.get_account(contact.account_id) if contact and contact.account_id else None
        zone = time_zone(contact, account, step)
    return due_at(step, at, zone or UTC)


# ---------------------------------------------------------------- the sweep and the worker


def sweep(deps: Deps, now: datetime) -> dict[str, int]:
    """Every minute: queue the enrollments due by ``now`` (of live and stopped journeys; a paused
    journey's people wait where they are)."""
    states = {head.journey_id: head.state for head in deps.journeys.heads()}
    due = [(c, j) for c, j in deps.journeys.due(now, SWEEP_LIMIT) if states.get(j) in ("live", "stopped")]
    _queue(deps, due)
    count("JourneyStepsQueued", len(due))
    return {"queued": len(due)}


def run(contact_id: str, journey_id: str, deps: Deps, now: datetime | None = None) -> list[str]:
    """Look at one enrollment and take every step that is due, one conditional move each; what was
    done (for the log and tests). Safe to run twice, or at once from two deliveries: a move conditioned
    on the ``seq`` read lets only one of them through."""
    now = now or _now()
    done: list[str] = []
    for _ in range(MAX_STEPS_PER_RUN):
        enrollment = deps.journeys.get_enrollment(contact_id, journey_id)
        if enrollment is None or enrollment.state != "active" or enrollment.step is None:
            return done
        if done and not enrollment.waiting and enrollment.due_at is not None and enrollment.due_at > now:
            return done  # this run just moved it to a step not due yet, its exits checked a moment ago
        moved = _look(enrollment, deps, now)
        if moved is None:
            return done
        done.append(moved)
    logger.warning("journey run stopped after its step limit", extra={"journey_id": journey_id})
    return done


def _look(enrollment: Enrollment, deps: Deps, now: datetime) -> str | None:
    """One step of one enrollment: ``None`` when it stays (not due, paused, lost a race)."""
    head = deps.journeys.get_head(enrollment.journey_id)
    if head is None:
        return None
    journey = version_of(enrollment.journey_id, enrollment.version, deps)
    contact = deps.store.get_contact(enrollment.contact_id)
    if contact is None or contact.erasing:
        return _finish(enrollment, "gone", now, deps, {})
    if head.state == "stopped":
        return _finish(enrollment, "stopped", now, deps, {})
    if head.state not in ("live", "paused"):
        return None
    step = journey.step(str(enrollment.step))
    # the exits first, whether the step is due or not: a person woken by a change (an unsubscribe, a
    # lead qualified, a goal reached: ``wake_exits``) during a wait, or while the journey is paused,
    # leaves now rather than when the wait ends
    leads = deps.store.get_leads(contact.lead_ids)
    lead = _lead_for(enrollment, leads)
    facts = _facts(lead, contact, deps, now) if _needs_facts(journey, step) else None
    reason = exit_reason(journey, contact, leads, facts)
    if reason is not None:
        return _finish(enrollment, reason, now, deps, {})
    if head.state == "paused":
        return None  # paused: people stay at their step (only an exit moves them)
    if not _waits_on_engagement(step) and enrollment.due_at is not None and enrollment.due_at > now:
        return None  # early (a wake, a redelivery, a sweep racing a move): its time comes
    outcome, counts = _do(step, enrollment, journey, contact, lead, facts, deps, now)
    if outcome.stay:
        return None
    return _move(enrollment, journey, step, outcome, now, deps, counts, contact)


def _do(
    step: Step,
    enrollment: Enrollment,
    journey: Journey,
    contact: Contact,
    lead: Lead | None,
    facts: Facts | None,
    deps: Deps,
    now: datetime,
) -> tuple[Outcome, dict[str, int]]:
    """Do the step (its effect is idempotent: a redelivery repeats it harmlessly) and say where next."""
    if step.type == "email":
        return after(step), _send(enrollment, journey, step, lead, deps)
    if step.type == "branch":
        if _waits_on_engagement(step):
            enrollment = replace(enrollment, events=deps.journeys.events_of(enrollment.contact_id))
        return decide_branch(step, enrollment, facts, now), {}
    if step.type == "split":
        return after(step, split_choice(enrollment.contact_id, journey.journey_id, step)), {}
    if step.type == "update_field":
        _update_field(step, contact, lead, deps)
    elif step.type == "create_lead":
        _create_lead(journey, step, contact, deps)
    elif step.type == "sales_work":
        _sales_work(enrollment, journey, step, contact, lead, deps, now)
    return after(step), {}


def _needs_facts(journey: Journey, step: Step) -> bool:
    return journey.goal is not None or step.condition is not None


def _facts(lead: Lead | None, contact: Contact, deps: Deps, now: datetime) -> Facts:
    from chalicelib.domain.qualification import score_facts

    account = deps.store.get_account(contact.account_id) if contact.account_id else None
    scores = deps.scoring.scores_of(lead.lead_id) if lead else {}
    interactions = deps.scoring.interactions_since(contact.contact_id, now - timedelta(days=90))
    return Facts(lead, contact, account, interactions, now, score_facts(scores))


def _lead_for(enrollment: Enrollment, leads: list[Lead]) -> Lead | None:
    """The enrollment's lead, else the person's newest open lead."""
    if enrollment.lead_id:
        named = next((lead for lead in leads if lead.lead_id == enrollment.lead_id), None)
        if named is not None:
            return named
    open_leads = [lead for lead in leads if lead.is_open]
    return max(open_leads, key=lambda lead: lead.created_at) if open_leads else None


def _cause(enrollment: Enrollment, journey: Journey, step: Step) -> str:
    base = f"journey:{journey.journey_id}:{journey.version}:{step.step_id}"
    return base if enrollment.run == 1 else f"{base}:r{enrollment.run}"


def _send(
    enrollment: Enrollment, journey: Journey, step: Step, lead: Lead | None, deps: Deps
) -> dict[str, int]:
    """The e-mail, once per (journey, version, step, run): a redelivery finds the message sent. The
    counters of the move. (The mail table lists it under the journey: its cause names the journey.)

    The level needed is the higher of the journey's and the template's. A step a loop comes back to
    (through a wait) sends nothing again and counts nothing: its message is older than this visit of
    the step (``step_at``). A redelivery of this visit (SES answered, the move did not happen) finds
    the message made during the visit and counts it, once, with the move that follows."""
    from chalicelib.services import mail

    try:
        result = mail.send_template(
            str(step.spec["template_id"]),
            enrollment.contact_id,
            _cause(enrollment, journey, step),
            deps,
            lead_id=lead.lead_id if lead and lead.contact_id == enrollment.contact_id else None,
            at_least=journey.consent,
        )
    except (NotFound, ValidationFailed) as refused:  # no such template any more; no address
        logger.warning(
            "journey e-mail not sent", extra={"journey_id": journey.journey_id, "why": str(refused)}
        )
        return {"refused": 1}
    if not result.new and result.message.created_at < enrollment.step_at:
        return {}  # sent on an earlier visit of this step (a loop): once per run, counted then
    return {"sent": 1} if result.message.status in ("sent", "sending") else {"refused": 1}


def _update_field(step: Step, contact: Contact, lead: Lead | None, deps: Deps) -> None:
    from chalicelib.domain.capture import Capture
    from chalicelib.domain.working import LeadEdit, LeadStaleVersion
    from chalicelib.services import capture
    from chalicelib.services.working import edit_lead

    entity, name = str(step.spec["field"]).split(".", 1)
    value = step.spec["value"]
    if lead is not None:
        edit = LeadEdit(lead={name: value}) if entity == "lead" else LeadEdit(contact={name: value})
        for _ in range(3):
            current = deps.store.get_lead(lead.lead_id) or lead
            try:
                edit_lead(current.lead_id, current.version or 0, edit, "journey", deps.store, deps.work)
                return
            except LeadStaleVersion:
                continue
        return
    if entity == "contact" and contact.email:
        capture.capture(
            Capture(
                contact={"email": contact.email, name: value}, origin="journey", update_policy="overwrite"
            ),
            deps,
        )


def _create_lead(journey: Journey, step: Step, contact: Contact, deps: Deps) -> None:
    """A lead, as triggers make one (matched on e-mail and topic: a repeat updates, never duplicates)."""
    from chalicelib.domain.capture import Capture
    from chalicelib.services import capture

    if not contact.email:
        return
    fields = {
        "topic": step.spec.get("topic"),
        "source": step.spec.get("source") or f"journey:{journey.journey_id}",
    }
    capture.capture(
        Capture(
            contact={"email": contact.email},
            lead={k: v for k, v in fields.items() if v},
            origin=f"journey:{journey.journey_id}",
            lead_matching=["contact.email", "lead.topic"],
        ),
        deps,
    )


def _sales_work(
    enrollment: Enrollment,
    journey: Journey,
    step: Step,
    contact: Contact,
    lead: Lead | None,
    deps: Deps,
    now: datetime,
) -> None:
    """The existing hand-off (a task, a phone call) for the person's lead, assigned through routing like
    a rule's; its id derives from (journey, version, step, contact, run): written once."""
    from chalicelib.domain.qualification import handoffs
    from chalicelib.services.handoffs import encoded

    if lead is None or step.action is None:
        logger.info("journey sales work skipped: no open lead", extra={"journey_id": journey.journey_id})
        return
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
    work = handoffs(
        [step.action],
        f"journey:{journey.journey_id}",
        (journey.journey_id, str(journey.version), step.step_id, contact.contact_id, str(enrollment.run)),
        lead,
        contact,
        account,
        deps.scoring.scores_of(lead.lead_id),
        now,
    )
    deps.handoffs.write_handoffs(encoded(work, deps, now), now)


def _move(
    enrollment: Enrollment,
    journey: Journey,
    step: Step,
    outcome: Outcome,
    now: datetime,
    deps: Deps,
    counts: dict[str, int],
    contact: Contact,
) -> str | None:
    if outcome.next_step is None:
        return _finish(enrollment, outcome.reason or "completed", now, deps, counts)
    target = journey.step(outcome.next_step)
    moved = replace(
        enrollment,
        step=target.step_id,
        seq=enrollment.seq + 1,
        step_at=now,
        due_at=_due(target, now, contact, deps),
    )
    changes = {step.step_id: {**counts, "left": 1}, target.step_id: {"entered": 1}}
    if not deps.journeys.advance(enrollment, moved, _waits_on_engagement(target), changes):
        return None
    count("JourneyStep")
    return f"{step.step_id}->{target.step_id}"


def _finish(
    enrollment: Enrollment,
    reason: str,
    now: datetime,
    deps: Deps,
    counts: dict[str, int],
) -> str | None:
    finished = replace(
        enrollment,
        step=None,
        state="done",
        seq=enrollment.seq + 1,
        step_at=now,
        due_at=None,
        reason=reason,
        finished_at=now,
    )
    changes: dict[str, dict[str, int]] = {
        "*": {f"exited_{reason}": 1, **({"qualified": 1} if reason == "qualified" else {})}
    }
    if enrollment.step:
        changes[enrollment.step] = {**counts, "left": 1}
    if not deps.journeys.advance(enrollment, finished, False, changes):
        return None
    count(f"JourneyExited_{reason}")
    return f"{enrollment.step}->exit:{reason}"


def merge_person(duplicate_id: str, survivor_id: str, deps: Deps, now: datetime) -> int:
    """A merge: the merged-away contact's enrollments become the survivor's, where they are (step,
    version, timer; finished ones too, so re-entry rules still see them), and their engagement notes
    follow. Where the survivor has an enrollment of the same journey already, that one stands and the
    duplicate's active one ends as ``exited.merged``. The duplicate's partition is then deleted.
    Repeatable (the merge's moves after its transaction are): nothing is left the second time. How
    many enrollments the survivor took."""
    taken = 0
    for _ in range(3):  # a transfer or finish that lost a race to a worker's move reads again
        left = deps.journeys.enrollments_of(duplicate_id)
        held = {e.journey_id for e in deps.journeys.enrollments_of(survivor_id)}
        raced = False
        for enrollment in left:
            if enrollment.journey_id not in held:
                moved = deps.journeys.transfer(enrollment, survivor_id)
                taken += moved
                raced = raced or not moved
            elif enrollment.state == "active":
                raced = _finish(enrollment, "merged", now, deps, {}) is None or raced
        if not raced:
            break
    kept = deps.journeys.events_of(survivor_id)
    for key, at in deps.journeys.events_of(duplicate_id).items():
        if key not in kept or kept[key] < at:
            deps.journeys.note_event(survivor_id, key, at)
    deps.journeys.forget_contact(duplicate_id)
    return taken


def forget_person(contact_id: str, deps: Deps, now: datetime) -> int:
    """An erasure's part of the journeys: the person leaves each journey they are in (counted
    ``exited.gone``, so the funnel stays right), then their enrollments and engagement notes are
    deleted. Safe to run again (the erasure's second pass): nothing is left to finish or delete. A
    worker holding an enrollment read before the deletion cannot write it back: its move is
    conditioned on the ``seq`` it read."""
    for _ in range(3):  # a finish that lost a race to a worker's move reads the enrollment again
        active = [e for e in deps.journeys.enrollments_of(contact_id) if e.state == "active"]
        if not active:
            break
        for enrollment in active:
            _finish(enrollment, "gone", now, deps, {})
    return deps.journeys.forget_contact(contact_id)


# ---------------------------------------------------------------- the interactions stream


def on_interaction(
    interaction: Interaction, deps: Deps, now: datetime, heads: list[JourneyHead] | None = None
) -> int:
    """A new interaction: count a journey e-mail's first open/click on its step, note the person's
    engagement and wake their enrollments waiting on it (a keyed query), and enter the person into live
    journeys whose trigger it matches. How many enrollments were woken or entered. While no journey is
    live or paused it reads and writes nothing (``heads``: read once per batch, kept a few seconds)."""
    heads = deps.journeys.heads(deps.settings.models_cache_seconds) if heads is None else heads
    if not any(head.state in ("live", "paused") for head in heads):
        return 0  # no journey runs: an interaction costs nothing more
    touched = 0
    if event_keys(interaction):
        touched += _engagement(interaction, deps)
    return touched + _trigger_entries(interaction, deps, now, heads)


def _engagement(interaction: Interaction, deps: Deps) -> int:
    """Count a journey e-mail's first open/click; for a person in a journey, note the engagement and
    wake their enrollments waiting on it (one keyed query of the person's partition)."""
    _count_engagement(interaction, deps)
    active = [e for e in deps.journeys.enrollments_of(interaction.contact_id) if e.state == "active"]
    if not active:
        return 0
    for key in event_keys(interaction):
        deps.journeys.note_event(interaction.contact_id, key, interaction.occurred_at)
    waiting = [(e.contact_id, e.journey_id) for e in active if e.waiting]
    _queue(deps, waiting)
    return len(waiting)


def _count_engagement(interaction: Interaction, deps: Deps) -> None:
    kind = {"email_opened": "opened", "email_clicked": "clicked"}.get(interaction.type)
    message_id = (interaction.properties or {}).get("message_id")
    if kind is None or not isinstance(message_id, str):
        return
    message = deps.mail.get_message(message_id)
    if message is None or not message.cause.startswith("journey:"):
        return
    parts = message.cause.split(":")
    if len(parts) >= 4:
        deps.journeys.count_once(parts[1], parts[3], f"{message_id}#{kind}", kind)


def _trigger_entries(interaction: Interaction, deps: Deps, now: datetime, heads: list[JourneyHead]) -> int:
    if (interaction.properties or {}).get("journey_id"):
        return 0  # a journey's own e-mail (email_sent) enters nobody: two journeys could feed each other
    entered = 0
    for head in heads:
        trigger = head.entry.get("trigger") if head.state == "live" else None
        if not isinstance(trigger, dict):
            continue
        if "form_id" in trigger:
            matches = (
                interaction.type == "form_submitted"
                and (interaction.properties or {}).get("form_id") == trigger["form_id"]
            )
        elif "grade" in trigger:
            matches = False  # a grade is reached through the scores: on_lead_change
        else:
            journey = version_of(head.journey_id, head.version, deps)
            matches = (
                journey.trigger is not None
                and journey.trigger.test(
                    Facts(None, None, None, [interaction], max(now, interaction.occurred_at))
                )[0]
            )
        if matches:
            try:
                done = enroll(head.journey_id, interaction.contact_id, deps, now, interaction.lead_id)
            except (NotFound, PersonErased):
                continue
            entered += done.result == "enrolled"
    return entered


# ---------------------------------------------------------------- exits woken by changes


def running_watch(deps: Deps, heads: list[JourneyHead] | None = None) -> tuple[ExitWatch, set[str]] | None:
    """What the running (live or paused) journeys' exits read, over every version people may be on,
    and their ids; ``None`` when no journey runs (then a change costs nothing more: ``heads`` is the
    list the stream consumers keep a few seconds, and versions are read once per container)."""
    heads = deps.journeys.heads(deps.settings.models_cache_seconds) if heads is None else heads
    running = [head for head in heads if head.state in ("live", "paused")]
    versions = [
        version_of(head.journey_id, version, deps)
        for head in running
        for version in range(1, head.version + 1)
    ]
    watch = exit_watch(versions)
    return (watch, {head.journey_id for head in running}) if watch is not None else None


def wake_exits(contact_id: str, deps: Deps, running: set[str]) -> int:
    """A change may make this person leave a running journey (``domain/journeys.py: exit_wakes``):
    queue their active enrollments in those journeys (one keyed query of their own partition, as a
    click's wake does); the worker checks the exits before anything else and the person leaves now.
    How many were queued. Safe to repeat: a second look finds the enrollment finished."""
    active = [
        (e.contact_id, e.journey_id)
        for e in deps.journeys.enrollments_of(contact_id)
        if e.state == "active" and e.journey_id in running
    ]
    _queue(deps, active)
    if active:
        count("JourneyExitWakes", len(active))
    return len(active)


class ExitWakes:
    """One batch of the ``qualify`` consumer's changes (leads, contacts, scores): each change that may
    end a running journey for its person (``domain/journeys.py: exit_wakes``) wakes that person once
    (``wake_exits``). The journeys' heads are read once per batch (the list kept a few seconds) and the
    running journeys' versions once per container: while no journey is live or paused, a change costs
    no read at all."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._heads: list[JourneyHead] | None = None
        self._watch: list[tuple[ExitWatch, set[str]] | None] = []  # worked out at the first change
        self._woken: set[str] = set()

    def heads(self) -> list[JourneyHead]:
        if self._heads is None:
            self._heads = self._deps.journeys.heads(self._deps.settings.models_cache_seconds)
        return self._heads

    def offer(self, change: AnyChange) -> int:
        """Wake the change's person when it may end a running journey for them; how many enrollments
        were queued."""
        if not isinstance(change, ContactChange | LeadChange | ScoreChange):
            return 0
        if not self._watch:
            self._watch.append(running_watch(self._deps, self.heads()))
        watching = self._watch[0]
        if watching is None or not exit_wakes(change, watching[0]):
            return 0
        contact_id = self._contact_of(change)
        if contact_id is None or contact_id in self._woken:
            return 0
        self._woken.add(contact_id)
        return wake_exits(contact_id, self._deps, watching[1])

    def _contact_of(self, change: ContactChange | LeadChange | ScoreChange) -> str | None:
        if isinstance(change, ContactChange):
            return change.contact_id
        if isinstance(change, LeadChange):
            image = change.new or change.old
            return image.contact_id if image is not None else None
        lead = self._deps.store.get_lead(change.lead_id)  # a score names its lead only (goals only)
        return lead.contact_id if lead is not None else None


def entries_on_change(
    deps: Deps, heads: list[JourneyHead] | None = None
) -> list[tuple[JourneyHead, Journey]]:
    """The live journeys that people enter by a segment or by reaching a grade (read once per batch of
    lead, contact and score changes; usually none, and then a change costs one query)."""
    found = []
    heads = deps.journeys.heads(deps.settings.models_cache_seconds) if heads is None else heads
    for head in heads:
        trigger = head.entry.get("trigger")
        if head.state == "live" and (
            "segment_id" in head.entry or (isinstance(trigger, dict) and "grade" in trigger)
        ):
            found.append((head, version_of(head.journey_id, head.version, deps)))
    return found


def on_lead_change(lead_id: str, deps: Deps, now: datetime, live: list[tuple[JourneyHead, Journey]]) -> int:
    """A lead, its contact or its score changed: enter the person into each live journey whose segment
    the lead now matches, or whose grade it reached (exact: the segment's condition on this lead, not a
    re-run of the segment; bounded: one lead per change). Already in, or not again: nothing."""
    from chalicelib.domain.segments import compile_condition
    from chalicelib.services.segments import extras_for

    if not live:
        return 0
    lead = deps.store.get_lead(lead_id)
    contact = deps.store.get_contact(lead.contact_id) if lead else None
    if lead is None or contact is None or contact.erasing or not lead.is_open:
        return 0
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
    scores: dict[str, Any] | None = None
    entered = 0
    for head, _journey in live:
        trigger = head.entry.get("trigger")
        if "segment_id" in head.entry:
            segment = deps.identity.get_segment(str(head.entry["segment_id"]))
            if segment is None:
                continue
            spec = segment["condition"]  # its score and journey leaves read as a segment query does
            facts = Facts(lead, contact, account, [], now, extras_for(spec, [lead], deps)[lead_id])
            matches = compile_condition(spec)[0].test(facts)[0]
        else:
            scores = scores if scores is not None else deps.scoring.scores_of(lead_id)
            score = scores.get(str(trigger["grade"])) if isinstance(trigger, dict) else None
            matches = score is not None and isinstance(trigger, dict) and score.grade == trigger["value"]
        if matches:
            entered += enroll(head.journey_id, contact.contact_id, deps, now, lead_id).result == "enrolled"
    return entered


# ---------------------------------------------------------------- the report


def report(journey_id: str, deps: Deps) -> dict[str, Any]:
    """Counts per step (entered, at the step now, sent, refused, opened, clicked, left) and for the
    journey (entered, exited by reason, qualified), from the counters the moves keep: no scan."""
    head = head_of(journey_id, deps)
    journey = version_of(journey_id, head.version, deps)
    counters = deps.journeys.counters(journey_id)
    steps = []
    seen = set()
    for step_id in journey.order:
        seen.add(step_id)
        c = counters.get(step_id, {})
        steps.append(_step_counts(step_id, journey.step(step_id).type, c))
    for step_id in sorted(set(counters) - seen - {"*"}):  # steps of earlier versions
        steps.append(_step_counts(step_id, None, counters[step_id]))
    total = counters.get("*", {})
    return {
        "journey_id": journey_id,
        "state": head.state,
        "version": head.version,
        "entered": total.get("entered", 0),
        "sent": sum(s["sent"] for s in steps),
        "opened": total.get("opened", 0),
        "clicked": total.get("clicked", 0),
        "qualified": total.get("qualified", 0),
        "exited": {k.removeprefix("exited_"): v for k, v in total.items() if k.startswith("exited_") and v},
        "active": total.get("entered", 0) - sum(v for k, v in total.items() if k.startswith("exited_")),
        "steps": steps,
    }


def _step_counts(step_id: str, kind: str | None, c: dict[str, int]) -> dict[str, Any]:
    return {
        "step": step_id,
        "type": kind,
        "entered": c.get("entered", 0),
        "at_step": c.get("entered", 0) - c.get("left", 0),
        "sent": c.get("sent", 0),
        "refused": c.get("refused", 0),
        "opened": c.get("opened", 0),
        "clicked": c.get("clicked", 0),
    }


def messages(
    journey_id: str,
    limit: int,
    deps: Deps,
    contact_id: str | None = None,
    template_id: str | None = None,
    cursor: str | None = None,
) -> MessagePage:
    """The journey's e-mails, newest first: the mail table's keyed list of them (``journey#<id>`` on
    its ``by_list`` index, written with each message's claim: ``docs/email.md``), one page of at most
    ``limit`` after ``cursor``; ``contact_id``/``template_id`` narrow the page read."""
    from chalicelib.services import mail

    head_of(journey_id, deps)
    return mail.list_messages(deps, contact_id, template_id, limit, journey_id=journey_id, cursor=cursor)
