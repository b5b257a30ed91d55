"""Training predictive scoring models (admin): queue a run; its job says how it went."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, idempotency_key, read_json, replay_safe
from chalicelib.domain.errors import FieldError, ValidationFailed

bp = Blueprint(__name__)


def _train(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.services import predictive  # the training code loads only when asked for

    return predictive.start_training(request, wiring.deps())


@endpoint(bp, "/v1/scoring-models/{model_id}/train", "POST", scope="admin")
def train(request: Request, model_id: str) -> Response:
    body = read_json(request) if request.raw_body else {}
    publish = body.get("publish", False)
    if not isinstance(publish, bool) or set(body) - {"publish"}:
        raise ValidationFailed([FieldError("publish", "the body may hold only publish: true or false")])
    return replay_safe(
        bp,
        "train_model",
        _train,
        idempotency_key(request),
        {"model_id": model_id, "payload": {"publish": publish}},
    )
