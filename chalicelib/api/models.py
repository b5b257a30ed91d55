"""Scoring models and jobs (admin)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, idempotency_key, json_response, read_json, replay_safe
from chalicelib.services import models

bp = Blueprint(__name__)


def _publish(request: dict[str, Any]) -> dict[str, Any]:
    return models.publish(request, wiring.deps())


@endpoint(bp, "/v1/scoring-models/{model_id}", "PUT", scope="admin")
def put_model(request: Request, model_id: str) -> Response:
    return json_response(201, models.put_model(model_id, read_json(request), wiring.deps()))


@endpoint(bp, "/v1/scoring-models", "GET", scope="admin")
def list_models(request: Request) -> Response:
    return json_response(200, models.list_models(wiring.deps()))


@endpoint(bp, "/v1/scoring-models/{model_id}", "GET", scope="admin")
def get_model(request: Request, model_id: str) -> Response:
    return json_response(200, models.get_model(model_id, wiring.deps()))


@endpoint(bp, "/v1/scoring-models/{model_id}/publish", "POST", scope="admin")
def publish(request: Request, model_id: str) -> Response:
    return replay_safe(
        bp, "publish_model", _publish, idempotency_key(request), {"model_id": model_id, "payload": {}}
    )


@endpoint(bp, "/v1/scoring-models/{model_id}/simulate", "POST", scope="admin")
def simulate(request: Request, model_id: str) -> Response:
    return json_response(200, models.simulate(model_id, wiring.deps()))


@endpoint(bp, "/v1/jobs/{job_id}", "GET", scope="admin")
def get_job(request: Request, job_id: str) -> Response:
    return json_response(200, models.get_job(job_id, wiring.deps()))
