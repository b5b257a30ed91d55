"""PynamoDB ``*Record`` classes: one per table, keys documented here and nowhere else.

| table (env var)      | hash key       | range key            | indexes                                   |
|----------------------|----------------|----------------------|-------------------------------------------|
| CONTACTS_TABLE       | contact_id     |                      |                                           |
| ACCOUNTS_TABLE       | account_id     |                      |                                           |
| LEADS_TABLE          | lead_id        |                      | by_state (state, created_at), by_owner    |
|                      |                |                      | (owner, created_at; sparse)               |
| INTERACTIONS_TABLE   | contact_id     | interaction_id       | by_time (LSI: contact_id, at =            |
|                      |                |                      | occurred_at#id); TTL expires_at           |
| KEYS_TABLE           | key            |                      | claims: contact-email#, account-name#,    |
|                      |                |                      | account-domain# (uniqueness); receipt#    |
|                      |                |                      | (a webhook delivery, LinkedIn response or |
|                      |                |                      | imported row captured once)               |
| FORMS_TABLE          | form_id        |                      |                                           |
| API_KEYS_TABLE       | key_hash       |                      |                                           |
| QUARANTINE_TABLE     | quarantine_id  |                      | TTL expires_at; by_state (state#<n>,      |
|                      |                |                      | received_at): the list                    |
| SCORING_MODELS_TABLE | model_id       | sk = head | v#000001 | the head says which version is draft/active |
| SCORES_TABLE         | lead_id        | model_id             | by_model_score (model_id, score): grades  |
|                      |                |                      | are its ranges; by_due (due#<n>, time)    |
| JOBS_TABLE           | job_id         |                      | TTL expires_at                            |
| CONTACTS_TABLE index |                |                      | by_account (account_id), keys only;       |
|                      |                |                      | by_audience (marketing|sales#<n>,         |
|                      |                |                      | created_at), keys only: the list;         |
|                      |                |                      | by_dup_mail (dup_mail, dup_email) and     |
|                      |                |                      | by_dup_phone (dup_phone): duplicates'     |
|                      |                |                      | blocking keys, hashed, sparse, keys only  |
| RULES_TABLE          | kind           | rule_id              | qualification rules and triggers          |
| HANDOFFS_TABLE       | handoff_id     |                      | the outbox; stream -> publisher; TTL      |
| LEAD_HISTORY_TABLE   | lead_id        | sk = at#kind#id      | transitions, score changes, hand-offs     |
| OPPORTUNITIES_TABLE  | opportunity_id |                      | by_lead (lead_id, created_at), by_created |
|                      |                |                      | (listing, created_at): newest first       |
| PEOPLE_TABLE         | pk = user|team|| sk = id              | users, teams, assignment rules (JSON),    |
|                      | assignment-rule|                      | team turns (pk turn), rep loads (pk load) |
|                      | turn|load      |                      |                                           |
| ASSIGNMENTS_TABLE    | lead_id        | sk = a#000001        | by_due (sparse: due_shard, due_at),       |
|                      |                |                      | by_qualified_day (day, at)                |
| INTEGRATIONS_TABLE   | integration_id |                      | webhook#<source>, linkedin-form#<urn>     |
| IMPORTS_TABLE        | import_id      | item = head or       | chunks done, with their rows' errors; TTL |
|                      |                | chunk#000001         |                                           |
| IDENTITY_TABLE       | pk             | sk                   | typed items (see ``IdentityRecord``):     |
|                      |                |                      | (block#<hash> / contact id, keys#<contact>|
|                      |                |                      | / all: blocking keys before issue 19, gone|
|                      |                |                      | with the backfill)                        |
|                      |                |                      | duplicates / <a>#<b>, suspect#<contact> / |
|                      |                |                      | <other>, merge#<id> / merge,              |
|                      |                |                      | contact-merges#<contact> / <merge id>,    |
|                      |                |                      | segment#<id> / segment, erasure#<id> /    |
|                      |                |                      | erasure, erased#<contact> / erased        |
| MAIL_TABLE           | pk             | sk                   | template#<id> / head, v#000001 (versions);|
|                      |                |                      | message#<id> / message (by_contact: GSI   |
|                      |                |                      | contact_id, created_at); suppressed#<sha> |
|                      |                |                      | / suppression (a bounced address, hashed) |

A contact's leads are listed on the contact (``lead_ids``), read consistently with it, rather than by an
index: an index is eventually consistent and would cost every lead write again.

Table names are bound at run time from settings (:func:`bind`), never at import time.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

UNBOUND = "unbound"


class ConsentChangeMap(MapAttribute[str, Any]):
    level = UnicodeAttribute()
    source = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class ContactsByAccount(GlobalSecondaryIndex["ContactRecord"]):
    class Meta:
        index_name = "by_account"
        projection = KeysOnlyProjection()

    account_id = UnicodeAttribute(hash_key=True)


class ContactsByAudience(GlobalSecondaryIndex["ContactRecord"]):
    """Contacts per audience (``marketing`` or ``sales``: ``marketing_only``), newest first, on
    ``<audience>#<shard>`` (``store/sharded_index.py``): ``GET /v1/contacts?marketing_only=`` queries it
    instead of scanning the table. Keys only: a page is then read from the table (consistent)."""

    class Meta:
        index_name = "by_audience"
        projection = KeysOnlyProjection()

    audience_shard = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ContactsByDuplicateMail(GlobalSecondaryIndex["ContactRecord"]):
    """Duplicate detection's email blocking keys (``domain/duplicates.py``, ``IndexedKeys``): the
    contacts of a company email domain (or of one free-mail address), each under its email's key.
    Sparse (a contact without an email is not in it), keys only."""

    class Meta:
        index_name = "by_dup_mail"
        projection = KeysOnlyProjection()

    dup_mail = UnicodeAttribute(hash_key=True)
    dup_email = UnicodeAttribute(range_key=True)


class ContactsByDuplicatePhone(GlobalSecondaryIndex["ContactRecord"]):
    """Duplicate detection's phone blocking key: sparse, keys only."""

    class Meta:
        index_name = "by_dup_phone"
        projection = KeysOnlyProjection()

    dup_phone = UnicodeAttribute(hash_key=True)


