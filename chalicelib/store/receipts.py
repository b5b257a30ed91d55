"""Events received once (a webhook delivery, a LinkedIn response, an imported row) and the
notices claimed so that one is sent once: items of the keys table (``ReceiptStore``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import (
    DoesNotExist,
    PutError,
)

from chalicelib.store.records import (
    KeyRecord,
)


class ReceiptRepository:
    #: A notice claimed but never marked done (its request died before queuing) can be claimed again
    #: after this long; until then a concurrent repeat is acknowledged without queuing.
    NOTICE_STALE = timedelta(seconds=60)

    def receipt(self, key: str) -> dict[str, Any] | None:
        """What the capture of a received event wrote (``None``: never received)."""
        try:
            record = KeyRecord.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        return dict(json.loads(record.detail)) if record.detail else {"contact_id": record.owner_id}

    def mark_receipt(self, key: str, detail: dict[str, Any], now: datetime) -> bool:
        """Claim a receipt without a capture (an event that was refused or erased); ``False`` when
        it was claimed already."""
        try:
            KeyRecord(
                key, owner_id=str(detail.get("contact_id") or "-"), created_at=now, detail=json.dumps(detail)
            ).save(condition=KeyRecord.key.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim_notice(self, key: str, now: datetime) -> bool:
        """Claim the right to queue the work of a provider notification (``notice#...``): ``True`` for
        the first arrival, or when an earlier claim was left unfinished for :attr:`NOTICE_STALE`."""
        fresh = KeyRecord(key, owner_id="-", created_at=now, detail=json.dumps({"queued": False}))
        try:
            fresh.save(condition=KeyRecord.key.does_not_exist())
            return True
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
        try:
            held = KeyRecord.get(key, consistent_read=True)
        except DoesNotExist:
            return self.claim_notice(key, now)
        if json.loads(held.detail or "{}").get("queued") or held.created_at > now - self.NOTICE_STALE:
            return False
        try:  # the earlier request died between claiming and queuing: take its claim over
            fresh.save(condition=KeyRecord.created_at == held.created_at)
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def notice_done(self, key: str) -> None:
        KeyRecord(key).update(actions=[KeyRecord.detail.set(json.dumps({"queued": True}))])

    def release_notice(self, key: str) -> None:
        KeyRecord(key).delete()

    def replace_receipt(self, key: str, detail: dict[str, Any], now: datetime) -> None:
        KeyRecord(
            key, owner_id=str(detail.get("contact_id") or "-"), created_at=now, detail=json.dumps(detail)
        ).save()
