"""The LinkedIn service gets its client secret from ``deps.linkedin_secret`` (the composition root reads
the stage's secret), read on each request: no secret module behind its back (fakes, no moto)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from chalicelib.domain.errors import Conflict, NotAuthentic
from chalicelib.services import linkedin
from tests.fakes import fake_deps


def test_the_challenge_is_signed_with_the_secret_deps_reads_at_the_time_of_the_request() -> None:
    secrets = iter(["first", "rotated"])
    deps = fake_deps(linkedin_secret=lambda: next(secrets))
    for expected in ("first", "rotated"):
        answer = linkedin.challenge("abc", deps)
        assert answer["challengeResponse"] == hmac.new(expected.encode(), b"abc", hashlib.sha256).hexdigest()


def test_without_a_secret_the_challenge_and_notifications_answer_409_not_configured() -> None:
    deps = fake_deps()
    with pytest.raises(Conflict) as refused:
        linkedin.challenge("abc", deps)
    assert refused.value.field == "LINKEDIN_CLIENT_SECRET"
    with pytest.raises(Conflict):
        linkedin.notified(b"{}", "sig", deps)


def test_a_notification_signed_with_another_secret_is_refused_before_anything_is_read() -> None:
    deps = fake_deps(linkedin_secret=lambda: "the-secret")
    forged = "hmacsha256=" + hmac.new(b"another", b"{}", hashlib.sha256).hexdigest()
    with pytest.raises(NotAuthentic):
        linkedin.notified(b"{}", forged, deps)
