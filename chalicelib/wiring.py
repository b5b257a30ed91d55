"""Composition root: lazy, cached factories for the adapters. Nothing here runs at import time, so
cold starts stay short and tests can start moto before the first client exists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.integrations.s3 import ObjectStore
    from chalicelib.settings import Settings
    from chalicelib.store.dynamo import DynamoStore
    from chalicelib.store.handoffs import HandoffStore
    from chalicelib.store.identity import IdentityStore
    from chalicelib.store.imports import ImportStore
    from chalicelib.store.integrations import IntegrationStore
    from chalicelib.store.scoring import ScoringStore


@dataclass(frozen=True)
class Deps:
    store: DynamoStore
    scoring: ScoringStore
    handoffs: HandoffStore
    tracking: Any
    handoff_queue: Any
    rescore_queue: Any
    settings: Settings
    integrations: IntegrationStore
    imports: ImportStore
    import_queue: Any
    linkedin_queue: Any
    objects: ObjectStore
    training_queue: Any
    erasure_queue: Any


@lru_cache(maxsize=1)
def deps() -> Deps:
    from botocore.config import Config
    from pynamodb.connection import Connection

    from chalicelib.integrations.s3 import ObjectStore
    from chalicelib.integrations.sqs import SqsQueue, SqsTrackingQueue
    from chalicelib.settings import get_settings
    from chalicelib.store import records, secrets
    from chalicelib.store.dynamo import DynamoStore
    from chalicelib.store.handoffs import HandoffStore
    from chalicelib.store.imports import ImportStore
    from chalicelib.store.integrations import IntegrationStore
    from chalicelib.store.scoring import ScoringStore

    settings = get_settings()
    records.bind(
        {name: getattr(settings, name) for name in records.TABLES.values()},
        settings.region,
        settings.aws_endpoint_url,
    )
    secrets.configure(settings.leadflow_secret)
    connection = Connection(region=settings.region, host=settings.aws_endpoint_url)
    boto_config = Config(retries={"mode": "standard", "max_attempts": 5})
    return Deps(
        store=DynamoStore(connection, settings.interaction_retention_days),
        scoring=ScoringStore(connection),
        handoffs=HandoffStore(connection),
        handoff_queue=SqsQueue(
            settings.handoff_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
        tracking=SqsTrackingQueue(
            settings.tracking_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
        rescore_queue=SqsQueue(
            settings.rescore_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
        settings=settings,
        integrations=IntegrationStore(),
        imports=ImportStore(connection, settings.import_retention_days),
        import_queue=SqsQueue(
            settings.import_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
        linkedin_queue=SqsQueue(
            settings.linkedin_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
        objects=ObjectStore(settings.imports_bucket, settings.region, settings.aws_endpoint_url, boto_config),
        training_queue=SqsQueue(
            settings.training_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
        erasure_queue=SqsQueue(
            settings.erasure_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
    )


@cache
def retry_queue(consumer: str) -> Any:
    """The retry queue of a stream consumer (``note_activity``, ...: chalicelib/handlers/dispatch.py)."""
    from botocore.config import Config

    from chalicelib.integrations.sqs import SqsQueue

    settings = deps().settings
    url = getattr(settings, f"{consumer}_retry_queue_url")
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return SqsQueue(url, settings.region, settings.aws_endpoint_url, config)


@lru_cache(maxsize=1)
def identity() -> IdentityStore:
    """Duplicates, merges, segments and erasures (on the tables :func:`deps` binds)."""
    from pynamodb.connection import Connection

    from chalicelib.store.identity import IdentityStore

    settings = deps().settings
    return IdentityStore(
        Connection(region=settings.region, host=settings.aws_endpoint_url), settings.idempotency_table
    )


@cache
def idempotent(
    operation: str, function: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[..., dict[str, Any]]:
    """``function(request)`` made replay-safe with Powertools Idempotency: the same ``request["key"]``
    returns the first answer; the same key with another ``request["payload"]`` is refused. One
    persistence layer per operation (a shared one would keep the first operation's config)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from chalicelib.settings import get_settings

    settings = get_settings()
    import boto3

    client = boto3.session.Session().client(
        "dynamodb", region_name=settings.region, endpoint_url=settings.aws_endpoint_url
    )
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client)
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="payload",
        expires_after_seconds=settings.idempotency_ttl_seconds,
        raise_on_no_idempotency_key=True,
    )
    wrapped = idempotent_function(
        data_keyword_argument="request", persistence_store=persistence, config=config
    )(function)
    wrapped.__name__ = operation
    wrapped.idempotency_config = config
    return wrapped


def reset() -> None:
    """Forget every cached adapter (tests and the local stack change the environment)."""
    from chalicelib import secrets
    from chalicelib.settings import get_settings

    get_settings.cache_clear()
    secrets.reset()
    deps.cache_clear()
    retry_queue.cache_clear()
    identity.cache_clear()
    idempotent.cache_clear()
