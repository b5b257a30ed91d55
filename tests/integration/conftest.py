"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def pump(aws: Any) -> Iterator[Any]:
    """Every event source of the template, delivering to the app's real handlers (drained on demand)."""
    import leadflow_local.pump as pump_module
    from app import app
    from leadflow_local.stack import build_pump

    pump = build_pump(app, aws, None)
    original = pump_module.RETRY_DELAY_SECONDS
    pump_module.RETRY_DELAY_SECONDS = 0
    yield pump
    pump_module.RETRY_DELAY_SECONDS = original
