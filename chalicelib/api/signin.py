"""Sign-in for the console (issue 17): where the page signs people in. Public: a pool id and an app
client id are not secrets (the client has none; Cognito's own API is public), and the page needs them
before anyone has a token."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, json_response

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/console/config",
    "GET",
    scope=None,
    summary="the console's sign-in settings (Cognito endpoint, user pool, app client)",
    response="signin.ConsoleConfig",
)
def console_config(request: Request) -> Response:
    settings = wiring.deps().settings
    configured = bool(settings.cognito_user_pool_id and settings.cognito_client_id)
    return json_response(
        200,
        {
            "sign_in": configured,
            "region": settings.region,
            "user_pool_id": settings.cognito_user_pool_id,
            "client_id": settings.cognito_client_id,
            "endpoint": settings.cognito_url,
        },
        {"Cache-Control": "public, max-age=300"},
    )
