"""The identity repositories together (``IdentityRepository``): what ``wiring.deps().identity`` is.
Each aggregate's repository is its own module; they share the identity table (``identity_table.py``)."""

from __future__ import annotations

from chalicelib.store.duplicates import DuplicateRepository
from chalicelib.store.erasures import ErasureRepository
from chalicelib.store.identity_table import contacts
from chalicelib.store.merges import MergeRepository
from chalicelib.store.segments import SegmentRepository

__all__ = ["IdentityStore", "contacts"]


class IdentityStore(ErasureRepository, DuplicateRepository, MergeRepository, SegmentRepository):
    """Duplicates, merges, segments and erasures, on one connection."""
