"""Form definitions (``FormStore``)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import (
    DoesNotExist,
    PutError,
)

from chalicelib.domain.errors import (
    ConcurrentUpdate,
)
from chalicelib.domain.forms import FormDefinition
from chalicelib.store.dynamo import _versioned
from chalicelib.store.records import (
    FormRecord,
)


class FormRepository:
    def get_form(self, form_id: str) -> FormDefinition | None:
        try:
            record = FormRecord.get(form_id)
        except DoesNotExist:
            return None
        return FormDefinition.model_validate_json(record.definition)

    def put_form(self, form_id: str, form: FormDefinition, now: datetime) -> bool:
        try:
            existing = FormRecord.get(form_id, consistent_read=True)
        except DoesNotExist:
            existing = None
        record = FormRecord(
            form_id,
            definition=form.model_dump_json(exclude_none=True),
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        _versioned(record, existing.version if existing else None)
        try:
            record.save(condition=FormRecord.form_id.does_not_exist() if existing is None else None)
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentUpdate("the form changed while it was being saved; send it again") from exc
            raise
        return existing is None