class ContactRecord(Model):
    class Meta:
        table_name = UNBOUND

    contact_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(null=True)
    fields = MapAttribute[str, Any](default=dict)
    account_id = UnicodeAttribute(null=True)
    lead_ids = ListAttribute[str](default=list)
    marketing_only = BooleanAttribute(default=True)
    consent = UnicodeAttribute(default="none")
    consent_history = ListAttribute[ConsentChangeMap](of=ConsentChangeMap, default=list)
    last_interaction_at = UTCDateTimeAttribute(null=True)
    #: Set when an erasure begins (``Contact.erasing``); writes for the person are conditioned on it.
    erasing = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    correlation_id = UnicodeAttribute(null=True)
    #: ``<marketing|sales>#<n>`` (the ``by_audience`` index), from ``marketing_only`` and the id.
    audience_shard = UnicodeAttribute(null=True)
    #: Duplicate detection's blocking keys, hashed (``IndexedKeys``; issue 19: they were identity-table
    #: items, a write each): set from the contact's email and phone by every write of the whole item.
    dup_mail = UnicodeAttribute(null=True)
    dup_email = UnicodeAttribute(null=True)
    dup_phone = UnicodeAttribute(null=True)
    #: ``Contact.agg``: interaction counts, ``<type>|<lead id>`` -> n (``domain/interaction_counts``);
    #: absent on a contact written before them (the backfill counts its history).
    agg = MapAttribute[str, Any](null=True)

    by_account = ContactsByAccount()
    by_audience = ContactsByAudience()
    by_dup_mail = ContactsByDuplicateMail()
    by_dup_phone = ContactsByDuplicatePhone()


