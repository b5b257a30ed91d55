"""The local stack serves on threads; Powertools' Metrics (one per process) is not thread-safe:
``leadflow_local.stack.serialise_metrics`` makes every change and flush take one lock."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def fresh_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    from chalicelib import observability

    provider = AmazonCloudWatchEMFProvider(namespace="Test", service="test")
    holder = type("Holder", (), {"provider": provider})()
    monkeypatch.setattr(observability, "metrics", holder)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads change hands as often as they can: the race shows
    yield provider
    sys.setswitchinterval(switch)


def _crowd(provider: Any, capsys: pytest.CaptureFixture[str]) -> list[BaseException]:
    failures: list[BaseException] = []

    def invocation() -> None:
        for _ in range(300):
            try:
                provider.add_metric(name="Seen", unit="Count", value=1)
                provider.flush_metrics(raise_on_empty_metrics=False)
            except Exception as exc:  # the race's SchemaValidationError, collected
                failures.append(exc)

    threads = [threading.Thread(target=invocation) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    capsys.readouterr()  # the flushed metrics
    return failures


def test_concurrent_invocations_flush_metrics_without_errors(
    fresh_provider: Any, capsys: pytest.CaptureFixture[str]
):
    from leadflow_local.stack import serialise_metrics

    serialise_metrics()
    assert _crowd(fresh_provider, capsys) == []
