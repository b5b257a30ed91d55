"""The one Logger and Metrics of the service. Imports nothing from chalicelib.

The Logger's service name differs from Chalice's ``app_name`` so each line is logged once. Logs carry
ids, never personal data.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "leadflow-service"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Leadflow", service=SERVICE)


def count(name: str, value: int = 1) -> None:
    """A business event, PascalCase (``LeadCreated``); flushed at the end of each invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush() -> None:
    if metrics.metric_set:
        metrics.flush_metrics()
