"""``import app`` (a Lambda's cold start) declares every route without building a pydantic model or
importing a service: each route's models and services load when it is first served
(``api/http.py``'s named models; the measurements are in docs/house-report.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.api.http import OPERATIONS, model

ROOT = Path(__file__).resolve().parents[2]

#: What a cold start must not pay for: pydantic (and every module built on it), the services, the
#: request and answer models.
DEFERRED = ("pydantic", "chalicelib.services", "chalicelib.api.schemas.", "chalicelib.domain.forms")


def _modules_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_app_loads_no_pydantic_model_nor_service() -> None:
    loaded = _modules_after("import app")
    assert "chalicelib.api.http" in loaded  # the routes are declared
    assert [m for m in loaded if m.startswith(DEFERRED)] == []


def test_the_first_request_loads_what_its_route_names() -> None:
    loaded = _modules_after(
        "import app; from chalicelib.api.http import OPERATIONS; OPERATIONS['GET /v1/leads'].query_model"
    )
    assert "chalicelib.api.schemas.queries" in loaded
    assert "chalicelib.api.schemas.bodies" not in loaded


def test_every_declared_model_name_resolves_to_a_pydantic_model() -> None:
    import app  # noqa: F401 - declares every route

    named = [
        (key, name)
        for key, op in OPERATIONS.items()
        for name in (op.query, op.response, op.body)
        if isinstance(name, str)
    ]
    assert len(named) >= 20
    for key, name in named:
        assert model(name).__name__ == name.rpartition(".")[2], key


def test_a_model_name_that_is_not_a_model_is_refused() -> None:
    with pytest.raises(TypeError, match="not a pydantic model"):
        model("common.invalid")
    with pytest.raises(AttributeError):
        model("queries.NoSuchQuery")
