"""Working a lead (edit with ``If-Match``, notes, activities, linking) and the 360° views of a contact
and an account. The views read the request, call one service and shape its typed result here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import (
    caller,
    endpoint,
    etag,
    idempotency_key,
    if_match_version,
    json_response,
    replay_safe,
)

if TYPE_CHECKING:
    from chalicelib.api.schemas.working import (
        ActivityRequest,
        LeadPatch,
        LinkRequest,
        NoteRequest,
        OverviewQuery,
    )
    from chalicelib.services.overview import LeadWork

bp = Blueprint(__name__)


def _by() -> str:
    """Who acts: the key's person (``user:<id>``) or the key itself (``key:<id>``)."""
    key = caller.get()
    return key.actor if key else "anonymous"


@endpoint(
    bp,
    "/v1/leads/{lead_id}",
    "PATCH",
    scope="sales",
    summary="edit a lead's and its contact's fields (If-Match: the lead's ETag)",
    body="working.LeadPatch",
    request_headers=("If-Match",),
)
def patch_lead(request: Request, lead_id: str, body: LeadPatch) -> Response:
    """Safe to retry: a repeated edit names a version that is gone and gets 412, never applied twice."""
    from chalicelib.api import views
    from chalicelib.api.leads import duplicate_of
    from chalicelib.domain import working as rules
    from chalicelib.services import leads, working

    expected = if_match_version(request)
    edit = rules.parse_edit(body.lead, body.contact)
    deps = wiring.deps()
    working.edit_lead(lead_id, expected, edit, _by(), deps.store, deps.work)
    detail = leads.get_lead(lead_id, deps)
    return json_response(
        200, views.lead_detail(detail, duplicate_of(detail.lead.contact_id)), etag(detail.lead.version)
    )


# ---------------------------------------------------------------- notes and activities


