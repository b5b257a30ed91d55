"""Which stream records make the scoring function rescore a contact (pure: no AWS)."""

from __future__ import annotations

from typing import Any


class NoAccounts:
    """Stands in for the dependencies; an account change is not exercised here."""

    scoring: Any = None


def image(values: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    return {name: TypeSerializer().serialize(value) for name, value in values.items()}


def touched(event: str, keys: dict[str, Any], old: Any = None, new: Any = None) -> list[str]:
    """The record as the stream would carry it, decoded as the scoring function decodes it."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from chalicelib.services.scoring import contacts_touched
    from chalicelib.store.changes import decode

    stream: dict[str, Any] = {"Keys": image(keys), "SequenceNumber": "1"}
    if old is not None:
        stream["OldImage"] = image({**keys, **old})
    if new is not None:
        stream["NewImage"] = image({**keys, **new})
    change = decode(DynamoDBRecord({"eventName": event, "dynamodb": stream}))
    assert change is not None
    return contacts_touched(change, NoAccounts())  # type: ignore[arg-type]


def test_a_new_interaction_rescores_its_contact():
    assert touched("INSERT", {"contact_id": "c1", "interaction_id": "i1"}) == ["c1"]


def test_a_new_lead_is_left_to_its_contacts_change_written_with_it():
    assert touched("INSERT", {"lead_id": "l1"}, None, {"contact_id": "c1", "fields": {}}) == []


def test_a_lead_whose_fields_change_rescores_its_contact():
    old = {"contact_id": "c1", "fields": {"topic": "A"}, "state": "open"}
    assert touched("MODIFY", {"lead_id": "l1"}, old, {**old, "fields": {"topic": "B"}}) == ["c1"]
    assert touched("MODIFY", {"lead_id": "l1"}, old, {**old, "version": 3}) == []


def test_a_contacts_activity_time_alone_changes_no_score():
    old = {"contact_id": "c1", "fields": {"email": "a@b.org"}, "consent": "marketing", "lead_ids": ["l1"]}
    assert (
        touched(
            "MODIFY",
            {"contact_id": "c1"},
            old,
            {**old, "last_interaction_at": "2026-11-24T00:00:00.000000+0000"},
        )
        == []
    )
    assert touched("MODIFY", {"contact_id": "c1"}, old, {**old, "consent": "none"}) == ["c1"]
    assert touched("INSERT", {"contact_id": "c1"}, None, old) == ["c1"]
    assert touched("REMOVE", {"contact_id": "c1"}, old, None) == []


def test_an_interaction_written_with_a_new_contact_or_lead_is_scored_once_through_the_contact():
    """Issue 19: a capture's interaction, written in one transaction with its new contact (or a new lead
    in the contact's lead_ids), is rescored by the contact's record, not a second time by its own."""
    keys = {"contact_id": "c1", "interaction_id": "i1"}
    captured = {"at": "x", "type": "form_submitted", "occurred_at": "2026-12-07T00:00:00.000000+0000"}
    assert touched("INSERT", keys, None, {**captured, "noted": True, "with_contact": True}) == []
    # a capture onto a lead the contact had (no new lead): the interaction rescores
    assert touched("INSERT", keys, None, {**captured, "noted": True}) == ["c1"]


def _models(monkeypatch: Any, *rules: dict[str, Any]) -> None:
    from chalicelib.domain.predictive import parse_any
    from chalicelib.services import scoring

    spec = {"name": "m", "rules": list(rules), "grades": [{"grade": "A", "min_score": 10}, {"grade": "B"}]}
    monkeypatch.setattr(scoring, "active_models", lambda _deps: [parse_any("m", 1, spec)])


def test_a_leads_qualification_rescores_it_only_when_a_model_reads_its_status(monkeypatch: Any):
    """Issue 19: qualification's status change (marketing_qualified) rescored every new lead a third
    time; it does only when an active model reads ``lead.status`` (or ``lead.state``)."""
    old = {"contact_id": "c1", "fields": {"topic": "A"}, "state": "open", "status": "new"}
    new = {**old, "status": "marketing_qualified"}
    _models(monkeypatch, {"id": "t", "points": 5, "when": {"field": "contact.job_title", "op": "exists"}})
    assert touched("MODIFY", {"lead_id": "l1"}, old, new) == []
    status = {"field": "lead.status", "op": "eq", "value": "marketing_qualified"}
    _models(monkeypatch, {"id": "q", "points": 5, "when": status})
    assert touched("MODIFY", {"lead_id": "l1"}, old, new) == ["c1"]
    assert touched("MODIFY", {"lead_id": "l1"}, old, {**old, "state": "closed"}) == []
