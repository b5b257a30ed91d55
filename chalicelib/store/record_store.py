"""The tables of people and what they sent (``RecordStore``, what ``wiring.deps().store`` is): one
repository per aggregate (``dynamo``: contacts, accounts, leads, interactions and capture; ``receipts``;
``forms``; ``quarantine``; ``keys``), on one connection."""

from __future__ import annotations

from chalicelib.store.dynamo import LeadRepository
from chalicelib.store.forms import FormRepository
from chalicelib.store.keys import KeyRepository
from chalicelib.store.quarantine import QuarantineRepository


class DynamoStore(LeadRepository, FormRepository, QuarantineRepository, KeyRepository):
    """Every repository of the records tables (only the lead repository keeps state: the connection)."""
