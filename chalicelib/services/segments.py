"""Segments: saved conditions over leads, and the contacts of the leads matching one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.rules import Facts
from chalicelib.domain.segments import (
    ScorePin,
    SegmentQuery,
    compile_condition,
    journeys_named,
    parse_segment,
    pinned_journey,
    pinned_score,
)
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.entities import Lead
    from chalicelib.domain.ports import ModelStore, SegmentStore
    from chalicelib.domain.predictive import AnyModel
    from chalicelib.domain.stored import Page


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SavedSegment:
    """A saved segment: its id and its definition (``name``, ``condition``) as stored."""

    segment_id: str
    definition: dict[str, Any]


@dataclass(frozen=True)
class SegmentMatch:
    """A contact of the matching leads, and which of its leads matched."""

    contact: Contact
    matching_lead_ids: list[str]


@dataclass(frozen=True)
class SegmentPage:
    """One page of a segment query: the contacts found in ``leads_read`` leads, and how they were
    read (``scanned``, or the ``index`` used)."""

    matches: list[SegmentMatch]
    leads_read: int
    scanned: bool
    index: str | None
    next_cursor: str | None


def known_models(spec: Any, models: ModelStore) -> frozenset[str]:
    """Which of the models the condition's score leaves name exist (saved, active or not): one keyed
    read per model named, not a listing of every model."""
    return frozenset(m for m in _score_models(spec) if models.get_head(m) is not None)


def put_segment(
    segment_id: str, body: Any, segments: SegmentStore, models: ModelStore
) -> tuple[bool, SavedSegment]:
    """Save the segment; ``True`` when it is new. A score leaf naming a model that does not exist is
    a 422 naming it (``condition.all[0].grade``)."""
    condition = body.get("condition") if isinstance(body, dict) else None
    segment = parse_segment(segment_id, body, known_models(condition, models))
    created = segments.put_segment(segment_id, segment.definition, _now())
    return created, SavedSegment(segment_id, segment.definition)


def get_segment(segment_id: str, segments: SegmentStore) -> SavedSegment:
    found = segments.get_segment(segment_id)
    if found is None:
        raise NotFound("segment", segment_id)
    return SavedSegment(segment_id, found)


def query_segment(query: SegmentQuery, deps: Deps) -> SegmentPage:
    """The contacts of the leads matching the condition (or the saved ``segment_id``'s), one page of
    leads at a time. A condition that requires a model's score, grade or sales-readiness (at its top
    level) is read from the scores' ``by_model_score`` index: a keyed range query over that model's
    scores, highest first; one that pins ``lead.state`` from the ``by_state`` index; any other is a
    paged scan, and the answer says ``"scanned": true``. A page may hold fewer contacts than ``limit``
    (leads read, not contacts found, are limited); follow ``next_cursor`` until null.

    Scores that decay are computed when read (``Score.at``): the whole condition is checked on every
    lead read with its scores as they are now (grade and sales-readiness as stored: exact at each
    crossing, which the lead's timer writes), so the index range only has to hold every match."""
    from chalicelib.domain.stored import LeadFilter

    spec = query.condition
    if query.segment_id is not None:
        spec = get_segment(query.segment_id, deps.identity).definition["condition"]
    if spec is None:
        raise ValidationFailed([FieldError("condition", "give a condition or a segment_id")])
    condition, state = compile_condition(spec, known_models=known_models(spec, deps.scoring))
    pin = pinned_score(spec)
    index: str | None
    journey = pinned_journey(spec) if pin is None else None
    if pin is not None:
        page = _by_score(pin, query, deps)
        leads = deps.store.get_leads([lead_id for lead_id, _ in page.items])
        index = "by_model_score"
    elif journey is not None:
        page, leads = _by_journey(journey, query, deps)
        index = "by_journey"
    else:
        page = deps.store.list_leads(LeadFilter(state=state), query.limit, query.cursor)
        leads = list(page.items)
        index = None if state is None else "by_state"
    matched = _matching(condition, leads, extras_for(spec, leads, deps), deps)
    return SegmentPage(
        matches=matched,
        leads_read=len(page.items),
        scanned=index is None,
        index=index,
        next_cursor=page.next_cursor,
    )


def _by_journey(journey_id: str, query: SegmentQuery, deps: Deps) -> tuple[Page, list[Lead]]:
    """A page of the journey's enrolled people (``limit`` of them), and all their leads: two batch
    reads (contacts, leads) after the index's query."""
    from chalicelib.domain.stored import Page

    contact_ids, next_cursor = deps.journeys.contacts_in_journey(journey_id, query.limit, query.cursor)
    contacts = deps.store.get_contacts(contact_ids)
    leads = deps.store.get_leads([lead_id for c in contacts for lead_id in c.lead_ids])
    return Page(items=leads, next_cursor=next_cursor), leads


def extras_for(spec: Any, leads: Sequence[Lead], deps: Deps) -> dict[str, dict[str, Any]]:
    """What the condition's score and journey leaves read, per lead id (``Facts.extra``): the scores
    of the models it names as they are now (one batch read), and the enrollments of each contact in
    the journeys it names (one keyed query per contact, only when it names one)."""
    from chalicelib.domain.journeys import journey_facts
    from chalicelib.domain.qualification import score_facts

    models = _score_models(spec)
    scores = deps.scoring.scores_for([lead.lead_id for lead in leads], models) if models else {}
    journeys = journeys_named(spec)
    activity = {
        contact_id: journey_facts(
            [e for e in deps.journeys.enrollments_of(contact_id) if e.journey_id in journeys]
        )
        for contact_id in (dict.fromkeys(lead.contact_id for lead in leads) if journeys else ())
    }
    return {
        lead.lead_id: {**score_facts(scores.get(lead.lead_id, {})), **activity.get(lead.contact_id, {})}
        for lead in leads
    }


def _matching(
    condition: Any, leads: list[Lead], extras: dict[str, dict[str, Any]], deps: Deps
) -> list[SegmentMatch]:
    contacts = {c.contact_id: c for c in deps.store.get_contacts([lead.contact_id for lead in leads])}
    accounts: dict[str, Any] = {}
    now = _now()
    matched: dict[str, list[str]] = {}
    for lead in leads:
        if lead.account_id and lead.account_id not in accounts:
            accounts[lead.account_id] = deps.store.get_account(lead.account_id)
        facts = Facts(
            lead,
            contacts.get(lead.contact_id),
            accounts.get(lead.account_id or ""),
            [],
            now,
            extras.get(lead.lead_id, {}),
        )
        if condition.test(facts)[0] and lead.contact_id in contacts:
            matched.setdefault(lead.contact_id, []).append(lead.lead_id)
    return [SegmentMatch(contacts[cid], lead_ids) for cid, lead_ids in matched.items()]


def _score_models(spec: Any) -> list[str]:
    """Every model a score leaf of the condition names (anywhere in it)."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for kind in ("score", "grade", "sales_ready"):
                if isinstance(node.get(kind), str):
                    found[node[kind]] = None
            for key in ("all", "any"):
                if isinstance(node.get(key), list):
                    for part in node[key]:
                        walk(part)
            walk(node.get("not"))

    walk(spec)
    return list(found)


def score_range(pin: ScorePin, model: AnyModel | None) -> tuple[float | None, float | None]:
    """``[low, below)`` of the stored scores a pin allows, with the model's grade lines and sales-ready
    line (an unknown grade or a model without lines bounds nothing: the condition decides)."""
    from chalicelib.domain.scoring import grade_bounds

    low, below = pin.low, pin.below
    if model is not None and pin.sales_ready and model.sales_ready_score is not None:
        low = model.sales_ready_score if low is None else max(low, model.sales_ready_score)
    if model is not None and pin.grades is not None and pin.grades:
        bounds = [grade_bounds(model.grades, grade) for grade in pin.grades]
        lows = [b[0] for b in bounds]
        belows = [b[1] for b in bounds]
        grade_low = None if any(v is None for v in lows) else min(v for v in lows if v is not None)
        grade_below = None if any(v is None for v in belows) else max(v for v in belows if v is not None)
        if grade_low is not None:
            low = grade_low if low is None else max(low, grade_low)
        if grade_below is not None:
            below = grade_below if below is None else min(below, grade_below)
    return low, below


def _by_score(pin: ScorePin, query: SegmentQuery, deps: Deps) -> Page:
    from chalicelib.services import scoring

    model = next((m for m in scoring.active_models(deps) if m.model_id == pin.model_id), None)
    low, below = score_range(pin, model)
    if pin.grades == () or (low is not None and below is not None and below <= low):
        from chalicelib.domain.stored import Page

        return Page(items=[], next_cursor=None)  # no score can be in an empty range
    return deps.scoring.leads_by_score(pin.model_id, None, low, query.limit, query.cursor, below)
