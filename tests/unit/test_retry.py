"""The one retry-on-conflict policy (chalicelib/store/retry.py) every optimistic write uses."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.domain.errors import ConcurrentUpdate, Conflict, NotFound
from chalicelib.store.retry import on_conflict, retrying


def losing(times: int, answer: str = "written") -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def step() -> str:
        calls.append(len(calls))
        if len(calls) <= times:
            raise ConcurrentUpdate("lost the race")
        return answer

    return calls, step


def test_a_step_that_loses_its_race_runs_again_and_returns_what_the_winning_run_returns():
    calls, step = losing(3)
    assert on_conflict(step, Conflict("gave up")) == "written"
    assert len(calls) == 4


def test_a_step_that_keeps_losing_raises_the_use_cases_error_after_the_attempts_chained_to_the_conflict():
    calls, step = losing(100)
    exhausted = Conflict("too many simultaneous captures; retry the request")
    with pytest.raises(Conflict) as raised:
        on_conflict(step, exhausted, attempts=4)
    assert raised.value is exhausted
    assert isinstance(raised.value.__cause__, ConcurrentUpdate)
    assert len(calls) == 4


def test_errors_other_than_a_conflict_are_not_retried():
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        raise NotFound("lead", "l_1")

    with pytest.raises(NotFound):
        on_conflict(step, Conflict("gave up"))
    assert calls == [1]


def test_no_copied_retry_loop_is_left():
    """Use cases, stores and integrations retry through ``store/retry.py`` (``on_conflict`` for races)."""
    from pathlib import Path

    import chalicelib

    package = Path(chalicelib.__file__).parent
    modules = [
        *package.glob("services/*.py"),
        *package.glob("store/*.py"),
        *package.glob("integrations/*.py"),
    ]
    copied = ("for attempt in range", "for _ in range(10)", "backoff(attempt)")
    loops = [p.name for p in modules if p.name != "retry.py" and any(c in p.read_text() for c in copied)]
    assert loops == []


def test_retrying_waits_between_attempts_as_told_and_gives_up_with_the_callers_error():
    waits: list[float] = []

    def step() -> str:
        raise KeyError("transient")

    with pytest.raises(TimeoutError) as raised:
        retrying(
            step,
            KeyError,
            3,
            wait=lambda attempt, _exc: attempt * 0.5,
            give_up=lambda _exc, attempts: TimeoutError(f"after {attempts} attempts"),
            sleep=waits.append,
        )
    assert waits == [0.5, 1.0], "no wait after the last attempt"
    assert str(raised.value) == "after 3 attempts" and isinstance(raised.value.__cause__, KeyError)
