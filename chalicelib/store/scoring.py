"""Storage of scoring models (versions and the head that names draft and active), scores, rescoring
jobs and scoring's bulk reads: one repository per aggregate (``models``, ``scores``, ``jobs``,
``scoring_reads``), together the ``ScoringRepository`` that ``wiring.deps().scoring`` is. Conditional
writes keep each invariant in the database."""

from __future__ import annotations

from chalicelib.store.jobs import JobRepository
from chalicelib.store.models import ModelRepository
from chalicelib.store.scores import ScoreRepository
from chalicelib.store.scoring_reads import ScoringReadRepository


class ScoringStore(ModelRepository, ScoreRepository, ScoringReadRepository, JobRepository):
    """Models, scores, jobs and bulk reads on one connection (each repository keeps only it)."""
