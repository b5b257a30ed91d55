"""The frequency cap under concurrency (issue 18, increment 1's open race): twenty sends to one person
at the same moment, on moto's server (which applies each request atomically, like DynamoDB), so the
threads really race. Counting the person's messages and then claiming let several pass the last free
slot; the cap item written in the claim's transaction, conditioned on its version, lets exactly
``MAIL_CAP_PER_DAY`` through."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.integration.test_concurrency import moto_server  # noqa: F401 - the fixture

TEMPLATE = {"subject": "News {{ n }}", "html": "<p>Hello {{ contact.first_name }}</p>", "text": "Hello"}


def test_twenty_concurrent_marketing_sends_to_one_person_send_exactly_the_cap(moto_server: Any):  # noqa: F811
    from chalicelib.domain.capture import Capture
    from chalicelib.services import mail
    from chalicelib.services.capture import capture

    deps = moto_server
    cap = deps.settings.mail_cap_per_day
    person = capture(
        Capture(contact={"email": "busy@example.org", "first_name": "Busy"}, consent="marketing"), deps
    )
    mail.put_template("news", TEMPLATE, deps)
    start = threading.Barrier(20)

    def send(n: int) -> str:
        start.wait()  # all twenty at once
        return mail.send_template("news", person.contact_id, f"race:{n}", deps).message.status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(20)))

    assert statuses.count("sent") == cap, statuses
    assert statuses.count("capped") == 20 - cap
    listed = mail.list_messages(deps, contact_id=person.contact_id, limit=100).messages
    assert sorted(m.status for m in listed) == sorted(statuses)
    # the cap holds afterwards too, and a replay of a sent one answers the same message
    assert mail.send_template("news", person.contact_id, "later", deps).message.status == "capped"
    again = mail.send_template("news", person.contact_id, f"race:{statuses.index('sent')}", deps)
    assert again.new is False and again.message.status == "sent"
