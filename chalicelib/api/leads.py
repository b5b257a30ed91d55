"""Reading leads and contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import caller, endpoint, etag, json_response
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed

if TYPE_CHECKING:
    from chalicelib.api.schemas.queries import LeadsQuery

bp = Blueprint(__name__)


@endpoint(bp, "/v1/leads/{lead_id}", "GET", scope="sales", summary="a lead with contact, account and scores")
def get_lead(request: Request, lead_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import leads

    detail = leads.get_lead(lead_id, wiring.deps())
    # the ETag is the lead's version: PATCH /v1/leads/{id} sends it back as If-Match
    return json_response(
        200, views.lead_detail(detail, duplicate_of(detail.lead.contact_id)), etag(detail.lead.version)
    )


@endpoint(bp, "/v1/leads", "GET", scope="sales", summary="list leads", query="queries.LeadsQuery")
def list_leads(request: Request, query: LeadsQuery) -> Response:
    from chalicelib.api import views
    from chalicelib.services import leads

    wanted = query.model_dump()
    if wanted.get("owner") == "me":  # the caller's own leads: the key's person
        key = caller.get()
        if key is None or key.user_id is None:
            raise ValidationFailed([FieldError("owner", "owner=me needs a key that belongs to a user")])
        wanted["owner"] = key.user_id
    page = leads.list_leads(leads.LeadQuery(**wanted), wiring.deps())
    return json_response(200, views.lead_page(page))


@endpoint(bp, "/v1/contacts/{contact_id}", "GET", scope="admin", summary="a contact with its leads")
def get_contact(request: Request, contact_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import leads

    try:
        detail = leads.get_contact(contact_id, wiring.deps())
    except NotFound:
        from chalicelib.services import data_rights

        # an erased id: 409, as on every route
        data_rights.refuse_if_erased(contact_id, wiring.deps().identity)
        raise
    return json_response(200, views.contact_detail(detail, duplicate_of(contact_id)))


def duplicate_of(contact_id: str) -> list[dict[str, object]]:
    """Suspected duplicates of the contact (identity), shown beside the lead or contact."""
    from chalicelib.api import views
    from chalicelib.services import duplicates

    return [views.suggestion(s) for s in duplicates.duplicate_of(contact_id, wiring.deps().identity)]
