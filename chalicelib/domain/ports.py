"""What the use cases need from the outside world, named in the product's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.access import ApiKey
from chalicelib.domain.capture import Capture
from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.forms import FormDefinition
from chalicelib.domain.matching import CapturePlan, Known


@dataclass(frozen=True)
class LeadFilter:
    state: str | None = None
    status: str | None = None
    source: str | None = None
    contact_id: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class ModelHead:
    """Which version of a scoring model is the draft and which is active."""

    model_id: str
    name: str
    latest_version: int
    draft_version: int | None
    active_version: int | None
    updated_at: datetime


@dataclass(frozen=True)
class ModelVersion:
    model_id: str
    number: int
    definition: dict[str, Any]
    state: str
    warnings: list[str]
    created_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk of an import did: counted once on the import's head."""

    chunk: int
    rows: int
    counts: dict[str, int]
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class ImportHead:
    """An import: its mapping, status and counters (``rows_total`` etc. once its file is planned)."""

    import_id: str
    name: str | None
    status: str
    mapping: dict[str, Any]
    object_key: str
    created_at: datetime
    updated_at: datetime
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] | None = None
    error: dict[str, Any] | None = None
    rows_total: int | None = None
    chunks_total: int | None = None
    chunks_done: int = 0
    rows_done: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    interactions: int = 0


@dataclass(frozen=True)
class ImportChunk:
    chunk: int
    rows: int
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class OutboxEntry:
    """A hand-off in the outbox: ``pending`` until the publisher sent it (or withheld it)."""

    handoff_id: str
    lead_id: str
    kind: str
    state: str
    #: The message as the sales system receives it (``chalicelib/integrations/handoff.py``).
    envelope: str


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    model_id: str
    model_version: int
    segments: int
    segments_done: int
    pages_done: int
    leads_scored: int
    created_at: datetime
    result: dict[str, Any] | None = None


class LeadStore(Protocol):
    """Contacts, accounts, leads and interactions. Writes are conditional; a lost race raises
    :class:`~chalicelib.domain.errors.ConcurrentUpdate` and writes nothing."""

    def find_for_capture(self, capture: Capture) -> Known: ...

    def write_capture(self, plan: CapturePlan, interaction: Interaction | None) -> None: ...

    def get_contact(self, contact_id: str) -> Contact | None: ...

    def get_account(self, account_id: str) -> Account | None: ...

    def get_lead(self, lead_id: str) -> Lead | None: ...

    def get_leads(self, lead_ids: Sequence[str]) -> list[Lead]: ...

    def list_leads(self, where: LeadFilter, limit: int, cursor: str | None) -> Page: ...

    def get_contacts(self, contact_ids: Sequence[str]) -> list[Contact]: ...

    def contact_for_email(self, email: str, now: datetime) -> str:
        """The id of the contact with this email, created (consent ``none``) when there is none."""
        ...

    def record_interaction(self, interaction: Interaction) -> bool:
        """Append an interaction; ``False`` when that interaction was recorded before."""
        ...

    def note_activity(self, contact_id: str, at: datetime) -> None: ...


class FormStore(Protocol):
    def get_form(self, form_id: str) -> FormDefinition | None: ...

    def put_form(self, form_id: str, form: FormDefinition, now: datetime) -> bool:
        """Store a form definition; ``True`` when it is new."""
        ...

    def quarantine(self, form_id: str, reason: str, payload: dict[str, Any], now: datetime) -> str: ...


class KeyStore(Protocol):
    def find_key(self, key_hash: str) -> ApiKey | None: ...

    def put_key(self, key_hash: str, key: ApiKey) -> None: ...


class TrackingQueue(Protocol):
    def send(self, interactions: list[dict[str, Any]]) -> None: ...
