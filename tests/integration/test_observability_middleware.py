"""Powertools applied once, as Chalice middleware (app.py, chalicelib/observability.py): every
invocation flushes its own metrics, the cold start is counted once per container, and log lines carry
the Lambda context. Before, each entry point flushed by hand and no cold start was counted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.helpers import post_json


def _metric_names(out: str) -> list[str]:
    names = []
    for line in out.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            names += [metric["Name"] for metric in directive["Metrics"]]
    return names


def test_each_request_flushes_its_metrics_and_the_cold_start_is_counted_once(
    client: Any, admin_key: str, capsys: pytest.CaptureFixture[str]
):
    from aws_lambda_powertools.metrics.provider import cold_start

    from chalicelib.observability import metrics

    cold_start.is_cold_start = True  # a new container
    capsys.readouterr()
    headers = {"X-Api-Key": admin_key}
    for n in range(2):
        body = {"contact": {"email": f"cold-{n}@example.com"}}
        assert post_json(client, "/v1/leads", body, headers).status_code == 201
    names = _metric_names(capsys.readouterr().out)
    assert names.count("ColdStart") == 1
    assert names.count("LeadCreated") == 2
    assert not metrics.metric_set  # nothing left behind for the next invocation


def test_log_lines_carry_the_lambda_context(client: Any):
    from chalicelib.observability import logger

    assert client.http.get("/v1/health").status_code == 200
    keys = logger.get_current_keys()
    assert keys["function_name"] == "api_handler"
    assert {"function_request_id", "function_memory_size", "cold_start"} <= set(keys)


def test_an_error_answer_still_flushes_the_metrics(
    client: Any, admin_key: str, capsys: pytest.CaptureFixture[str]
):
    from chalicelib.observability import count, metrics

    capsys.readouterr()
    count("Probe")  # as if the route had counted something before failing
    response = client.http.get("/v1/leads/l_missing", headers={"X-Api-Key": admin_key})
    assert response.status_code == 404
    assert "Probe" in _metric_names(capsys.readouterr().out) and not metrics.metric_set
