"""The JSON answers shaped from the services' typed results (``services/leads.py``, the identity and
console services). Key order is part of the answer: tests/contract and the e2e suite compare it."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.interactions import iso
from chalicelib.services.leads import ContactDetail, ContactPage, LeadDetail, LeadPage
from chalicelib.services.reports import BUCKET_WIDTH

if TYPE_CHECKING:
    from chalicelib.domain.opportunities import Opportunity
    from chalicelib.domain.routing import Team, User
    from chalicelib.domain.scoring import Score
    from chalicelib.domain.stored import Job, ModelHead, ModelVersion
    from chalicelib.services.data_rights import ContactExport
    from chalicelib.services.dead_letters import DeadLetters
    from chalicelib.services.duplicates import Suggestion
    from chalicelib.services.erasure import ErasureRequested
    from chalicelib.services.imports import ImportAccepted, ImportProgress, UploadOffered
    from chalicelib.services.lifecycle import TransitionDone
    from chalicelib.services.linkedin import LinkedInMapping
    from chalicelib.services.merges import MergeDone, MergeUndone
    from chalicelib.services.models import DraftSaved, ModelDetail, Simulation
    from chalicelib.services.reports import Distribution, Funnel
    from chalicelib.services.rules import Definition
    from chalicelib.services.segments import SavedSegment, SegmentPage
    from chalicelib.services.webhooks import ActiveSecrets, SecretAdded


# ---------------------------------------------------------------- one entity each


def score_view(score: Score) -> dict[str, Any]:
    return {
        **score.summary(),
        "previous_score": score.previous_score,
        "trend": score.trend,
        "as_of": iso(score.as_of),
        "breakdown": [entry.as_dict() for entry in score.breakdown],
    }


def lead_view(lead: Lead) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "contact_id": lead.contact_id,
        "account_id": lead.account_id,
        "state": lead.state,
        "status": lead.status,
        "topic": lead.topic,
        "source": lead.source,
        "fields": lead.fields,
        "conflicts": lead.conflicts,
        "owner": lead.owner,
        "team": lead.team,
        "created_at": iso(lead.created_at),
        "updated_at": iso(lead.updated_at),
    }


def contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "contact_id": contact.contact_id,
        "email": contact.email,
        "account_id": contact.account_id,
        "marketing_only": contact.marketing_only,
        "consent": contact.consent,
        "consent_history": [
            {"level": c.level, "source": c.source, "at": iso(c.at)} for c in contact.consent_history
        ],
        "fields": contact.fields,
        "last_interaction_at": iso(contact.last_interaction_at) if contact.last_interaction_at else None,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


def account_view(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "domain": account.domain,
        "fields": account.fields,
        "created_at": iso(account.created_at),
    }


def opportunity_view(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity.opportunity_id,
        "lead_id": opportunity.lead_id,
        "contact_id": opportunity.contact_id,
        "account_id": opportunity.account_id,
        "name": opportunity.name,
        "stage": opportunity.stage,
        "status": opportunity.status,
        "owner": opportunity.owner,
        "estimated_value": None
        if opportunity.estimated_value is None
        else float(opportunity.estimated_value),
        "close_date": opportunity.close_date.isoformat() if opportunity.close_date else None,
        "reason": opportunity.reason,
        "closed_at": iso(opportunity.closed_at) if opportunity.closed_at else None,
        "created_at": iso(opportunity.created_at),
        "updated_at": iso(opportunity.updated_at),
        "version": opportunity.version or 0,
    }


def user_view(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "name": user.name,
        "email": user.email,
        "roles": list(user.roles),
        "teams": list(user.teams),
        "capacity": user.capacity,
        "available": user.available,
        "created_at": iso(user.created_at) if user.created_at else None,
        "updated_at": iso(user.updated_at) if user.updated_at else None,
    }


def team_view(team: Team, members: list[User] | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "team_id": team.team_id,
        "name": team.name,
        "distribution": team.distribution,
        "manager": team.manager,
        "created_at": iso(team.created_at) if team.created_at else None,
        "updated_at": iso(team.updated_at) if team.updated_at else None,
    }
    if members is not None:
        shown["members"] = sorted(u.user_id for u in members)
    return shown


def transition_done(done: TransitionDone) -> dict[str, Any]:
    """A lifecycle transition's answer: the lead as it became, the transition, and the opportunity it
    made or those it closed."""
    answer = {**lead_view(done.lead), "transition": done.transition.as_dict()}
    if done.opportunity_id is not None:
        answer["opportunity_id"] = done.opportunity_id
    if done.closed_opportunities:
        answer["closed_opportunities"] = list(done.closed_opportunities)
    return answer


def lead_detail(detail: LeadDetail, duplicate_of: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **lead_view(detail.lead),
        "contact": contact_view(detail.contact) if detail.contact else None,
        "account": account_view(detail.account) if detail.account else None,
        "scores": [score_view(score) for score in detail.scores],
        "duplicate_of": duplicate_of,
    }


def lead_page(page: LeadPage) -> dict[str, Any]:
    leads = []
    for lead in page.leads:
        shown = lead_view(lead)
        about = page.summaries.get(lead.lead_id)
        if about is not None:
            shown.update(
                name=about.name,
                company=about.company,
                score=about.score,
                grade=about.grade,
                score_model=about.score_model,
            )
        if page.scores is not None:  # listed by a model's score: that model's score
            shown["score"] = page.scores[lead.lead_id]
        leads.append(shown)
    return {"leads": leads, "next_cursor": page.next_cursor}


def contact_detail(detail: ContactDetail, duplicate_of: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **contact_view(detail.contact),
        "account": account_view(detail.account) if detail.account else None,
        "leads": [lead_view(lead) for lead in detail.leads],
        "duplicate_of": duplicate_of,
    }


def contact_page(page: ContactPage) -> dict[str, Any]:
    return {"contacts": [contact_view(c) for c in page.contacts], "next_cursor": page.next_cursor}


def contacts_found(contact: Contact | None) -> dict[str, Any]:
    """``GET /v1/contacts?email=``: the one contact holding the address, with its lead ids, or none."""
    found = [{**contact_view(contact), "lead_ids": contact.lead_ids}] if contact else []
    return {"contacts": found, "next_cursor": None}


def contact(contact: Contact) -> dict[str, Any]:
    """A contact as saved (``PUT /v1/contacts/{contact_id}/consent``)."""
    return contact_view(contact)


def saved_segment(segment: SavedSegment) -> dict[str, Any]:
    return {"segment_id": segment.segment_id, **segment.definition}


def segment_page(page: SegmentPage) -> dict[str, Any]:
    return {
        "contacts": [
            {**contact_view(match.contact), "matching_lead_ids": match.matching_lead_ids}
            for match in page.matches
        ],
        "leads_read": page.leads_read,
        "scanned": page.scanned,
        "index": page.index,
        "next_cursor": page.next_cursor,
    }


def _interaction(interaction: Interaction) -> dict[str, Any]:
    return {
        "interaction_id": interaction.interaction_id,
        "type": interaction.type,
        "occurred_at": iso(interaction.occurred_at),
        "lead_id": interaction.lead_id,
        "source": interaction.source,
        "properties": interaction.properties,
    }


def contact_export(export: ContactExport) -> dict[str, Any]:
    """``GET /v1/contacts/{contact_id}/export``: everything held about the person."""
    return {
        "exported_at": iso(export.exported_at),
        "contact": contact_view(export.contact),
        "account": account_view(export.account) if export.account else None,
        "leads": [
            {
                **lead_view(exported.lead),
                "scores": [score_view(s) for s in exported.scores],
                "timeline": exported.timeline,
            }
            for exported in export.leads
        ],
        "interactions": [_interaction(i) for i in export.interactions],
        "opportunities": [opportunity_view(o) for o in export.opportunities],
        "suspected_duplicates": export.suspected_duplicates,
    }


def dead_letters(found: DeadLetters) -> dict[str, Any]:
    """``GET /v1/handoffs/dead-letters`` (each message's keys in the dataclass's order)."""
    return {
        "approximate_count": found.approximate_count,
        "messages": [asdict(message) for message in found.messages],
    }


def redriven(moved: int) -> dict[str, Any]:
    return {"moved": moved}


def merge_done(done: MergeDone) -> dict[str, Any]:
    return {
        "merge_id": done.merge_id,
        "contact_id": done.contact_id,
        "merged_ids": done.merged_ids,
        "lead_ids": done.lead_ids,
        "interactions_moved": done.interactions_moved,
    }


def merge_undone(undone: MergeUndone) -> dict[str, Any]:
    return {"merge_id": undone.merge_id, "state": "undone", "contact_ids": undone.contact_ids}


def definition(found: Definition) -> dict[str, Any]:
    """A qualification rule (``rule_id``) or a trigger (``trigger_id``) with its specification."""
    key = "rule_id" if found.kind == "qualification" else "trigger_id"
    return {key: found.ident, **found.spec}


def erasure_requested(requested: ErasureRequested) -> dict[str, Any]:
    return {
        "job_id": requested.job_id,
        "erasure_id": requested.erasure_id,
        "contact_id": requested.contact_id,
        "state": requested.state,
    }


def funnel(report: Funnel) -> dict[str, Any]:
    """``GET /v1/reports/funnel``."""
    return {
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "source": report.source,
        "stages": [{"stage": stage, "count": count} for stage, count in report.stages],
        "open": report.open,
        "disqualified": {"total": sum(report.disqualified.values()), "reasons": report.disqualified},
        "leads_counted": report.leads_counted,
        "truncated": report.truncated,
    }


def distribution(report: Distribution) -> dict[str, Any]:
    """``GET /v1/reports/scores/{model_id}``: buckets ``from``-``to`` (both included)."""
    return {
        "model_id": report.model_id,
        "scored": report.scored,
        "sales_ready": report.sales_ready,
        "buckets": [
            {"from": low, "to": low + BUCKET_WIDTH - 1, "count": count} for low, count in report.buckets
        ],
        "grades": report.grades,
        "truncated": report.truncated,
    }


def draft_saved(saved: DraftSaved) -> dict[str, Any]:
    """``PUT /v1/scoring-models/{model_id}`` (``audience_segments`` only when the audience used one)."""
    answer: dict[str, Any] = {
        "model_id": saved.model_id,
        "version": saved.version,
        "state": "draft",
        "warnings": saved.warnings,
    }
    if saved.audience_segments:
        answer["audience_segments"] = saved.audience_segments
    return answer


def _model_version(version: ModelVersion) -> dict[str, Any]:
    return {
        "version": version.number,
        "state": version.state,
        "created_at": iso(version.created_at),
        "published_at": iso(version.published_at) if version.published_at else None,
        "warnings": version.warnings,
        "definition": version.definition,
    }


def model_head(head: ModelHead) -> dict[str, Any]:
    return {
        "model_id": head.model_id,
        "name": head.name,
        "active_version": head.active_version,
        "draft_version": head.draft_version,
        "latest_version": head.latest_version,
        "state": "active" if head.active_version is not None else "draft",
        "updated_at": iso(head.updated_at),
    }


def model_detail(detail: ModelDetail) -> dict[str, Any]:
    return {**model_head(detail.head), "versions": [_model_version(v) for v in detail.versions]}


def model_list(heads: list[ModelHead]) -> dict[str, Any]:
    return {"models": [model_head(head) for head in heads]}


def simulation(found: Simulation) -> dict[str, Any]:
    return {
        "model_id": found.model_id,
        "draft_version": found.draft_version,
        "active_version": found.active_version,
        "as_of": iso(found.as_of),
        "leads_evaluated": found.leads_evaluated,
        "truncated": found.truncated,
        "scored": found.scored,
        "per_grade": found.per_grade,
        "sales_ready": found.sales_ready,
        "crossing": {
            "into_sales_ready": found.into_sales_ready,
            "out_of_sales_ready": found.out_of_sales_ready,
        },
    }


def job_status(job: Job) -> dict[str, Any]:
    """``GET /v1/jobs/{job_id}``: an erasure job shows ids and counts only (nothing about who the
    person was); a rescoring job its progress."""
    done = int(job.segments_done) >= int(job.segments)
    if job.kind == "erasure":
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


def suggestion(found: Suggestion) -> dict[str, Any]:
    """A suspected duplicate shown beside a lead or contact (``duplicate_of``)."""
    return {
        "contact_id": found.contact_id,
        "confidence": found.confidence,
        "strength": found.strength,
        "reasons": found.reasons,
    }


def import_progress(progress: ImportProgress) -> dict[str, Any]:
    """``GET /v1/imports/{import_id}`` (``file`` once the file is read, ``error`` when it failed)."""
    head = progress.head
    total = head.rows_total
    answer: dict[str, Any] = {
        "import_id": head.import_id,
        "name": head.name,
        "status": head.status,
        "created_at": head.created_at.isoformat(),
        "updated_at": head.updated_at.isoformat(),
        "rows_total": total,
        "rows_done": head.rows_done,
        "progress": round(head.rows_done / total, 4)
        if total
        else (1.0 if head.status == "completed" else 0.0),
        "counts": {
            "created": head.created,
            "updated": head.updated,
            "duplicates": head.duplicates,
            "rejected": head.rejected,
        },
        "interactions": head.interactions,
        "errors": progress.errors,
        "errors_truncated": progress.errors_truncated,
        "mapping": head.mapping,
    }
    if head.columns:
        answer["file"] = {"encoding": head.encoding, "delimiter": head.delimiter, "columns": head.columns}
    if head.error:
        answer["error"] = head.error
    return answer


def secret_added(added: SecretAdded) -> dict[str, Any]:
    return {
        "source": added.source,
        "secret_id": added.secret_id,
        "secret": added.secret,
        "created_at": added.created_at,
        "active_secret_ids": added.active_secret_ids,
    }


def active_secrets(kept: ActiveSecrets) -> dict[str, Any]:
    return {"source": kept.source, "active_secret_ids": kept.active_secret_ids}


def linkedin_mapping(found: LinkedInMapping) -> dict[str, Any]:
    return {"form_urn": found.form_urn, **found.mapping}


def import_accepted(accepted: ImportAccepted) -> dict[str, Any]:
    """``POST /v1/imports`` with a CSV body (202)."""
    resolved = accepted.resolved
    return {
        "import_id": accepted.import_id,
        "status": "planning",
        "columns": resolved.mapped,
        "unmapped": resolved.unmapped,
        "ignored": resolved.ignored,
    }


def upload_offered(offered: UploadOffered) -> dict[str, Any]:
    """``POST /v1/imports`` with JSON (201): where to ``PUT`` the file."""
    return {
        "import_id": offered.import_id,
        "status": "awaiting_upload",
        "upload": {
            "method": "PUT",
            "url": offered.url,
            "headers": {"Content-Type": "text/csv"},
            "expires_in": offered.expires_in,
        },
    }
