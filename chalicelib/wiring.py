"""Composition root: lazy, cached factories for the adapters. Nothing here runs at import time, so
cold starts stay short and tests can start moto before the first client exists."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.domain.access import ApiKey
    from chalicelib.domain.forms import FormDefinition
    from chalicelib.domain.ports import (
        AssignmentStore,
        Cache,
        HandoffRepository,
        IdentityRepository,
        ImportStore,
        JourneyStore,
        Mailer,
        MailStore,
        ObjectStore,
        PeopleStore,
        Queue,
        QueueAdmin,
        RateLimiter,
        RecordStore,
        ReportReads,
        RetryQueues,
        ScoringRepository,
        SigningKeys,
        TrackingQueue,
        WorkStore,
    )
    from chalicelib.domain.predictive import AnyModel
    from chalicelib.integrations.linkedin import LinkedInClient
    from chalicelib.settings import Settings
    from chalicelib.store.integrations import IntegrationStore


@dataclass(frozen=True)
class Deps:
    """Every adapter a use case may need, each typed by its port (``chalicelib/domain/ports.py``);
    ``tests/fakes.py`` builds the same from in-memory fakes."""

    store: RecordStore
    scoring: ScoringRepository
    handoffs: HandoffRepository
    identity: IdentityRepository
    tracking: TrackingQueue
    handoff_queue: Queue
    rescore_queue: Queue
    settings: Settings
    integrations: IntegrationStore
    imports: ImportStore
    import_queue: Queue
    linkedin_queue: Queue
    objects: ObjectStore
    training_queue: Queue
    erasure_queue: Queue
    #: Each stream consumer's retry queue (``chalicelib/handlers/dispatch.py``), by consumer name.
    retry_queues: RetryQueues
    #: Looking into and tidying queues (dead letters, an erasure's sweep).
    queue_admin: QueueAdmin
    #: Form definitions (every submission reads one) and the active models, kept a few seconds.
    forms_cache: Cache[str, FormDefinition | None]
    models_cache: Cache[str, list[AnyModel]]
    #: Valid API keys by hash (a revocation shows within ``services.access.CACHE_SECONDS``).
    keys_cache: Cache[str, ApiKey | None]
    reports: ReportReads
    #: The LinkedIn API client, built (and its token read) on first use, then kept.
    linkedin: Callable[[], LinkedInClient]
    #: LinkedIn's client secret (signs the challenge, verifies notifications), read from the stage's
    #: secret on each call: a rotated value is in use within ``SECRETS_CACHE_SECONDS``.
    linkedin_secret: Callable[[], str]
    #: The public routes' token buckets (``services/ratelimits.py``).
    rate_limits: RateLimiter
    #: Users, teams and assignment rules; each lead's assignments and SLA timers (issue 17, routing).
    people: PeopleStore
    assignments: AssignmentStore
    #: Working a lead (edits, notes, links) and the 360° view's reads (``store/working.py``).
    work: WorkStore
    #: E-mail (issue 18): templates, messages, suppressions; SES; the key that signs tracking tokens
    #: (the stage secret's ``TRACKING_SIGNING_KEY``, else derived from the deployment key).
    mail: MailStore
    mailer: Mailer
    tracking_key: Callable[[], bytes]
    #: The user pool's token signing keys (``integrations/jwks.py``): Cognito sign-in (issue 17).
    signing_keys: SigningKeys
    #: Journeys (issue 18, docs/journeys.md): definitions, enrollments, counters; the steps' queue.
    journeys: JourneyStore
    journey_queue: Queue


#: Settings that name a stream consumer's retry queue: ``<consumer>_retry_queue_url``.
RETRY_QUEUE_SUFFIX = "_retry_queue_url"


@lru_cache(maxsize=1)
def deps() -> Deps:
    """The one composition root: every adapter built here, lazily (no client until first used)."""
    from botocore.config import Config
    from pynamodb.connection import Connection

    from chalicelib.integrations.jwks import JwksKeys
    from chalicelib.integrations.s3 import ObjectStore
    from chalicelib.integrations.ses import SesMailer
    from chalicelib.integrations.sqs import SqsAdmin, SqsQueue, SqsTrackingQueue
    from chalicelib.settings import Settings, get_settings
    from chalicelib.store import records, secrets
    from chalicelib.store.assignment import AssignmentRepository
    from chalicelib.store.cache import TtlCache
    from chalicelib.store.handoffs import HandoffStore
    from chalicelib.store.identity import IdentityStore
    from chalicelib.store.imports import ImportStore
    from chalicelib.store.integrations import IntegrationStore
    from chalicelib.store.journeys import JourneyRepository
    from chalicelib.store.messages import MailRepository
    from chalicelib.store.people import PeopleRepository
    from chalicelib.store.ratelimits import RateLimits
    from chalicelib.store.record_store import DynamoStore
    from chalicelib.store.reports import ReportStore
    from chalicelib.store.scoring import ScoringStore
    from chalicelib.store.working import WorkRepository

    settings = get_settings()
    records.bind(
        {name: getattr(settings, name) for name in records.TABLES.values()},
        settings.region,
        settings.aws_endpoint_url,
    )
    secrets.configure(settings.leadflow_secret)
    connection = Connection(region=settings.region, host=settings.aws_endpoint_url)
    boto_config = Config(retries={"mode": "standard", "max_attempts": 5})

    def queue(url: str) -> SqsQueue:
        return SqsQueue(url, settings.region, settings.aws_endpoint_url, boto_config)

    return Deps(
        store=DynamoStore(connection, settings.interaction_retention_days),
        scoring=ScoringStore(connection),
        handoffs=HandoffStore(connection),
        identity=IdentityStore(
            connection, settings.idempotency_table, phone_index=settings.duplicate_phone_index
        ),
        handoff_queue=queue(settings.handoff_queue_url),
        tracking=SqsTrackingQueue(
            settings.tracking_queue_url, settings.region, settings.aws_endpoint_url, boto_config
        ),
        rescore_queue=queue(settings.rescore_queue_url),
        settings=settings,
        integrations=IntegrationStore(),
        imports=ImportStore(connection, settings.import_retention_days),
        import_queue=queue(settings.import_queue_url),
        linkedin_queue=queue(settings.linkedin_queue_url),
        objects=ObjectStore(settings.imports_bucket, settings.region, settings.aws_endpoint_url, boto_config),
        training_queue=queue(settings.training_queue_url),
        erasure_queue=queue(settings.erasure_queue_url),
        retry_queues={
            name.removesuffix(RETRY_QUEUE_SUFFIX): queue(getattr(settings, name))
            for name in Settings.model_fields
            if name.endswith(RETRY_QUEUE_SUFFIX)
        },
        queue_admin=SqsAdmin(settings.region, settings.aws_endpoint_url, boto_config),
        forms_cache=TtlCache(),
        models_cache=TtlCache(),
        keys_cache=TtlCache(),
        reports=ReportStore(),
        linkedin=cache(partial(_linkedin_client, settings)),
        linkedin_secret=partial(_stage_secret, "LINKEDIN_CLIENT_SECRET", settings),
        rate_limits=RateLimits(settings.rate_limits_table, settings.region, settings.aws_endpoint_url),
        people=PeopleRepository(connection),
        assignments=AssignmentRepository(connection),
        work=WorkRepository(connection),
        mail=MailRepository(connection),
        mailer=SesMailer(settings.ses_configuration_set, settings.region, settings.aws_endpoint_url),
        tracking_key=partial(_tracking_key, settings),
        signing_keys=JwksKeys(settings.cognito_jwks_url),
        journeys=JourneyRepository(
            connection, settings.journeys_table, settings.region, settings.aws_endpoint_url
        ),
        journey_queue=queue(settings.journey_queue_url),
    )


def _tracking_key(settings: Settings) -> bytes:
    """The stage secret's ``TRACKING_SIGNING_KEY`` when set (rotating it voids the links of e-mails
    already sent: they land on the neutral page), else a key derived from the deployment key."""
    import hashlib

    from chalicelib.secrets import secret
    from chalicelib.store.secrets import mac

    configured = str(secret("TRACKING_SIGNING_KEY", settings) or "")
    return hashlib.sha256(configured.encode()).digest() if configured else mac("tracking-token", b"")


def _stage_secret(name: str, settings: Settings) -> str:
    from chalicelib.secrets import secret

    return str(secret(name, settings))


def _linkedin_client(settings: Settings) -> LinkedInClient:
    from chalicelib.integrations.linkedin import LinkedInClient
    from chalicelib.secrets import secret

    return LinkedInClient(
        base_url=settings.linkedin_api_url,
        token=str(secret("LINKEDIN_ACCESS_TOKEN", settings)),
        version=settings.linkedin_api_version,
        timeout=settings.linkedin_timeout_seconds,
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
    deps.cache_clear()  # with it every adapter and cache it built
    idempotent.cache_clear()
    # the parsed journey versions (immutable in one table, but a test's fresh table reuses their ids)
    journeys = sys.modules.get("chalicelib.services.journeys")
    if journeys is not None:
        journeys._versions.clear()
