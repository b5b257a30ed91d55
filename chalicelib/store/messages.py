"""``MailStore`` on DynamoDB (``MAIL_TABLE``): template versions, messages and suppressed addresses.

Exactly once: a message is *claimed* by a put conditioned on its id not existing, before SES is called;
only the claimant sends. A template's new version is written with its head in one transaction
conditioned on the head's version, so two concurrent saves never number the same version."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.email import (
    REFUSALS,
    STATUSES,
    EmailTemplate,
    Message,
    MessageFilter,
    TrackedLink,
    counts_to_cap,
    journey_of,
)
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.stored import Page
from chalicelib.store.dynamo import decode_cursor, encode_cursor
from chalicelib.store.records import MailRecord
from chalicelib.store.sharded_index import BAD_CURSOR, merge_newest

HEAD = "head"
#: The sort key of a contact's frequency-cap item (``cap#<contact id>``).
CAP = "cap"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _template(record: MailRecord) -> EmailTemplate:
    data = json.loads(record.data)
    return EmailTemplate(
        template_id=data["template_id"],
        subject=data["subject"],
        html=data["html"],
        text=data["text"],
        sender=data.get("sender"),
        consent=data.get("consent", "marketing"),
        version=int(record.version or 0),
        updated_at=_time(record.created_at),
    )


def _message(record: MailRecord) -> Message:
    data = json.loads(record.data)
    return Message(
        message_id=data["message_id"],
        template_id=data["template_id"],
        version=data["version"],
        contact_id=data["contact_id"],
        to=data["to"],
        cause=data["cause"],
        status=record.status or "unknown",
        created_at=datetime.fromisoformat(record.created_at),
        subject=data.get("subject", ""),
        html=data.get("html", ""),
        text=data.get("text", ""),
        lead_id=data.get("lead_id"),
        reason=data.get("reason"),
        ses_message_id=data.get("ses_message_id"),
        sent_at=_time(data.get("sent_at")),
        links=[TrackedLink(**link) for link in data.get("links", [])],
        consent=data.get("consent", "marketing"),
        opens=int(record.opens or 0),
        clicks=int(record.clicks or 0),
    )


def _message_record(message: Message) -> MailRecord:
    data = asdict(message)
    for key in ("status", "created_at", "opens", "clicks", "sent_at"):
        data.pop(key)
    return MailRecord(
        f"message#{message.message_id}",
        "message",
        data=json.dumps(data),
        status=message.status,
        contact_id=message.contact_id,
        created_at=_iso(message.created_at),
        opens=0,
        clicks=0,
        list_key=f"status#{message.status}",  # ``by_list``: moved on by ``finish_message``
    )


def _listings(message: Message) -> list[MailRecord]:
    """The message's listing items (``by_list``): its template's and, for a journey's e-mail, its
    journey's. They hold no personal data; ``contact_id`` lets an erasure find them."""
    keys = {"template": f"template#{message.template_id}"}
    journey_id = journey_of(message.cause)
    if journey_id is not None:
        keys["journey"] = f"journey#{journey_id}"
    return [
        MailRecord(
            f"message#{message.message_id}",
            f"list#{kind}",
            contact_id=message.contact_id,
            created_at=_iso(message.created_at),
            list_key=key,
        )
        for kind, key in keys.items()
    ]


def _list_key(where: MessageFilter) -> str:
    if where.journey_id is not None:
        return f"journey#{where.journey_id}"
    if where.template_id is not None:
        return f"template#{where.template_id}"
    return f"status#{where.status}"


def keys_attribute(index: Any) -> str:
    return "contact_id" if index is MailRecord.by_contact else "list_key"


_CONTACT_CURSOR = frozenset({"pk", "sk", "contact_id", "created_at"})
_LIST_CURSOR = frozenset({"pk", "sk", "list_key", "created_at"})
_DONE = "done"
_NEW = "new"


def _statuses_cursor(cursor: str | None) -> list[str | None]:
    """Per status: ``None`` (not started: :data:`_NEW` in the cursor), :data:`_DONE`, or
    ``"<created_at> <pk>"`` of the last entry taken."""
    start = decode_cursor(cursor, frozenset(STATUSES))
    if start is None:
        return [None] * len(STATUSES)
    positions: list[str | None] = []
    for status in STATUSES:
        text = start[status]["S"]
        if text not in (_NEW, _DONE) and not _POSITION.fullmatch(text):
            raise BAD_CURSOR
        positions.append(None if text == _NEW else text)
    return positions


_POSITION = re.compile(r"[0-9T:.+\-]{10,40} message#[A-Za-z0-9_]{1,80}")