class AccountRecord(Model):
    class Meta:
        table_name = UNBOUND

    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    domain = UnicodeAttribute(null=True)
    fields = MapAttribute[str, Any](default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class LeadsByState(GlobalSecondaryIndex["LeadRecord"]):
    """Leads per lifecycle state, newest first, on ``<state>#<shard>`` (see ``store/state_index.py``:
    one partition value per state would take every new lead's write)."""

    class Meta:
        index_name = "by_state_shard"
        projection = AllProjection()

    state_shard = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class LeadsByOwner(GlobalSecondaryIndex["LeadRecord"]):
    """A person's leads, newest first (``GET /v1/leads?owner=``): sparse, unassigned leads are not in it."""

    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class LeadRecord(Model):
    class Meta:
        table_name = UNBOUND

    lead_id = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute()
    account_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute(default="open")
    #: ``<state>#<n>``: the key of ``by_state_shard`` (store/state_index.py).
    state_shard = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="new")
    fields = MapAttribute[str, Any](default=dict)
    round = NumberAttribute(default=1)
    fired_rules = ListAttribute[str](default=list)
    owner = UnicodeAttribute(null=True)
    #: The owner's team and the lead's assignment count (``domain/routing.py``).
    team = UnicodeAttribute(null=True)
    assignment = NumberAttribute(null=True)
    #: What captures said differently from the contact and lead (JSON list; ``Lead.conflicts``).
    conflicts = UnicodeAttribute(null=True)
    #: The lead's newest timeline entries, zlib-compressed JSON (``store/history.py``; issue 19).
    timeline_z = BinaryAttribute(null=True, legacy_encoding=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    #: The request that last wrote the lead (observability.py): the streams carry it on.
    correlation_id = UnicodeAttribute(null=True)

    by_state_shard = LeadsByState()
    by_owner = LeadsByOwner()


class InteractionsByTime(LocalSecondaryIndex["InteractionRecord"]):
    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    contact_id = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)


class InteractionsByAccountTime(GlobalSecondaryIndex["InteractionRecord"]):
    """An account's interactions in time order (issue 19, item 5): an account-scoped model reads the
    window of the whole account in one query, not one query per colleague. ``ALL``: scoring reads
    every attribute (an interaction is well under 1 KB, so the index write is one unit either way)."""

    class Meta:
        index_name = "by_account_time"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)


class InteractionRecord(Model):
    """Keyed by (contact, interaction id), so an id seen before is not recorded again whatever its time;
    read in time order through ``by_time``."""

    class Meta:
        table_name = UNBOUND

    contact_id = UnicodeAttribute(hash_key=True)
    interaction_id = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    type = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    lead_id = UnicodeAttribute(null=True)
    properties = MapAttribute[str, Any](default=dict)
    source = UnicodeAttribute(default="api")
    recorded_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)
    correlation_id = UnicodeAttribute(null=True)
    #: ``Interaction.noted``: set only when true.
    noted = BooleanAttribute(null=True)
    #: ``Interaction.scored_with_contact``: set only when true.
    with_contact = BooleanAttribute(null=True)

    #: The contact's account (``Interaction.account_id``): absent for a contact without one, so the
    #: account index is sparse.
    account_id = UnicodeAttribute(null=True)

    by_time = InteractionsByTime()
    by_account_time = InteractionsByAccountTime()


class KeyRecord(Model):
    """A uniqueness claim: the first conditional put of a key wins, whoever races for it."""

    class Meta:
        table_name = UNBOUND

    key = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    #: Receipts (``receipt#<channel>#<event id>``) also keep what the event's capture wrote, as JSON
    #: ids and flags only, never personal data.
    detail = UnicodeAttribute(null=True)


