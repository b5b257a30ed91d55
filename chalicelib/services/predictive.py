"""Training predictive scoring models from the leads whose outcome is known, and the weekly retrain.

A training run reads the newest qualified (positive) and disqualified (negative) leads with their
contacts, accounts and interactions, trains and evaluates (``domain/predictive_training.py``), and
saves the result as a new draft version of the model. With ``publish`` it then publishes that draft
through the same gate as a manual publish (an AUC floor, a bootstrap margin over the naive Bayes
baseline, not worse than the active version beyond noise, no leaking field), which starts the usual
rescoring job. Tree models are fitted with scikit-learn, which only the training function's layer (and
the dev venv) has: the import happens inside ``train``.

Safe to repeat: a second run saves another draft (superseding the first) trained on the same leads;
the weekly schedule records one job per model and ISO week, so a redelivered schedule event trains
nothing twice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.entities import LEAD_DISQUALIFIED, LEAD_QUALIFIED, Interaction
from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.domain.forms import valid_form_id
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import iso
from chalicelib.domain.predictive import (
    MODEL_TYPE,
    PredictiveModel,
    is_predictive,
    observe,
    parse_predictive,
    training_config,
)
from chalicelib.domain.predictive_training import Example, publish_refusals, train
from chalicelib.observability import count, logger
from chalicelib.services import models
from chalicelib.wiring import Deps

#: A model version is one DynamoDB item (at most 400 KB with its other attributes).
MAX_DEFINITION_BYTES = 300_000


def collect_examples(deps: Deps, limit: int) -> list[Example]:
    """Every lead with a known outcome (the newest ``limit`` of each), as its model would have seen it
    when the outcome was recorded (``updated_at``): later interactions are not counted."""
    leads = [
        *deps.scoring.leads_in_state(LEAD_QUALIFIED, limit),
        *deps.scoring.leads_in_state(LEAD_DISQUALIFIED, limit),
    ]
    contacts = {c.contact_id: c for c in deps.store.get_contacts([lead.contact_id for lead in leads])}
    accounts = {
        a.account_id: a
        for a in deps.scoring.get_accounts([c.account_id for c in contacts.values() if c.account_id])
    }
    interactions: dict[str, list[Interaction]] = {}
    examples = []
    for lead in leads:
        contact = contacts.get(lead.contact_id)
        if lead.contact_id not in interactions:
            interactions[lead.contact_id] = deps.scoring.interactions_since(lead.contact_id, None)
        account = accounts.get(contact.account_id) if contact and contact.account_id else None
        seen = observe(lead, contact, account, interactions[lead.contact_id], lead.updated_at)
        examples.append(Example(seen, lead.state == LEAD_QUALIFIED, lead.created_at, lead.lead_id))
    return examples


def _configuration(model_id: str, deps: Deps) -> dict[str, Any]:
    """The definition training starts from: the draft, else the active version, else defaults. Its
    name, grades, sales-ready line and training settings are kept; parameters and metrics replaced."""
    head = deps.scoring.get_head(model_id)
    number = None if head is None else head.draft_version or head.active_version
    version = deps.scoring.get_version(model_id, number) if number is not None else None
    if version is None:
        return {"type": MODEL_TYPE}
    if not is_predictive(version.definition):
        raise ValidationFailed(
            [FieldError("model_id", f"scoring model {model_id!r} is a rule model, not a predictive one")]
        )
    return {k: v for k, v in version.definition.items() if k not in ("parameters", "metrics")}


def _active(model_id: str, deps: Deps) -> PredictiveModel | None:
    head = deps.scoring.get_head(model_id)
    version = (
        deps.scoring.get_version(model_id, head.active_version) if head and head.active_version else None
    )
    if version is None or not is_predictive(version.definition):
        return None
    return parse_predictive(model_id, version.number, version.definition)


def train_model(model_id: str, deps: Deps, now: datetime, *, publish: bool = False) -> dict[str, Any]:
    """Train a new draft version of ``model_id`` (created if new); publish it when asked and the gate
    allows. Raises :class:`NotEnoughOutcomes` (422) with fewer than 40 leads of either outcome."""
    if not valid_form_id(model_id):
        raise ValidationFailed([FieldError("model_id", "model_id must be 1-64 letters, digits, _ or -")])
    base = _configuration(model_id, deps)
    examples = collect_examples(deps, deps.settings.predictive_max_examples)
    active = _active(model_id, deps)
    trained = train(examples, training_config(base), active)
    definition = {
        **base,
        "type": MODEL_TYPE,
        "parameters": trained.parameters,
        "metrics": {**trained.metrics, "trained_at": iso(now)},
    }
    size = len(json.dumps(definition, separators=(",", ":")))
    if size > MAX_DEFINITION_BYTES:
        raise ValidationFailed(
            [
                FieldError(
                    "training",
                    f"the trained model takes {size:,} bytes, more than {MAX_DEFINITION_BYTES:,}: "
                    "leave fields out with training.exclude or lower training.max_levels",
                )
            ]
        )
    candidate = parse_predictive(model_id, 0, definition)
    version = deps.scoring.save_draft(model_id, candidate.name, definition, [], now)
    refusals = [r.as_dict() for r in publish_refusals(candidate, active)]
    count("PredictiveModelTrained")
    result: dict[str, Any] = {
        "model_id": model_id,
        "version": version,
        "state": "draft",
        "algorithm": trained.metrics["algorithm"],
        "auc": trained.metrics["auc"],
        "baseline_auc": trained.metrics["baseline_auc"],
        "examples": trained.metrics["examples"],
        "split": trained.metrics["split"],
        "top_decile": trained.metrics["model"]["top_decile"],
        "brier": trained.metrics["model"]["brier"],
        "publishable": not refusals,
        "refusals": refusals,
    }
    logger.info(
        "predictive model trained",
        extra={k: result[k] for k in ("model_id", "version", "auc", "baseline_auc", "publishable")},
    )
    if publish and not refusals:
        published = models.publish(model_id, deps)
        result.update(state="active", job_id=published.job_id)
    return result


def predictive_model_ids(deps: Deps) -> list[str]:
    """Models whose active (or, never published, draft) version is predictive."""
    found = []
    for head in deps.scoring.heads():
        number = head.active_version or head.draft_version
        version = deps.scoring.get_version(head.model_id, number) if number is not None else None
        if version is not None and is_predictive(version.definition):
            found.append(head.model_id)
    return sorted(found)


@dataclass(frozen=True)
class TrainingQueued:
    job_id: str
    model_id: str
    publish: bool


def start_training(model_id: str, publish: bool, deps: Deps) -> TrainingQueued:
    """Queue a training run (202 with its job id; ``GET /v1/jobs/{id}`` shows its result). Training
    takes longer than an HTTP request may, so the training queue's function (``train_predictive``: 15
    minutes, 1,769 MB) runs it."""
    if not valid_form_id(model_id):
        raise ValidationFailed([FieldError("model_id", "model_id must be 1-64 letters, digits, _ or -")])
    _configuration(model_id, deps)  # a rule model is refused now, not in the job
    now = datetime.now(UTC)
    job_id = new_id("train")
    deps.scoring.create_job(job_id, "train", model_id, 0, 1, now)
    deps.training_queue.send_json(
        {"kind": "train", "job_id": job_id, "model_id": model_id, "publish": publish}
    )
    return TrainingQueued(job_id, model_id, publish)


def run_training_job(message: dict[str, Any], deps: Deps, now: datetime) -> None:
    """One queued training run. A redelivered message finds the job done and does nothing; a refusal
    (too few outcomes) is the job's answer, not a failure to retry."""
    job = deps.scoring.get_job(message["job_id"])
    if job is None or job.result is not None:
        return
    result = _train_or_refusal(str(message["model_id"]), deps, now, publish=bool(message.get("publish")))
    deps.scoring.finish_job(job.job_id, result, _examples_of(result))


