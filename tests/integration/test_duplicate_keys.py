"""A contact's duplicate blocking keys are attributes of its own item (issue 19), each kind a sparse
keys-only index of the contacts table: written with the contact, moved with its email or phone, gone
with its erasure; contacts from before get them from the backfill, which also removes the identity
table's per-key items of the old layout."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.duplicates import digest, hashed, indexed_keys
from chalicelib.domain.entities import Contact
from chalicelib.store.duplicates import KEYS_ITEM
from chalicelib.store.dynamo import contact_record
from chalicelib.store.records import ContactRecord, IdentityRecord

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def person(contact_id: str, email: str | None, **fields: Any) -> Contact:
    return Contact(
        contact_id=contact_id,
        email=email,
        fields={**({"email": email} if email else {}), **fields},
        account_id=fields.pop("account_id", None),
        created_at=NOW,
        updated_at=NOW,
    )


def saved(contact: Contact) -> Contact:
    contact_record(contact).save()
    return replace(contact, version=ContactRecord.get(contact.contact_id).version)


def identity_items() -> list[tuple[str, str]]:
    return [(r.pk, r.sk) for r in IdentityRecord.scan()]


def test_a_contacts_keys_are_hashed_attributes_of_its_item_and_no_identity_item_is_written(deps: Any):
    ada = saved(person("c1", "ada@acme.com", phone="+442079460958"))

    item = ContactRecord.get("c1")
    assert (item.dup_mail, item.dup_email, item.dup_phone) == (
        digest("domain#acme.com"),
        digest("email#ada@acme.com"),
        digest("phone#+442079460958"),
    )
    assert "ada" not in f"{item.dup_mail}{item.dup_email}" and "7946" not in str(item.dup_phone)
    assert identity_items() == []
    assert deps.identity.candidates(ada) == {"c1"}


def test_a_contact_sharing_the_phone_the_company_domain_or_the_exact_email_is_a_candidate(deps: Any):
    ada = saved(person("c1", "ada@acme.com", phone="+442079460958"))
    saved(person("c2", "lovelace@gmail.com", phone="+442079460958"))  # the phone
    saved(person("c3", "grace@acme.com"))  # the company domain
    saved(person("c4", "ada@gmail.com"))  # a free-mail domain is no key
    saved(person("c5", "someone@other.org"))

    assert deps.identity.candidates(ada) == {"c1", "c2", "c3"}
    free = saved(person("c6", "ADA@gmail.com"))  # the same address, another case
    assert deps.identity.candidates(free) == {"c4", "c6"}


def test_an_exact_email_is_found_in_a_company_domain_with_more_contacts_than_the_limit(deps: Any):
    for n in range(6):
        saved(person(f"c{n}", f"p{n}@acme.com"))
    late = saved(person("c_late", "p3@ACME.com"))  # the same address as c3, after five others

    found = deps.identity.candidates(late, limit=2)
    assert "c3" in found, "the domain's first two, then the exact address asked for"
    assert len(found) <= 5


def test_a_changed_email_or_phone_moves_the_contacts_keys_in_the_same_write(deps: Any):
    ada = saved(person("c1", "ada@acme.com", phone="+442079460958"))
    old_phone = saved(person("c2", "x@other.org", phone="+442079460958"))
    new_phone = saved(person("c3", "y@another.org", phone="+442079460999"))

    deps.identity.save_contact(
        replace(ada, email="ada@newco.io", fields={"email": "ada@newco.io", "phone": "+442079460999"})
    )

    assert deps.identity.candidates(old_phone) == {"c2"}
    assert deps.identity.candidates(new_phone) == {"c1", "c3"}
    assert deps.identity.candidates(person("c9", "grace@acme.com")) == set()
    assert ContactRecord.get("c1").dup_mail == digest("domain#newco.io")


def test_a_contact_losing_its_phone_leaves_the_phone_index(deps: Any):
    ada = saved(person("c1", "ada@acme.com", phone="+442079460958"))
    deps.identity.save_contact(replace(ada, fields={"email": "ada@acme.com"}))

    assert ContactRecord.get("c1").dup_phone is None
    assert deps.identity.candidates(person("c2", None, phone="+442079460958")) == set()


def test_a_contact_being_erased_holds_no_keys_and_is_nobodys_candidate(deps: Any):
    ada = saved(person("c1", "ada@acme.com", phone="+442079460958"))
    deps.identity.begin_erasure(ada, {"erasure_id": "e1"}, NOW)

    item = ContactRecord.get("c1")
    assert item.erasing and (item.dup_mail, item.dup_email, item.dup_phone) == (None, None, None)
    assert deps.identity.candidates(person("c2", "ada@acme.com", phone="+442079460958")) == set()


def test_an_accounts_key_is_read_from_the_contacts_account_index(deps: Any):
    ada = saved(person("c1", "ada@acme.com", account_id="a1"))
    saved(person("c2", "bob@other.org", account_id="a1"))

    assert deps.identity.candidates(ada) == {"c1", "c2"}


def _as_before_issue_19(contact_id: str, keys: list[str]) -> None:
    """The contact's item without key attributes, and the identity items the old layout wrote."""
    attributes = (ContactRecord.dup_mail, ContactRecord.dup_email, ContactRecord.dup_phone)
    ContactRecord.get(contact_id).update(actions=[a.remove() for a in attributes])
    hashes = sorted(hashed(k) for k in keys)
    data = json.dumps({"hashes": hashes})
    IdentityRecord(f"keys#{contact_id}", KEYS_ITEM, data=data, created_at=NOW).save()
    for h in hashes:
        IdentityRecord(f"block#{h}", contact_id, data="{}", created_at=NOW).save()


