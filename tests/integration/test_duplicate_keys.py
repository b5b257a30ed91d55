"""A contact's blocking keys: one ``block#<hash>`` item per key, and the contact's list of them in one
item (issue 19: the list was one item per key, a write per key more)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.duplicates import hashed
from chalicelib.store.duplicates import KEYS_ITEM
from chalicelib.store.records import IdentityRecord

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def items(pk: str) -> dict[str, dict[str, Any]]:
    return {r.sk: json.loads(r.data) for r in IdentityRecord.query(pk)}


def test_a_contacts_keys_are_one_list_item_and_one_block_item_per_key(deps: Any) -> None:
    repo = deps.identity
    repo.replace_keys("c1", {"email:a@x.io", "phone:+4420", "name:ada"}, NOW)

    assert items("keys#c1") == {
        KEYS_ITEM: {"hashes": sorted(hashed(k) for k in ("email:a@x.io", "phone:+4420", "name:ada"))}
    }
    assert repo.candidates({"phone:+4420"}) == {"c1"}


def test_replacing_keys_drops_the_gone_ones_and_adds_the_new(deps: Any) -> None:
    repo = deps.identity
    repo.replace_keys("c1", {"email:a@x.io", "phone:+4420"}, NOW)
    repo.replace_keys("c1", {"email:a@x.io", "phone:+4421"}, NOW)

    assert repo.candidates({"phone:+4420"}) == set()
    assert repo.candidates({"phone:+4421"}) == {"c1"}
    assert items("keys#c1")[KEYS_ITEM]["hashes"] == sorted(hashed(k) for k in ("email:a@x.io", "phone:+4421"))


def test_per_key_items_of_the_old_layout_are_read_then_replaced_by_the_list(deps: Any) -> None:
    old = hashed("phone:+4420")
    IdentityRecord(f"block#{old}", "c1", data="{}", created_at=NOW).save()
    IdentityRecord("keys#c1", old, data="{}", created_at=NOW).save()
    repo = deps.identity

    repo.replace_keys("c1", {"email:a@x.io"}, NOW)

    assert set(items("keys#c1")) == {KEYS_ITEM}
    assert repo.candidates({"phone:+4420"}) == set()
    assert repo.candidates({"email:a@x.io"}) == {"c1"}


def test_forgetting_a_contact_removes_its_list_and_every_block_item(deps: Any) -> None:
    repo = deps.identity
    repo.replace_keys("c1", {"email:a@x.io", "phone:+4420"}, NOW)

    repo.forget_contact("c1")

    assert items("keys#c1") == {}
    assert repo.candidates({"email:a@x.io", "phone:+4420"}) == set()


def test_an_accounts_key_is_read_from_the_contacts_account_index_not_stored(deps: Any) -> None:
    from chalicelib.store.records import ContactRecord

    for contact_id in ("c1", "c2"):
        ContactRecord(contact_id, account_id="a1", fields={}, created_at=NOW, updated_at=NOW).save()
    deps.identity.replace_keys("c1", {"email:a@x.io", "account#a1"}, NOW)

    assert items("keys#c1")[KEYS_ITEM]["hashes"] == [hashed("email:a@x.io")]
    assert items(f"block#{hashed('account#a1')}") == {}
    assert deps.identity.candidates({"account#a1"}) == {"c1", "c2"}
