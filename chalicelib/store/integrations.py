"""Lead sources other than forms: signed webhook sources and LinkedIn form mappings (``records``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.forms import FormDefinition
from chalicelib.store.records import IntegrationRecord


@dataclass(frozen=True)
class Secret:
    secret_id: str
    secret: str
    created_at: str

    def public(self) -> dict[str, str]:
        """What an operator may see again: never the secret itself."""
        return {"secret_id": self.secret_id, "created_at": self.created_at}


@dataclass(frozen=True)
class Integration:
    integration_id: str
    form: FormDefinition
    secrets: tuple[Secret, ...]
    created_at: datetime
    updated_at: datetime
    version: int | None


class IntegrationStore:
    def get(self, integration_id: str) -> Integration | None:
        try:
            record = IntegrationRecord.get(integration_id, consistent_read=True)
        except DoesNotExist:
            return None
        return Integration(
            integration_id=record.integration_id,
            form=FormDefinition.model_validate_json(record.definition),
            secrets=tuple(Secret(**s) for s in json.loads(record.secrets or "[]")),
            created_at=record.created_at,
            updated_at=record.updated_at,
            version=record.version,
        )

    def put(
        self,
        integration_id: str,
        form: FormDefinition,
        secrets: tuple[Secret, ...],
        now: datetime,
        existing: Integration | None,
    ) -> None:
        """Write conditioned on the version read (``existing``): two operators changing the same source
        at once cannot lose each other's secret."""
        record = IntegrationRecord(
            integration_id,
            definition=form.model_dump_json(exclude_none=True),
            secrets=json.dumps([s.__dict__ for s in secrets]),
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        if existing is not None and existing.version is not None:
            record.version = existing.version
        try:
            record.save(
                condition=IntegrationRecord.integration_id.does_not_exist() if existing is None else None
            )
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(f"{integration_id} changed while it was being saved; retry") from exc
            raise

    @staticmethod
    def public(integration: Integration) -> dict[str, Any]:
        return {
            **integration.form.model_dump(exclude_none=True),
            "secrets": [s.public() for s in integration.secrets],
            "created_at": integration.created_at.isoformat(),
            "updated_at": integration.updated_at.isoformat(),
        }
