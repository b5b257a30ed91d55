"""What the use cases need from the outside world, named in the product's language: one ``Protocol``
per aggregate (the stores in ``chalicelib/store`` and the adapters in ``chalicelib/integrations``
implement them; ``tests/fakes.py`` implements them in memory). The plain values they exchange besides the
entities are in ``stored.py``.

Writes are conditional: a lost race raises :class:`~chalicelib.domain.errors.ConcurrentUpdate` and writes
nothing, so a use case re-reads and tries again (``chalicelib/store/retry.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from chalicelib.domain.access import ApiKey
from chalicelib.domain.capture import Capture
from chalicelib.domain.duplicates import Suspicion
from chalicelib.domain.email import EmailTemplate, Message, MessageFilter, Rendered
from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.forms import FormDefinition
from chalicelib.domain.import_jobs import ChunkResult, ImportChunk, ImportHead
from chalicelib.domain.journeys import Enrollment, JourneyHead
from chalicelib.domain.lifecycle import Transition
from chalicelib.domain.matching import CapturePlan, Known
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.outbox import EncodedHandoff, OutboxEntry
from chalicelib.domain.ratelimits import Decision, Limit
from chalicelib.domain.reports import LeadStage, ScoreLine
from chalicelib.domain.routing import AssignmentRecord, AssignmentWrite, Roster, Team, User
from chalicelib.domain.scoring import Score
from chalicelib.domain.stored import Job, LeadFilter, ModelHead, ModelVersion, OpportunityFilter, Page
from chalicelib.domain.tokens import PublicKey

K_contra = TypeVar("K_contra", contravariant=True)
V = TypeVar("V")


# ---------------------------------------------------------------- contacts, accounts, leads


class LeadStore(Protocol):
    """Contacts, accounts, leads and interactions, and the capture that writes them together."""

    def find_for_capture(self, capture: Capture) -> Known: ...

    def write_capture(
        self, plan: CapturePlan, interaction: Interaction | None, receipt: str | None = None
    ) -> None:
        """All or nothing; ``AlreadyReceived`` when ``receipt`` was claimed by an earlier capture."""
        ...

    def get_contact(self, contact_id: str) -> Contact | None: ...

    def get_account(self, account_id: str) -> Account | None: ...

    def get_lead(self, lead_id: str) -> Lead | None: ...

    def get_leads(self, lead_ids: Sequence[str]) -> list[Lead]: ...

    def list_leads(self, where: LeadFilter, limit: int, cursor: str | None) -> Page: ...

    def list_contacts(self, marketing_only: bool | None, limit: int, cursor: str | None) -> Page: ...

    def contact_by_email(self, email: str) -> Contact | None: ...

    def get_contacts(self, contact_ids: Sequence[str], consistent: bool = True) -> list[Contact]: ...

    def interactions_of(self, contact_id: str) -> Iterator[Interaction]: ...

    def contact_for_email(self, email: str, now: datetime) -> str | None:
        """The id of the contact with this email, created (consent ``none``) when there is none;
        ``None`` when the email was erased."""
        ...

    def restamp_interactions(self, contact_id: str, account_id: str | None) -> int: ...

    def recount_interactions(self, contact_id: str, attempts: int = 5) -> bool: ...

    def record_interaction(self, interaction: Interaction) -> bool:
        """Append an interaction; ``False`` when that interaction was recorded before."""
        ...

    def note_activity(self, contact_id: str, at: datetime) -> None: ...


class ReceiptStore(Protocol):
    """Events received once (a webhook delivery, a LinkedIn response, an imported row), and the
    notices claimed so that one is sent once."""

    def receipt(self, key: str) -> dict[str, Any] | None: ...

    def erase_capture(self, detail: dict[str, Any]) -> None: ...

    def mark_receipt(self, key: str, detail: dict[str, Any], now: datetime) -> bool: ...

    def claim_notice(self, key: str, now: datetime) -> bool: ...

    def notice_done(self, key: str) -> None: ...

    def release_notice(self, key: str) -> None: ...

    def replace_receipt(self, key: str, detail: dict[str, Any], now: datetime) -> None: ...


class FormStore(Protocol):
    def get_form(self, form_id: str) -> FormDefinition | None: ...

    def put_form(self, form_id: str, form: FormDefinition, now: datetime) -> bool:
        """Store a form definition; ``True`` when it is new."""
        ...


class QuarantineStore(Protocol):
    """Submissions held back by screening, until an operator releases them."""

    def quarantine(
        self,
        form_id: str,
        reason: str,
        payload: dict[str, Any],
        now: datetime,
        signals: Sequence[str] = (),
    ) -> str: ...

    def get_quarantined(self, quarantine_id: str) -> dict[str, Any] | None: ...

    def list_quarantined(
        self, wanted: dict[str, str], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    def mark_released(self, quarantine_id: str, capture: dict[str, Any], now: datetime) -> None: ...


class KeyStore(Protocol):
    def find_key(self, key_hash: str) -> ApiKey | None: ...

    def put_key(self, key_hash: str, key: ApiKey) -> None: ...


class SigningKeys(Protocol):
    """The user pool's token signing keys by ``kid`` (``integrations/jwks.py``), kept per container."""

    def keys(self, refresh: bool = False) -> Mapping[str, PublicKey]:
        """``refresh``: read them again (a token named an unknown ``kid``), rate-limited."""
        ...


