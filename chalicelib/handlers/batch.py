"""The one way batch handlers run: Powertools partial-failure processing, metrics flushed after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib.observability import flush


def process(
    event: dict[str, Any], context: Any, kind: EventType, handle: Callable[[Any], None]
) -> dict[str, Any]:
    """``{"batchItemFailures": [...]}`` naming only the records ``handle`` raised on."""
    try:
        return dict(
            process_partial_response(
                event=event, record_handler=handle, processor=BatchProcessor(kind), context=context
            )
        )
    finally:
        flush()
