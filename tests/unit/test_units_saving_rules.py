"""Issue 19, pure: what lets the stream functions skip work they would repeat (no AWS)."""

from __future__ import annotations

from chalicelib.domain.predictive import parse_any, paths_read
from chalicelib.domain.qualification import needs_score, parse_rule

MODELS = frozenset({"hot"})
ACTIONS = [{"type": "phone_call", "subject": "Call", "due_in_hours": 4}]


def rule(when: dict) -> object:
    return parse_rule("r", {"when": when, "actions": ACTIONS}, MODELS)


def test_a_rule_on_a_score_cannot_hold_for_an_unscored_lead():
    assert needs_score(rule({"sales_ready": "hot"}))
    assert needs_score(rule({"score": "hot", "op": "gte", "value": 50}))
    assert needs_score(rule({"all": [{"sales_ready": "hot"}, {"field": "lead.topic", "op": "exists"}]}))
    assert needs_score(rule({"any": [{"sales_ready": "hot"}, {"grade": "hot", "op": "eq", "value": "A"}]}))


def test_a_rule_that_can_hold_without_a_score_is_evaluated_for_an_unscored_lead():
    assert not needs_score(rule({"field": "lead.topic", "op": "exists"}))
    assert not needs_score(rule({"score": "hot", "op": "missing"}))
    assert not needs_score(rule({"any": [{"sales_ready": "hot"}, {"field": "lead.topic", "op": "exists"}]}))
    assert not needs_score(rule({"not": {"sales_ready": "hot"}}))


def test_a_models_paths_are_those_its_rules_and_audience_read():
    spec = {
        "name": "m",
        "rules": [
            {"id": "a", "points": 5, "when": {"field": "contact.job_title", "op": "exists"}},
            {"id": "b", "points": 5, "when": {"all": [{"field": "lead.status", "op": "eq", "value": "new"}]}},
        ],
        "audience": {"field": "account.employees", "op": "gte", "value": 10},
        "grades": [{"grade": "A", "min_score": 10}, {"grade": "B"}],
    }
    assert paths_read(parse_any("m", 1, spec)) >= {"contact.job_title", "lead.status", "account.employees"}
    assert "lead.state" not in paths_read(parse_any("m", 1, spec))


def test_a_leads_own_timeline_keeps_the_newest_entries_that_fit_and_reads_from_a_lambda_image():
    import base64
    import secrets
    from datetime import UTC, datetime, timedelta

    from chalicelib.store.history import (
        LEAD_TIMELINE_BYTES,
        keep_on_lead,
        pack_timeline,
        timeline_entry,
        unpack_timeline,
    )

    start = datetime(2026, 12, 7, tzinfo=UTC)
    entries = [
        timeline_entry("transition", f"t{n}", start + timedelta(minutes=n), {"reason": secrets.token_hex(20)})
        for n in range(12)
    ]
    kept, spilled = keep_on_lead([], entries)
    assert spilled and kept and [*spilled, *kept] == entries  # the oldest move, none is lost or repeated
    assert len(pack_timeline(kept) or b"") <= LEAD_TIMELINE_BYTES
    assert keep_on_lead(kept, kept[-1:]) == (kept, [])  # a retried entry is kept once
    packed = pack_timeline(kept)
    assert unpack_timeline(packed) == kept
    # Lambda's stream images carry binary values base64-encoded
    assert unpack_timeline(base64.b64encode(packed or b"").decode()) == kept


def test_a_dispatchers_consumers_read_each_contact_once_and_nothing_is_shared_outside_it():
    """Issue 19: scoring, qualification and duplicate detection on one contacts-stream batch read the
    contact (and account) once between them; outside the dispatcher's block every read goes to the
    table."""
    from chalicelib.store import shared_reads

    reads: list[object] = []

    def one(key: str) -> str | None:
        reads.append(key)
        return None if key == "gone" else f"item {key}"

    def many(keys: list[str]) -> list[str]:
        reads.append(tuple(keys))
        return [f"item {k}" for k in keys if k != "gone"]

    def key_of(item: str) -> str:
        return item.removeprefix("item ")

    with shared_reads.shared():
        assert shared_reads.many("contact", ["c1", "c2", "gone"], many, key_of) == ["item c1", "item c2"]
        assert shared_reads.one("contact", "c1", one) == "item c1"
        assert shared_reads.one("contact", "gone", one) is None
        assert shared_reads.many("contact", ["c2", "c3"], many, key_of) == ["item c2", "item c3"]
        assert shared_reads.one("account", "c1", one) == "item c1"  # another kind: read
    assert reads == [("c1", "c2", "gone"), ("c3",), "c1"]
    assert shared_reads.one("contact", "c1", one) == "item c1" and reads[-1] == "c1"
    assert shared_reads.many("contact", ["c1"], many, key_of) == ["item c1"] and reads[-1] == ("c1",)
