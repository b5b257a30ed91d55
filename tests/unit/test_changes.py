"""Stream records decoded once into typed changes (chalicelib/store/changes.py): no AWS, no moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from chalicelib.domain.changes import (
    ContactChange,
    HandoffChange,
    InteractionChange,
    LeadChange,
    ScoreChange,
    differs,
)
from chalicelib.store import changes

EVENTS = Path(__file__).resolve().parents[2] / "events"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def record(event: str, keys: dict[str, Any], old: Any = None, new: Any = None, arn: str | None = None) -> Any:
    stream: dict[str, Any] = {"Keys": keys, "SequenceNumber": "42"}
    if old is not None:
        stream["OldImage"] = {**keys, **old}
    if new is not None:
        stream["NewImage"] = {**keys, **new}
    raw: dict[str, Any] = {"eventName": event, "dynamodb": stream}
    if arn:
        raw["eventSourceARN"] = arn
    return DynamoDBRecord(raw)


CONTACT = {
    "email": s("ada@example.org"),
    "fields": {"M": {"email": s("ada@example.org")}},
    "lead_ids": {"L": [s("l_1")]},
    "consent": s("marketing"),
    "created_at": s("2026-11-20T09:15:00.000000+0000"),
    "updated_at": s("2026-11-20T09:15:00.000000+0000"),
    "version": {"N": "3"},
}


def test_an_inserted_interaction_decodes_to_the_interaction_with_its_time_in_utc():
    event = json.loads((EVENTS / "streams" / "interaction_inserted.json").read_text())
    change = changes.decode(DynamoDBRecord(event["Records"][0]))
    assert isinstance(change, InteractionChange)
    assert change.event == "INSERT" and change.sequence == "111100000000000000000001"
    assert change.new is not None and change.new.type == "page_visited"
    assert change.new.occurred_at.isoformat() == "2026-11-20T09:15:00+00:00"
    assert change.new.properties == {"url": "https://www.example.com/pricing"}


def test_a_modified_contact_carries_both_images_as_contacts():
    newer = {**CONTACT, "consent": s("none"), "version": {"N": "4"}}
    change = changes.decode(record("MODIFY", {"contact_id": s("c_1")}, CONTACT, newer))
    assert isinstance(change, ContactChange) and change.contact_id == "c_1"
    assert change.old is not None and change.new is not None
    assert (change.old.consent, change.new.consent) == ("marketing", "none")
    assert change.new.lead_ids == ["l_1"] and change.new.version == 4
    assert differs(change.old, change.new, ("consent",))
    assert not differs(change.old, change.new, ("fields", "lead_ids"))


def test_a_removed_lead_keeps_its_old_image_and_has_no_new_one():
    old = {"contact_id": s("c_1"), "state": s("open"), "fields": {"M": {}}}
    change = changes.decode(record("REMOVE", {"lead_id": s("l_1")}, old))
    assert isinstance(change, LeadChange)
    assert change.new is None and change.old is not None and change.old.contact_id == "c_1"


def test_scores_and_outbox_entries_decode_to_their_keys():
    score = changes.decode(record("INSERT", {"lead_id": s("l_1"), "model_id": s("fit")}, new={}))
    assert score == ScoreChange(event="INSERT", sequence="42", lead_id="l_1", model_id="fit")
    handoff = changes.decode(record("INSERT", {"handoff_id": s("h_1")}, new={}))
    assert handoff == HandoffChange(event="INSERT", sequence="42", handoff_id="h_1")


def test_the_stream_arn_names_the_table_when_it_is_one_of_ours(monkeypatch: Any):
    from chalicelib.store.records import ContactRecord

    monkeypatch.setattr(ContactRecord.Meta, "table_name", "leadflow-ContactsTable-X")
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/{}/stream/2026-11-01T00:00:00.000"
    assert changes._table_of_arn(arn.format("leadflow-ContactsTable-X")) == "ContactRecord"
    assert changes._table_of_arn(arn.format("someone-elses-table")) is None
    change = changes.decode(record("INSERT", {"contact_id": s("c_1")}, new=CONTACT, arn=arn))
    assert isinstance(change, ContactChange)


def test_records_of_tables_no_stream_function_reads_decode_to_nothing():
    assert changes.decode(record("INSERT", {"pk": s("block#x"), "sk": s("c_1")}, new={})) is None
    assert changes.decode(DynamoDBRecord({"eventName": "INSERT"})) is None


def test_a_batch_decoder_decodes_each_record_once(monkeypatch: Any):
    calls: list[str] = []
    real = changes.decode

    def counting(raw: Any) -> Any:
        calls.append(raw.dynamodb.sequence_number)
        return real(raw)

    monkeypatch.setattr(changes, "decode", counting)
    decoded = changes.decoder()
    one = record("INSERT", {"handoff_id": s("h_1")}, new={})
    assert decoded(one) == decoded(one)
    assert calls == ["42"]
