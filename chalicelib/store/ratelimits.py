"""Token buckets in DynamoDB (the ``RATE_LIMITS_TABLE``, hash key ``bucket``, TTL ``expires_at``).

A bucket of ``burst`` tokens refilled at ``per_minute`` is kept as one number, the *theoretical
arrival time* ``tat`` (milliseconds; the generic cell rate algorithm): the bucket is full when
``tat <= now`` and holds ``(now + burst * interval - tat) / interval`` tokens otherwise. Taking a token
is one conditional ``UpdateItem`` that computes the refill from the stored time:

- idle bucket (no item, or ``tat <= now``): ``SET tat = now + interval``;
- busy bucket with a token left (``now < tat <= now + (burst - 1) * interval``): ``SET tat = tat + interval``;
- otherwise the request is refused, and ``tat - (now + (burst - 1) * interval)`` is how long until the
  next token (the ``Retry-After``), read from the refused update itself
  (``ReturnValuesOnConditionCheckFailure``).

An idle bucket costs one write; a busy one two (the idle attempt fails first), a refusal two. Concurrent
requests cannot both take the last token: each update is conditioned on the value it moves from.
Items expire (TTL) once the bucket would be full again, so the table holds only recent callers."""

from __future__ import annotations

import math
import time
from functools import cached_property
from typing import Any

from chalicelib.domain.ratelimits import Decision, Limit, LimiterUnavailable

__all__ = ["Decision", "Limit", "RateLimits"]


class RateLimits:
    """The ``RateLimiter`` port on DynamoDB (one in ``wiring.Deps``); its client is built on the first
    token taken, with short timeouts and few retries: a slow limiter must not hold up a capture."""

    def __init__(self, table: str, region: str, endpoint: str | None) -> None:
        self.table = table
        self.region, self.endpoint = region, endpoint

    @cached_property
    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "dynamodb",
            region_name=self.region,
            endpoint_url=self.endpoint,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=2),
        )

    def take(self, bucket: str, limit: Limit, now_ms: int | None = None) -> Decision:
        """Take one token from ``bucket``: allowed, or refused with the seconds to wait;
        :class:`LimiterUnavailable` when the table cannot be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._take(bucket, limit, now_ms)
        except (BotoCoreError, ClientError) as exc:
            raise LimiterUnavailable(type(exc).__name__) from exc

    def _take(self, bucket: str, limit: Limit, now_ms: int | None) -> Decision:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        interval = limit.interval_ms
        ceiling = now + (max(limit.burst, 1) - 1) * interval
        expires = now // 1000 + math.ceil(max(limit.burst, 1) * interval / 1000) + 60
        values = {":now": {"N": str(now)}, ":i": {"N": str(interval)}, ":exp": {"N": str(expires)}}
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"bucket": {"S": bucket}},
                UpdateExpression="SET tat = :next, expires_at = :exp",
                ConditionExpression="attribute_not_exists(tat) OR tat <= :now",
                ExpressionAttributeValues={
                    ":now": values[":now"],
                    ":exp": values[":exp"],
                    ":next": {"N": str(now + interval)},
                },
            )
            return Decision(True)
        except self.client.exceptions.ConditionalCheckFailedException:
            pass
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"bucket": {"S": bucket}},
                UpdateExpression="SET tat = tat + :i, expires_at = :exp",
                ConditionExpression="tat > :now AND tat <= :ceiling",
                ExpressionAttributeValues={**values, ":ceiling": {"N": str(ceiling)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return Decision(True)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            item = exc.response.get("Item") or {}
            tat = int(item.get("tat", {}).get("N", ceiling + interval))
            if tat <= now:  # refilled between the two updates (a clock step): let this one through
                return Decision(True)
            return Decision(False, max(1, math.ceil((tat - ceiling) / 1000)))
