"""Interaction counts kept with the contact (issue 19, item 5), on moto: a capture and the tracking path
count each interaction once (a redelivered one is not counted again), rescoring a model whose only
"all time" rule is a plain count reads the contact's interactions of the longest window, not its
history, and scores as a full read does; contacts written before the counts get them from the backfill.
On main the rescoring query had no range (``at >=``) for such a model: it read the whole history."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.domain.capture import capture_from_api
from chalicelib.domain.entities import Interaction
from chalicelib.domain.scoring import parse_model, score
from chalicelib.services.capture import Received, capture
from chalicelib.services.scoring import rescore_contacts
from chalicelib.store.dynamo import interaction_record

NOW = datetime.now(UTC).replace(microsecond=0)
B2B = json.loads((Path(__file__).resolve().parents[2] / "events" / "models" / "b2b_default.json").read_text())
MODEL = parse_model(
    "b2b", 1, {k: v for k, v in copy.deepcopy(B2B).items() if k not in ("min_consent", "audience")}
)


def person(deps: Any, email: str = "ada@analytical.example") -> tuple[str, str]:
    body = {
        "contact": {"email": email, "job_title": "Director"},
        "account": {"name": "Analytical"},
        "lead": {},
    }
    done = capture(capture_from_api(body), deps, Received(f"i_form_{email}"))
    assert done.lead_id is not None
    return done.contact_id, done.lead_id


def track(deps: Any, contact_id: str, interaction_id: str, kind: str, age: timedelta) -> bool:
    return bool(deps.store.record_interaction(Interaction(interaction_id, contact_id, kind, NOW - age)))


@contextmanager
def queries() -> Iterator[list[dict[str, Any]]]:
    from botocore.client import BaseClient

    made: list[dict[str, Any]] = []
    original = BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        answer = original(self, operation, params)
        if operation == "Query":
            made.append({**params, "Count": answer.get("Count")})
        return answer

    BaseClient._make_api_call = counting
    try:
        yield made
    finally:
        BaseClient._make_api_call = original


def test_a_capture_and_tracked_interactions_are_each_counted_once(deps: Any) -> None:
    contact_id, _ = person(deps)
    assert deps.store.get_contact(contact_id).agg == {"form_submitted|" + _lead(deps, contact_id): 1}
    assert track(deps, contact_id, "v1", "page_visited", timedelta(hours=1))
    assert not track(deps, contact_id, "v1", "page_visited", timedelta(hours=1)), "a redelivery"
    assert track(deps, contact_id, "u1", "email_unsubscribed", timedelta(days=1))
    agg = deps.store.get_contact(contact_id).agg
    assert (agg["page_visited|"], agg["email_unsubscribed|"]) == (1, 1)


def _lead(deps: Any, contact_id: str) -> str:
    return str(deps.store.get_contact(contact_id).lead_ids[0])


def test_an_all_time_rule_counts_without_reading_the_history(deps: Any) -> None:
    contact_id, lead_id = person(deps)
    assert track(deps, contact_id, "u_old", "email_unsubscribed", timedelta(days=400))
    for n in range(40):  # old history no window of the model reaches
        assert track(deps, contact_id, f"old{n}", "page_visited", timedelta(days=200 + n))
    assert track(deps, contact_id, "c1", "email_clicked", timedelta(days=2))
    with queries() as made:
        rescore_contacts([contact_id], deps, NOW, [MODEL])
    [read] = [q for q in made if q.get("IndexName") == "by_time"]
    assert ">=" in read["KeyConditionExpression"], "the window's range, not the whole history"
    assert read["Count"] == 2  # the form and the click: not the 41 older interactions
    stored = deps.scoring.scores_of(lead_id)["b2b"]
    history = deps.scoring.interactions_since(contact_id, None)
    full = score(
        MODEL, deps.store.get_leads([lead_id])[0], deps.store.get_contact(contact_id), None, history, NOW
    )
    assert full is not None
    assert (stored.score, stored.grade, stored.sales_ready) == (full.score, full.grade, full.sales_ready)
    assert {r.rule_id: r.points for r in stored.breakdown}["unsubscribed"] == -50


def test_contacts_written_before_the_counts_read_their_history_until_the_backfill_counts_it(
    deps: Any,
) -> None:
    from chalicelib.store.backfill import backfill_interaction_counts
    from chalicelib.store.records import ContactRecord

    contact_id, lead_id = person(deps)
    for n in range(3):
        interaction_record(
            Interaction(f"p{n}", contact_id, "page_visited", NOW - timedelta(days=300)), 730
        ).save()
    record = ContactRecord.get(contact_id)
    record.update(actions=[ContactRecord.agg.remove()])  # as written before the counts
    assert track(deps, contact_id, "late", "page_visited", timedelta(hours=2))  # not counted: no agg
    assert deps.store.get_contact(contact_id).agg is None
    with queries() as made:
        rescore_contacts([contact_id], deps, NOW, [MODEL])
    assert ">=" not in next(q for q in made if q.get("IndexName") == "by_time")["KeyConditionExpression"]
    assert backfill_interaction_counts() == 1
    agg = deps.store.get_contact(contact_id).agg
    assert agg == {"form_submitted|" + lead_id: 1, "page_visited|": 4}
    assert backfill_interaction_counts() == 0, "a second run finds nothing to do"
    assert track(deps, contact_id, "later", "page_visited", timedelta(hours=1))
    assert deps.store.get_contact(contact_id).agg["page_visited|"] == 5


def test_erasing_a_received_event_takes_its_interaction_off_the_counts_once(deps: Any) -> None:
    contact_id, _ = person(deps)
    assert track(deps, contact_id, "v1", "page_visited", timedelta(hours=1))
    assert track(deps, contact_id, "v2", "page_visited", timedelta(hours=1))
    for _ in range(2):  # a repeat finds the interaction gone and changes nothing
        deps.store.erase_capture({"contact_id": contact_id, "interaction_id": "v1"})
        assert deps.store.get_contact(contact_id).agg["page_visited|"] == 1
    assert [
        i.interaction_id
        for i in deps.scoring.interactions_since(contact_id, None)
        if i.type == "page_visited"
    ] == ["v2"]


def removal(contact_id: str, interaction_id: str, by_ttl: bool) -> dict[str, Any]:
    from chalicelib.store.records import InteractionRecord

    table = InteractionRecord.Meta.table_name
    record: dict[str, Any] = {
        "eventID": interaction_id,
        "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/x",
        "dynamodb": {
            "Keys": {"contact_id": {"S": contact_id}, "interaction_id": {"S": interaction_id}},
            "SequenceNumber": "100",
        },
    }
    if by_ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def test_an_interaction_removed_by_its_retention_ttl_leaves_the_counts(deps: Any) -> None:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from chalicelib.handlers.tracking import _note_activity
    from chalicelib.store.records import InteractionRecord

    contact_id, _ = person(deps)
    for n in range(3):
        assert track(deps, contact_id, f"v{n}", "page_visited", timedelta(days=n))
    InteractionRecord(contact_id, "v2").delete()  # as the TTL does, 730 days on
    _note_activity(DynamoDBRecord(removal(contact_id, "v2", by_ttl=False)))  # not ours to count: a write's
    assert deps.store.get_contact(contact_id).agg["page_visited|"] == 3
    for _ in range(2):  # a redelivered record changes nothing more
        _note_activity(DynamoDBRecord(removal(contact_id, "v2", by_ttl=True)))
        assert deps.store.get_contact(contact_id).agg["page_visited|"] == 2


def test_a_tracked_interaction_sets_the_contacts_last_activity_in_its_own_transaction(deps: Any) -> None:
    from chalicelib.store.records import InteractionRecord

    contact_id, _ = person(deps)
    first = deps.store.get_contact(contact_id).last_interaction_at
    assert first is not None
    newer = first + timedelta(seconds=30)  # from the capture's own time, not the module's: a long run
    assert deps.store.record_interaction(Interaction("newer", contact_id, "page_visited", newer))
    assert deps.store.get_contact(contact_id).last_interaction_at == newer
    older = newer - timedelta(days=3)
    assert deps.store.record_interaction(Interaction("older", contact_id, "page_visited", older))
    assert deps.store.get_contact(contact_id).last_interaction_at == newer
    # the activity consumer has nothing left to write for either
    assert (
        InteractionRecord.get(contact_id, "newer").noted and InteractionRecord.get(contact_id, "older").noted
    )
