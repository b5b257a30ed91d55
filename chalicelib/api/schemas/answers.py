"""The shapes of the answers the routes build from the services' typed results (documented in the
OpenAPI document; schemathesis checks real answers against them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.api.schemas.common import ResponseModel


class Health(ResponseModel):
    status: Literal["ok"]


class PublicSubmission(ResponseModel):
    """What an anonymous visitor is told: that the submission was taken, never whether the person was
    known (no ``contact_created``, no contact or account id: that was an enumeration oracle)."""

    submission_id: str
    status: Literal["accepted"]


class Captured(ResponseModel):
    #: ``null`` for a contact-only form (``"creates_lead": false``): no lead was created or updated.
    lead_id: str | None
    contact_id: str
    lead_created: bool
    contact_created: bool
    account_id: str | None


class Submission(ResponseModel):
    """The full answer (a caller with an ingest key): the capture's ids, or ``erased`` (nothing kept),
    or ``quarantined`` with its reason (the id is then the quarantine record's)."""

    submission_id: str
    status: Literal["accepted", "erased", "quarantined"]
    reason: str | None = None
    lead_id: str | None = None
    contact_id: str | None = None
    lead_created: bool | None = None
    contact_created: bool | None = None
    account_id: str | None = None


class RejectedInteraction(ResponseModel):
    index: int = Field(ge=0)
    error: str


class InteractionsAccepted(ResponseModel):
    accepted: int = Field(ge=0)
    rejected: list[RejectedInteraction]


class Published(ResponseModel):
    model_id: str
    version: int
    retired_version: int | None
    job_id: str


class TrainingQueued(ResponseModel):
    job_id: str
    model_id: str
    publish: bool


class LinkedInChallenge(ResponseModel):
    challengeCode: str  # noqa: N815 - LinkedIn's names
    challengeResponse: str  # noqa: N815
