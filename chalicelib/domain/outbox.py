"""A hand-off in the transactional outbox, as the publisher reads it back."""

from __future__ import annotations

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
