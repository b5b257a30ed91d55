"""Merging duplicate contacts into one survivor: what the survivor becomes (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.domain.entities import ConsentChange, Contact
from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.domain.fields import merge_fields
from chalicelib.domain.interaction_counts import summed

MAX_DUPLICATES = 20


@dataclass(frozen=True)
class MergeOrder:
    """The contacts to merge into a survivor (``POST /v1/contacts/{id}/merge``): 1-20 contact ids,
    refused (422) when not a list of non-empty ids."""

    duplicate_ids: list[str]

    def __post_init__(self) -> None:
        ids: Any = self.duplicate_ids
        if (
            not isinstance(ids, list)
            or not all(isinstance(i, str) and i for i in ids)
            or len(ids) > MAX_DUPLICATES
        ):
            raise ValidationFailed(
                [
                    FieldError(
                        "duplicate_ids", f"duplicate_ids must be a list of 1-{MAX_DUPLICATES} contact ids"
                    )
                ]
            )


def check_merge(survivor_id: str, duplicate_ids: list[str]) -> None:
    if not duplicate_ids:
        raise Conflict("give at least one duplicate to merge", "duplicate_ids")
    if survivor_id in duplicate_ids:
        raise Conflict("a contact cannot be merged into itself", "duplicate_ids")
    if len(set(duplicate_ids)) != len(duplicate_ids):
        raise Conflict("a duplicate is named twice", "duplicate_ids")


def unmerged_counts(current: Contact, restored: list[Contact]) -> dict[str, int] | None:
    """The survivor's counts after an undo: what it has now less what the restored duplicates take
    back (the interactions they brought; those it recorded since the merge stay)."""
    if current.agg is None or any(c.agg is None for c in restored):
        return None
    left = dict(current.agg)
    for contact in restored:
        for key, n in (contact.agg or {}).items():
            left[key] = left.get(key, 0) - n
    if any(n < 0 for n in left.values()):
        return None  # not what the merge left (counted before it was kept): the backfill recounts
    return {key: n for key, n in left.items() if n}


def merged(survivor: Contact, duplicates: list[Contact], now: datetime) -> Contact:
    """The survivor after the merge: the newest non-empty value of each field (contacts applied oldest
    update first), every lead, the consent histories together, and the consent level of the most recent
    change (a withdrawal made on a duplicate is not undone by the merge)."""
    everyone = sorted([survivor, *duplicates], key=lambda c: c.updated_at)
    fields: dict[str, object] = {}
    for contact in everyone:
        fields = merge_fields(fields, contact.fields)
    history: list[ConsentChange] = sorted(
        (change for contact in everyone for change in contact.consent_history), key=lambda c: c.at
    )
    lead_ids = list(dict.fromkeys(i for c in [survivor, *duplicates] for i in c.lead_ids))
    last_activity = [c.last_interaction_at for c in everyone if c.last_interaction_at is not None]
    return replace(
        survivor,
        email=survivor.email or next((c.email for c in reversed(everyone) if c.email), None),
        fields=fields,
        account_id=survivor.account_id
        or next((c.account_id for c in reversed(everyone) if c.account_id), None),
        lead_ids=lead_ids,
        marketing_only=all(c.marketing_only for c in everyone),
        consent=history[-1].level if history else survivor.consent,
        consent_history=history,
        last_interaction_at=max(last_activity) if last_activity else None,
        created_at=min(c.created_at for c in everyone),
        updated_at=now,
        # every duplicate's interactions move to the survivor: its counts are the sum
        agg=summed(survivor.agg, *(d.agg for d in duplicates)),
    )
