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
import warnings
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "leadflow-service"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Leadflow", service=SERVICE)
# an invocation that counts nothing (a GET, a batch whose handler flushed already) is normal here
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

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


def observed(event: Any, get_response: Any) -> Any:
    """Chalice middleware for every kind of invocation (``app.py``): Powertools' own decorators around
    it, in the order their documentation gives: ``Tracer.capture_lambda_handler`` (a ``## <handler>``
    subsegment, the cold start annotated, the boto calls and the correlation annotation hanging from
    it; responses are not captured: they hold personal data), ``Logger.inject_lambda_context`` (the
    function's name, memory, ARN, request id and cold start on every line) and
    ``Metrics.log_metrics(capture_cold_start_metric=True)`` (the metrics flushed at the end of every
    invocation, error or not, and ``ColdStart`` once per container). The Tracer's SDK is imported on the
    first invocation, not by ``import app``, and only where tracing is on."""
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)

    def handler(_event: Any, _context: Any) -> Any:
        return get_response(event)

    # the subsegment's name (``## /v1/leads``, ``## leadflow-dev-rescore``), as before the middleware
    handler.__name__ = str(getattr(event, "path", None) or getattr(context, "function_name", "handler"))
    wrapped: Any = handler
    if _is_lambda_context(context):
        wrapped = logger.inject_lambda_context(wrapped)
    wrapped = metrics.log_metrics(wrapped, capture_cold_start_metric=_is_lambda_context(context))
    current = tracer()
    if not current.disabled:
        wrapped = current.capture_lambda_handler(wrapped, capture_response=False)
    return wrapped({}, context)


def _is_lambda_context(context: Any) -> bool:
    return all(
        hasattr(context, name)
        for name in ("function_name", "memory_limit_in_mb", "invoked_function_arn", "aws_request_id")
    )
