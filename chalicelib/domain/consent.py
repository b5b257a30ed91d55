"""Consent levels, low to high (see scoring.md)."""

from __future__ import annotations

from typing import Literal, get_args

ConsentLevel = Literal["none", "consent_given", "transactional", "subscriptions", "marketing", "profiling"]
CONSENT_LEVELS: tuple[str, ...] = get_args(ConsentLevel)


def consent_rank(level: str) -> int:
    return CONSENT_LEVELS.index(level)


def highest(*levels: str | None) -> str | None:
    present = [lvl for lvl in levels if lvl is not None]
    return max(present, key=consent_rank) if present else None
