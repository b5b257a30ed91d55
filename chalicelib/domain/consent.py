"""Consent levels, low to high (see scoring.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from chalicelib.domain.errors import FieldError, ValidationFailed

ConsentLevel = Literal["none", "consent_given", "transactional", "subscriptions", "marketing", "profiling"]
CONSENT_LEVELS: tuple[str, ...] = get_args(ConsentLevel)


#: How the preference page names each level (what the person keeps getting at that level).
LEVEL_WORDS: dict[str, str] = {
    "profiling": "Marketing e-mail chosen from what I read",
    "marketing": "Marketing e-mail: offers and news",
    "subscriptions": "Only the newsletters I subscribed to",
    "transactional": "Only e-mail about my requests and orders",
    "consent_given": "No e-mail; you may keep what I sent you",
    "none": "No e-mail, and withdraw my consent",
}


def lower_choices(current: str) -> list[str]:
    """The levels a person may lower their consent to from ``current``, highest first (never a raise)."""
    return [level for level in reversed(CONSENT_LEVELS) if consent_rank(level) < consent_rank(current)]


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


@dataclass(frozen=True)
class ConsentUpdate:
    """An operator's consent change (``PUT /v1/contacts/{id}/consent``): ``level`` (``"none"``
    withdraws) and where the person gave it. Built from what the caller sent; refused (422) otherwise."""

    level: str
    source: str = "api"

    def __post_init__(self) -> None:
        if self.level not in CONSENT_LEVELS:
            raise ValidationFailed([FieldError("level", f"level must be one of {', '.join(CONSENT_LEVELS)}")])
        if not isinstance(self.source, str) or not 1 <= len(self.source) <= 100:
            raise ValidationFailed([FieldError("source", "source must be text of 1-100 characters")])
