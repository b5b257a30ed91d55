"""The local stack's warm-up (``leadflow_local/warm.py``) fills the caches the stream functions read
on every call, so their first call is not the one that reads them."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.services import scoring
from leadflow_local import warm


def test_warming_fills_the_active_models_cache_so_the_first_scoring_call_reads_nothing(
    deps: Any, monkeypatch: pytest.MonkeyPatch
):
    filled = warm._fill_caches()
    assert filled == 5
    reads: list[int] = []
    original = type(deps.scoring).active_definitions

    def counted(self: Any) -> Any:
        reads.append(1)
        return original(self)

    monkeypatch.setattr(type(deps.scoring), "active_definitions", counted)
    scoring.active_models(deps)  # what score_changes asks first
    assert reads == []
    scoring.forget_models(deps)
    scoring.active_models(deps)  # the cache emptied: read again (the spy sees reads)
    assert reads == [1]


def test_warming_builds_the_clients_a_first_call_would_build(deps: Any):
    """The hand-off queue's client (built by a method on first send), the capture transaction's
    connection client, and every idempotent route's persistence layer."""
    from chalicelib import wiring
    from chalicelib.api import capture

    assert deps.handoff_queue._client is None
    wiring.idempotent.cache_clear()
    warm._build_clients()
    assert deps.handoff_queue._client is not None
    assert all(queue._client is not None for queue in deps.retry_queues.values())
    assert deps.store._connection._client is not None
    hits = wiring.idempotent.cache_info().hits
    wiring.idempotent("submit_form", capture._submit)  # what the form route asks on its first call
    assert wiring.idempotent.cache_info().hits == hits + 1


def test_warming_builds_the_event_functions_middleware_chains(deps: Any):
    """Chalice builds a stream or queue function's middleware chain on its first invocation."""
    from app import app

    function: Any = app.handler_map["score_changes"]
    function.handler = None
    assert warm._build_middleware_chains(app) >= 1
    assert function.handler is not None
