"""Health: public, cheap, and true only when the tables answer."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, model_response

bp = Blueprint(__name__)


@endpoint(bp, "/v1/health", "GET", scope=None, summary="liveness", response="answers.Health")
def health(request: Request) -> Response:
    from chalicelib.api.schemas.answers import Health

    wiring.deps().store.get_form("__health__")
    return model_response(200, Health(status="ok"))
