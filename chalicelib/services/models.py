"""Scoring models as operators manage them: save drafts, read versions, publish, simulate; and jobs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.forms import valid_form_id
from chalicelib.domain.predictive import AnyModel, PredictiveModel, evaluate, parse_any
from chalicelib.domain.stored import Job, ModelHead, ModelVersion
from chalicelib.services import scoring
from chalicelib.wiring import Deps


@dataclass(frozen=True)
class DraftSaved:
    """A draft version saved, its warnings, and the saved segments its audience was built from."""

    model_id: str
    version: int
    warnings: list[str]
    audience_segments: list[str]


@dataclass(frozen=True)
class ModelDetail:
    """A model's head and its versions, newest first."""

    head: ModelHead
    versions: list[ModelVersion]


@dataclass(frozen=True)
class Simulation:
    """The draft against current leads (nothing written): how many it scores, per grade, how many
    are sales-ready, and the leads that would cross the sales-ready line (at most 500 each way)."""

    model_id: str
    draft_version: int
    active_version: int | None
    as_of: datetime
    leads_evaluated: int
    truncated: bool
    scored: int
    per_grade: dict[str, int]
    sales_ready: int
    into_sales_ready: list[str]
    out_of_sales_ready: list[str]


def put_model(model_id: str, body: Any, deps: Deps) -> DraftSaved:
    """Validate and save a new draft version; an invalid model never becomes a draft."""
    if not valid_form_id(model_id):
        raise ValidationFailed([FieldError("model_id", "model_id must be 1-64 letters, digits, _ or -")])
    if isinstance(body, dict) and body.get("id", model_id) != model_id:
        raise ValidationFailed([FieldError("id", "id in the body must match the model id in the path")])
    segments: list[str] = []
    if isinstance(body, dict) and "audience" in body:
        body = _with_saved_segments(body, segments, deps)
    model = parse_any(model_id, 0, body)
    number = deps.scoring.save_draft(model_id, model.name, body, model.warnings, datetime.now(UTC))
    return DraftSaved(model_id, number, list(model.warnings), segments)


def _with_saved_segments(body: dict[str, Any], used: list[str], deps: Deps) -> dict[str, Any]:
    """``"audience": {"segment": "<id>"}`` (alone or inside ``all``/``any``/``not``) becomes the saved
    segment's condition in the version saved now."""
    from chalicelib.domain.segments import expand_segments

    audience, segments = expand_segments(body["audience"], deps.identity.get_segment)
    used.extend(segments)
    return {**body, "audience": audience} if segments else body


def get_model(model_id: str, deps: Deps) -> ModelDetail:
    head = deps.scoring.get_head(model_id)
    if head is None:
        raise NotFound("scoring model", model_id)
    versions = sorted(deps.scoring.versions(model_id), key=lambda v: -v.number)
    return ModelDetail(head, versions)


def list_models(deps: Deps) -> list[ModelHead]:
    """Every model's head, by id."""
    return sorted(deps.scoring.heads(), key=lambda h: h.model_id)


def _load(model_id: str, number: int | None, deps: Deps) -> AnyModel | None:
    if number is None:
        return None
    record = deps.scoring.get_version(model_id, number)
    return parse_any(model_id, number, record.definition) if record else None


def check_publish_gate(model_id: str, head: ModelHead | None, deps: Deps) -> None:
    """A predictive draft replaces the active version only when it passes the publish gate
    (``predictive_training.publish_refusals``); 409 ``publish_gate`` with the reasons otherwise."""
    if head is None or head.draft_version is None:
        return
    draft = _load(model_id, head.draft_version, deps)
    if not isinstance(draft, PredictiveModel):
        return
    from chalicelib.domain.predictive_training import (
        PublishRefused,
        publish_refusals,
    )  # training code: lazily

    active = _load(model_id, head.active_version, deps)
    refusals = publish_refusals(draft, active if isinstance(active, PredictiveModel) else None)
    if refusals:
        raise PublishRefused(
            f"version {draft.version} of {model_id!r} is not published: "
            + "; ".join(r.message for r in refusals),
            [r.as_dict() for r in refusals],
        )


