"""Scoring models as operators manage them: save drafts, read versions, publish, simulate; and jobs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.forms import valid_form_id
from chalicelib.domain.interactions import iso
from chalicelib.domain.predictive import AnyModel, PredictiveModel, evaluate, parse_any
from chalicelib.domain.stored import ModelHead, ModelVersion
from chalicelib.services import scoring
from chalicelib.wiring import Deps


def put_model(model_id: str, body: Any, deps: Deps) -> dict[str, Any]:
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
    answer = {"model_id": model_id, "version": number, "state": "draft", "warnings": list(model.warnings)}
    if segments:
        answer["audience_segments"] = segments
    return answer


def _with_saved_segments(body: dict[str, Any], used: list[str], deps: Deps) -> dict[str, Any]:
    """``"audience": {"segment": "<id>"}`` (alone or inside ``all``/``any``/``not``) becomes the saved
    segment's condition in the version saved now."""
    from chalicelib.domain.segments import expand_segments

    audience, segments = expand_segments(body["audience"], deps.identity.get_segment)
    used.extend(segments)
    return {**body, "audience": audience} if segments else body


def _version_view(version: ModelVersion) -> dict[str, Any]:
    return {
        "version": version.number,
        "state": version.state,
        "created_at": iso(version.created_at),
        "published_at": iso(version.published_at) if version.published_at else None,
        "warnings": version.warnings,
        "definition": version.definition,
    }


def _head_view(head: ModelHead) -> dict[str, Any]:
    return {
        "model_id": head.model_id,
        "name": head.name,
        "active_version": head.active_version,
        "draft_version": head.draft_version,
        "latest_version": head.latest_version,
        "state": "active" if head.active_version is not None else "draft",
        "updated_at": iso(head.updated_at),
    }


def get_model(model_id: str, deps: Deps) -> dict[str, Any]:
    head = deps.scoring.get_head(model_id)
    if head is None:
        raise NotFound("scoring model", model_id)
    versions = [_version_view(v) for v in deps.scoring.versions(model_id)]
    return {**_head_view(head), "versions": sorted(versions, key=lambda v: -v["version"])}


def list_models(deps: Deps) -> dict[str, Any]:
    return {"models": sorted((_head_view(h) for h in deps.scoring.heads()), key=lambda m: m["model_id"])}


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


def simulate(model_id: str, deps: Deps) -> dict[str, Any]:
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
    return {
        "model_id": model_id,
        "draft_version": draft.version,
        "active_version": active.version if active else None,
        "as_of": iso(now),
        "leads_evaluated": evaluated,
        "truncated": evaluated >= limit,
        "scored": scored,
        "per_grade": dict(sorted(grades.items())),
        "sales_ready": sales_ready,
        "crossing": {"into_sales_ready": into[:500], "out_of_sales_ready": out_of[:500]},
    }


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
            members = [contact] if contact else []
            if model.scope == "account" and contact is not None:
                members = scoring.account_contacts(contact, account, deps)
            interactions = [i for c in members for i in deps.scoring.interactions_since(c.contact_id, since)]
            seen = {lead.contact_id: (contact, account, interactions)}
        contact, account, interactions = seen[lead.contact_id]
        yield lead, contact, account, interactions


def get_job(job_id: str, deps: Deps) -> dict[str, Any]:
    job = deps.scoring.get_job(job_id)
    if job is None:
        raise NotFound("job", job_id)
    done = int(job.segments_done) >= int(job.segments)
    if job.kind == "erasure":  # ids and counts only: the job says nothing about who the person was
        result = dict(job.result or {})
        return {
            "job_id": job.job_id,
            "kind": job.kind,
            "state": "done" if done else "running",
            "passes": int(job.segments),
            "passes_done": int(job.segments_done),
            "created_at": iso(job.created_at),
            "result": {
                k: result[k] for k in ("erasure_id", "contact_id", "counts", "erased_at") if k in result
            },
        }
    return {
        "job_id": job.job_id,
        "kind": job.kind,
        "model_id": job.model_id,
        "model_version": int(job.model_version),
        "state": "done" if done else "running",
        "segments": int(job.segments),
        "segments_done": int(job.segments_done),
        "pages_done": int(job.pages_done),
        "leads_scored": int(job.leads_scored),
        "created_at": iso(job.created_at),
        **({"result": job.result} if job.result is not None else {}),
    }