def _first_failed(error: TransactWriteError) -> bool:
    """The transaction was cancelled by its first item's condition (the message existed)."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return bool(reasons) and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed"


def _suppression_key(email: str) -> str:
    return "suppressed#" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


class MailRepository:
    """``MailStore``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # ------------------------------------------------------------ templates

    def put_template(self, template: EmailTemplate, now: datetime) -> EmailTemplate:
        pk = f"template#{template.template_id}"
        try:
            head: MailRecord | None = MailRecord.get(pk, HEAD, consistent_read=True)
        except DoesNotExist:
            head = None
        version = int(head.version or 0) + 1 if head else 1
        data = json.dumps(
            {
                "template_id": template.template_id,
                "subject": template.subject,
                "html": template.html,
                "text": template.text,
                "sender": template.sender,
                "consent": template.consent,
            }
        )
        at = _iso(now)
        new_head = MailRecord(pk, HEAD, data=data, created_at=at, version=version)
        item = MailRecord(pk, f"v#{version:06d}", data=data, created_at=at, version=version)
        condition = (
            MailRecord.pk.does_not_exist() if head is None else MailRecord.version == int(head.version or 0)
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(new_head, condition=condition)
                transaction.save(item, condition=MailRecord.pk.does_not_exist())
        except TransactWriteError as error:
            if error.cause_response_code == "TransactionCanceledException":
                raise ConcurrentUpdate(
                    "the template was saved by someone else meanwhile; save again"
                ) from None
            raise
        return replace(template, version=version, updated_at=now)

    def get_template(self, template_id: str, version: int | None = None) -> EmailTemplate | None:
        sk = HEAD if version is None else f"v#{version:06d}"
        try:
            return _template(MailRecord.get(f"template#{template_id}", sk, consistent_read=True))
        except DoesNotExist:
            return None

    def list_templates(self, limit: int) -> list[EmailTemplate]:
        # a scan over the mail table's heads: an admin page of a few hundred templates at most
        found = MailRecord.scan(MailRecord.pk.startswith("template#") & (MailRecord.sk == HEAD))
        templates = [_template(record) for record in found]
        return sorted(templates, key=lambda t: t.template_id)[:limit]

    # ------------------------------------------------------------ messages

    def claim_message(self, message: Message) -> Message | None:
        """The message and its listing items (``by_list``) in one transaction, conditioned on the
        message not existing."""
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(_message_record(message), condition=MailRecord.pk.does_not_exist())
                for listing in _listings(message):
                    transaction.save(listing)
        except TransactWriteError as error:
            if _first_failed(error):
                return self.get_message(message.message_id)
            raise
        return None

    def claim_within_cap(
        self, message: Message, cap: int, since: datetime, attempts: int = 8
    ) -> tuple[Message | None, int | None]:
        """The message and a slot of the contact's cap in one transaction. The cap item
        (``cap#<contact>``, ``cap``) holds the ids and times of the e-mails that took a slot in the last
        24 hours and a version; the transaction writes it back with one more, conditioned on the version
        read, so of two concurrent sends for the last slot one wins and the other reads again and is
        refused. (Counting the contact's messages and then claiming, as increment 1 did, let both pass.)"""
        pk, at = f"cap#{message.contact_id}", _iso(since)
        for _ in range(attempts):
            try:
                item: MailRecord | None = MailRecord.get(pk, CAP, consistent_read=True)
            except DoesNotExist:
                item = None
            held = {mid: when for mid, when in json.loads(item.data).items() if when >= at} if item else {}
            if message.message_id not in held and len(held) >= cap:
                return None, len(held)
            held[message.message_id] = _iso(message.created_at)
            version = int(item.version or 0) if item else 0
            window = MailRecord(
                pk,
                CAP,
                data=json.dumps(held, separators=(",", ":")),
                contact_id=message.contact_id,  # erased with the contact (``forget_contact``)
                created_at=_iso(message.created_at),
                version=version + 1,
            )
            read = MailRecord.pk.does_not_exist() if item is None else MailRecord.version == version
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    transaction.save(_message_record(message), condition=MailRecord.pk.does_not_exist())
                    transaction.save(window, condition=read)
                    for listing in _listings(message):
                        transaction.save(listing)
            except TransactWriteError as error:
                if _first_failed(error):
                    return self.get_message(message.message_id), None  # claimed before: a replay
                if error.cause_response_code == "TransactionCanceledException":
                    continue  # the cap item moved meanwhile: read it again
                raise
            return None, None
        raise ConcurrentUpdate("too many e-mails to this contact at once; retry")

    def release_cap(self, contact_id: str, message_id: str) -> None:
        for _ in range(8):
            try:
                item = MailRecord.get(f"cap#{contact_id}", CAP, consistent_read=True)
            except DoesNotExist:
                return
            held = json.loads(item.data)
            if held.pop(message_id, None) is None:
                return
            try:
                item.update(
                    actions=[
                        MailRecord.data.set(json.dumps(held, separators=(",", ":"))),
                        MailRecord.version.add(1),
                    ],
                    condition=MailRecord.version == int(item.version or 0),
                )
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            return

    def finish_message(
        self, message_id: str, status: str, ses_message_id: str | None, reason: str | None, now: datetime
    ) -> None:
        record = MailRecord.get(f"message#{message_id}", "message", consistent_read=True)
        data = json.loads(record.data)
        data.update(ses_message_id=ses_message_id, reason=reason)
        if status == "sent":
            data["sent_at"] = _iso(now)
        record.update(
            actions=[
                MailRecord.status.set(status),
                MailRecord.data.set(json.dumps(data)),
                MailRecord.list_key.set(f"status#{status}"),  # the status listing follows
            ],
            condition=MailRecord.status == "sending",
        )

    def get_message(self, message_id: str) -> Message | None:
        try:
            return _message(MailRecord.get(f"message#{message_id}", "message", consistent_read=True))
        except DoesNotExist:
            return None

    def list_messages(self, where: MessageFilter, limit: int, cursor: str | None) -> Page:
        """Messages newest first, ``limit`` index entries a page, from one keyed query: the contact's
        (``by_contact``), else the journey's or the template's listing items, else the status's
        (``by_list``); with no filter, every status's listing merged newest first. Filters not served
        by the key are checked on the messages read (a page may then hold fewer). Never a scan."""
        index: Any
        if where.contact_id is not None:
            key, index, keys = where.contact_id, MailRecord.by_contact, _CONTACT_CURSOR
            condition: Any = MailRecord.sk == "message"
        elif where.journey_id is not None or where.template_id is not None or where.status is not None:
            key, index, keys, condition = _list_key(where), MailRecord.by_list, _LIST_CURSOR, None
        else:
            return self._every_status(where, limit, cursor)
        start = decode_cursor(cursor, keys)
        if start is not None and start[keys_attribute(index)]["S"] != key:
            raise BAD_CURSOR  # a cursor of another list
        results = index.query(
            key,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
            filter_condition=condition,
        )
        entries = list(results)
        more = len(entries) >= limit and results.last_evaluated_key
        messages = self._messages_of([e.pk for e in entries])
        return Page(
            items=[m for m in messages if where.holds(m)],
            next_cursor=encode_cursor(results.last_evaluated_key) if more else None,
        )

    def _every_status(self, where: MessageFilter, limit: int, cursor: str | None) -> Page:
        """Every message newest first: each status's listing (few: :data:`STATUSES`) read in parallel
        and merged. The cursor says, per status, the last entry taken or that it is done."""
        positions = _statuses_cursor(cursor)
        live = [i for i, position in enumerate(positions) if position != _DONE]

        def fetch(i: int) -> tuple[list[Any], bool]:
            status, at = STATUSES[i], positions[i]
            start = None
            if at is not None:
                created, _, pk = at.partition(" ")
                start = {
                    "pk": {"S": pk},
                    "sk": {"S": "message"},
                    "list_key": {"S": f"status#{status}"},
                    "created_at": {"S": created},
                }
            results = MailRecord.by_list.query(
                f"status#{status}", scan_index_forward=False, limit=limit, last_evaluated_key=start
            )
            found = list(results)
            return found, len(found) >= limit and results.last_evaluated_key is not None

        taken, after = merge_newest(
            live,
            fetch,
            positions,
            limit,
            lambda r: (r.created_at, r.pk),
            lambda r: f"{r.created_at} {r.pk}",  # type: ignore[arg-type,return-value]
        )
        messages = self._messages_of([r.pk for r in taken])
        next_cursor = None
        if any(position != _DONE for position in after):
            next_cursor = encode_cursor({s: {"S": p or _NEW} for s, p in zip(STATUSES, after, strict=True)})
        return Page(items=[m for m in messages if where.holds(m)], next_cursor=next_cursor)

    def _messages_of(self, pks: list[str]) -> list[Message]:
        """The messages of these keys, in this order (one ``BatchGetItem`` per 100)."""
        found = {
            r.pk: _message(r) for r in MailRecord.batch_get([(pk, "message") for pk in dict.fromkeys(pks)])
        }
        return [found[pk] for pk in pks if pk in found]

    def sent_since(self, contact_id: str, since: datetime) -> int:
        count = 0
        for record in MailRecord.by_contact.query(contact_id, MailRecord.created_at >= _iso(since)):
            if record.sk != "message" or record.status in REFUSALS or record.status == "failed":
                continue
            if counts_to_cap(json.loads(record.data).get("consent", "marketing")):
                count += 1
        return count

    def count_event(self, message_id: str, kind: str) -> None:
        attribute = MailRecord.opens if kind == "opens" else MailRecord.clicks
        MailRecord(f"message#{message_id}", "message").update(
            actions=[attribute.add(1)], condition=MailRecord.pk.exists()
        )

    # ------------------------------------------------------------ suppression

    def suppression(self, email: str) -> str | None:
        try:
            record = MailRecord.get(_suppression_key(email), "suppression", consistent_read=True)
        except DoesNotExist:
            return None
        return str(json.loads(record.data).get("reason", "suppressed"))

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        MailRecord(
            _suppression_key(email), "suppression", data=json.dumps({"reason": reason}), created_at=_iso(now)
        ).save()

    def forget_contact(self, contact_id: str) -> int:
        deleted = 0
        for record in MailRecord.by_contact.query(contact_id):
            MailRecord(record.pk, record.sk).delete()
            deleted += record.sk == "message"  # the messages; their cap item and listings go too
        return deleted
