"""Segments: saved conditions over leads, and the contacts of the leads matching one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.rules import Facts
from chalicelib.domain.segments import SegmentQuery, compile_condition, parse_segment
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.ports import SegmentStore


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


def put_segment(segment_id: str, body: Any, segments: SegmentStore) -> tuple[bool, SavedSegment]:
    """Save the segment; ``True`` when it is new."""
    segment = parse_segment(segment_id, body)
    created = segments.put_segment(segment_id, segment.definition, _now())
    return created, SavedSegment(segment_id, segment.definition)


def get_segment(segment_id: str, segments: SegmentStore) -> SavedSegment:
    found = segments.get_segment(segment_id)
    if found is None:
        raise NotFound("segment", segment_id)
    return SavedSegment(segment_id, found)


def query_segment(query: SegmentQuery, deps: Deps) -> SegmentPage:
    """The contacts of the leads matching the condition (or the saved ``segment_id``'s), one page of
    leads at a time. Uses the ``by_state`` index when the condition pins ``lead.state``; otherwise a
    paged scan, and the answer says ``"scanned": true``. A page may hold fewer contacts than
    ``limit`` (leads read, not contacts found, are limited); follow ``next_cursor`` until null."""
    from chalicelib.domain.stored import LeadFilter

    spec = query.condition
    if query.segment_id is not None:
        spec = get_segment(query.segment_id, deps.identity).definition["condition"]
    if spec is None:
        raise ValidationFailed([FieldError("condition", "give a condition or a segment_id")])
    condition, state = compile_condition(spec)
    page = deps.store.list_leads(LeadFilter(state=state), query.limit, query.cursor)
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
    return SegmentPage(
        matches=[SegmentMatch(contacts[cid], lead_ids) for cid, lead_ids in matched.items()],
        leads_read=len(leads),
        scanned=state is None,
        index=None if state is None else "by_state",
        next_cursor=page.next_cursor,
    )
