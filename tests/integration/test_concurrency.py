"""Uniqueness under concurrency: the guarantee comes from conditional writes, not read-then-write.

Runs against moto's server (the local stack's, which applies each request atomically like DynamoDB)
so that twenty threads really race."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from chalicelib import wiring
    from leadflow_local.stack import MotoServer, aws_environment, provision

    server = MotoServer("127.0.0.1", free_port())
    server.start()
    try:
        for name, value in aws_environment(server.endpoint).items():
            monkeypatch.setenv(name, value)
        _, env = provision(server.endpoint)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        yield wiring.deps()
    finally:
        wiring.reset()
        server.stop()


def test_twenty_concurrent_submissions_with_one_email_make_one_contact_and_one_lead(moto_server: Any):
    from chalicelib.domain.capture import Capture
    from chalicelib.services.capture import Received, capture
    from chalicelib.store.records import AccountRecord, ContactRecord, KeyRecord, LeadRecord

    def submit(n: int) -> Any:
        return capture(
            Capture(
                contact={"email": "race@example.org", "first_name": f"Runner {n}"},
                lead={"topic": "Pricing", "source": "landing_page"},
                lead_matching=["contact.email", "lead.topic"],
            ),
            moto_server,
            Received(f"s_race_{n}"),
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))

    assert len({r.contact_id for r in results}) == 1
    assert len({r.lead_id for r in results}) == 1
    assert sum(r.contact_created for r in results) == 1
    assert sum(r.lead_created for r in results) == 1
    assert len(list(ContactRecord.scan())) == 1
    assert len(list(LeadRecord.scan())) == 1
    claims = [k.key for k in KeyRecord.scan() if not k.key.startswith("config#")]  # not the deployment key
    assert sorted(claims) == [
        "account-domain#example.org",
        "contact-email#race@example.org",
    ]
    assert len(list(AccountRecord.scan())) == 1
    interactions = list(moto_server.store.interactions_of(results[0].contact_id))
    assert len(interactions) == 20, "every submission is recorded, none twice"


def test_one_event_delivered_ten_times_at_once_is_captured_once(moto_server: Any):
    from chalicelib.domain.capture import Capture
    from chalicelib.services.capture import Received, capture
    from chalicelib.store.records import ContactRecord, InteractionRecord, LeadRecord

    def deliver(n: int) -> Any:
        return capture(
            Capture(
                contact={"email": "twice@example.org"},
                lead={"topic": "Demo"},
                lead_matching="new_lead_always",
            ),
            moto_server,
            Received("w_delivery_1", type="webhook_received", receipt="receipt#webhook#tool#delivery-1"),
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(deliver, range(10)))

    assert sum(not r.duplicate for r in results) == 1
    assert len({(r.lead_id, r.contact_id) for r in results}) == 1
    contact_id = results[0].contact_id
    leads = [lead for lead in LeadRecord.scan() if lead.contact_id == contact_id]
    assert len(leads) == 1, "new_lead_always would make ten leads without the receipt"
    assert [c.contact_id for c in ContactRecord.scan() if c.email == "twice@example.org"] == [contact_id]
    assert len(list(InteractionRecord.query(contact_id))) == 1


def test_captures_racing_a_merge_land_before_it_and_move_or_after_it_and_follow_the_survivor(
    moto_server: Any,
):
    from chalicelib.domain.capture import Capture
    from chalicelib.domain.merging import MergeOrder
    from chalicelib.services import merges
    from chalicelib.services.capture import Received, capture
    from chalicelib.store.records import ContactRecord, LeadRecord

    def submit(email: str, n: int) -> Any:
        return capture(
            Capture(
                contact={"email": email},
                lead={"topic": f"T{n}", "source": "api"},
                lead_matching=["contact.email", "lead.topic"],
            ),
            moto_server,
            Received(f"s_merge_{email}_{n}"),
        )

    survivor = submit("keep@example.org", 0).contact_id
    duplicate = submit("dupe@example.org", 0).contact_id

    def work(n: int) -> Any:
        if n == 5:
            return merges.merge(survivor, MergeOrder([duplicate]), moto_server)
        return submit("dupe@example.org" if n % 2 else "keep@example.org", n)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(work, range(1, 13)))
    ours = ("keep@example.org", "dupe@example.org")  # the server may still hold other tests' people
    contacts = {r.contact_id: r for r in ContactRecord.scan() if r.email in ours}
    assert set(contacts) == {survivor}
    leads = [
        lead for lead in LeadRecord.scan() if str(lead.fields.as_dict().get("topic", "")).startswith("T")
    ]
    assert len(leads) == 13
    assert {lead.contact_id for lead in leads} == {survivor}, "no lead is left on the merged contact"
    assert sorted(contacts[survivor].lead_ids) == sorted(lead.lead_id for lead in leads)
