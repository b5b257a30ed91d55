"""What the console reads before anyone signs in (``GET /v1/console/config``)."""

from __future__ import annotations

from chalicelib.api.schemas.common import ResponseModel


class ConsoleConfig(ResponseModel):
    """Where the console signs people in: the Cognito API endpoint (``InitiateAuth`` with
    ``USER_PASSWORD_AUTH``, then ``REFRESH_TOKEN_AUTH``), the user pool and its app client (no secret).
    ``sign_in`` is false when the stage has no user pool (API keys only)."""

    sign_in: bool
    region: str
    user_pool_id: str
    client_id: str
    endpoint: str
