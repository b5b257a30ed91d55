"""A hand-off in the transactional outbox, as the publisher reads it back."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class OutboxEntry:
    """A hand-off in the outbox: ``pending`` until the publisher sent it (or withheld it)."""

    handoff_id: str
    lead_id: str
    kind: str
    state: str
    #: The message as the sales system receives it (``chalicelib/integrations/handoff.py``).
    envelope: str


#: A hand-off as the outbox stores it: (handoff id, lead id, kind, origin, encoded envelope).
EncodedHandoff = tuple[str, str, str, str, str]


def shown_work(envelope: str) -> dict[str, str]:
    """What a lead's timeline shows of a hand-off: its text (subject or name), owner and due time, from
    its envelope (texts cut at 200 characters, so the entry stays one small item)."""
    try:
        work = json.loads(envelope).get("data", {}).get("handoff", {})
    except (ValueError, AttributeError):
        return {}
    if not isinstance(work, dict):
        return {}
    shown = {key: work.get(key) for key in ("subject", "name", "owner", "due_at")}
    return {key: str(value)[:200] for key, value in shown.items() if value not in (None, "")}


def contact_of(envelope: str) -> str | None:
    """The contact a hand-off's envelope carries (``data.contact.contact_id``): the person whose
    consent decides whether it is sent; ``None`` when it carries none (read the lead then)."""
    try:
        contact = json.loads(envelope).get("data", {}).get("contact")
    except (ValueError, AttributeError):
        return None
    found = contact.get("contact_id") if isinstance(contact, dict) else None
    return found if isinstance(found, str) and found else None