class FormRecord(Model):
    class Meta:
        table_name = UNBOUND

    form_id = UnicodeAttribute(hash_key=True)
    definition = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class ApiKeyRecord(Model):
    class Meta:
        table_name = UNBOUND

    key_hash = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    name = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    #: The person the key belongs to (a user id), if any.
    user_id = UnicodeAttribute(null=True)


class QuarantineByState(GlobalSecondaryIndex["QuarantineRecord"]):
    """Quarantined submissions per state (``held``/``released``), newest first, on ``<state>#<shard>``
    (``store/sharded_index.py``): the quarantine list queries it instead of scanning. It carries the
    attributes the list filters on, not the payload (up to 64 KB): a page is read from the table."""

    class Meta:
        index_name = "by_state"
        projection = IncludeProjection(["form_id", "reason"])

    state_shard = UnicodeAttribute(hash_key=True)
    received_at = UTCDateTimeAttribute(range_key=True)


class QuarantineRecord(Model):
    """A suspected bot's submission, kept aside for review (30 days): ``state`` is ``held`` until an
    operator releases it (then ``released``, with what the release captured)."""

    class Meta:
        table_name = UNBOUND

    quarantine_id = UnicodeAttribute(hash_key=True)
    form_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    payload = UnicodeAttribute()
    #: Every suspicious signal seen (``too_fast``, ``no_browser_origin``, ...), as JSON.
    signals = UnicodeAttribute(null=True)
    state = UnicodeAttribute(default="held")
    released_at = UTCDateTimeAttribute(null=True)
    #: What the release captured (ids only), as JSON.
    released = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    #: ``<state>#<n>`` (the ``by_state`` index), kept with ``state``.
    state_shard = UnicodeAttribute(null=True)

    by_state = QuarantineByState()


class ModelHeadRecord(Model):
    """``sk = "head"``: which version of a scoring model is the draft and which is active."""

    class Meta:
        table_name = UNBOUND

    model_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="head")
    name = UnicodeAttribute()
    latest_version = NumberAttribute(default=0)
    draft_version = NumberAttribute(null=True)
    active_version = NumberAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class ModelVersionRecord(Model):
    """``sk = "v#000007"``: one saved version of a model, as the marketer wrote it."""

    class Meta:
        table_name = UNBOUND

    model_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    number = NumberAttribute()
    definition = UnicodeAttribute()
    state = UnicodeAttribute()
    warnings = ListAttribute[str](default=list)
    created_at = UTCDateTimeAttribute()
    published_at = UTCDateTimeAttribute(null=True)


class ScoresByModel(GlobalSecondaryIndex["ScoreRecord"]):
    class Meta:
        index_name = "by_model_score"
        projection = IncludeProjection(
            ["grade", "sales_ready", "model_version", "contact_id", "aging", "as_of", "next_check_at"]
        )

    model_id = UnicodeAttribute(hash_key=True)
    score = NumberAttribute(range_key=True)


class ScoresDue(GlobalSecondaryIndex["ScoreRecord"]):
    """Scores whose timer is set (sparse: ``due`` only while one is), by shard, earliest first: what the
    minute schedule (``score_timers``) reads instead of a daily scan of every score."""

    class Meta:
        index_name = "by_due"
        projection = IncludeProjection(["contact_id"])

    due = UnicodeAttribute(hash_key=True)
    next_check_at = UnicodeAttribute(range_key=True)


