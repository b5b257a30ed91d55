"""Scoring models and jobs (admin)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, idempotency_key, json_response, read_json, replay_safe

bp = Blueprint(__name__)


def _publish(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.api.schemas import answers
    from chalicelib.services import models

    published = models.publish(request["model_id"], wiring.deps())
    return {
        "status": 202,
        "body": answers.Published.model_validate(published, from_attributes=True).model_dump(),
    }


@endpoint(
    bp,
    "/v1/scoring-models/{model_id}",
    "PUT",
    scope="admin",
    summary="save a model draft",
    body={"type": "object"},
    ok=("201",),
)
def put_model(request: Request, model_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import models

    return json_response(
        201, views.draft_saved(models.put_model(model_id, read_json(request), wiring.deps()))
    )


@endpoint(bp, "/v1/scoring-models", "GET", scope="admin", summary="models")
def list_models(request: Request) -> Response:
    from chalicelib.api import views
    from chalicelib.services import models

    return json_response(200, views.model_list(models.list_models(wiring.deps())))


@endpoint(bp, "/v1/scoring-models/{model_id}", "GET", scope="admin", summary="a model")
def get_model(request: Request, model_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import models

    return json_response(200, views.model_detail(models.get_model(model_id, wiring.deps())))


@endpoint(
    bp,
    "/v1/scoring-models/{model_id}/publish",
    "POST",
    scope="admin",
    summary="publish the draft",
    ok=("200", "202"),
    response="answers.Published",
    idempotent=True,
)
def publish(request: Request, model_id: str) -> Response:
    return replay_safe(
        bp, "publish_model", _publish, idempotency_key(request), {"model_id": model_id, "payload": {}}
    )


@endpoint(bp, "/v1/scoring-models/{model_id}/simulate", "POST", scope="admin", summary="simulate the draft")
def simulate(request: Request, model_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import models

    return json_response(200, views.simulation(models.simulate(model_id, wiring.deps())))


@endpoint(bp, "/v1/jobs/{job_id}", "GET", scope="admin", summary="a rescoring job")
def get_job(request: Request, job_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import models

    return json_response(200, views.job_status(models.get_job(job_id, wiring.deps())))