@dataclass(frozen=True)
class Published:
    """The version now active, the one it retired, and the rescoring job that follows."""

    model_id: str
    version: int
    retired_version: int | None
    job_id: str


def publish(model_id: str, deps: Deps) -> Published:
    """Draft -> active (409 with no draft); a rescoring job then scores every lead with it."""
    now = datetime.now(UTC)
    head = deps.scoring.get_head(model_id)
    if head is not None and head.draft_version is None and head.active_version is not None:
        # no draft: but a publish whose rescoring never started (a crash after the switch) finishes here
        job_id = f"publish-{model_id}-v{head.active_version}"
        job = deps.scoring.get_job(job_id)
        if job is None or (job.pages_done == 0 and job.segments_done < job.segments):
            scoring.start_job("publish", (model_id, head.active_version), deps, now, job_id)
            return Published(model_id, head.active_version, None, job_id)
    check_publish_gate(model_id, head, deps)
    version, retired = deps.scoring.publish(model_id, now)
    scoring.forget_models(deps)
    job_id = f"publish-{model_id}-v{version}"
    scoring.start_job("publish", (model_id, version), deps, now, job_id)
    return Published(model_id, version, retired, job_id)


def simulate(model_id: str, deps: Deps) -> Simulation:
    """The draft against current leads, writing nothing: how many it scores, per grade, how many are
    sales-ready, and which leads would cross the sales-ready line compared with the active version."""
    head = deps.scoring.get_head(model_id)
    if head is None:
        raise NotFound("scoring model", model_id)
    draft = _load(model_id, head.draft_version, deps)
    if draft is None:
        raise ValidationFailed(
            [FieldError("model_id", f"scoring model {model_id!r} has no draft to simulate")]
        )
    active = _load(model_id, head.active_version, deps)
    now = datetime.now(UTC)
    grades: Counter[str] = Counter()
    into, out_of = [], []
    evaluated = scored = sales_ready = 0
    limit = deps.settings.simulate_max_leads
    for lead, contact, account, interactions in _leads_with_context(deps, draft, limit):
        evaluated += 1
        new = evaluate(draft, lead, contact, account, interactions, now)
        old = evaluate(active, lead, contact, account, interactions, now) if active else None
        if new is not None:
            scored += 1
            grades[new.grade or "none"] += 1
            sales_ready += new.sales_ready
        was, will = bool(old and old.sales_ready), bool(new and new.sales_ready)
        if will and not was:
            into.append(lead.lead_id)
        elif was and not will:
            out_of.append(lead.lead_id)
    return Simulation(
        model_id=model_id,
        draft_version=draft.version,
        active_version=active.version if active else None,
        as_of=now,
        leads_evaluated=evaluated,
        truncated=evaluated >= limit,
        scored=scored,
        per_grade=dict(sorted(grades.items())),
        sales_ready=sales_ready,
        into_sales_ready=into[:500],
        out_of_sales_ready=out_of[:500],
    )


def _leads_with_context(deps: Deps, model: AnyModel, limit: int) -> Any:
    """Each lead with its contact, account and the interactions the model sees, a contact at a time."""
    since = scoring.lookback_start([model], datetime.now(UTC))
    seen: dict[str, Any] = {}
    for n, lead in enumerate(deps.scoring.iter_leads(page_size=100)):
        if n >= limit:
            return
        if lead.contact_id not in seen:
            contact = deps.store.get_contact(lead.contact_id)
            account = deps.store.get_account(contact.account_id) if contact and contact.account_id else None
            interactions = []
            if contact is not None and model.scope == "account":
                interactions = scoring.account_context([contact], account, since, deps)[1]
            elif contact is not None:
                interactions = deps.scoring.interactions_since(contact.contact_id, since)
            seen = {lead.contact_id: (contact, account, interactions)}
        contact, account, interactions = seen[lead.contact_id]
        yield lead, contact, account, interactions


def get_job(job_id: str, deps: Deps) -> Job:
    job = deps.scoring.get_job(job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job