class RecordStore(LeadStore, ReceiptStore, FormStore, QuarantineStore, KeyStore, Protocol):
    """The tables of people and what they sent (one adapter, ``store/dynamo.py``, serves them all)."""


class Cache(Protocol[K_contra, V]):
    """What a container keeps for a few seconds: ``load()`` when absent or older than ``max_age``."""

    def get(self, key: K_contra, load: Callable[[], V], max_age: float) -> V: ...

    def forget(self, key: K_contra) -> None: ...

    def clear(self) -> None: ...


# ---------------------------------------------------------------- scoring


class ModelStore(Protocol):
    """Scoring models: a head per model (which version is the draft, which is active) and versions."""

    def get_head(self, model_id: str) -> ModelHead | None: ...

    def heads(self) -> list[ModelHead]: ...

    def versions(self, model_id: str) -> list[ModelVersion]: ...

    def get_version(self, model_id: str, number: int) -> ModelVersion | None: ...

    def save_draft(
        self, model_id: str, name: str, definition: dict[str, Any], warnings: Sequence[str], now: datetime
    ) -> int: ...

    def publish(self, model_id: str, now: datetime) -> tuple[int, int | None]: ...

    def active_definitions(self) -> list[tuple[str, int, dict[str, Any]]]: ...


class ScoreStore(Protocol):
    """Each lead's score per model; a score is written only over an older evaluation (``as_of``)."""

    def scores_of(self, lead_id: str) -> dict[str, Score]: ...

    def scores_for(
        self, lead_ids: Sequence[str], model_ids: Sequence[str]
    ) -> dict[str, dict[str, Score]]: ...

    def put_score(
        self, lead: Lead, score: Score, ages: bool, replacing: Score | None = None, *, compare: bool = False
    ) -> bool: ...

    def delete_score(
        self, lead_id: str, model_id: str, as_of: datetime, held: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """``held``: the removed score's timeline entries (``Score.timeline``), kept as history."""
        ...

    def due_scores(self, now: datetime, limit: int = 500) -> list[tuple[str, str, str]]:
        """``(lead_id, model_id, contact_id)`` whose timer (``Score.next_check_at``) is due."""
        ...

    def clear_timer(self, lead_id: str, model_id: str, now: datetime) -> bool: ...

    def leads_by_score(
        self,
        model_id: str,
        grade: str | None,
        min_score: float | None,
        limit: int,
        cursor: str | None,
        below: float | None = None,
    ) -> Page: ...


class ScoringReads(Protocol):
    """What scoring reads of leads, accounts and interactions in bulk (pages, scans, indexes)."""

    def contacts_of_account(self, account_id: str) -> list[str]: ...

    def interactions_since(self, contact_id: str, since: datetime | None) -> list[Interaction]: ...

    def interactions_of_account(self, account_id: str, since: datetime | None) -> list[Interaction]: ...

    def latest_interactions(self, contact_id: str, limit: int) -> list[Interaction]: ...

    def scan_leads(
        self, segment: int, segments: int, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Lead], dict[str, Any] | None]: ...

    def leads_in_state(self, state: str, limit: int) -> list[Lead]: ...

    def get_accounts(self, account_ids: Sequence[str], consistent: bool = False) -> list[Account]: ...

    def iter_leads(self, page_size: int) -> Iterator[Lead]: ...


