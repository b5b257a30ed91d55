"""Optimistic retries: after losing a race (a conditional write refused: the store raises
:class:`~chalicelib.domain.errors.ConcurrentUpdate` and wrote nothing), wait a little, jittered, and run
the whole step again (it re-reads what it decides on). The waits stay short because the race is with one
other request for the same record. One policy, with tenacity, for every use case that writes on the
versions it read (capture, lifecycle, qualification, merges, consent, erasure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib.domain.errors import ConcurrentUpdate

T = TypeVar("T")

#: Attempts of a step that keeps losing its race before the use case gives up (the caller retries).
ATTEMPTS = 10
#: Each wait is random between 0 and ``min(MAX_WAIT, FIRST_WAIT * 2 ** attempt)`` seconds ("full jitter").
FIRST_WAIT = 0.01
MAX_WAIT = 0.2


def on_conflict(step: Callable[[], T], exhausted: Exception, attempts: int = ATTEMPTS) -> T:
    """``step()``, run again while it raises :class:`ConcurrentUpdate` (up to ``attempts`` times), then
    ``exhausted`` is raised (chained to the last conflict). Other exceptions pass through at once.

    ``step`` must be safe to run again: it reads, decides and makes one conditional write, so a lost
    race leaves nothing behind."""
    from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
    from tenacity.wait import wait_random_exponential

    def give_up(state: RetryCallState) -> T:
        last = state.outcome.exception() if state.outcome is not None else None
        raise exhausted from last

    retrying = Retrying(
        retry=retry_if_exception_type(ConcurrentUpdate),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=FIRST_WAIT, max=MAX_WAIT),
        retry_error_callback=give_up,
    )
    return retrying(step)
