"""Qualification rules and triggers, the hand-off outbox, lead history and opportunities: one
repository per aggregate (``rules``, ``outbox``, ``history``, ``opportunities``), together the
``HandoffRepository`` that ``wiring.deps().handoffs`` is."""

from __future__ import annotations

from pynamodb.connection import Connection

from chalicelib.store.history import HistoryRepository
from chalicelib.store.opportunities import OpportunityRepository
from chalicelib.store.outbox import OutboxRepository
from chalicelib.store.rules import RuleRepository


class HandoffStore(RuleRepository, OutboxRepository, HistoryRepository, OpportunityRepository):
    """Rules, outbox, history and opportunities on one connection."""

    def __init__(self, connection: Connection) -> None:
        RuleRepository.__init__(self, connection)
        OutboxRepository.__init__(self, connection)
        HistoryRepository.__init__(self, connection)
        OpportunityRepository.__init__(self, connection)
