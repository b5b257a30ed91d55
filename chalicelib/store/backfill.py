"""Give items written before issue 19's list indexes their index keys (``by_audience``, ``by_state``),
e-mail messages written before the outbox's ``by_list`` index (issue 18) its key and their listing
items, and contacts written before issue 19's duplicate indexes their blocking keys (``dup_mail``,
``dup_email``, ``dup_phone``), removing the identity table's per-key items they replace.

A contact or quarantined submission written before these indexes existed has no ``audience_shard`` /
``state_shard``, so the lists (served from the indexes) would not show it. This one-off pass finds such
items and sets the key; it is a scan, run once after the deployment that adds the indexes (and by the
local stack after restoring an older snapshot), never by a request. Each update is conditioned on the
key still missing, so it is safe to re-run and races nothing: a write in between already set the key.

Run it against a deployment with the functions' environment (table names) set::

    python -m chalicelib.store.backfill
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.store.dynamo import BY_AUDIENCE, audience
from chalicelib.store.quarantine import BY_STATE
from chalicelib.store.records import ContactRecord, QuarantineRecord


def backfill_list_keys() -> dict[str, int]:
    """Set the missing index keys; how many items of each table got one."""
    counts = {"contacts": 0, "quarantine": 0, "messages": 0}
    for contact in ContactRecord.scan(ContactRecord.audience_shard.does_not_exist()):
        key = BY_AUDIENCE.key(audience(bool(contact.marketing_only)), contact.contact_id)
        counts["contacts"] += _set(contact, ContactRecord.audience_shard, key)
    for held in QuarantineRecord.scan(QuarantineRecord.state_shard.does_not_exist()):
        key = BY_STATE.key(held.state or "held", held.quarantine_id)
        counts["quarantine"] += _set(held, QuarantineRecord.state_shard, key)
    counts["messages"] = backfill_message_listings()
    return counts


def backfill_duplicate_keys() -> dict[str, int]:
    """Every contact whose item lacks (or holds other) blocking keys than its email and phone give gets
    them, in one update conditioned on the version scanned (a contact written since has them: that
    write set them); then the identity table's ``block#``/``keys#`` items of the layout before issue 19
    are deleted (nothing reads them any more; they are hashed personal data).

    Each update is a contacts-stream change that duplicate detection judges (``handlers/identity.py``
    watches the key attributes): a contact kept from before is compared with every contact sharing a
    key the moment it gets its keys, so a duplicate captured between the deployment and this run is
    found here. Hence the old items need not stay readable until then."""
    from chalicelib.domain.duplicates import indexed_keys
    from chalicelib.store.dynamo import contact_from
    from chalicelib.store.records import IdentityRecord

    counts = {"contact_duplicate_keys": 0, "old_duplicate_key_items": 0}
    attributes = (ContactRecord.dup_mail, ContactRecord.dup_email, ContactRecord.dup_phone)
    for contact in ContactRecord.scan():
        keys = indexed_keys(contact_from(contact))
        wanted = (keys.mail, keys.email, keys.phone)
        held = tuple(getattr(contact, a.attr_name) for a in attributes)
        if held == wanted:
            continue
        actions: list[Action] = [
            a.set(v) if v is not None else a.remove() for a, v in zip(attributes, wanted, strict=True)
        ]
        try:
            contact.update(actions=actions)  # conditioned on the version scanned
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue  # written since (or gone): that write set its keys
        counts["contact_duplicate_keys"] += 1
    old = IdentityRecord.pk.startswith("block#") | IdentityRecord.pk.startswith("keys#")
    for record in IdentityRecord.scan(old):
        record.delete()
        counts["old_duplicate_key_items"] += 1
    return counts


def backfill_message_listings() -> int:
    """Messages without a ``by_list`` key get it (their status's) and their listing items."""
    from chalicelib.store.messages import _listings, _message
    from chalicelib.store.records import MailRecord

    done = 0
    for record in MailRecord.scan((MailRecord.sk == "message") & MailRecord.list_key.does_not_exist()):
        for listing in _listings(_message(record)):
            listing.save()
        done += _set(record, MailRecord.list_key, f"status#{record.status or 'sending'}")
    return done


def _set(record: Any, attribute: Any, key: str) -> int:
    """``record.update``: a contact's version condition comes with it, so a contact written since the
    scan is left alone (that write set the key)."""
    try:
        record.update(actions=[attribute.set(key)], condition=attribute.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return 0
    return 1


if __name__ == "__main__":  # pragma: no cover - an operator's one-off
    from chalicelib import wiring

    wiring.deps()  # binds the table names from the environment
    print({**backfill_list_keys(), **backfill_duplicate_keys()})
