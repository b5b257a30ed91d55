"""The DynamoDB adapter behind the domain's ports: mapping records to entities, conditions and
transactions, and translating PynamoDB errors into domain errors."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    TransactWriteError,
    UpdateError,
)
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain import jsontext
from chalicelib.domain.capture import Capture
from chalicelib.domain.duplicates import indexed_keys
from chalicelib.domain.entities import Account, ConsentChange, Contact, Interaction, Lead
from chalicelib.domain.errors import (
    AlreadyReceived,
    ConcurrentUpdate,
    FieldError,
    MalformedInput,
    ValidationFailed,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.interaction_counts import count_key, counted
from chalicelib.domain.interactions import iso
from chalicelib.domain.matching import CapturePlan, Known, account_keys, contact_key
from chalicelib.domain.stored import LeadFilter, Page
from chalicelib.observability import correlation_id
from chalicelib.store import secrets, shared_reads, state_index
from chalicelib.store.history import pack_timeline, unpack_timeline
from chalicelib.store.receipts import ReceiptRepository
from chalicelib.store.records import (
    AccountRecord,
    ConsentChangeMap,
    ContactRecord,
    InteractionRecord,
    KeyRecord,
    LeadHistoryRecord,
    LeadRecord,
    ScoreRecord,
)
from chalicelib.store.retry import on_conflict
from chalicelib.store.sharded_index import ShardedIndex
from chalicelib.store.state_index import state_key

#: A contact's audience in the ``by_audience`` index: ``marketing`` (``marketing_only``) or ``sales``.
AUDIENCES = ("marketing", "sales")
#: 16 shards, as leads by state: every new contact writes one (about a lead's rate).
BY_AUDIENCE = ShardedIndex(
    index=ContactRecord.by_audience,
    id_attribute="contact_id",
    key_attribute="audience_shard",
    time_attribute="created_at",
    time_serializer=ContactRecord.created_at,
    shards=16,
)


def audience(marketing_only: bool) -> str:
    return AUDIENCES[0] if marketing_only else AUDIENCES[1]


_RACE_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


# ---------------------------------------------------------------- mapping records <-> entities


_R = TypeVar("_R", bound=Model)


def _versioned(record: _R, version: int | None) -> _R:
    """A stored entity carries the version it was read at; a new one has none yet."""
    if version is not None:
        record.version = version  # type: ignore[attr-defined]
    return record


def contact_from(record: ContactRecord) -> Contact:
    return Contact(
        contact_id=record.contact_id,
        email=record.email,
        fields=record.fields.as_dict() if record.fields else {},
        account_id=record.account_id,
        lead_ids=list(record.lead_ids or []),
        marketing_only=bool(record.marketing_only),
        consent=record.consent,
        consent_history=[ConsentChange(c.level, c.source, c.at) for c in record.consent_history or []],
        last_interaction_at=record.last_interaction_at,
        erasing=bool(record.erasing),
        created_at=record.created_at,
        updated_at=record.updated_at,
        version=record.version,
        agg={str(k): int(v) for k, v in record.agg.as_dict().items()} if record.agg is not None else None,
    )


def contact_record(contact: Contact) -> ContactRecord:
    """The contact's item, with its duplicate blocking keys (``IndexedKeys``) computed from its email and
    phone: every write of the whole item moves them with a change, in the same write."""
    keys = indexed_keys(contact)
    record = ContactRecord(
        contact.contact_id,
        email=contact.email,
        fields=contact.fields,
        account_id=contact.account_id,
        lead_ids=contact.lead_ids,
        marketing_only=contact.marketing_only,
        consent=contact.consent,
        consent_history=[
            ConsentChangeMap(level=c.level, source=c.source, at=c.at) for c in contact.consent_history
        ],
        last_interaction_at=contact.last_interaction_at,
        erasing=True if contact.erasing else None,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
        correlation_id=correlation_id(),
        audience_shard=BY_AUDIENCE.key(audience(contact.marketing_only), contact.contact_id),
        dup_mail=keys.mail,
        dup_email=keys.email,
        dup_phone=keys.phone,
        agg=dict(contact.agg) if contact.agg is not None else None,
    )
    return _versioned(record, contact.version)


def account_from(record: AccountRecord) -> Account:
    return Account(
        account_id=record.account_id,
        name=record.name,
        domain=record.domain,
        fields=record.fields.as_dict() if record.fields else {},
        created_at=record.created_at,
        updated_at=record.updated_at,
        version=record.version,
    )


def account_record(account: Account) -> AccountRecord:
    record = AccountRecord(
        account.account_id,
        name=account.name,
        domain=account.domain,
        fields=account.fields,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )
    return _versioned(record, account.version)


def lead_from(record: LeadRecord) -> Lead:
    return Lead(
        lead_id=record.lead_id,
        contact_id=record.contact_id,
        account_id=record.account_id,
        state=record.state,
        status=record.status,
        fields=record.fields.as_dict() if record.fields else {},
        round=int(record.round or 1),
        fired_rules=list(record.fired_rules or []),
        owner=record.owner,
        team=record.team,
        assignment=int(record.assignment or 0),
        conflicts=json.loads(record.conflicts) if record.conflicts else [],
        created_at=record.created_at,
        updated_at=record.updated_at,
        version=record.version,
        timeline=unpack_timeline(record.timeline_z),
    )


def lead_record(lead: Lead) -> LeadRecord:
    record = LeadRecord(
        lead.lead_id,
        contact_id=lead.contact_id,
        account_id=lead.account_id,
        state=lead.state,
        state_shard=state_key(lead.state, lead.lead_id),
        status=lead.status,
        fields=lead.fields,
        round=lead.round,
        fired_rules=lead.fired_rules,
        owner=lead.owner,
        team=lead.team,
        assignment=lead.assignment or None,
        conflicts=json.dumps(lead.conflicts, default=str) if lead.conflicts else None,
        timeline_z=pack_timeline(lead.timeline),
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        correlation_id=correlation_id(),
    )
    return _versioned(record, lead.version)


#: How often recording an interaction reads its contact's account again after the contact moved.
RECORD_ATTEMPTS = 3


def interaction_record(interaction: Interaction, retention_days: int) -> InteractionRecord:
    return InteractionRecord(
        interaction.contact_id,
        interaction.interaction_id,
        at=f"{iso(interaction.occurred_at)}#{interaction.interaction_id}",
        type=interaction.type,
        occurred_at=interaction.occurred_at,
        lead_id=interaction.lead_id,
        properties=interaction.properties,
        source=interaction.source,
        recorded_at=datetime.now(tz=interaction.occurred_at.tzinfo),
        expires_at=interaction.occurred_at + timedelta(days=retention_days),
        correlation_id=correlation_id(),
        noted=True if interaction.noted else None,
        with_contact=True if interaction.scored_with_contact else None,
        account_id=interaction.account_id,
    )


def interaction_from(record: InteractionRecord) -> Interaction:
    return Interaction(
        interaction_id=record.interaction_id,
        contact_id=record.contact_id,
        type=record.type,
        occurred_at=record.occurred_at,
        properties=record.properties.as_dict() if record.properties else {},
        lead_id=record.lead_id,
        source=record.source,
        noted=bool(record.noted),
        scored_with_contact=bool(record.with_contact),
        account_id=record.account_id,
    )


# ---------------------------------------------------------------- cursors


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """The last key read, as an opaque cursor: base64url JSON and its signature (the deployment key),
    so a cursor the API did not hand out is refused before it reaches DynamoDB."""
    if not key:
        return None
    data = json.dumps(key, separators=(",", ":")).encode()
    return f"{_b64(data)}.{_b64(secrets.mac('cursor', data)[:16])}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_NUMBER = re.compile(r"-?[0-9]{1,38}(\.[0-9]{1,38})?")
_BAD_CURSOR = ValidationFailed([FieldError("cursor", "cursor is not one this API returned")])
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,2800}\.[A-Za-z0-9_-]{22}")


def decode_cursor(
    cursor: str | None, keys: frozenset[str], numbers: frozenset[str] | set[str] = frozenset({"offset"})
) -> dict[str, Any] | None:
    """A cursor is the last key read, as this API encoded and signed it; anything else is refused
    (422 naming ``cursor``), never sent on."""
    if not cursor:
        return None
    if not _CURSOR.fullmatch(cursor):
        raise _BAD_CURSOR
    encoded, signature = cursor.split(".")
    try:
        raw = _unb64(encoded)
        genuine = hmac.compare_digest(_unb64(signature), secrets.mac("cursor", raw)[:16])
    except (binascii.Error, ValueError):
        raise _BAD_CURSOR from None
    if not genuine:
        raise _BAD_CURSOR
    try:
        data = jsontext.loads(raw, "cursor")
    except MalformedInput:
        raise _BAD_CURSOR from None
    if not isinstance(data, dict) or set(data) != keys:
        raise _BAD_CURSOR
    for name, value in data.items():
        kind = "N" if name in numbers else "S"
        if not isinstance(value, dict) or set(value) != {kind} or not isinstance(value[kind], str):
            raise _BAD_CURSOR
        if not value[kind] or len(value[kind]) > 1024 or (kind == "N" and not _NUMBER.fullmatch(value[kind])):
            raise _BAD_CURSOR
    return data


#: The lead states, each a partition of the ``by_state`` index.
LEAD_STATES = ("open", "qualified", "disqualified")


def is_race(exc: TransactWriteError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(reason is not None and reason.code in _RACE_CODES for reason in reasons) or (
        exc.cause_response_code == "TransactionConflictException"
    )


class LeadRepository(ReceiptRepository):
    """Contacts, accounts, leads and interactions, and the capture that writes them together with its
    receipt (``LeadStore``; receipts beneath it, ``ReceiptStore``)."""

    def __init__(self, connection: Connection, retention_days: int) -> None:
        self._connection = connection
        self._retention_days = retention_days

    # ------------------------------------------------------------ capture

    def find_for_capture(self, capture: Capture) -> Known:
        """What a capture is planned on, in one batch read of the keys table: the email's claim, its
        tombstone (an erased person) and the account's keys; then the contact, its open leads and the
        account."""
        keys = account_keys(capture)
        wanted = keys.guard_keys()
        tombstone = secrets.tombstone_key(capture.email) if capture.email else None
        if capture.email and tombstone:
            wanted = [contact_key(capture.email), tombstone, *wanted]
        claims = (
            {r.key: r.owner_id for r in KeyRecord.batch_get(wanted, consistent_read=True)} if wanted else {}
        )
        known = Known(
            taken_account_keys={k for k in claims if k.startswith("account-")}, erased=tombstone in claims
        )
        contact_id = claims.get(contact_key(capture.email)) if capture.email else None
        if contact_id:
            known.contact = self.get_contact(contact_id)
            if known.contact is not None:
                known.open_leads = [
                    lead for lead in self.get_leads(known.contact.lead_ids[-50:]) if lead.is_open
                ]
        account_id = next((claims[k] for k in keys.guard_keys() if k in claims), None)
        if account_id:
            known.account = self.get_account(account_id)
        return known

    def write_capture(
        self, plan: CapturePlan, interaction: Interaction | None, receipt: str | None = None
    ) -> None:
        """One transaction: the contact, its claims, the account, the lead and the interaction, each
        conditioned on what was read. Any lost race cancels all of it (:class:`ConcurrentUpdate`).

        With ``receipt``, the event's receipt is claimed first in the same transaction: an event that
        was captured before cancels it and raises :class:`AlreadyReceived` with what it wrote then."""
        now = plan.contact.updated_at
        try:
            with TransactWrite(connection=self._connection) as tx:
                if receipt is not None:
                    tx.save(
                        KeyRecord(
                            receipt,
                            owner_id=plan.contact.contact_id,
                            created_at=now,
                            detail=json.dumps(
                                {
                                    "contact_id": plan.contact.contact_id,
                                    "lead_id": plan.lead.lead_id if plan.lead else None,
                                    "account_id": plan.contact.account_id,
                                    "lead_created": plan.lead_created,
                                    "contact_created": plan.contact_created,
                                    "interaction_id": interaction.interaction_id if interaction else None,
                                }
                            ),
                        ),
                        condition=KeyRecord.key.does_not_exist(),
                    )
                self._save(tx, contact_record(plan.contact), ContactRecord.contact_id, plan.contact_created)
                for key in plan.new_keys:
                    owner_id = plan.contact.contact_id
                    if key.startswith("account-") and plan.account is not None:
                        owner_id = plan.account.account_id
                    tx.save(
                        KeyRecord(key, owner_id=owner_id, created_at=now),
                        condition=KeyRecord.key.does_not_exist(),
                    )
                if plan.account is not None and (plan.account_created or plan.account_changed):
                    self._save(
                        tx, account_record(plan.account), AccountRecord.account_id, plan.account_created
                    )
                if plan.lead is not None:  # None: a contact-only capture (a newsletter form)
                    self._save(tx, lead_record(plan.lead), LeadRecord.lead_id, plan.lead_created)
                if interaction is not None:
                    tx.save(
                        interaction_record(interaction, self._retention_days),
                        condition=InteractionRecord.contact_id.does_not_exist(),
                    )
        except TransactWriteError as exc:
            reasons = getattr(exc, "cancellation_reasons", None) or []
            if (
                receipt is not None
                and reasons
                and reasons[0] is not None
                and reasons[0].code == ("ConditionalCheckFailed")
            ):
                raise AlreadyReceived(receipt, self.receipt(receipt)) from exc
            if is_race(exc):
                raise ConcurrentUpdate("another capture changed the same contact first") from exc
            raise

    def erase_capture(self, detail: dict[str, Any]) -> None:
        """Remove what one received event brought: its interaction; its lead (with the lead's scores and
        history) when the event created the lead; and its contact (with the email claim and every
        interaction) when the event created the contact and the contact holds no other lead. A lead the
        event only updated keeps its fields: they cannot be told apart from earlier captures'."""
        contact_id = str(detail.get("contact_id") or "")
        lead_id = str(detail.get("lead_id") or "")
        if detail.get("interaction_id"):
            self._uncount_and_delete(contact_id, str(detail["interaction_id"]))
        if detail.get("lead_created") and lead_id:
            for score in ScoreRecord.query(lead_id):
                score.delete()
            for entry in LeadHistoryRecord.query(lead_id):
                entry.delete()
            LeadRecord(lead_id).delete(add_version_condition=False)  # erased whatever its version
            self._drop_lead_of_contact(contact_id, lead_id, bool(detail.get("contact_created")))

    def _uncount_and_delete(self, contact_id: str, interaction_id: str) -> None:
        """Delete one interaction and take it off its contact's counts (``Contact.agg``) in one
        transaction, the delete conditioned on the interaction being there: a repeat changes nothing."""
        try:
            found = InteractionRecord.get(contact_id, interaction_id, consistent_read=True)
        except DoesNotExist:
            return
        key = count_key(interaction_from(found))
        contact = ContactRecord(contact_id)
        contact.version = 0  # without the version condition only "ADD version 1" is sent
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.delete(found, condition=InteractionRecord.contact_id.exists())
                tx.update(
                    contact,
                    actions=[ContactRecord.agg[key].set(ContactRecord.agg[key] - 1)],
                    condition=ContactRecord.agg[key] > 0,
                    add_version_condition=False,
                )
        except TransactWriteError as exc:
            failed = [
                r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons or []
            ]
            if failed[:1] == [True]:
                return  # deleted meanwhile: its count was taken off then
            if failed[1:2] == [True]:
                found.delete()  # a contact without counts (before them), or gone: nothing to take off
                return
            raise

    def _drop_lead_of_contact(self, contact_id: str, lead_id: str, contact_created: bool) -> None:
        def drop() -> None:
            try:
                record = ContactRecord.get(contact_id, consistent_read=True)
            except DoesNotExist:
                return
            remaining = [i for i in (record.lead_ids or []) if i != lead_id]
            try:
                if contact_created and not remaining:
                    for interaction in InteractionRecord.query(contact_id):
                        interaction.delete()
                    if record.email:
                        KeyRecord(contact_key(record.email)).delete()
                    record.delete()  # conditioned on the version read
                else:
                    record.update(actions=[ContactRecord.lead_ids.set(remaining)])
            except (UpdateError, DeleteError) as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                # the contact changed meanwhile (a new capture): decide again
                raise ConcurrentUpdate("the contact changed meanwhile") from exc

        on_conflict(drop, ConcurrentUpdate("the contact kept changing; the erasure will be retried"))

    @staticmethod
    def _save(tx: TransactWrite, record: Any, hash_attr: Any, created: bool) -> None:
        if created:
            tx.save(record, condition=hash_attr.does_not_exist())
        else:
            tx.save(record)  # PynamoDB adds "version = read version" (optimistic locking)

    # ------------------------------------------------------------ reads

    def get_contact(self, contact_id: str) -> Contact | None:
        return shared_reads.one("contact", contact_id, self._get_contact)

    @staticmethod
    def _get_contact(contact_id: str) -> Contact | None:
        try:
            return contact_from(ContactRecord.get(contact_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_account(self, account_id: str) -> Account | None:
        return shared_reads.one("account", account_id, self._get_account)

    @staticmethod
    def _get_account(account_id: str) -> Account | None:
        try:
            return account_from(AccountRecord.get(account_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_lead(self, lead_id: str) -> Lead | None:
        try:
            return lead_from(LeadRecord.get(lead_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_leads(self, lead_ids: Sequence[str]) -> list[Lead]:
        if not lead_ids:
            return []
        found = {
            r.lead_id: lead_from(r)
            for r in LeadRecord.batch_get(list(dict.fromkeys(lead_ids)), consistent_read=True)
        }
        return [found[i] for i in lead_ids if i in found]

    def list_leads(self, where: LeadFilter, limit: int, cursor: str | None) -> Page:
        """Leads newest first: one state's from the ``by_state`` index, or every state's merged."""
        if where.contact_id is not None:
            return self._leads_of_contact(where, limit, cursor)
        condition: Condition | None = None
        for attribute, value in (
            (LeadRecord.status, where.status),
            (LeadRecord.fields["source"], where.source),
        ):
            if value is not None:
                clause = attribute == value
                condition = clause if condition is None else condition & clause
        states = (where.state,) if where.state is not None else LEAD_STATES
        records, next_cursor = state_index.page(tuple(states), limit, cursor, condition)
        return Page(items=[lead_from(r) for r in records], next_cursor=next_cursor)

    def _leads_of_contact(self, where: LeadFilter, limit: int, cursor: str | None) -> Page:
        """A contact's leads, newest first, from its ``lead_ids`` (consistent, no index)."""
        start = decode_cursor(cursor, frozenset({"offset"}))
        offset = int(start["offset"]["N"]) if start else 0
        contact = self.get_contact(where.contact_id or "")
        leads = self.get_leads(list(reversed(contact.lead_ids))) if contact else []
        wanted = {"state": where.state, "status": where.status, "source": where.source}
        matching = [
            lead
            for lead in leads
            if all(
                v is None or {"state": lead.state, "status": lead.status, "source": lead.source}[k] == v
                for k, v in wanted.items()
            )
        ]
        page = matching[offset : offset + limit]
        more = offset + limit < len(matching)
        return Page(
            items=page, next_cursor=encode_cursor({"offset": {"N": str(offset + limit)}}) if more else None
        )

    def list_contacts(self, marketing_only: bool | None, limit: int, cursor: str | None) -> Page:
        """Contacts newest first, from the ``by_audience`` index (one audience's shards, or both merged),
        never a scan (issue 19); the page's contacts are then read from the table, consistently."""
        groups = (audience(marketing_only),) if marketing_only is not None else AUDIENCES
        entries, next_cursor = BY_AUDIENCE.page(groups, limit, cursor)
        ids = [e.contact_id for e in entries]
        found = {c.contact_id: c for c in self.get_contacts(ids)}
        return Page(items=[found[i] for i in ids if i in found], next_cursor=next_cursor)

    def contact_by_email(self, email: str) -> Contact | None:
        """The contact whose (normalised) email claim this is."""
        try:
            owner = KeyRecord.get(contact_key(email), consistent_read=True).owner_id
        except DoesNotExist:
            return None
        return self.get_contact(owner)

    def get_contacts(self, contact_ids: Sequence[str], consistent: bool = True) -> list[Contact]:
        """``consistent=False``: half the read units, for readers a change a moment old cannot mislead
        (never shared: :mod:`shared_reads` holds consistent reads only)."""

        def read(ids: list[str]) -> list[Contact]:
            return [contact_from(r) for r in ContactRecord.batch_get(ids, consistent_read=consistent)]

        if not consistent:
            ids = list(dict.fromkeys(contact_ids))
            return read(ids) if ids else []
        return shared_reads.many("contact", contact_ids, read, lambda c: c.contact_id)

    def interactions_of(self, contact_id: str) -> Iterator[Interaction]:
        for record in InteractionRecord.by_time.query(contact_id, scan_index_forward=False):
            yield interaction_from(record)

    # ------------------------------------------------------------ interactions

    def contact_for_email(self, email: str, now: datetime) -> str | None:
        """The contact holding ``email``, made (consent ``none``) when there is none; ``None`` when the
        person was erased (a tombstone): nothing is recorded for them again."""
        key, tombstone = contact_key(email), secrets.tombstone_key(email)

        def settle() -> str | None:
            found = {r.key: r.owner_id for r in KeyRecord.batch_get([key, tombstone], consistent_read=True)}
            if tombstone in found:
                return None
            if key in found:
                return str(found[key])
            contact = Contact(
                contact_id=new_id("c"),
                email=email,
                fields={"email": email},
                created_at=now,
                updated_at=now,
                agg={},  # new: its interactions are counted from the first
            )
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.save(contact_record(contact), condition=ContactRecord.contact_id.does_not_exist())
                    tx.save(
                        KeyRecord(key, owner_id=contact.contact_id, created_at=now),
                        condition=KeyRecord.key.does_not_exist(),
                    )
            except TransactWriteError as exc:
                if is_race(exc):  # another request made the contact first: read it
                    raise ConcurrentUpdate("the email was claimed meanwhile") from exc
                raise
            return contact.contact_id

        exhausted = ConcurrentUpdate("could not settle the contact for an email after 5 attempts")
        return on_conflict(settle, exhausted, attempts=5)

    def record_interaction(self, interaction: Interaction) -> bool:
        """Append an interaction once (an id seen before for the contact is not written again), and
        only while its contact exists and is not being erased: the check and the write are one
        transaction, so an interaction queued before an erasure never lands after it began.

        It carries its contact's account (``by_account_time``, issue 19 item 5): the contact is read
        (eventually consistent, half a read unit) and the transaction's check includes that account,
        so a contact that moved meanwhile cancels it and the account is read again. The contact's
        interaction count of its type is raised in the same transaction (``Contact.agg``: a redelivery
        cancels on the interaction's condition and counts nothing), with the version, so a capture
        planned on the contact before (a conditional put of the whole contact) does not write over the
        count; a contact without counts (written before them) gets the version bump alone, which a
        backfill that counts its history is conditioned on. The contact's ``last_interaction_at`` is
        set in the same update when the interaction is newer than the one read (conditioned on it being
        unchanged), and the interaction is written ``noted`` (its time is set here, or an older one's
        was newer already): the activity consumer has nothing to write, so a tracked interaction still
        costs one contact write, as before the counts."""
        for _ in range(RECORD_ATTEMPTS):
            try:
                contact = ContactRecord.get(
                    interaction.contact_id,
                    attributes_to_get=["contact_id", "account_id", "erasing", "agg", "last_interaction_at"],
                )
            except DoesNotExist:
                return False  # no such contact (erased)
            if contact.erasing:
                return False
            account_id = contact.account_id
            same_account = (
                ContactRecord.account_id == account_id
                if account_id is not None
                else ContactRecord.account_id.does_not_exist()
            )
            key = count_key(interaction)
            counting = contact.agg is not None
            actions: list[Action] = []
            if counting:
                actions.append(ContactRecord.agg[key].set((ContactRecord.agg[key] | 0) + 1))
            last = contact.last_interaction_at
            if last is None or last < interaction.occurred_at:
                actions.append(ContactRecord.last_interaction_at.set(interaction.occurred_at))
                same_account &= (
                    ContactRecord.last_interaction_at == last
                    if last is not None
                    else ContactRecord.last_interaction_at.does_not_exist()
                )
            record = ContactRecord(interaction.contact_id)
            record.version = 0  # without the version condition only "ADD version 1" is sent
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.update(
                        record,
                        actions=actions,
                        add_version_condition=False,
                        condition=ContactRecord.contact_id.exists()
                        & ContactRecord.erasing.does_not_exist()
                        & same_account
                        & (ContactRecord.agg.exists() if counting else ContactRecord.agg.does_not_exist()),
                    )
                    tx.save(
                        interaction_record(
                            # noted: the contact's time is set here, or was newer already
                            replace(interaction, account_id=account_id, noted=True),
                            self._retention_days,
                        ),
                        condition=InteractionRecord.contact_id.does_not_exist(),
                    )
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons or []
                # PynamoDB sends a transaction's puts before its updates: [interaction, contact]
                failed = [r is not None and r.code == "ConditionalCheckFailed" for r in reasons]
                if failed[:1] == [True]:
                    return False  # recorded before
                if failed[1:2] == [True]:
                    continue  # erased or being erased (the next read says), moved, or counted since
                raise
            return True
        raise ConcurrentUpdate("the contact's account kept changing while an interaction was recorded")

    def recount_interactions(self, contact_id: str, attempts: int = 5) -> bool:
        """Count the contact's interactions again from its history (``Contact.agg``), after some left it
        by their retention's TTL (a removal no write of ours made, so none took it off the counts). The
        write is conditioned on the version read with the history: a tracked interaction or a capture
        meanwhile bumps it and the history is read again. Safe to repeat; ``True`` when the counts
        changed. A contact without counts is left to the backfill."""
        for _ in range(attempts):
            try:
                record = ContactRecord.get(contact_id, consistent_read=True)
            except DoesNotExist:
                return False
            if record.agg is None:
                return False
            history = (interaction_from(r) for r in InteractionRecord.query(contact_id, consistent_read=True))
            fresh = counted({}, history)
            if fresh == {str(k): int(v) for k, v in record.agg.as_dict().items()}:
                return False
            try:
                record.update(actions=[ContactRecord.agg.set(fresh)])
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            return True
        raise ConcurrentUpdate("the contact kept changing while its interactions were counted")

    def restamp_interactions(self, contact_id: str, account_id: str | None) -> int:
        """Give the contact's interactions its account now (after it moved: ``by_account_time``
        holds an account's interactions by the account each carries). Paged over the contact's
        history, one update per interaction that carries another; safe to repeat. Returns how many
        were changed."""
        changed = 0
        for record in InteractionRecord.query(contact_id):
            if record.account_id == account_id:
                continue
            action = (
                InteractionRecord.account_id.set(account_id)
                if account_id is not None
                else InteractionRecord.account_id.remove()
            )
            try:
                record.update(actions=[action], condition=InteractionRecord.contact_id.exists())
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise  # gone meanwhile (erased, moved by a merge): nothing to stamp
                continue
            changed += 1
        return changed

    def note_activity(self, contact_id: str, at: datetime) -> None:
        """Keep the newest interaction time; an older or repeated one changes nothing. One conditional
        update, no read: it bumps the version like every contact write (``ADD``), so a capture planned
        on the older version cannot overwrite it, and it never rolls a version back."""
        record = ContactRecord(contact_id)
        record.version = 0  # without the version condition only "ADD version 1" is sent
        newer = ContactRecord.last_interaction_at.does_not_exist() | (ContactRecord.last_interaction_at < at)
        try:
            record.update(
                actions=[ContactRecord.last_interaction_at.set(at)],
                condition=ContactRecord.contact_id.exists() & newer,
                add_version_condition=False,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise  # a failed condition: no such contact, or a newer time already
