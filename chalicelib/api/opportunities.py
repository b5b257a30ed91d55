"""Opportunities (sales): read, list, change with ``If-Match``, and the pipeline report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, if_match_version, json_response
from chalicelib.api.http import etag as _etag
from chalicelib.domain.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from chalicelib.api.schemas.bodies import OpportunityPatch
    from chalicelib.api.schemas.queries import NoQuery, OpportunitiesQuery

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/opportunities",
    "GET",
    scope="sales",
    summary="list opportunities",
    query="queries.OpportunitiesQuery",
)
def list_opportunities(request: Request, query: OpportunitiesQuery) -> Response:
    from chalicelib.api import views
    from chalicelib.domain.stored import OpportunityFilter
    from chalicelib.services import opportunities

    where = OpportunityFilter(
        stage=query.stage, owner=query.owner, status=query.status, lead_id=query.lead_id
    )
    page = opportunities.list_opportunities(where, query.limit, query.cursor, wiring.deps().handoffs)
    answer = {
        "opportunities": [views.opportunity_view(o) for o in page.items],
        "next_cursor": page.next_cursor,
    }
    return json_response(200, answer)


@endpoint(bp, "/v1/opportunities/{opportunity_id}", "GET", scope="sales", summary="an opportunity")
def get_opportunity(request: Request, opportunity_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import opportunities

    found = opportunities.get_opportunity(opportunity_id, wiring.deps().handoffs)
    return json_response(200, views.opportunity_view(found), _etag(found.version))


@endpoint(
    bp,
    "/v1/opportunities/{opportunity_id}",
    "PATCH",
    scope="sales",
    summary="change an opportunity (If-Match: the version read)",
    body="bodies.OpportunityPatch",
    request_headers=("If-Match",),
)
def patch_opportunity(request: Request, opportunity_id: str, body: OpportunityPatch) -> Response:
    """Safe to retry: a repeated change names a version that is gone and gets 412, never applied twice."""
    from chalicelib.api import views
    from chalicelib.domain.opportunities import OpportunityChanges
    from chalicelib.services import opportunities

    expected = if_match_version(request)
    given = body.model_fields_set
    if not given:
        raise ValidationFailed(
            [
                FieldError(
                    "body", "give at least one of stage, status, reason, estimated_value, close_date, owner"
                )
            ]
        )
    changes = OpportunityChanges(**{name: getattr(body, name) for name in given})
    saved = opportunities.update_opportunity(opportunity_id, expected, changes, wiring.deps().handoffs)
    return json_response(200, views.opportunity_view(saved), _etag(saved.version))


@endpoint(
    bp,
    "/v1/reports/pipeline",
    "GET",
    scope="sales",
    summary="open opportunities: count and value by stage and owner",
    query="queries.NoQuery",
)
def pipeline(request: Request, query: NoQuery) -> Response:
    from chalicelib.services import opportunities

    return json_response(200, opportunities.pipeline(wiring.deps().handoffs))
