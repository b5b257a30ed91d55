"""Account-scoped scoring reads an account in a bounded number of DynamoDB calls (issue 19, item 5).

On main, one new interaction of one contact read every colleague's interactions (one query each) and
every colleague's lead's scores (one query each): 2 calls more per colleague. Here the account's
interactions come from one query of ``by_account_time`` and its contacts, leads and scores in batch
reads, so the calls are the same for an account of 10 contacts and one of 50."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.scoring import parse_model
from chalicelib.services.scoring import rescore_contacts
from chalicelib.store.dynamo import account_record, contact_record, interaction_record, lead_record
from tests.integration.helpers import aws_calls

NOW = datetime.now(UTC).replace(microsecond=0)
MODEL = parse_model(
    "abm",
    1,
    {
        "name": "Account engagement",
        "scope": "account",
        "rules": [
            {
                "id": "visits",
                "points": 1,
                "per_event": True,
                "when": {"event": "page_visited", "within_days": 30},
            }
        ],
    },
)
READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")


def an_account(account_id: str, size: int) -> list[str]:
    """An account of ``size`` contacts, each with a lead and a page visit a day ago; the contact ids."""
    at = NOW - timedelta(days=3)
    account_record(Account(account_id, "Acme", "acme.example", {}, at, at)).save()
    ids = []
    for n in range(size):
        contact_id, lead_id = f"{account_id}_c{n:02d}", f"{account_id}_l{n:02d}"
        contact_record(
            Contact(
                contact_id,
                f"{contact_id}@acme.example",
                {},
                at,
                at,
                account_id=account_id,
                lead_ids=[lead_id],
            )
        ).save()
        lead_record(Lead(lead_id, contact_id, {}, at, at, account_id=account_id)).save()
        visit = Interaction(
            f"{contact_id}_v", contact_id, "page_visited", NOW - timedelta(days=1), account_id=account_id
        )
        interaction_record(visit, 730).save()
        ids.append(contact_id)
    return ids


def one_more(deps: Any, contact_id: str, kind: str) -> dict[str, Any]:
    """Record one interaction of the contact (the tracking path: it is stamped with the contact's
    account), rescore the contact as the interactions stream would, and count the calls."""
    assert deps.store.record_interaction(
        Interaction(f"{contact_id}_{kind}", contact_id, kind, NOW - timedelta(hours=1))
    )
    with aws_calls(with_table=False) as made:
        changed = rescore_contacts([contact_id], deps, NOW, [MODEL])
    ops = Counter(call.split()[0] for call in made)
    return {
        "changed": changed,
        "reads": sorted(call for call in made if call.split()[0] in READS),
        "writes": sum(n for op, n in ops.items() if op not in READS),
    }


def test_an_interaction_nobody_scores_costs_the_same_calls_for_10_or_50_colleagues(deps: Any) -> None:
    small, large = an_account("a10", 10), an_account("a50", 50)
    rescore_contacts(small + large, deps, NOW, [MODEL])  # every lead scored: 10 and 50 points
    assert deps.scoring.scores_of("a50_l49")["abm"].score == 50
    ten, fifty = one_more(deps, small[0], "email_opened"), one_more(deps, large[0], "email_opened")
    assert ten == fifty
    assert fifty["changed"] == 0 and fifty["writes"] == 0
    assert fifty["reads"].count("Query by_account_time") == 1
    assert len(fifty["reads"]) <= 10, fifty["reads"]


def test_an_interaction_that_counts_for_the_account_reads_the_same_and_writes_each_changed_score(
    deps: Any,
) -> None:
    small, large = an_account("a10", 10), an_account("a50", 50)
    rescore_contacts(small + large, deps, NOW, [MODEL])
    ten, fifty = one_more(deps, small[0], "page_visited"), one_more(deps, large[0], "page_visited")
    assert ten["reads"] == fifty["reads"], "the reads do not grow with the account"
    assert len(fifty["reads"]) <= 10, fifty["reads"]
    # every colleague's score moved by one point: those writes are the point of account scoring (the
    # score item, and a timeline entry moved out of it once a 50-id breakdown fills it)
    assert (ten["changed"], fifty["changed"]) == (10, 50)
    for found in (ten, fifty):
        assert found["changed"] <= found["writes"] <= 2 * found["changed"]
    assert {s["abm"].score for s in deps.scoring.scores_for(["a50_l00", "a50_l49"], ["abm"]).values()} == {51}


def test_a_batch_of_contacts_of_one_account_reads_the_account_once(deps: Any) -> None:
    large = an_account("a50", 50)
    rescore_contacts(large, deps, NOW, [MODEL])
    for contact_id in large[:5]:
        assert deps.store.record_interaction(
            Interaction(f"{contact_id}_p2", contact_id, "page_visited", NOW - timedelta(hours=1))
        )
    with aws_calls(with_table=False) as made:
        assert rescore_contacts(large[:5], deps, NOW, [MODEL]) == 50
    assert sum(call == "Query by_account_time" for call in made) == 1
    assert deps.scoring.scores_of("a50_l49")["abm"].score == 55


def test_a_contact_that_moves_takes_its_interactions_to_its_new_account(deps: Any) -> None:
    from chalicelib.store.records import ContactRecord

    old, new = an_account("a_old", 2), an_account("a_new", 2)
    mover = ContactRecord.get(old[0])
    mover.account_id = "a_new"
    mover.save()
    assert deps.store.restamp_interactions(old[0], "a_new") == 1
    assert deps.store.restamp_interactions(old[0], "a_new") == 0, "a repeat changes nothing"
    rescore_contacts([new[0]], deps, NOW, [MODEL])
    assert deps.scoring.scores_of("a_new_l00")["abm"].score == 3  # its two and the newcomer's visit


def test_interactions_written_before_the_account_index_are_stamped_by_the_backfill(deps: Any) -> None:
    from chalicelib.store.backfill import backfill_interaction_accounts
    from chalicelib.store.records import InteractionRecord

    large = an_account("a5", 5)
    rescore_contacts(large, deps, NOW, [MODEL])
    for record in InteractionRecord.scan():  # as written before the index: no account
        record.update(actions=[InteractionRecord.account_id.remove()])
    assert deps.scoring.interactions_of_account("a5", None) == []
    assert backfill_interaction_accounts(page=2) == 5
    assert len(deps.scoring.interactions_of_account("a5", None)) == 5
    assert backfill_interaction_accounts() == 0, "a second run finds nothing to do"
