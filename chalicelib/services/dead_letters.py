"""The hand-off dead-letter queue as the console shows it: peek at what is there, and redrive it.

Peeking receives with a zero visibility timeout, so every message stays in the queue and is visible
again at once; redriving reuses :func:`~chalicelib.integrations.handoff_consumer.redrive` (a fresh
deduplication id per move, the same CloudEvent ``id``, so consumers still recognise a repeat)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import Conflict
from chalicelib.wiring import Deps

PEEK_MAX = 50


class DeadLetterQueueUnset(Conflict):
    code = "not_configured"

    def __init__(self) -> None:
        super().__init__("HANDOFF_DLQ_URL is not set for this stage", "HANDOFF_DLQ_URL")


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered hand-off, from its CloudEvent (``None`` where the body does not say)."""

    message_id: str
    handoff_id: str | None
    type: str | None
    lead_id: str | None
    time: str | None
    subject: str | None
    receive_count: int


@dataclass(frozen=True)
class DeadLetters:
    """What a peek saw: the queue's approximate depth and up to ``PEEK_MAX`` messages."""

    approximate_count: int
    messages: list[DeadLetter]


def _urls(deps: Deps) -> tuple[str, str]:
    settings = deps.settings
    if not settings.handoff_dlq_url or not settings.handoff_queue_url:
        raise DeadLetterQueueUnset()
    return settings.handoff_dlq_url, settings.handoff_queue_url


def _entry(message: dict[str, Any]) -> DeadLetter:
    try:
        event = json.loads(message["Body"])
    except ValueError:
        event = {}
    data = event.get("data", {}) if isinstance(event, dict) else {}
    work = data.get("handoff", {}) if isinstance(data, dict) else {}
    attributes = message.get("Attributes", {})
    return DeadLetter(
        message_id=message["MessageId"],
        handoff_id=event.get("id"),
        type=event.get("type"),
        lead_id=event.get("subject"),
        time=event.get("time"),
        subject=work.get("subject") or work.get("name"),
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
    )


def peek(deps: Deps) -> DeadLetters:
    """Up to ``PEEK_MAX`` dead-lettered hand-offs and the queue's approximate depth; changes nothing."""
    dead_letters, _ = _urls(deps)
    depth = deps.queue_admin.depth(dead_letters)
    return DeadLetters(depth, [_entry(m) for m in deps.queue_admin.peek(dead_letters, PEEK_MAX)])


def redrive(deps: Deps) -> int:
    """Move every dead-lettered hand-off back to the hand-off queue; how many moved."""
    dead_letters, queue = _urls(deps)
    return deps.queue_admin.redrive(dead_letters, queue)
