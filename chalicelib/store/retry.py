"""Retries, one mechanism for every place that repeats a step: :func:`retrying`, and :func:`on_conflict`,
the policy for optimistic writes. After losing a race (a conditional write refused: the store raises
:class:`~chalicelib.domain.errors.ConcurrentUpdate` and wrote nothing), wait a little, jittered, and run the
whole step again (it re-reads what it decides on). The waits stay short because the race is with one other
request for the same record. Used by capture, the lifecycle, qualification, merges, consent, erasure, the
records store, and (with its own waits) the LinkedIn client.

Hand-written rather than tenacity, for a measured reason: tenacity adds 30,104 bytes to the deployment
zip (tenacity/ 24,659 + its dist-info 5,445, compressed), and the zip stood at 4,968,374 bytes of its
5,000,000 budget (bench/budgets.json): with tenacity it measured 5,024,113 (``python -m
leadflow_local.packaging --stage prod out/``, 2026-12-06)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from chalicelib.domain.errors import ConcurrentUpdate

T = TypeVar("T")
E = TypeVar("E", bound=Exception)

#: Attempts of a step that keeps losing its race before the use case gives up (the caller retries).
ATTEMPTS = 10
#: Each wait is random between 0 and ``min(MAX_WAIT, FIRST_WAIT * 2 ** (attempt - 1))`` ("full jitter").
FIRST_WAIT = 0.01
MAX_WAIT = 0.2


def retrying(
    step: Callable[[], T],
    retry_on: type[E],
    attempts: int,
    wait: Callable[[int, E], float],
    give_up: Callable[[E, int], Exception],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``step()``, run again while it raises ``retry_on``: after attempt ``n`` fails with ``exc``,
    ``sleep(wait(n, exc))``; when the last of ``attempts`` fails, ``give_up(exc, attempts)`` is raised
    (chained to ``exc``). Other exceptions pass through at once."""
    attempt = 1
    while True:
        try:
            return step()
        except retry_on as exc:
            if attempt >= attempts:
                raise give_up(exc, attempt) from exc
            sleep(wait(attempt, exc))
        attempt += 1


def jittered(attempt: int, _exc: Exception) -> float:
    return random.uniform(0, min(MAX_WAIT, FIRST_WAIT * 2 ** (attempt - 1)))


def on_conflict(step: Callable[[], T], exhausted: Exception, attempts: int = ATTEMPTS) -> T:
    """``step()``, run again while it raises :class:`ConcurrentUpdate` (up to ``attempts`` times), then
    ``exhausted`` is raised (chained to the last conflict). Other exceptions pass through at once.

    ``step`` must be safe to run again: it reads, decides and makes one conditional write, so a lost
    race leaves nothing behind."""
    return retrying(step, ConcurrentUpdate, attempts, jittered, lambda _exc, _n: exhausted)
