"""Rate limits (pure): a token bucket's size and refill, what taking a token decided, and the errors a
limit raises. The buckets themselves live behind the ``RateLimiter`` port (``store/ratelimits.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.domain.errors import DomainError


@dataclass(frozen=True)
class Limit:
    """``burst`` tokens, refilled at ``per_minute``."""

    per_minute: int
    burst: int

    @property
    def interval_ms(self) -> int:
        return max(1, math.ceil(60_000 / self.per_minute))


def limit_of(per_minute: int, burst: int) -> Limit | None:
    """The limit a setting describes; ``None`` (no limit) for a rate of 0."""
    return Limit(per_minute, burst) if per_minute > 0 else None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: Seconds until a token is back (0 when allowed).
    retry_after: int = 0


class LimiterUnavailable(Exception):
    """The buckets cannot be reached (their table is missing, the network failed): a fault of ours,
    never the caller's; the request is let through."""


class RateLimited(DomainError):
    """A bucket is empty: 429 with ``Retry-After`` (seconds), nothing stored."""

    code = "rate_limited"

    def __init__(self, kind: str, retry_after: int) -> None:
        super().__init__(f"too many requests ({kind} limit); retry after {retry_after} s")
        self.retry_after = retry_after
