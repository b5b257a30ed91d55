"""Give items written before issue 19's list indexes their index keys (``by_audience``, ``by_state``,
the journeys' enrollments' ``by_journey``), e-mail messages written before the outbox's ``by_list``
index (issue 18) its key and their listing items, contacts written before issue 19's duplicate indexes
their blocking keys (``dup_mail``, ``dup_email``, ``dup_phone``, removing the identity table's per-key
items they replace), and (issue 19, item 5) contacts their interaction counts (``Contact.agg``) and
interactions their contact's account (``by_account_time``).

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
    counts = {
        "contacts": 0,
        "quarantine": 0,
        "messages": 0,
        "enrollments": 0,
        "interaction_counts": 0,
        "interaction_accounts": 0,
    }
    for contact in ContactRecord.scan(ContactRecord.audience_shard.does_not_exist()):
        key = BY_AUDIENCE.key(audience(bool(contact.marketing_only)), contact.contact_id)
        counts["contacts"] += _set(contact, ContactRecord.audience_shard, key)
    for held in QuarantineRecord.scan(QuarantineRecord.state_shard.does_not_exist()):
        key = BY_STATE.key(held.state or "held", held.quarantine_id)
        counts["quarantine"] += _set(held, QuarantineRecord.state_shard, key)
    counts["messages"] = backfill_message_listings()
    counts["enrollments"] = backfill_enrollments()
    counts["interaction_counts"] = backfill_interaction_counts()
    counts["interaction_accounts"] = backfill_interaction_accounts()
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


def backfill_interaction_accounts(page: int = 100) -> int:
    """Interactions written before ``by_account_time`` get their contact's account (an account-scoped
    model reads an account's interactions from that index). Each page's contacts are read in one
    batch; each update is conditioned on the interaction having no account yet (one recorded or
    re-stamped since has the right one). Returns how many were stamped."""
    from chalicelib.store.records import InteractionRecord

    done = 0
    pending: list[Any] = []

    def stamp() -> int:
        ids = list(dict.fromkeys(r.contact_id for r in pending))
        accounts = {c.contact_id: c.account_id for c in ContactRecord.batch_get(ids)}
        stamped = 0
        for record in pending:
            account_id = accounts.get(record.contact_id)
            if account_id is None:
                continue
            try:  # conditioned on the item being there too: an erased interaction is not made again
                record.update(
                    actions=[InteractionRecord.account_id.set(account_id)],
                    condition=InteractionRecord.contact_id.exists()
                    & InteractionRecord.account_id.does_not_exist(),
                )
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            stamped += 1
        pending.clear()
        return stamped

    for record in InteractionRecord.scan(InteractionRecord.account_id.does_not_exist(), page_size=page):
        pending.append(record)
        if len(pending) >= page:
            done += stamp()
    return done + (stamp() if pending else 0)


def backfill_interaction_counts(attempts: int = 5) -> int:
    """Contacts written before interaction counts were kept (``Contact.agg``) get them, counted from
    their history (issue 19, item 5): until then their models' "all time" rules read the history.
    Each contact's count is written conditioned on its version as read with the history: an
    interaction recorded meanwhile bumps the version (``record_interaction``), so the count is read
    again rather than written short. Returns how many contacts were counted."""
    from chalicelib.domain.interaction_counts import counted
    from chalicelib.store.dynamo import interaction_from
    from chalicelib.store.records import InteractionRecord

    done = 0
    for found in ContactRecord.scan(ContactRecord.agg.does_not_exist()):
        record = found
        for _ in range(attempts):
            history = (interaction_from(r) for r in InteractionRecord.query(record.contact_id))
            try:
                record.update(
                    actions=[ContactRecord.agg.set(counted({}, history))],
                    condition=ContactRecord.agg.does_not_exist(),
                )
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                try:  # changed meanwhile (or counted already): read it again
                    record = ContactRecord.get(record.contact_id, consistent_read=True)
                except ContactRecord.DoesNotExist:
                    break
                if record.agg is not None:
                    break
                continue
            done += 1
            break
    return done


def backfill_enrollments() -> int:
    """Enrollments written before ``by_journey`` get their key (a segment by journey activity reads
    that index; an enrollment without the key would not be found)."""
    from chalicelib.store.journeys import BY_JOURNEY, JourneyRecord

    done = 0
    missing = (
        JourneyRecord.pk.startswith("contact#")
        & JourneyRecord.sk.startswith("j#")
        & JourneyRecord.journey_shard.does_not_exist()
    )
    for record in JourneyRecord.scan(missing):
        key = BY_JOURNEY.key(record.sk.removeprefix("j#"), record.pk.removeprefix("contact#"))
        done += _set(record, JourneyRecord.journey_shard, key)
    return done


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
