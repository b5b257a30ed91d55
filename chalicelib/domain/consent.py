"""Consent levels, low to high (see scoring.md)."""

from __future__ import annotations

from typing import Any, Literal, get_args

ConsentLevel = Literal["none", "consent_given", "transactional", "subscriptions", "marketing", "profiling"]
CONSENT_LEVELS: tuple[str, ...] = get_args(ConsentLevel)


def consent_rank(level: str) -> int:
    return CONSENT_LEVELS.index(level)


def highest(*levels: str | None) -> str | None:
    present = [lvl for lvl in levels if lvl is not None]
    return max(present, key=consent_rank) if present else None


def withdrawn(contact: Any) -> bool:
    """Has the person ever lowered their consent (unsubscribed, withdrew, narrowed it)? Then only an
    explicit, authenticated consent change (``PUT /v1/contacts/{id}/consent``; later a confirmed
    double opt-in) may raise it again, never a capture."""
    previous = "none"
    for change in getattr(contact, "consent_history", None) or []:
        if consent_rank(change.level) < consent_rank(previous):
            return True
        previous = change.level
    return False