class JobStore(Protocol):
    """Background jobs (rescoring, training, erasure): pages and segments are counted once."""

    def create_job(
        self, job_id: str, kind: str, model_id: str, model_version: int, segments: int, now: datetime
    ) -> bool: ...

    def get_job(self, job_id: str) -> Job | None: ...

    def finish_job(self, job_id: str, result: dict[str, Any], leads: int) -> None: ...

    def set_job_result(self, job_id: str, result: dict[str, Any]) -> None: ...

    def record_page(self, job_id: str, page_id: str, leads: int, segment_done: bool) -> None: ...


class ScoringRepository(ModelStore, ScoreStore, ScoringReads, JobStore, Protocol):
    """Models, scores and jobs (one adapter, ``store/scoring.py``)."""


# ---------------------------------------------------------------- qualification and hand-offs


class RuleStore(Protocol):
    """Qualification rules and triggers (``kind``), stored whole under their id."""

    def put_rule(self, kind: str, rule_id: str, definition: dict[str, Any], now: datetime) -> bool: ...

    def get_rule(self, kind: str, rule_id: str) -> dict[str, Any] | None: ...

    def rules(self, kind: str, max_age: float = 0.0) -> list[tuple[str, dict[str, Any]]]: ...


class OutboxStore(Protocol):
    """The lead's changes and the hand-offs they cause, written together (the transactional outbox)."""

    def write_lead_change(
        self,
        lead: Lead,
        transition: Transition | None,
        handoffs: Sequence[EncodedHandoff],
        now: datetime,
        contact: Contact | None = None,
        opportunity: Opportunity | None = None,
        closed_opportunities: Sequence[Opportunity] = (),
        assignment: AssignmentWrite | None = None,
    ) -> None:
        """``opportunity``: one the change creates; ``closed_opportunities``: the lead's open ones it
        closes, each conditioned on the version read; ``assignment``: what assigning the lead moves (the
        team's turn, conditioned on the turn read; open-lead counters; the assignment and its timer)."""
        ...

    def write_handoffs(self, handoffs: Sequence[EncodedHandoff], now: datetime) -> bool: ...

    def mark_sent(self, handoff_id: str, now: datetime) -> None: ...

    def mark_withheld(self, handoff_id: str, now: datetime) -> bool: ...

    def unsent(self, older_than: datetime, limit: int) -> list[str]: ...

    def get_handoff(self, handoff_id: str) -> OutboxEntry | None: ...


