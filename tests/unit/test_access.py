"""API keys and scopes (chalicelib/domain/access.py) and identifiers (chalicelib/domain/ids.py)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from chalicelib.domain.access import KEY_PREFIX, SCOPES, ApiKey, hash_secret, new_secret
from chalicelib.domain.ids import new_id

CREATED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def key(*scopes: str, revoked: bool = False) -> ApiKey:
    return ApiKey(
        key_id="k_1",
        name="landing pages",
        scopes=frozenset(scopes),
        created_at=CREATED,
        revoked_at=CREATED if revoked else None,
    )


@pytest.mark.parametrize("required", SCOPES)
def test_admin_key_allows_everything(required):
    assert key("admin").allows(required)


def test_ingest_key_allows_only_ingest():
    ingest = key("ingest")
    assert ingest.allows("ingest")
    assert not ingest.allows("sales")
    assert not ingest.allows("admin")


def test_key_with_several_scopes_allows_each_but_not_admin():
    both = key("ingest", "sales")
    assert both.allows("ingest")
    assert both.allows("sales")
    assert not both.allows("admin")


def test_key_without_scopes_allows_nothing():
    assert not any(key().allows(scope) for scope in SCOPES)


@pytest.mark.parametrize("scopes", [("admin",), ("ingest",), ("ingest", "sales", "admin")])
def test_revoked_key_allows_nothing(scopes):
    revoked = key(*scopes, revoked=True)
    assert not any(revoked.allows(scope) for scope in SCOPES)


def test_hash_secret_is_deterministic_and_not_the_secret():
    secret = "lf_example-secret"
    digest = hash_secret(secret)
    assert digest == hash_secret(secret)
    assert digest != secret
    assert secret not in digest
    assert re.fullmatch(r"[0-9a-f]{64}", digest)


def test_different_secrets_have_different_hashes():
    assert hash_secret("lf_a") != hash_secret("lf_b")


def test_new_secret_starts_with_lf_and_differs_each_call():
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(s.startswith(KEY_PREFIX) and s.startswith("lf_") for s in secrets)


def test_new_secret_carries_256_random_bits_url_safely():
    secret = new_secret()
    assert re.fullmatch(r"lf_[A-Za-z0-9_-]{43}", secret)


# ---------------------------------------------------------------- ids


def test_new_id_has_the_prefix_and_an_opaque_sortable_part():
    ident = new_id("c")
    assert re.fullmatch(r"c_[0-9a-hjkmnp-tv-z]{26}", ident)


def test_new_ids_are_unique():
    ids = {new_id("l") for _ in range(1000)}
    assert len(ids) == 1000


def test_new_ids_sort_by_creation_time_across_milliseconds():
    first = new_id("l")
    time.sleep(0.002)
    second = new_id("l")
    time.sleep(0.002)
    third = new_id("l")
    assert first < second < third


def test_time_part_of_an_id_comes_first():
    before = new_id("a")
    time.sleep(0.002)
    after = new_id("a")
    assert before[2:12] < after[2:12]