def _train_or_refusal(model_id: str, deps: Deps, now: datetime, *, publish: bool) -> dict[str, Any]:
    try:
        return train_model(model_id, deps, now, publish=publish)
    except (ValidationFailed, Conflict) as refused:
        return {"model_id": model_id, "error": {"code": refused.code, "message": refused.message}}


def _examples_of(result: dict[str, Any]) -> int:
    examples = result.get("examples") or {}
    return int(examples.get("positive", 0)) + int(examples.get("negative", 0))


def retrain_all(deps: Deps, now: datetime, model_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """The weekly retrain: one training run per predictive model and ISO week (job
    ``train-<model>-<year>w<week>``), queued on the training queue, whose function has the memory, the
    time and the training layer (the schedule's own function has none of them), and published there when
    the gate allows. A second delivery of the schedule finds the week's job and queues nothing."""
    results: dict[str, Any] = {}
    year, week, _ = now.isocalendar()
    for model_id in model_ids if model_ids is not None else predictive_model_ids(deps):
        job_id = f"train-{model_id}-{year}w{week:02d}"
        if deps.scoring.get_job(job_id) is not None:
            results[model_id] = {"skipped": f"queued this week already ({job_id})"}
            continue
        deps.scoring.create_job(job_id, "train", model_id, 0, 1, now)
        deps.training_queue.send_json(
            {"kind": "train", "job_id": job_id, "model_id": model_id, "publish": True}
        )
        results[model_id] = {"queued": job_id}
    return results
