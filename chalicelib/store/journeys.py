"""``JourneyStore`` on DynamoDB (``JOURNEYS_TABLE``, docs/journeys.md), items typed by key:

- ``journeys`` / ``j#<id>``: a journey's head (state, current version, name, entry): the list of
  journeys is one query; ``journey#<id>`` / ``v#000001``: each version's definition (JSON, immutable);
- ``journey#<id>`` / ``count#<step>`` (``count#*`` for the journey): the report's counters, moved with
  ``ADD`` in the same transaction as the step transition they count, so they are exactly as right as
  the transitions (a redelivery that changes nothing counts nothing);
- ``journey#<id>`` / ``m#<message id>#<opened|clicked>``: a marker that an e-mail's first open/click was
  counted (put with a condition in the counter's transaction);
- ``contact#<id>`` / ``j#<journey>``: the person's enrollment (version, step, ``seq``, state, ``due_at``);
  while a step is due later, ``due_shard`` puts it in the sparse ``by_due`` GSI that the minute sweep
  reads (as the SLA and score timers do); ``waiting = 1`` marks an engagement branch that a click wakes;
- ``contact#<id>`` / ``e#<key>``: the person's last engagement of each kind (``clicked:pricing``).

Enrollments of a person sit in one partition, so "the journeys this person is in" (to wake an
engagement branch on a click) is one keyed query, never a scan."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.journeys import EXIT_REASONS, Enrollment, JourneyHead
from chalicelib.store.sharded_index import ShardedIndex

UNBOUND = "unbound"
HEADS = "journeys"
SHARDS = 8
#: The counters of a step (``at_step`` is ``entered - left``).
COUNTERS = (
    "entered",
    "left",
    "sent",
    "refused",
    "opened",
    "clicked",
    "qualified",
    *(f"exited_{reason}" for reason in EXIT_REASONS),
)


class JourneysDue(GlobalSecondaryIndex["JourneyRecord"]):
    class Meta:
        index_name = "by_due"
        projection = KeysOnlyProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class JourneysByJourney(GlobalSecondaryIndex["JourneyRecord"]):
    """Enrollments by journey (issue 19, item 5: a segment by journey activity reads the journey's
    enrollments, not every lead): ``<journey id>#<n>`` over :data:`JOURNEY_SHARDS`, newest entry first;
    only enrollment items carry ``journey_shard`` (sparse)."""

    class Meta:
        index_name = "by_journey"
        projection = KeysOnlyProjection()

    journey_shard = UnicodeAttribute(hash_key=True)
    entered_at = UTCDateTimeAttribute(range_key=True)


class JourneyRecord(Model):
    class Meta:
        table_name = UNBOUND

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    run = NumberAttribute(null=True)
    step = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    lead_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute(null=True)
    entered_at = UTCDateTimeAttribute(null=True)
    step_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    waiting = NumberAttribute(null=True)
    journey_shard = UnicodeAttribute(null=True)
    by_due = JourneysDue()
    by_journey = JourneysByJourney()


class CounterRecord(Model):
    """The same table's counter items: every counter a declared number, so ``ADD`` can name it."""

    class Meta:
        table_name = UNBOUND

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entered = NumberAttribute(null=True)
    left = NumberAttribute(null=True)
    sent = NumberAttribute(null=True)
    refused = NumberAttribute(null=True)
    opened = NumberAttribute(null=True)
    clicked = NumberAttribute(null=True)
    qualified = NumberAttribute(null=True)
    exited_completed = NumberAttribute(null=True)
    exited_exit_step = NumberAttribute(null=True)
    exited_qualified = NumberAttribute(null=True)
    exited_unsubscribed = NumberAttribute(null=True)
    exited_goal = NumberAttribute(null=True)
    exited_stopped = NumberAttribute(null=True)
    exited_gone = NumberAttribute(null=True)
    exited_merged = NumberAttribute(null=True)


