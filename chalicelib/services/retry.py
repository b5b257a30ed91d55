"""Optimistic retries: after losing a race (a conditional write refused), wait a little, jittered, and
read again. The waits stay short because the race is with one other request for the same record."""

from __future__ import annotations

import random
import time


def backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))