class ScoreRecord(Model):
    class Meta:
        table_name = UNBOUND

    lead_id = UnicodeAttribute(hash_key=True)
    model_id = UnicodeAttribute(range_key=True)
    contact_id = UnicodeAttribute()
    model_version = NumberAttribute()
    #: No score (and no breakdown) marks a removed score: a tombstone whose ``as_of`` keeps an older
    #: evaluation from bringing it back. It is in neither index (their keys are missing).
    score = NumberAttribute(null=True)
    grade = UnicodeAttribute(null=True)
    #: ``<model>#<grade>``: the key of an index the grade filter no longer needs (issue 19: a grade is a
    #: range of ``by_model_score``); older items keep it, new ones do not write it.
    model_grade = UnicodeAttribute(null=True)
    sales_ready = BooleanAttribute(default=False)
    as_of = UTCDateTimeAttribute()
    breakdown = UnicodeAttribute(null=True)
    ages = BooleanAttribute(default=False)
    #: The score before this one (the trend: up, down or flat since the previous scoring).
    previous_score = NumberAttribute(null=True)
    #: The request whose change this evaluation followed (qualification hands it on to the hand-off).
    correlation_id = UnicodeAttribute(null=True)
    #: How the score ages (JSON: ``Aging.as_dict``), read to compute it at a later time.
    aging = UnicodeAttribute(null=True)
    #: The lead's timer for this model (ISO time, UTC, sortable) and its shard, ``due#<n>``: both only
    #: while a timer is set.
    next_check_at = UnicodeAttribute(null=True)
    due = UnicodeAttribute(null=True)
    #: The newest timeline entries of this score's changes, zlib-compressed JSON (issue 19).
    timeline_z = BinaryAttribute(null=True, legacy_encoding=False)

    by_model = ScoresByModel()
    by_due = ScoresDue()


class JobRecord(Model):
    class Meta:
        table_name = UNBOUND

    job_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    model_id = UnicodeAttribute()
    model_version = NumberAttribute()
    segments = NumberAttribute()
    segments_done = NumberAttribute(default=0)
    pages_done = NumberAttribute(default=0)
    leads_scored = NumberAttribute(default=0)
    pages = UnicodeSetAttribute(default=set)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)
    #: A one-step job's answer as JSON (a training run: the version, metrics, or why it refused).
    result = UnicodeAttribute(null=True)


class RuleRecord(Model):
    """``kind`` = ``qualification`` or ``trigger``; the definition as the operator wrote it."""

    class Meta:
        table_name = UNBOUND

    kind = UnicodeAttribute(hash_key=True)
    rule_id = UnicodeAttribute(range_key=True)
    definition = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class PendingHandoffs(GlobalSecondaryIndex["HandoffRecord"]):
    """Sparse: only hand-offs not yet sent carry ``pending``."""

    class Meta:
        index_name = "by_pending"
        projection = KeysOnlyProjection()

    pending = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class HandoffRecord(Model):
    """The outbox: written in the transaction that decides the work, published from its stream."""

    class Meta:
        table_name = UNBOUND

    handoff_id = UnicodeAttribute(hash_key=True)
    lead_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    origin = UnicodeAttribute()
    #: The envelope as sent, zlib-compressed (``envelope_z``: the item stays under 1 KB, one write unit
    #: instead of two; issue 19). ``envelope``: the plain text older items hold, read as before.
    envelope = UnicodeAttribute(null=True)
    envelope_z = BinaryAttribute(null=True, legacy_encoding=False)
    state = UnicodeAttribute(default="pending")
    pending = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_pending = PendingHandoffs()


class LeadHistoryRecord(Model):
    """``sk = <time>#<kind>#<id>``: transitions, score changes and hand-offs of a lead, in time order."""

    class Meta:
        table_name = UNBOUND

    lead_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    data = UnicodeAttribute()


