"""The tracking queue: validated interactions travel to the recording function as JSON messages."""

from __future__ import annotations

import json
from typing import Any

#: SQS takes 256 KiB per message; stay clear of it with the envelope around the body.
MAX_MESSAGE_BYTES = 200_000


def chunks(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split a batch into message-sized parts, halving until each part fits."""
    body = json.dumps({"interactions": items})
    if len(body.encode()) <= MAX_MESSAGE_BYTES or len(items) == 1:
        return [items]
    middle = len(items) // 2
    return chunks(items[:middle]) + chunks(items[middle:])


class SqsTrackingQueue:
    def __init__(self, queue_url: str, region: str, endpoint_url: str | None, config: Any) -> None:
        self._queue_url = queue_url
        self._region = region
        self._endpoint_url = endpoint_url
        self._config = config
        self._client: Any = None

    def _sqs(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client(
                "sqs", region_name=self._region, endpoint_url=self._endpoint_url, config=self._config
            )
        return self._client

    def send(self, interactions: list[dict[str, Any]]) -> None:
        """One message per part; a failed send raises, and the client's retry sends the batch again,
        which the recording function deduplicates by interaction id."""
        for part in chunks(interactions):
            self._sqs().send_message(QueueUrl=self._queue_url, MessageBody=json.dumps({"interactions": part}))
