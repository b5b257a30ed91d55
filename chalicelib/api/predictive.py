"""Training predictive scoring models (admin): queue a run; its job says how it went."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, idempotency_key, replay_safe

if TYPE_CHECKING:
    from chalicelib.api.schemas.bodies import TrainRequest

bp = Blueprint(__name__)


def _train(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.api.schemas import answers
    from chalicelib.services import predictive  # the training code loads only when asked for

    queued = predictive.start_training(
        request["model_id"], bool(request["payload"]["publish"]), wiring.deps()
    )
    return {
        "status": 202,
        "body": answers.TrainingQueued.model_validate(queued, from_attributes=True).model_dump(),
    }


@endpoint(
    bp,
    "/v1/scoring-models/{model_id}/train",
    "POST",
    scope="admin",
    summary="train a predictive model",
    body="bodies.TrainRequest",
    optional_body=True,
    ok=("200", "201", "202"),
    response="answers.TrainingQueued",
    idempotent=True,
)
def train(request: Request, model_id: str, body: TrainRequest) -> Response:
    return replay_safe(
        bp,
        "train_model",
        _train,
        idempotency_key(request),
        {"model_id": model_id, "payload": {"publish": body.publish}},
    )