#: Shards of one journey's enrollments in ``by_journey``: a journey enrolling past about 1,000
#: people a second would be one hot key value unsharded.
JOURNEY_SHARDS = 8
BY_JOURNEY = ShardedIndex(
    index=JourneyRecord.by_journey,
    id_attribute="pk",
    key_attribute="journey_shard",
    time_attribute="entered_at",
    time_serializer=JourneyRecord.entered_at,
    shards=JOURNEY_SHARDS,
    range_of_group=("sk", lambda journey_id: f"j#{journey_id}"),
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _shard(contact_id: str, journey_id: str) -> str:
    digest = hashlib.sha256(f"{contact_id}\x1f{journey_id}".encode()).hexdigest()
    return f"due#{int(digest[:8], 16) % SHARDS}"


def _enrollment(record: JourneyRecord) -> Enrollment:
    return Enrollment(
        journey_id=record.sk.removeprefix("j#"),
        contact_id=record.pk.removeprefix("contact#"),
        version=int(record.version or 0),
        run=int(record.run or 1),
        step=record.step,
        state=record.state or "active",
        seq=int(record.seq or 0),
        entered_at=record.entered_at or datetime.now(UTC),
        step_at=record.step_at or record.entered_at or datetime.now(UTC),
        due_at=record.due_at,
        lead_id=record.lead_id,
        reason=record.reason,
        finished_at=record.finished_at,
        waiting=bool(record.waiting),
    )


def _counter_update(transaction: TransactWrite, journey_id: str, step: str, counts: dict[str, int]) -> None:
    if not counts:
        return
    item = CounterRecord(f"journey#{journey_id}", f"count#{step}")
    transaction.update(item, actions=[getattr(CounterRecord, name).add(n) for name, n in counts.items()])


def _cancelled(error: TransactWriteError) -> bool:
    return error.cause_response_code == "TransactionCanceledException"


class JourneyRepository:
    """``JourneyStore``."""

    def __init__(self, connection: Connection, table: str, region: str, host: str | None) -> None:
        self._connection = connection
        self._heads: tuple[float, list[JourneyHead]] | None = None
        records: tuple[type[Model], ...] = (JourneyRecord, CounterRecord)
        for record in records:
            record.Meta.table_name = table
            record.Meta.region = region
            record.Meta.host = host
            record._connection = None

    # ------------------------------------------------------------ definitions

    def put_version(
        self, journey_id: str, name: str, entry: dict[str, Any], definition: dict[str, Any], now: datetime
    ) -> JourneyHead:
        """A new version; the head (created ``draft``) points at it. Conditioned on the head's version
        read, so two saves at once never number the same version (409 for the loser)."""
        head = self.get_head(journey_id)
        version = head.version + 1 if head else 1
        new_head = JourneyRecord(
            HEADS,
            f"j#{journey_id}",
            name=name,
            state=head.state if head else "draft",
            version=version,
            at=now,
            data=json.dumps(entry),
        )
        item = JourneyRecord(
            f"journey#{journey_id}", f"v#{version:06d}", data=json.dumps(definition), at=now, version=version
        )
        condition = (
            JourneyRecord.pk.does_not_exist() if head is None else JourneyRecord.version == head.version
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(new_head, condition=condition)
                transaction.save(item, condition=JourneyRecord.pk.does_not_exist())
        except TransactWriteError as error:
            if _cancelled(error):
                raise ConcurrentUpdate(
                    "the journey was saved by someone else meanwhile; save again"
                ) from None
            raise
        return JourneyHead(journey_id, name, new_head.state or "draft", version, now, entry)

    def get_head(self, journey_id: str) -> JourneyHead | None:
        try:
            record = JourneyRecord.get(HEADS, f"j#{journey_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return self._head(record)

    @staticmethod
    def _head(record: JourneyRecord) -> JourneyHead:
        return JourneyHead(
            journey_id=record.sk.removeprefix("j#"),
            name=record.name or "",
            state=record.state or "draft",
            version=int(record.version or 0),
            updated_at=record.at or datetime.now(UTC),
            entry=json.loads(record.data or "{}"),
        )

    def heads(self, max_age: float = 0.0) -> list[JourneyHead]:
        """Every journey's head; ``max_age`` > 0: a list read at most that many seconds ago may be
        given (the stream consumers: a change reads no journey while there are none)."""
        import time

        if max_age > 0 and self._heads is not None and time.monotonic() - self._heads[0] < max_age:
            return list(self._heads[1])
        found = [self._head(r) for r in JourneyRecord.query(HEADS, JourneyRecord.sk.startswith("j#"))]
        self._heads = (time.monotonic(), found)
        return list(found)

    def get_version(self, journey_id: str, version: int) -> dict[str, Any] | None:
        try:
            record = JourneyRecord.get(f"journey#{journey_id}", f"v#{version:06d}")
        except DoesNotExist:
            return None
        return dict(json.loads(record.data or "{}"))

    def set_state(self, journey_id: str, expected: Sequence[str], state: str, now: datetime) -> bool:
        """Move the head to ``state`` if it is in one of ``expected`` (``False`` otherwise)."""
        record = JourneyRecord(HEADS, f"j#{journey_id}")
        try:
            record.update(
                actions=[JourneyRecord.state.set(state), JourneyRecord.at.set(now)],
                condition=JourneyRecord.state.is_in(*expected),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------ enrollments

    def get_enrollment(self, contact_id: str, journey_id: str) -> Enrollment | None:
        try:
            record = JourneyRecord.get(f"contact#{contact_id}", f"j#{journey_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return _enrollment(record)

    def get_enrollments(self, contact_ids: Sequence[str], journey_id: str) -> list[Enrollment]:
        """These people's enrollments in one journey (a consistent batch read; the missing left out)."""
        keys = [(f"contact#{c}", f"j#{journey_id}") for c in dict.fromkeys(contact_ids)]
        return [_enrollment(r) for r in JourneyRecord.batch_get(keys, consistent_read=True)] if keys else []

    def enrollments_of(self, contact_id: str) -> list[Enrollment]:
        return [
            _enrollment(r)
            for r in JourneyRecord.query(f"contact#{contact_id}", JourneyRecord.sk.startswith("j#"))
        ]

    def contacts_in_journey(
        self, journey_id: str, limit: int, cursor: str | None
    ) -> tuple[list[str], str | None]:
        """The people enrolled in a journey (now or before), newest entry first, a page of ``limit``
        from the ``by_journey`` index (its shards merged), and the cursor after it (``None``: done)."""
        entries, next_cursor = BY_JOURNEY.page([journey_id], limit, cursor)
        return [e.pk.removeprefix("contact#") for e in entries], next_cursor

    def enroll(self, enrollment: Enrollment, previous: Enrollment | None, waiting: bool) -> bool:
        """Write a new enrollment (its first step due at ``due_at``) with the counters of entering,
        conditioned on there being none, or on the earlier one being finished and unchanged (a
        re-entry). ``False`` when someone else enrolled the person first."""
        record = self._record(enrollment, waiting)
        condition = (
            JourneyRecord.pk.does_not_exist()
            if previous is None
            else (JourneyRecord.state == "done") & (JourneyRecord.run == previous.run)
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(record, condition=condition)
                _counter_update(transaction, enrollment.journey_id, "*", {"entered": 1})
                _counter_update(transaction, enrollment.journey_id, enrollment.step or "*", {"entered": 1})
        except TransactWriteError as error:
            if _cancelled(error):
                return False
            raise
        return True

    def _record(self, e: Enrollment, waiting: bool) -> JourneyRecord:
        active = e.state == "active" and e.due_at is not None
        return JourneyRecord(
            f"contact#{e.contact_id}",
            f"j#{e.journey_id}",
            version=e.version,
            run=e.run,
            step=e.step,
            state=e.state,
            seq=e.seq,
            entered_at=e.entered_at,
            step_at=e.step_at,
            due_at=e.due_at if active else None,
            due_shard=_shard(e.contact_id, e.journey_id) if active else None,
            lead_id=e.lead_id,
            reason=e.reason,
            finished_at=e.finished_at,
            waiting=1 if waiting and active else None,
            journey_shard=BY_JOURNEY.key(e.journey_id, e.contact_id),
        )

    def advance(
        self,
        before: Enrollment,
        after: Enrollment,
        waiting: bool,
        counts: dict[str, dict[str, int]],
    ) -> bool:
        """Move an enrollment from ``before`` to ``after`` with the counters of the move (step ->
        counter -> n), in one transaction conditioned on ``seq`` and state as read: of two deliveries
        of the same step only one moves it. ``False`` for the one that lost."""
        record = self._record(after, waiting)
        actions: list[Action] = [
            JourneyRecord.step.set(after.step) if after.step else JourneyRecord.step.remove(),
            JourneyRecord.seq.set(after.seq),
            JourneyRecord.state.set(after.state),
            JourneyRecord.step_at.set(after.step_at),
        ]
        for name in ("due_at", "due_shard", "waiting", "reason", "finished_at", "lead_id"):
            value = getattr(record, name)
            attribute = getattr(JourneyRecord, name)
            actions.append(attribute.set(value) if value is not None else attribute.remove())
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(
                    JourneyRecord(f"contact#{before.contact_id}", f"j#{before.journey_id}"),
                    actions=actions,
                    condition=(JourneyRecord.seq == before.seq) & (JourneyRecord.state == "active"),
                )
                for step, step_counts in counts.items():
                    _counter_update(transaction, before.journey_id, step, step_counts)
        except TransactWriteError as error:
            if _cancelled(error):
                return False
            raise
        return True

    def transfer(self, before: Enrollment, contact_id: str) -> bool:
        """Give an enrollment to another contact (a merge's survivor) as it is (step, version, timer,
        or finished): one transaction that writes the survivor's (conditioned on their having none in
        this journey) and deletes the merged contact's (conditioned on ``seq`` and state as read: a
        worker's move meanwhile wins). The counters do not change: the same person is at the same
        step. ``False`` when either condition failed."""
        moved = replace(before, contact_id=contact_id)
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(
                    self._record(moved, before.waiting), condition=JourneyRecord.pk.does_not_exist()
                )
                transaction.delete(
                    JourneyRecord(f"contact#{before.contact_id}", f"j#{before.journey_id}"),
                    condition=(JourneyRecord.seq == before.seq) & (JourneyRecord.state == before.state),
                )
        except TransactWriteError as error:
            if _cancelled(error):
                return False
            raise
        return True

    def due(self, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(contact id, journey id) of enrollments due by ``now``, from every shard of ``by_due``."""
        found: list[tuple[str, str]] = []
        for shard in range(SHARDS):
            for record in JourneyRecord.by_due.query(
                f"due#{shard}", JourneyRecord.due_at <= now, limit=max(1, limit - len(found))
            ):
                found.append((record.pk.removeprefix("contact#"), record.sk.removeprefix("j#")))
                if len(found) >= limit:
                    return found
        return found

    # ------------------------------------------------------------ engagement and the report

    def note_event(self, contact_id: str, key: str, at: datetime) -> None:
        """The person's last engagement of this kind (``clicked:pricing``)."""
        JourneyRecord(f"contact#{contact_id}", f"e#{key}"[:1024], at=at).save()

    def events_of(self, contact_id: str) -> dict[str, datetime]:
        return {
            r.sk.removeprefix("e#"): r.at or datetime.now(UTC)
            for r in JourneyRecord.query(f"contact#{contact_id}", JourneyRecord.sk.startswith("e#"))
        }

    def forget_contact(self, contact_id: str) -> int:
        """Delete the person's partition (``contact#<id>``: enrollments, which name a lead, and
        engagement notes, which may hold a visited address): an erasure's part of this table. The
        counters keep only numbers; the first-open markers only message ids."""
        deleted = 0
        with JourneyRecord.batch_write() as batch:
            for record in JourneyRecord.query(f"contact#{contact_id}", attributes_to_get=["pk", "sk"]):
                batch.delete(record)
                deleted += 1
        return deleted

    def count_once(self, journey_id: str, step: str, marker: str, counter: str) -> bool:
        """Add 1 to ``counter`` of the step the first time ``marker`` is seen (an e-mail's first open)."""
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(
                    JourneyRecord(f"journey#{journey_id}", f"m#{marker}"),
                    condition=JourneyRecord.pk.does_not_exist(),
                )
                _counter_update(transaction, journey_id, step, {counter: 1})
                _counter_update(transaction, journey_id, "*", {counter: 1})
        except TransactWriteError as error:
            if _cancelled(error):
                return False
            raise
        return True

    def counters(self, journey_id: str) -> dict[str, dict[str, int]]:
        """Step (``*``: the whole journey) -> counter -> value."""
        found: dict[str, dict[str, int]] = {}
        for record in CounterRecord.query(f"journey#{journey_id}", CounterRecord.sk.startswith("count#")):
            found[record.sk.removeprefix("count#")] = {
                name: int(getattr(record, name) or 0) for name in COUNTERS
            }
        return found