class OpportunitiesByLead(GlobalSecondaryIndex["OpportunityRecord"]):
    """A lead's opportunities (closed with the lead; a contact's export reads them by its leads)."""

    class Meta:
        index_name = "by_lead"
        projection = AllProjection()

    lead_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OpportunitiesByCreation(GlobalSecondaryIndex["OpportunityRecord"]):
    """Every opportunity, newest first, on one partition value (``listing = "opportunity"``): a person
    makes each one by qualifying a lead, orders of magnitude under an index partition's ~1,000
    writes/s, so no sharding (unlike leads, ``store/state_index.py``)."""

    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OpportunityRecord(Model):
    """An opportunity; ``version`` is the optimistic-concurrency token (``If-Match``), every write is
    conditioned on it. ``estimated_value`` is decimal text (exact), ``close_date`` an ISO date."""

    class Meta:
        table_name = UNBOUND

    opportunity_id = UnicodeAttribute(hash_key=True)
    lead_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    account_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    listing = UnicodeAttribute(default="opportunity")
    updated_at = UTCDateTimeAttribute(null=True)
    stage = UnicodeAttribute(default="qualify")
    status = UnicodeAttribute(default="open")
    owner = UnicodeAttribute(null=True)
    estimated_value = UnicodeAttribute(null=True)
    close_date = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()

    by_lead = OpportunitiesByLead()
    by_created = OpportunitiesByCreation()


class IntegrationRecord(Model):
    """A lead source's mapping (a form definition) and, for signed webhooks, its secrets.
    ``integration_id`` is ``webhook#<source>`` or ``linkedin-form#<form urn>``."""

    class Meta:
        table_name = UNBOUND

    integration_id = UnicodeAttribute(hash_key=True)
    definition = UnicodeAttribute()
    #: ``[{"secret_id", "secret", "created_at"}]``, newest last; at most two are active.
    secrets = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class ImportRecord(Model):
    """An import's head (``item = "head"``): mapping, status, totals and counters (added by chunks)."""

    class Meta:
        table_name = UNBOUND

    import_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True, default="head")
    status = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    mapping = UnicodeAttribute()
    object_key = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    encoding = UnicodeAttribute(null=True)
    delimiter = UnicodeAttribute(null=True)
    columns = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    rows_total = NumberAttribute(null=True)
    chunks_total = NumberAttribute(null=True)
    chunks_done = NumberAttribute(default=0)
    rows_done = NumberAttribute(default=0)
    created = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    duplicates = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    interactions = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class ImportChunkRecord(Model):
    """One processed chunk (``item = "chunk#000001"``): written once, with its rows' errors."""

    class Meta:
        table_name = UNBOUND

    import_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    rows = NumberAttribute()
    errors = UnicodeAttribute(null=True)
    done_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class IdentityRecord(Model):
    """Identity and data rights, typed by ``pk`` prefix: suspected duplicates (their blocking keys are
    on the contacts since issue 19; the older ``block#``/``keys#`` items until the backfill removes
    them), merges (with the before-images an undo needs), saved segments, erasures (counts
    only) and erased-contact tombstones. ``data`` is JSON."""

    class Meta:
        table_name = UNBOUND

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = UnicodeAttribute(default="{}")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)


class MailByContact(GlobalSecondaryIndex["MailRecord"]):
    """A contact's messages, newest first (the outbox, the frequency cap)."""

    class Meta:
        index_name = "by_contact"
        projection = AllProjection()

    contact_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MailByList(GlobalSecondaryIndex["MailRecord"]):
    """The outbox by one filter, newest first (issue 18, increment 3): a message's own item is keyed
    ``status#<status>`` (the key moves with its status), and two small listing items of the message
    (``list#template``, ``list#journey``) are keyed ``template#<id>`` and ``journey#<id>``. Keys only:
    the messages are then read by key (``BatchGetItem``), so no e-mail body is stored twice."""

    class Meta:
        index_name = "by_list"
        projection = KeysOnlyProjection()

    list_key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MailRecord(Model):
    """E-mail (issue 18), typed by ``pk`` prefix: template versions and their head, messages (written
    ``sending`` before SES is called, then ``sent``) and suppressed addresses. ``data`` is JSON;
    ``created_at`` is ISO text so that the index sorts by it."""

    class Meta:
        table_name = UNBOUND

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = UnicodeAttribute(default="{}")
    status = UnicodeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    version = NumberAttribute(null=True)
    opens = NumberAttribute(null=True)
    clicks = NumberAttribute(null=True)
    #: The ``by_list`` index's key (messages and their listing items only).
    list_key = UnicodeAttribute(null=True)
    by_contact = MailByContact()
    by_list = MailByList()


