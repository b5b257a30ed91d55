"""The composition root owns every adapter and cache (issue 16): ``wiring.reset()`` forgets them all, and
no use case keeps a cache of its own at module level."""

from __future__ import annotations

from typing import Any

from chalicelib.store.cache import TtlCache


def test_reset_forgets_every_adapter_and_cache_the_root_built(monkeypatch: Any):
    from chalicelib import wiring

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing is called: clients are lazy
    wiring.reset()
    first = wiring.deps()
    as_read: list[Any] = []
    assert first.models_cache.get("active", lambda: as_read, 60) is as_read
    assert wiring.deps() is first
    wiring.reset()
    second = wiring.deps()
    assert second is not first and second.identity is not first.identity
    read_again: list[Any] = []
    assert second.models_cache.get("active", lambda: read_again, 60) is read_again
    assert set(second.retry_queues) >= {"note_activity", "score_changes", "run_triggers", "qualify"}
    wiring.reset()


def test_no_use_case_keeps_a_module_level_cache():
    from chalicelib.services import access, capture, scoring

    assert not hasattr(capture, "_forms")
    assert not hasattr(scoring, "_cache")
    assert not hasattr(access, "_cache")


def test_a_kept_value_is_read_again_after_its_time_and_a_missing_one_is_never_kept():
    now = [100.0]
    cache: TtlCache[str, str | None] = TtlCache(clock=lambda: now[0])
    reads: list[str] = []

    def load(value: str | None) -> Any:
        def read() -> str | None:
            reads.append(str(value))
            return value

        return read

    assert cache.get("a", load("first"), 10) == "first"
    assert cache.get("a", load("second"), 10) == "first"
    now[0] += 11
    assert cache.get("a", load("third"), 10) == "third"
    assert cache.get("b", load(None), 10) is None
    assert cache.get("b", load("made meanwhile"), 10) == "made meanwhile"
    cache.forget("a")
    assert cache.get("a", load("after forget"), 10) == "after forget"
    assert reads == ["first", "third", "None", "made meanwhile", "after forget"]
