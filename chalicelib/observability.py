"""The one Logger, Metrics and Tracer of the service, and the correlation id. Imports nothing from
chalicelib.

The Logger's service name differs from Chalice's ``app_name`` so each line is logged once. Logs carry
ids, never personal data.

The correlation id names the request a piece of work came from: the API takes it from the
``X-Correlation-Id`` header (or API Gateway's request id) and answers it back; the records written on
the way (leads, interactions, scores) carry it as ``correlation_id``, queue messages as a body field,
so the functions that read their streams and queues bind it again (``handlers/batch.py``), and the
hand-off's CloudEvent carries it as the ``correlationid`` extension attribute. Every log line of that
work has it, and X-Ray traces are annotated with it.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "leadflow-service"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Leadflow", service=SERVICE)

CORRELATION_HEADER = "X-Correlation-Id"
#: What a caller's correlation id may be (anything else is replaced by API Gateway's request id).
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:/=+-]{1,128}$")
_correlation: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def count(name: str, value: int = 1) -> None:
    """A business event, PascalCase (``LeadCreated``); flushed at the end of each invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush() -> None:
    if metrics.metric_set:
        metrics.flush_metrics()


def correlation_id() -> str | None:
    """The correlation id of the work in progress, if any."""
    return _correlation.get()


def valid_correlation_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _VALID_CORRELATION.match(value) else None


def bind_correlation_id(value: str | None) -> None:
    """Work from here on belongs to ``value`` (``None``: to no request): logs and traces say so."""
    _correlation.set(value)
    logger.set_correlation_id(value)
    if value:
        annotate("correlation_id", value)


@lru_cache(maxsize=1)
def tracer() -> Any:
    """Powertools' Tracer (X-Ray), made on first use: the SDK costs 0.2-0.4 s to import, paid by the
    first invocation rather than every cold start's ``import app``. Off outside Lambda, and where
    ``POWERTOOLS_TRACE_DISABLED`` says so. Patches botocore only: every AWS call becomes a subsegment."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, patch_modules=["botocore"])


def annotate(key: str, value: str) -> None:
    """An X-Ray annotation on the current trace (searchable: ``annotation.correlation_id = "..."``)."""
    current = tracer()
    if not current.disabled:
        current.put_annotation(key=key, value=value)


def traced(event: Any, get_response: Any) -> Any:
    """Chalice middleware for every kind of invocation: one ``## <name>`` subsegment around it, which
    the boto calls and the correlation annotation hang from (X-Ray's own Lambda segment cannot take
    annotations)."""
    current = tracer()
    if current.disabled:
        return get_response(event)
    name = getattr(event, "path", None) or getattr(
        getattr(event, "context", None), "function_name", "handler"
    )
    with current.provider.in_subsegment(f"## {name}"):
        return get_response(event)
