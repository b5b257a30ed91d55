"""Shared plain-value fixtures for the domain's unit tests (no AWS, no I/O beyond reading samples)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.forms import FormDefinition

EVENTS = Path(__file__).resolve().parents[2] / "events" / "http"
_CONTACT_US: dict[str, Any] = json.loads((EVENTS / "form_contact_us.json").read_text())
_SUBMISSIONS: list[dict[str, Any]] = json.loads((EVENTS / "form_submissions.json").read_text())


@pytest.fixture
def contact_us() -> dict[str, Any]:
    """The sample "Contact us" form definition as plain JSON data (a fresh copy per test)."""
    return copy.deepcopy(_CONTACT_US)


@pytest.fixture
def contact_us_form(contact_us: dict[str, Any]) -> FormDefinition:
    return FormDefinition.model_validate(contact_us)


@pytest.fixture
def sample_submissions() -> list[dict[str, Any]]:
    """The sample submissions to the "Contact us" form (a fresh copy per test)."""
    return copy.deepcopy(_SUBMISSIONS)
