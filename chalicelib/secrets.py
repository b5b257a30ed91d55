"""Provider secrets (LinkedIn's client secret and access token, CAPTCHA secrets), read at run time.

In AWS they live in one Secrets Manager secret per stage (``SECRETS_ARN``, a JSON object keyed by the
variable names below; ``leadflow deploy`` creates ``leadflow/<stage>/app``). Powertools Parameters
reads it at most every ``SECRETS_CACHE_SECONDS`` per container, so a rotated value is in use within
that time without a redeploy. A name the secret does not hold, or no secret at all (the local stack,
tests), falls back to the environment variable of the same name. Webhook signing secrets are not here:
each source's live in the integrations table, hashed apart from the sender's copy.

Values are never logged; a secret that cannot be read is logged by name and treated as absent (the
callers then refuse: LinkedIn answers 409 "not configured", CAPTCHA forms 403 ``captcha_unverified``)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from chalicelib.settings import Settings, get_settings

#: The names a stage's secret may hold, and the settings (environment variables) they stand for.
NAMES = {
    "LINKEDIN_CLIENT_SECRET": "linkedin_client_secret",
    "LINKEDIN_ACCESS_TOKEN": "linkedin_access_token",
    "CAPTCHA_SECRETS": "captcha_secrets",
    "TRACKING_SIGNING_KEY": "tracking_signing_key",
}


def secret(name: str, settings: Settings | None = None) -> Any:
    """The current value of ``name`` (one of :data:`NAMES`)."""
    settings = settings or get_settings()
    if settings.secrets_arn:
        value = _stored(settings).get(name)
        if value not in (None, ""):
            if name == "CAPTCHA_SECRETS" and isinstance(value, str):
                value = json.loads(value)
            return value
    return getattr(settings, NAMES[name])


def _stored(settings: Settings) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.parameters.exceptions import (
        GetParameterError,
        TransformParameterError,
    )

    from chalicelib.observability import logger

    try:
        value = _provider(settings.region, settings.aws_endpoint_url).get(
            settings.secrets_arn, transform="json", max_age=settings.secrets_cache_seconds
        )
    except (GetParameterError, TransformParameterError) as error:
        logger.error(
            "stage secret unreadable", extra={"secret": settings.secrets_arn, "reason": type(error).__name__}
        )
        return {}
    return dict(value) if isinstance(value, dict) else {}


@lru_cache(maxsize=4)
def _provider(region: str, endpoint: str | None) -> Any:
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = boto3.session.Session().client("secretsmanager", region_name=region, endpoint_url=endpoint)
    return SecretsProvider(boto3_client=client)


def reset() -> None:
    """Forget the provider and its cache (tests change the environment)."""
    _provider.cache_clear()
