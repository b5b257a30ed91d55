"""Suspected duplicates: two contacts that may be the same person, each suspicion with its reasons.

Strong signals (the same normalised email, the same phone in E.164) may justify a merge on their own;
a weak one (a similar name at the same account or email domain) is only ever a suggestion. Nothing
here merges anything: the operator decides (``POST /v1/contacts/{id}/merge``).

Candidates are found by *blocking keys*: values two duplicates share exactly (email, phone, account,
company email domain). Only contacts that share a key are compared, so detection reads a handful of
contacts, never the whole table. The store keeps the keys hashed (:func:`hashed`): they are personal
data, and a hash is enough to find who shares one. Since issue 19 they are attributes of the contact
itself (:func:`indexed_keys`), each kind a sparse index of the contacts table: written with the contact,
moved when its email or phone changes, gone with it.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.entities import Contact
from chalicelib.domain.matching import email_domain

#: Names at least this similar (``token_sort_ratio``, 0-100) count as "a similar name".
NAME_SIMILARITY = 85.0
#: Confidence at or above which a suspicion is strong.
STRONG = 0.9

SAME_EMAIL = "same_email"
SAME_PHONE = "same_phone"
SIMILAR_NAME_SAME_ACCOUNT = "similar_name_same_account"
SIMILAR_NAME_SAME_DOMAIN = "similar_name_same_email_domain"


@dataclass(frozen=True)
class Reason:
    kind: str
    confidence: float
    #: What made it suspicious, without the personal data itself (``"name similarity 92"``).
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "confidence": self.confidence, "detail": self.detail}


@dataclass(frozen=True)
class Suspicion:
    """``contact_id`` may be a duplicate of ``other_id`` (ordered: ``contact_id < other_id``)."""

    contact_id: str
    other_id: str
    reasons: tuple[Reason, ...]

    @property
    def confidence(self) -> float:
        return max(reason.confidence for reason in self.reasons)

    @property
    def strong(self) -> bool:
        return self.confidence >= STRONG

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_ids": [self.contact_id, self.other_id],
            "confidence": self.confidence,
            "strength": "strong" if self.strong else "weak",
            "reasons": [reason.as_dict() for reason in self.reasons],
        }


def _text(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().casefold() if value not in (None, "") else ""


def email_of(contact: Contact) -> str:
    """The email as duplicates compare it: Unicode-normalised and case-folded (legacy data may differ
    from the claim's normal form in case or composition)."""
    return _text(contact.email or contact.fields.get("email"))


def phone_of(contact: Contact) -> str:
    """Phones are stored in E.164 by capture; anything else is compared by its digits and ``+``."""
    raw = _text(contact.fields.get("phone"))
    return "".join(ch for ch in raw if ch.isdigit() or ch == "+") if raw else ""


def name_of(contact: Contact) -> str:
    parts = [contact.fields.get("first_name"), contact.fields.get("last_name")]
    name = " ".join(_text(p) for p in parts if _text(p))
    return name or _text(contact.fields.get("name"))


def blocking_keys(contact: Contact) -> set[str]:
    """The values a duplicate of this contact would share with it exactly (in clear: hash them to store)."""
    keys: set[str] = set()
    if email := email_of(contact):
        keys.add(f"email#{email}")
        if domain := email_domain(email):
            keys.add(f"domain#{domain}")
    if phone := phone_of(contact):
        keys.add(f"phone#{phone}")
    if contact.account_id:
        keys.add(f"account#{contact.account_id}")
    return keys


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def digest(key: str) -> str:
    """A blocking key as the contact item holds it: 120 bits of SHA-256, base64url (20 characters, half
    of :func:`hashed`'s 40: the contact item stays small). Two keys sharing a digest only make one more
    candidate, which :func:`compare` judges on the contacts themselves."""
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()[:15]).decode()


@dataclass(frozen=True)
class IndexedKeys:
    """A contact's blocking keys as its item carries them (hashed), each the key of a sparse index.

    ``mail``: the company email domain's key, or, for a free-mail or domainless address, the email's
    own; ``email``: the email's key, the index's sort key under ``mail`` (two contacts with one email
    share their ``mail`` too: a domain's contacts and an exact email are one index); ``phone``: the
    phone's. An account's key needs none: the contacts' ``by_account`` index answers it."""

    mail: str | None = None
    email: str | None = None
    phone: str | None = None


def indexed_keys(contact: Contact) -> IndexedKeys:
    """What the contact's item carries; nothing for a contact being erased (no longer a candidate)."""
    if contact.erasing:
        return IndexedKeys()
    email, phone = email_of(contact), phone_of(contact)
    domain = email_domain(email) if email else None
    return IndexedKeys(
        mail=digest(f"domain#{domain}" if domain else f"email#{email}") if email else None,
        email=digest(f"email#{email}") if email else None,
        phone=digest(f"phone#{phone}") if phone else None,
    )


def _lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence (names are short: O(len(a) * len(b)) is fine)."""
    previous = [0] * (len(b) + 1)
    for ch in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if ch == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def token_sort_ratio(a: str, b: str) -> float:
    """0-100: the normalised Indel similarity of the two texts with their words sorted, exactly as
    ``rapidfuzz.fuzz.token_sort_ratio`` computes it (a test holds the two together). Pure Python because
    rapidfuzz's wheels need a newer glibc than Lambda's python3.11 image has."""
    left, right = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    total = len(left) + len(right)
    return 100.0 if total == 0 else 100.0 * 2 * _lcs(left, right) / total


def name_similarity(a: Contact, b: Contact) -> float:
    left, right = name_of(a), name_of(b)
    if not left or not right:
        return 0.0
    return token_sort_ratio(left, right)


def compare(a: Contact, b: Contact) -> Suspicion | None:
    """Why ``a`` and ``b`` may be the same person, or ``None``. Pure: the same inputs give the same answer."""
    if a.contact_id == b.contact_id:
        return None
    reasons: list[Reason] = []
    if email_of(a) and email_of(a) == email_of(b):
        reasons.append(Reason(SAME_EMAIL, 0.99, "the same email address after normalisation"))
    if phone_of(a) and phone_of(a) == phone_of(b):
        reasons.append(Reason(SAME_PHONE, 0.9, "the same phone number (E.164)"))
    similarity = name_similarity(a, b)
    if similarity >= NAME_SIMILARITY:
        confidence = round(0.5 + 0.3 * (similarity - NAME_SIMILARITY) / (100 - NAME_SIMILARITY), 2)
        if a.account_id and a.account_id == b.account_id:
            reasons.append(
                Reason(
                    SIMILAR_NAME_SAME_ACCOUNT, confidence, f"name similarity {similarity:.0f}, same account"
                )
            )
        elif email_domain(email_of(a)) and email_domain(email_of(a)) == email_domain(email_of(b)):
            reasons.append(
                Reason(
                    SIMILAR_NAME_SAME_DOMAIN,
                    confidence,
                    f"name similarity {similarity:.0f}, same company email domain",
                )
            )
    if not reasons:
        return None
    first, second = sorted((a.contact_id, b.contact_id))
    return Suspicion(first, second, tuple(sorted(reasons, key=lambda r: -r.confidence)))


def suspicions(contact: Contact, candidates: list[Contact]) -> list[Suspicion]:
    """The contact against every candidate that shares a blocking key with it, most confident first."""
    found = [s for other in candidates if (s := compare(contact, other)) is not None]
    return sorted(found, key=lambda s: -s.confidence)
