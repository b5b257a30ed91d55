"""Opportunity rules in pure Python, and the use cases on the in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.opportunities import (
    Opportunity,
    OpportunityChanges,
    StaleVersion,
    apply_changes,
    close_for_lead,
    pipeline,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def opportunity(**kw: object) -> Opportunity:
    base = Opportunity("o_1", "l_1", "c_1", None, "Acme: Pricing", NOW, NOW, version=1)
    return Opportunity(**{**base.__dict__, **kw})


def test_closing_needs_a_reason_and_moves_the_stage_to_close():
    with pytest.raises(ValidationFailed) as missing:
        apply_changes(opportunity(), OpportunityChanges(status="won"), NOW)
    assert missing.value.field == "reason"
    won = apply_changes(opportunity(stage="propose"), OpportunityChanges(status="won", reason="signed"), NOW)
    assert (won.status, won.stage, won.reason, won.closed_at) == ("won", "close", "signed", NOW)


def test_a_closed_opportunity_changes_only_after_it_is_reopened():
    lost = opportunity(status="lost", stage="close", reason="budget", closed_at=NOW)
    with pytest.raises(ValidationFailed) as refused:
        apply_changes(lost, OpportunityChanges(stage="develop"), NOW)
    assert refused.value.field == "stage"
    reopened = apply_changes(lost, OpportunityChanges(status="open", stage="develop"), NOW)
    assert (reopened.status, reopened.stage, reopened.reason, reopened.closed_at) == (
        "open",
        "develop",
        None,
        None,
    )


def test_a_reason_without_closing_and_an_unknown_stage_are_refused_by_name():
    with pytest.raises(ValidationFailed) as both:
        apply_changes(opportunity(), OpportunityChanges(stage="haggle"), NOW)
    assert both.value.field == "stage"
    with pytest.raises(ValidationFailed) as reason:
        apply_changes(opportunity(), OpportunityChanges(reason="why"), NOW)
    assert reason.value.field == "reason"


def test_the_lead_closing_closes_only_open_opportunities_with_the_leads_reason():
    assert close_for_lead(opportunity(), "disqualify", NOW).reason == "lead disqualified"
    assert close_for_lead(opportunity(), "reopen", NOW).status == "lost"
    assert close_for_lead(opportunity(status="won"), "reopen", NOW) is None
    assert close_for_lead(opportunity(), "accept", NOW) is None


def test_the_pipeline_sums_open_ones_by_stage_and_owner_and_closed_by_outcome():
    report = pipeline(
        [
            opportunity(stage="propose", owner="ann", estimated_value=Decimal("10.5")),
            opportunity(owner="ann"),
            opportunity(owner="bob", estimated_value=Decimal(3)),
            opportunity(status="won", stage="close", estimated_value=Decimal(7)),
        ]
    )
    assert report["open"] == {"count": 3, "value": Decimal("13.5")}
    assert report["by_stage"]["qualify"] == {"count": 2, "value": Decimal(3)}
    assert report["by_owner"]["ann"]["by_stage"]["propose"] == 1 and report["by_owner"]["ann"]["count"] == 2
    assert report["closed"]["won"] == {"count": 1, "value": Decimal(7)}


def test_a_change_from_a_stale_version_is_refused_and_writes_nothing():
    from chalicelib.services import opportunities as service
    from tests.fakes import fake_deps

    deps = fake_deps()
    deps.handoffs.opportunities["o_1"] = opportunity(version=2)
    with pytest.raises(StaleVersion):
        service.update_opportunity("o_1", 1, OpportunityChanges(stage="develop"), deps.handoffs)
    saved = service.update_opportunity("o_1", 2, OpportunityChanges(stage="develop"), deps.handoffs)
    assert (saved.stage, saved.version) == ("develop", 3)
