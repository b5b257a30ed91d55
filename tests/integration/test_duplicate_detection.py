"""Duplicate detection through the contacts stream with the blocking keys on the contacts (issue 19):
people captured at the same moment are still suspected, a redelivered batch changes nothing, and a
contact from before the keys is judged when the backfill gives it its keys."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from chalicelib.domain.capture import Capture
from chalicelib.services.capture import Received, capture
from chalicelib.store.records import ContactRecord, IdentityRecord
from leadflow_local.pump import stream_record

PHONE = "+442079460958"


def submit(deps: Any, n: int, email: str, first: str, last: str, phone: str | None = PHONE) -> str:
    contact = {"email": email, "first_name": first, "last_name": last, **({"phone": phone} if phone else {})}
    return capture(
        Capture(contact=contact, lead={"topic": "Pricing"}, lead_matching=["contact.email", "lead.topic"]),
        deps,
        Received(f"s_dup_{n}"),
    ).contact_id


def suspicion_items() -> dict[tuple[str, str], str]:
    return {(r.pk, r.sk): r.data for r in IdentityRecord.scan()}


def contacts_stream(aws: Any) -> list[dict[str, Any]]:
    """Every record of the contacts stream so far, as Lambda hands them to the function."""
    streams = boto3.client("dynamodbstreams")
    arn = aws.streams["ContactsTable"]
    found: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        found += [stream_record(r, arn, "us-east-1") for r in page["Records"]]
    return found


def test_two_people_sharing_a_phone_captured_at_the_same_moment_are_suspected(
    deps: Any, aws: Any, pump: Any
) -> None:
    people = [
        (1, "ada@analytical-engines.co.uk", "Ada", "Lovelace"),
        (2, "countess@gmail.com", "Augusta", "King"),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        ada, other = pool.map(lambda p: submit(deps, *p), people)
    pump.drain()

    assert ContactRecord.get(ada).dup_phone == ContactRecord.get(other).dup_phone is not None
    suspects = deps.identity.suspects_of(ada)
    assert [(s["contact_id"], s["strength"], s["reasons"][0]["kind"]) for s in suspects] == [
        (other, "strong", "same_phone")
    ]


def test_a_redelivered_contacts_batch_writes_the_same_suspicions_and_nothing_else(
    deps: Any, aws: Any, pump: Any
) -> None:
    from chalicelib.handlers.identity import detect_duplicates

    submit(deps, 1, "ada@analytical-engines.co.uk", "Ada", "Lovelace")
    submit(deps, 2, "a.lovelace@analytical-engines.co.uk", "Ada", "Lovelace", phone=None)
    submit(deps, 3, "countess@gmail.com", "Augusta", "King")
    pump.drain()
    before = suspicion_items()
    assert len([k for k in before if k[0] == "duplicates"]) == 2, "the phone; a similar name at the domain"

    answer = detect_duplicates({"Records": contacts_stream(aws)}, None)

    assert answer == {"batchItemFailures": []}
    assert suspicion_items() == before


def test_a_contact_from_before_the_keys_is_judged_when_the_backfill_gives_them(
    deps: Any, aws: Any, pump: Any
) -> None:
    from chalicelib.store.backfill import backfill_duplicate_keys

    old = submit(deps, 1, "ada@analytical-engines.co.uk", "Ada", "Lovelace")
    pump.drain()
    attributes = (ContactRecord.dup_mail, ContactRecord.dup_email, ContactRecord.dup_phone)
    ContactRecord.get(old).update(actions=[a.remove() for a in attributes])  # as written before issue 19
    pump.drain()
    new = submit(deps, 2, "countess@gmail.com", "Augusta", "King")
    pump.drain()
    assert deps.identity.suspects_of(new) == [], "the old contact is not findable yet"

    assert backfill_duplicate_keys()["contact_duplicate_keys"] == 1
    pump.drain()

    assert [s["contact_id"] for s in deps.identity.suspects_of(new)] == [old]