def _note(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.services import working

    deps = wiring.deps()
    note = working.add_note(
        request["lead_id"], request["payload"]["text"], request["by"], deps.store, deps.work
    )
    return {"status": 201, "body": note.as_dict()}


@endpoint(
    bp,
    "/v1/leads/{lead_id}/notes",
    "POST",
    scope="sales",
    summary="add a note to a lead's timeline",
    body="working.NoteRequest",
    ok=("201",),
    idempotent=True,
)
def add_note(request: Request, lead_id: str, body: NoteRequest) -> Response:
    from chalicelib.domain import working as rules

    text = rules.note_text(body.text)
    return replay_safe(
        bp,
        "lead_note",
        _note,
        idempotency_key(request),
        {"lead_id": lead_id, "payload": {"text": text}, "by": _by()},
    )


def _activity(request: dict[str, Any]) -> dict[str, Any]:
    from datetime import UTC, datetime

    from chalicelib.domain import working as rules
    from chalicelib.services import working

    payload = request["payload"]
    activity = rules.parse_activity(
        payload["type"], payload["subject"], payload["outcome"], payload["occurred_at"], datetime.now(UTC)
    )
    deps = wiring.deps()
    logged = working.log_activity(
        request["lead_id"], activity, request["interaction_id"], request["by"], deps.store, deps.assignments
    )
    return {"status": 201, "body": logged.as_dict()}


@endpoint(
    bp,
    "/v1/leads/{lead_id}/activities",
    "POST",
    scope="sales",
    summary="log a completed call, meeting or e-mail (an interaction of the lead)",
    body="working.ActivityRequest",
    ok=("201",),
    idempotent=True,
)
def log_activity(request: Request, lead_id: str, body: ActivityRequest) -> Response:
    from datetime import UTC, datetime

    from chalicelib.domain import working as rules
    from chalicelib.services import working

    # checked before the replay, so a bad request is never remembered as an answer
    rules.parse_activity(body.type, body.subject, body.outcome, body.occurred_at, datetime.now(UTC))
    key = idempotency_key(request)
    owner = caller.get()
    # the body as sent: a retry with the same key must match it ("now" is taken when it first runs)
    payload = {
        "type": body.type,
        "subject": body.subject,
        "outcome": body.outcome,
        "occurred_at": body.occurred_at,
    }
    return replay_safe(
        bp,
        "lead_activity",
        _activity,
        key,
        {
            "lead_id": lead_id,
            "payload": payload,
            "by": _by(),
            "interaction_id": working.activity_id(owner.key_id if owner else None, key),
        },
    )


# ---------------------------------------------------------------- linking


def _link(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.api.views import contact_view, lead_view
    from chalicelib.services import working

    deps = wiring.deps()
    payload = request["payload"]
    linked = working.link_lead(
        request["lead_id"],
        payload.get("contact_id"),
        payload.get("new_contact"),
        request["by"],
        deps.store,
        deps.work,
        deps.identity,
        deps.handoffs,
    )
    body = {
        **lead_view(linked.lead),
        "from_contact_id": linked.from_contact_id,
        "contact": contact_view(linked.contact),
        "contact_created": linked.contact_created,
        "changed": linked.changed,
        "moved_opportunities": linked.moved_opportunities,
    }
    return {"status": 201 if linked.contact_created else 200, "body": body}


@endpoint(
    bp,
    "/v1/leads/{lead_id}/link",
    "POST",
    scope="sales",
    summary="move a lead to another contact, or to a new one",
    body="working.LinkRequest",
    ok=("200", "201"),
    idempotent=True,
)
def link(request: Request, lead_id: str, body: LinkRequest) -> Response:
    from chalicelib.domain import working as rules

    payload: dict[str, Any] = {}
    if body.contact_id is not None:
        if not isinstance(body.contact_id, str) or not body.contact_id.strip() or len(body.contact_id) > 64:
            from chalicelib.domain.errors import FieldError, ValidationFailed

            raise ValidationFailed([FieldError("contact_id", "contact_id must be a contact's id")])
        payload["contact_id"] = body.contact_id
    if body.new_contact is not None:
        payload["new_contact"] = rules.parse_new_contact(body.new_contact)
    if len(payload) != 1:
        from chalicelib.domain.errors import FieldError, ValidationFailed

        raise ValidationFailed([FieldError("contact_id", "give either contact_id or new_contact")])
    return replay_safe(
        bp,
        "lead_link",
        _link,
        idempotency_key(request),
        {"lead_id": lead_id, "payload": payload, "by": _by()},
    )


# ---------------------------------------------------------------- the 360° views


def _lead_work(work: LeadWork) -> dict[str, Any]:
    from chalicelib.api.views import lead_view, opportunity_view, score_view

    return {
        **lead_view(work.lead),
        "owner": work.lead.owner,
        "scores": [score_view(s) for s in work.scores],
        "handoffs": work.handoffs,
        "notes": work.notes,
        "opportunities": [opportunity_view(o) for o in work.opportunities],
    }


def _interaction(interaction: Any) -> dict[str, Any]:
    from chalicelib.domain.interactions import iso

    return {
        "interaction_id": interaction.interaction_id,
        "type": interaction.type,
        "occurred_at": iso(interaction.occurred_at),
        "lead_id": interaction.lead_id,
        "source": interaction.source,
        "properties": interaction.properties,
    }


@endpoint(
    bp,
    "/v1/contacts/{contact_id}/overview",
    "GET",
    scope="sales",
    summary="a contact's 360° view: account, leads, interactions, scores, hand-offs, opportunities, consent",
    query="working.OverviewQuery",
)
def contact_overview(request: Request, contact_id: str, query: OverviewQuery) -> Response:
    from chalicelib.api.views import account_view, contact_view
    from chalicelib.services import overview

    found = overview.contact_overview(contact_id, query.limit, query.cursor, wiring.deps())
    return json_response(
        200,
        {
            "contact": contact_view(found.contact),
            "account": account_view(found.account) if found.account else None,
            "leads": [_lead_work(w) for w in found.leads],
            "leads_total": found.leads_total,
            "interactions": [_interaction(i) for i in found.interactions],
            "next_cursor": found.next_cursor,
            "consent_changes": contact_view(found.contact)["consent_history"][::-1],
        },
    )


@endpoint(
    bp,
    "/v1/accounts/{account_id}",
    "GET",
    scope="sales",
    summary="an account with its contacts, leads and account-scoped scores",
)
def get_account(request: Request, account_id: str) -> Response:
    from chalicelib.api.views import account_view, contact_view
    from chalicelib.services import overview

    found = overview.account_overview(account_id, wiring.deps())
    return json_response(
        200,
        {
            **account_view(found.account),
            "contacts": [contact_view(c) for c in found.contacts],
            "leads": [_lead_work(w) for w in found.leads],
            "leads_total": found.leads_total,
            "account_models": found.account_models,
        },
    )