class PeopleRecord(Model):
    """Sales people and routing (``domain/routing.py``), few items, one partition per kind:
    ``pk = user | team | assignment-rule`` / ``sk = <id>`` hold the definitions as the admin wrote them
    (``data``, JSON); ``pk = turn`` / ``sk = <team>`` a team's round-robin cursor (``turn``) and
    ``pk = load`` / ``sk = <user>`` a rep's open leads (``open_leads``), both moved only in a lead's
    transaction (conditioned on the turn read and the lead's version)."""

    class Meta:
        table_name = UNBOUND

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = UnicodeAttribute(null=True)
    turn = NumberAttribute(null=True)
    open_leads = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class AssignmentsDue(GlobalSecondaryIndex["AssignmentItemRecord"]):
    """Sparse: only assignments whose SLA still runs carry ``due_shard`` (``due#<n>``); the
    one-minute sweep reads ``due_at <= now`` from each shard, never the leads."""

    class Meta:
        index_name = "by_due"
        projection = KeysOnlyProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class AssignmentsByDay(GlobalSecondaryIndex["AssignmentItemRecord"]):
    """Assignments of leads qualified on a day (``qualified_day = YYYY-MM-DD``): speed to lead."""

    class Meta:
        index_name = "by_qualified_day"
        projection = AllProjection()

    qualified_day = UnicodeAttribute(hash_key=True)
    at = UTCDateTimeAttribute(range_key=True)


class AssignmentItemRecord(Model):
    """``lead_id`` / ``sk = a#000001``: the lead's assignments in order, who, from whom, why, its SLA
    (``due_at``, ``on_lapse``) and when it was accepted."""

    class Meta:
        table_name = UNBOUND

    lead_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    number = NumberAttribute()
    owner = UnicodeAttribute()
    team = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()
    by = UnicodeAttribute()
    why = UnicodeAttribute()
    previous_owner = UnicodeAttribute(null=True)
    rule_id = UnicodeAttribute(null=True)
    qualified_at = UTCDateTimeAttribute(null=True)
    qualified_day = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    on_lapse = UnicodeAttribute(null=True)
    lapsed_at = UTCDateTimeAttribute(null=True)
    accepted_at = UTCDateTimeAttribute(null=True)
    first_activity_at = UTCDateTimeAttribute(null=True)

    by_due = AssignmentsDue()
    by_qualified_day = AssignmentsByDay()


#: Record class -> the settings attribute that names its table.
TABLES: dict[type[Model], str] = {
    ContactRecord: "contacts_table",
    AccountRecord: "accounts_table",
    LeadRecord: "leads_table",
    InteractionRecord: "interactions_table",
    KeyRecord: "keys_table",
    FormRecord: "forms_table",
    ApiKeyRecord: "api_keys_table",
    QuarantineRecord: "quarantine_table",
    ModelHeadRecord: "scoring_models_table",
    ModelVersionRecord: "scoring_models_table",
    ScoreRecord: "scores_table",
    JobRecord: "jobs_table",
    RuleRecord: "rules_table",
    HandoffRecord: "handoffs_table",
    LeadHistoryRecord: "lead_history_table",
    OpportunityRecord: "opportunities_table",
    IntegrationRecord: "integrations_table",
    ImportRecord: "imports_table",
    ImportChunkRecord: "imports_table",
    IdentityRecord: "identity_table",
    MailRecord: "mail_table",
    PeopleRecord: "people_table",
    AssignmentItemRecord: "assignments_table",
}


def bind(table_names: dict[str, str], region: str, host: str | None) -> None:
    """Point every record class at its table (and endpoint); drops cached connections."""
    for record, setting in TABLES.items():
        record.Meta.table_name = table_names[setting]
        record.Meta.region = region
        record.Meta.host = host
        record._connection = None
