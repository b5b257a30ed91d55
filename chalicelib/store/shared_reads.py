"""Contacts and accounts read once per stream batch, by every consumer of the batch (issue 19).

The contacts stream's dispatcher runs scoring, qualification and duplicate detection one after the
other on the same records; each read the same contact (and account) again, strongly consistent, a few
milliseconds apart. Inside :func:`shared`, the stores answer a contact or account read earlier in the
block from that read. A consumer then sees the item as it was at the batch's first read, as if it had
run at that moment: a change made meanwhile is a stream record of its own, which runs every consumer
again with what it wrote. Only reads are shared, never leads (qualification's write is conditioned on
the lead's version, read afresh) and never outside a dispatcher's batch (a retried record reads afresh).

Kept free of PynamoDB and boto3: the dispatcher imports it at its start."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_held: ContextVar[dict[tuple[str, str], Any] | None] = ContextVar("leadflow_shared_reads", default=None)


@contextlib.contextmanager
def shared() -> Iterator[None]:
    """Within the block, a contact or account read once is not read again."""
    token = _held.set({})
    try:
        yield
    finally:
        _held.reset(token)


def one(kind: str, key: str, read: Callable[[str], T | None]) -> T | None:
    held = _held.get()
    if held is None:
        return read(key)
    if (kind, key) not in held:
        held[(kind, key)] = read(key)
    return held[(kind, key)]


def many(
    kind: str, keys: Sequence[str], read: Callable[[list[str]], list[T]], key_of: Callable[[T], str]
) -> list[T]:
    """``read`` for the keys not held; the found and the held, in ``keys`` order (missing left out)."""
    held = _held.get()
    wanted = list(dict.fromkeys(keys))
    if held is None:
        return read(wanted) if wanted else []
    missing = [k for k in wanted if (kind, k) not in held]
    if missing:
        found = {key_of(item): item for item in read(missing)}
        for k in missing:
            held[(kind, k)] = found.get(k)
    return [held[(kind, k)] for k in wanted if held[(kind, k)] is not None]
