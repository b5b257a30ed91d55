"""One reader per busy DynamoDB stream, running every consumer of it, each consumer's failures apart.

AWS advises at most two Lambda readers per stream shard (a third is throttled). The interactions stream
has three consumers (last activity, scoring, triggers) and so has the contacts stream (scoring,
qualification, duplicate detection): each stream has one dispatcher function instead, which runs every
consumer on the whole batch, one after the other, with the consumer's own code (the batch handler it
was as a function of its own).

A record a consumer fails goes to that consumer's retry queue (then its dead-letter queue, alarmed), so
a poison record for one consumer holds back neither the other consumers nor the stream, and retrying
it (``retry_stream_consumers``) reruns that consumer only. Only when a failed record cannot be queued
(SQS refuses, or the record is too big for a message) does the dispatcher report it to the stream:
Lambda then retries it, rerunning every consumer on it (each is idempotent), bisects, and in the end
describes it on the stream-failures queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.observability import count, flush, logger

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

#: The consumers of each dispatched stream, in the order they run.
STREAMS: dict[str, tuple[str, ...]] = {
    "interactions": ("note_activity", "score_changes", "run_triggers"),
    "contacts": ("score_changes", "qualify", "detect_duplicates"),
}
#: SQS refuses messages over 256 KiB; a record that does not fit in this is retried on the stream.
MAX_MESSAGE_BYTES = 250_000


def consumer(name: str) -> Handler:
    """The batch handler of a consumer (imported on use: each pulls in what it needs)."""
    if name == "note_activity":
        from chalicelib.handlers.tracking import note_activity

        return note_activity
    if name == "score_changes":
        from chalicelib.handlers.scoring import score_changes

        return score_changes
    if name == "run_triggers":
        from chalicelib.handlers.qualification import run_triggers

        return run_triggers
    if name == "qualify":
        from chalicelib.handlers.qualification import qualify

        return qualify
    if name == "detect_duplicates":
        from chalicelib.handlers.identity import detect_duplicates

        return detect_duplicates
    raise KeyError(name)


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def run(name: str, records: list[dict[str, Any]], context: Any) -> set[str]:
    """The sequence numbers of the records ``name`` failed (all of them when it raised)."""
    try:
        answer = consumer(name)({"Records": records}, context)
    except Exception:  # a consumer that fails every record raises (Powertools' BatchProcessingError)
        logger.exception(
            "stream consumer failed its batch", extra={"consumer": name, "records": len(records)}
        )
        return {_sequence(r) for r in records}
    return {str(item["itemIdentifier"]) for item in (answer or {}).get("batchItemFailures", [])}


def retry_message(name: str, stream: str, record: dict[str, Any]) -> str | None:
    """The retry queue's message for one record, or ``None`` when it cannot fit in one (the old image,
    which only tells what changed, is dropped first: the consumer then treats the record as a change)."""
    body = json.dumps({"consumer": name, "stream": stream, "record": record}, separators=(",", ":"))
    if len(body.encode()) <= MAX_MESSAGE_BYTES:
        return body
    trimmed = {**record, "dynamodb": {k: v for k, v in record["dynamodb"].items() if k != "OldImage"}}
    body = json.dumps({"consumer": name, "stream": stream, "record": trimmed}, separators=(",", ":"))
    return body if len(body.encode()) <= MAX_MESSAGE_BYTES else None


def dispatch(stream: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Every consumer of ``stream`` on the batch; failures to their retry queues. Safe to repeat: every
    consumer is idempotent, and a record queued twice for retry is processed twice harmlessly."""
    from chalicelib.store.shared_reads import shared

    records = list(event.get("Records", []))
    # the consumers read the batch's contacts and accounts once between them (store/shared_reads.py)
    with shared():
        unqueued = _run_all(stream, records, context)
    order = [_sequence(r) for r in records]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in order if s in unqueued]}


def _run_all(stream: str, records: list[dict[str, Any]], context: Any) -> set[str]:
    from chalicelib import wiring

    unqueued: set[str] = set()
    try:
        for name in STREAMS[stream]:
            failed = run(name, records, context)
            if failed:
                queue = wiring.deps().retry_queues[name]
                unqueued |= _queue_for_retry(
                    queue, name, stream, [r for r in records if _sequence(r) in failed]
                )
    finally:
        flush()
    return unqueued


def _queue_for_retry(queue: Any, name: str, stream: str, records: list[dict[str, Any]]) -> set[str]:
    """Queue each record for ``name``'s retry; the sequence numbers that could not be queued."""
    unqueued = set()
    for record in records:
        body = retry_message(name, stream, record)
        try:
            if body is None:
                raise ValueError("the record does not fit in an SQS message")
            queue.send_raw(body)
        except Exception:
            logger.exception("stream record not queued for retry", extra={"consumer": name, "stream": stream})
            unqueued.add(_sequence(record))
            continue
        count("StreamRecordDeferred")
        logger.warning(
            "stream record queued for its consumer's retry",
            extra={"consumer": name, "stream": stream, "sequence": _sequence(record)},
        )
    return unqueued


def retry(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A consumer's retry queue: rerun that consumer (only) on the record. A record that fails again
    returns to the queue and, after the queue's ``maxReceiveCount``, to the consumer's dead-letter
    queue."""
    from aws_lambda_powertools.utilities.batch import EventType
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.handlers.batch import process

    def handle(record: SQSRecord) -> None:  # Powertools passes ``record=``
        body = json.loads(record.body)
        failed = run(str(body["consumer"]), [body["record"]], context)
        if failed:
            raise RuntimeError(f"{body['consumer']} failed record {_sequence(body['record'])} again")

    return process(event, context, EventType.SQS, handle)