class HistoryStore(Protocol):
    """A lead's timeline (transitions, score changes, hand-offs)."""

    def add_history(
        self, lead_id: str, kind: str, ident: str, at: datetime, data: dict[str, Any]
    ) -> None: ...

    def history(self, lead_id: str, limit: int, held: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
        """Newest first; ``held``: the entries the lead item keeps (``Lead.timeline``), merged in."""
        ...


class OpportunityStore(Protocol):
    """The opportunities qualified leads became (created and closed with their lead's change)."""

    def get_opportunity(self, opportunity_id: str) -> Opportunity | None: ...

    def save_opportunity(self, opportunity: Opportunity) -> Opportunity: ...

    def opportunities_of_lead(self, lead_id: str) -> list[Opportunity]: ...

    def list_opportunities(self, where: OpportunityFilter, limit: int, cursor: str | None) -> Page: ...

    def every_opportunity(self, limit: int) -> Iterator[Opportunity]: ...


class HandoffRepository(RuleStore, OutboxStore, HistoryStore, OpportunityStore, Protocol):
    """Rules, the outbox, the lead's history and its opportunities (one adapter, ``store/handoffs.py``)."""


# ---------------------------------------------------------------- people and routing


class PeopleStore(Protocol):
    """Users, teams and assignment rules (as the admin wrote them) and the roster routing reads."""

    def get_user(self, user_id: str) -> User | None: ...

    def put_user(self, user: User, now: datetime) -> bool:
        """``True`` when the user is new."""
        ...

    def users(self) -> list[User]: ...

    def get_team(self, team_id: str) -> Team | None: ...

    def put_team(self, team: Team, now: datetime) -> bool: ...

    def teams(self) -> list[Team]: ...

    def put_assignment_rule(self, rule_id: str, definition: dict[str, Any], now: datetime) -> bool: ...

    def get_assignment_rule(self, rule_id: str) -> dict[str, Any] | None: ...

    def delete_assignment_rule(self, rule_id: str) -> bool: ...

    def assignment_rules(self, max_age: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        """With ``max_age``: a list read at most that many seconds ago (the stream functions)."""
        ...

    def roster(self) -> Roster:
        """Users, teams, the teams' turns and the reps' open leads, read consistently."""
        ...


class AssignmentStore(Protocol):
    """Each lead's assignments and their SLA timers (written in the lead's transaction through
    ``OutboxStore.write_lead_change(assignment=...)``), and a person's leads by index."""

    def get_assignment(self, lead_id: str, number: int) -> AssignmentRecord | None: ...

    def assignments_of(self, lead_id: str) -> list[AssignmentRecord]: ...

    def due_timers(self, now: datetime, limit: int) -> list[tuple[str, int]]: ...

    def settle_timer(self, lead_id: str, number: int, now: datetime) -> bool: ...

    def note_first_activity(self, lead_id: str, number: int, at: datetime) -> bool:
        """Assignment ``number``'s first activity, kept once; ``False`` when one is kept already (or
        ``at`` is before the assignment)."""
        ...

    def forget_lead(self, lead_id: str) -> int:
        """Delete a lead's assignments (an erasure); the number deleted."""
        ...

    def assignments_qualified(self, since: datetime, until: datetime) -> Iterator[AssignmentRecord]: ...

    def leads_of_owner(self, owner: str, where: LeadFilter, limit: int, cursor: str | None) -> Page:
        """A person's leads, newest first, from an index on the owner (never a scan)."""
        ...


# ---------------------------------------------------------------- working a lead


class WorkStore(Protocol):
    """What working a lead writes (``store/working.py``): each write one transaction conditioned on the
    versions read (``ConcurrentUpdate`` and nothing written when another write came first), and the
    bounded reads of the 360° view."""

    def write_lead_edit(
        self, lead: Lead, contact: Contact | None, at: datetime, entry: dict[str, Any]
    ) -> None:
        """The edited lead (and contact) on the versions read, with the edit on the lead's timeline."""
        ...

    def add_note(self, lead_id: str, note_id: str, at: datetime, entry: dict[str, Any]) -> None:
        """A note on the lead's timeline, only while the lead exists (``ConcurrentUpdate`` otherwise)."""
        ...

    def write_link(
        self,
        lead: Lead,
        old: Contact | None,
        new: Contact,
        created: bool,
        email_key: str | None,
        at: datetime,
        entry: dict[str, Any],
        opportunities: Sequence[Opportunity] = (),
    ) -> None:
        """The lead moved to ``new`` (created, with its e-mail claim ``email_key``, when ``created``),
        both contacts' ``lead_ids``, the lead's ``opportunities`` (their contact, on the versions
        read) and the move on the timeline: all or nothing. A claim taken
        meanwhile raises :class:`~chalicelib.domain.errors.ConcurrentUpdate`."""
        ...

    def email_owner(self, email: str) -> tuple[str | None, bool]:
        """``(contact id holding the e-mail's claim, erased)``: who has this address, and whether a
        person with it was erased (a tombstone)."""
        ...

    def interactions_page(self, contact_id: str, limit: int, cursor: str | None) -> Page:
        """The contact's interactions, newest first, ``limit`` at a time (one index query)."""
        ...

    def contacts_of_account(self, account_id: str, limit: int) -> list[str]:
        """Up to ``limit`` contact ids of an account (its index)."""
        ...


# ---------------------------------------------------------------- identity


class DuplicateStore(Protocol):
    """Who shares a contact's blocking keys (held on the contacts themselves), and suspected duplicates;
    rewriting the same items changes nothing."""

    def candidates(self, contact: Contact, limit: int = 50) -> set[str]: ...

    def record_suspicions(self, suspicions: Iterable[Suspicion], now: datetime) -> int: ...

    def suspects_of(self, contact_id: str) -> list[dict[str, Any]]: ...

    def list_duplicates(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...

    def forget_contact(self, contact_id: str) -> int: ...


class MergeStore(Protocol):
    """Merges (one transaction on the versions read) and the repeatable moves that follow them."""

    def write_merge(
        self, survivor: Contact, duplicates: list[Contact], merge_id: str, data: dict[str, Any], now: datetime
    ) -> None: ...

    def write_unmerge(
        self, survivor: Contact, restored: list[Contact], merge_id: str, data: dict[str, Any], now: datetime
    ) -> None: ...

    def note_moved_interactions(self, merge_id: str, moved: dict[str, list[str]]) -> None: ...

    def get_merge(self, merge_id: str) -> dict[str, Any] | None: ...

    def move_lead(self, lead_id: str, from_id: str, to_id: str) -> bool: ...

    def move_interactions(
        self, from_id: str, to_id: str, only: set[str] | None = None, account_id: str | None = None
    ) -> list[str]: ...


class ContactWriter(Protocol):
    def save_contact(self, contact: Contact) -> None:
        """On the version read (``ConcurrentUpdate`` when another write came first)."""
        ...


class SegmentStore(Protocol):
    def put_segment(self, segment_id: str, definition: dict[str, Any], now: datetime) -> bool: ...

    def get_segment(self, segment_id: str) -> dict[str, Any] | None: ...


class ErasureStore(Protocol):
    """Erasures: effective at once (marker, tombstone, ``erasing``), then repeatable deletion passes."""

    def erased(self, contact_id: str) -> str | None: ...

    def erasure_marker(self, contact_id: str) -> dict[str, Any] | None: ...

    def begin_erasure(self, contact: Contact, data: dict[str, Any], now: datetime) -> None: ...

    def erase_person(
        self,
        contact_id: str,
        email: str | None,
        lead_ids: list[str],
        account_id: str | None,
        personal: list[str],
    ) -> dict[str, Any]: ...

    def finish_erasure(
        self, contact_id: str, erasure_id: str, counts: dict[str, Any], now: datetime
    ) -> None: ...


class IdentityRepository(DuplicateStore, MergeStore, ContactWriter, SegmentStore, ErasureStore, Protocol):
    """Duplicates, merges, segments and erasures (one adapter, ``store/identity.py``)."""


# ---------------------------------------------------------------- imports, files, queues


class ImportStore(Protocol):
    def create(
        self,
        import_id: str,
        name: str | None,
        mapping: dict[str, Any],
        object_key: str,
        now: datetime,
        status: str = "awaiting_upload",
    ) -> bool: ...

    def head(self, import_id: str) -> ImportHead | None: ...

    def chunks(self, import_id: str) -> list[ImportChunk]: ...

    def start_planning(self, import_id: str, now: datetime) -> bool: ...

    def planned(
        self, import_id: str, facts: dict[str, Any], rows: int, chunks: int, now: datetime
    ) -> None: ...

    def failed(self, import_id: str, error: dict[str, Any], now: datetime) -> None: ...

    def chunk_done(self, import_id: str, result: ChunkResult, now: datetime) -> bool:
        """Count a chunk once; ``False`` when it was counted before."""
        ...


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "text/csv") -> None: ...

    def get(self, key: str, max_bytes: int) -> bytes: ...

    def keys(self, prefix: str) -> list[str]: ...

    def upload_url(self, key: str, expires_seconds: int) -> str: ...


class Queue(Protocol):
    """A work queue (JSON messages); FIFO queues take a group and a deduplication id."""

    def send_json(self, body: dict[str, Any], delay_seconds: int = 0) -> None: ...

    def send_raw(self, body: str) -> None: ...

    def send_fifo(self, body: str, group: str, deduplication_id: str) -> None: ...

    def send_many(self, bodies: list[dict[str, Any]]) -> None: ...


class TrackingQueue(Queue, Protocol):
    def send(self, interactions: list[dict[str, Any]]) -> None: ...


class QueueAdmin(Protocol):
    """Looking into queues (dead letters) and moving or removing what waits there."""

    def depth(self, url: str) -> int: ...

    def peek(self, url: str, limit: int) -> list[dict[str, Any]]: ...

    def redrive(self, source_url: str, target_url: str) -> int: ...

    def sweep(self, url: str, doomed: Callable[[dict[str, Any]], bool]) -> tuple[int, bool]: ...


class RateLimiter(Protocol):
    """Token buckets by name (``domain/ratelimits.py``); raises
    :class:`~chalicelib.domain.ratelimits.LimiterUnavailable` when the buckets cannot be reached."""

    def take(self, bucket: str, limit: Limit, now_ms: int | None = None) -> Decision: ...


class ReportReads(Protocol):
    """The console's reports: index queries only, never a scan."""

    def leads_in_state(
        self, state: str, since: datetime | None, until: datetime | None
    ) -> Iterator[LeadStage]:
        """The leads in ``state`` created in ``[since, until]``, newest first."""
        ...

    def scores_of_model(self, model_id: str) -> Iterator[ScoreLine]:
        """Every current score of a model, highest first."""
        ...


#: The retry queue of each stream consumer (``note_activity``, ``qualify``, ...).
RetryQueues = Mapping[str, Queue]


# ---------------------------------------------------------------- e-mail (issue 18)


class MailStore(Protocol):
    """E-mail templates (versioned), messages (written before SES is called) and suppressed addresses."""

    def put_template(self, template: EmailTemplate, now: datetime) -> EmailTemplate:
        """Save a new version; the template as saved (its ``version``)."""
        ...

    def get_template(self, template_id: str, version: int | None = None) -> EmailTemplate | None: ...

    def list_templates(self, limit: int) -> list[EmailTemplate]: ...

    def claim_message(self, message: Message) -> Message | None:
        """Write ``message`` unless one with its id exists: ``None`` when written, else the one there."""
        ...

    def finish_message(
        self, message_id: str, status: str, ses_message_id: str | None, reason: str | None, now: datetime
    ) -> None:
        """Move a ``sending`` message on (``sent`` with SES's id, or ``failed``)."""
        ...

    def get_message(self, message_id: str) -> Message | None: ...

    def list_messages(self, where: MessageFilter, limit: int, cursor: str | None) -> Page:
        """Messages (``Message``) newest first from a keyed read (never a scan), and the next cursor."""
        ...

    def sent_since(self, contact_id: str, since: datetime) -> int:
        """Messages that count against the frequency cap (sending or sent, marketing) since ``since``."""
        ...

    def claim_within_cap(
        self, message: Message, cap: int, since: datetime
    ) -> tuple[Message | None, int | None]:
        """:meth:`claim_message` and a slot of the contact's frequency cap in one conditional write:
        ``(None, None)`` claimed; ``(earlier, None)`` the message existed (nothing taken); ``(None, n)``
        refused, ``n`` e-mails since ``since`` hold the cap (nothing written). Two concurrent calls
        cannot both take the last slot."""
        ...

    def release_cap(self, contact_id: str, message_id: str) -> None:
        """Give back the slot of a message SES refused for certain (it was not sent)."""
        ...

    def count_event(self, message_id: str, kind: str) -> None:
        """One more open (``opens``) or click (``clicks``) on the message."""
        ...

    def suppression(self, email: str) -> str | None:
        """Why this address is suppressed (bounce, complaint), or ``None``."""
        ...

    def suppress(self, email: str, reason: str, now: datetime) -> None: ...

    def forget_contact(self, contact_id: str) -> int:
        """Delete every message to the contact (an erasure); how many. Suppressions stay: they say
        only that an address must never be e-mailed again, by its hash."""
        ...


class Mailer(Protocol):
    """Sends one e-mail (Amazon SES v2); the provider's message id."""

    def send(
        self, sender: str, to: str, rendered: Rendered, headers: dict[str, str], tags: dict[str, str]
    ) -> str: ...


# ---------------------------------------------------------------- journeys (issue 18)


class JourneyStore(Protocol):
    """Journeys: versioned definitions and their heads, enrollments (with their due timers), each
    person's last engagements, and the report's counters (``store/journeys.py``)."""

    def put_version(
        self, journey_id: str, name: str, entry: dict[str, Any], definition: dict[str, Any], now: datetime
    ) -> JourneyHead: ...

    def get_head(self, journey_id: str) -> JourneyHead | None: ...

    def heads(self, max_age: float = 0.0) -> list[JourneyHead]: ...

    def get_version(self, journey_id: str, version: int) -> dict[str, Any] | None: ...

    def set_state(self, journey_id: str, expected: Sequence[str], state: str, now: datetime) -> bool: ...

    def get_enrollment(self, contact_id: str, journey_id: str) -> Enrollment | None: ...

    def get_enrollments(self, contact_ids: Sequence[str], journey_id: str) -> list[Enrollment]:
        """These people's enrollments in one journey (a stopped journey's page), read consistently."""
        ...

    def enrollments_of(self, contact_id: str) -> list[Enrollment]: ...

    def contacts_in_journey(
        self, journey_id: str, limit: int, cursor: str | None
    ) -> tuple[list[str], str | None]: ...

    def enroll(self, enrollment: Enrollment, previous: Enrollment | None, waiting: bool) -> bool: ...

    def advance(
        self,
        before: Enrollment,
        after: Enrollment,
        waiting: bool,
        counts: dict[str, dict[str, int]],
    ) -> bool: ...

    def due(self, now: datetime, limit: int = 500) -> list[tuple[str, str]]: ...

    def note_event(self, contact_id: str, key: str, at: datetime) -> None: ...

    def events_of(self, contact_id: str) -> dict[str, datetime]: ...

    def forget_contact(self, contact_id: str) -> int:
        """Delete every item of the person's partition (enrollments, engagement notes): an erasure."""
        ...

    def transfer(self, before: Enrollment, contact_id: str) -> bool: ...

    def count_once(self, journey_id: str, step: str, marker: str, counter: str) -> bool: ...

    def counters(self, journey_id: str) -> dict[str, dict[str, int]]: ...