def test_the_backfill_gives_contacts_from_before_their_keys_and_removes_the_old_items(deps: Any):
    from chalicelib.store.backfill import backfill_duplicate_keys

    ada = saved(person("c1", "ada@acme.com", phone="+442079460958"))
    saved(person("c2", "lovelace@gmail.com", phone="+442079460958"))
    saved(person("c3", None, first_name="No", last_name="Keys"))
    _as_before_issue_19("c1", ["email#ada@acme.com", "domain#acme.com", "phone#+442079460958"])
    IdentityRecord("keys#gone", "0123", data="{}", created_at=NOW).save()  # the per-key layout before
    assert deps.identity.candidates(person("c9", None, phone="+442079460958")) == {"c2"}

    assert backfill_duplicate_keys() == {"contact_duplicate_keys": 1, "old_duplicate_key_items": 5}

    assert deps.identity.candidates(person("c9", None, phone="+442079460958")) == {"c1", "c2"}
    assert ContactRecord.get("c1").dup_mail == indexed_keys(ada).mail
    assert identity_items() == []
    assert backfill_duplicate_keys() == {"contact_duplicate_keys": 0, "old_duplicate_key_items": 0}, (
        "a second run finds nothing to do"
    )


def test_erasure_removes_the_old_layouts_items_when_the_backfill_has_not_run(deps: Any):
    saved(person("c1", "ada@acme.com", phone="+442079460958"))
    _as_before_issue_19("c1", ["email#ada@acme.com", "phone#+442079460958"])

    deps.identity.forget_contact("c1")

    assert identity_items() == []


def test_between_the_two_updates_that_add_the_indexes_the_phone_is_not_asked(deps: Any):
    """``DuplicatePhoneIndex=false`` (docs/deploy.md): the contacts table has no ``by_dup_phone`` yet."""
    from chalicelib.store.identity import IdentityStore

    saved(person("c1", "ada@acme.com", phone="+442079460958"))
    other = person("c2", "x@other.org", phone="+442079460958")
    without = IdentityStore(deps.identity._connection, "unused", phone_index=False)

    assert without.candidates(other) == set()
    assert deps.identity.candidates(other) == {"c1"}
