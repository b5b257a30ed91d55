"""Signed lead webhooks (``POST /v1/webhooks/{source}``): how a sender signs, how Leadflow checks.

A sender signs every delivery with one of the source's secrets::

    X-Leadflow-Delivery:  <a unique id for this delivery, the same on each retry of it>
    X-Leadflow-Timestamp: <unix seconds when it was signed>
    X-Leadflow-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

Several ``v1=`` values may be sent, comma separated (a sender rotating its secret signs with both).
A delivery is authentic when one of the source's active secrets gives one of the signatures, compared
in constant time, and its timestamp is within :data:`TOLERANCE_SECONDS` of now: a recorded delivery
cannot be replayed later, and within the window its delivery id is accepted only once.

Standard library only: this runs on every delivery, before anything is read from the body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.errors import NotAuthentic

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "X-Leadflow-Signature"
TIMESTAMP_HEADER = "X-Leadflow-Timestamp"
DELIVERY_HEADER = "X-Leadflow-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")
_HEX = re.compile(r"[0-9a-fA-F]{64}")


def new_secret() -> str:
    return SECRET_PREFIX + _secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Leadflow-Signature`` value a sender sends."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


@dataclass(frozen=True)
class SignedDelivery:
    delivery_id: str
    timestamp: int


def verify(
    body: bytes,
    headers: dict[str, str],
    secrets: Sequence[str],
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> SignedDelivery:
    """Check a delivery's headers (lower-case names) against the source's active secrets; raises
    :class:`NotAuthentic` naming the header at fault. Nothing about the secrets is revealed."""
    delivery_id = headers.get(DELIVERY_HEADER.lower(), "")
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise NotAuthentic(f"{DELIVERY_HEADER} must be 1-200 letters, digits or _ . : -", DELIVERY_HEADER)
    raw_timestamp = headers.get(TIMESTAMP_HEADER.lower(), "").strip()
    if not raw_timestamp.isdigit() or len(raw_timestamp) > 12:
        raise NotAuthentic(f"{TIMESTAMP_HEADER} must be the signing time in unix seconds", TIMESTAMP_HEADER)
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > tolerance:
        raise NotAuthentic(
            f"{TIMESTAMP_HEADER} is more than {tolerance} seconds from now: sign each delivery as it is sent",
            TIMESTAMP_HEADER,
        )
    offered = _signatures(headers.get(SIGNATURE_HEADER.lower(), ""))
    if not offered:
        raise NotAuthentic(f"{SIGNATURE_HEADER} must carry v1=<hex HMAC-SHA256>", SIGNATURE_HEADER)
    signed = raw_timestamp.encode() + b"." + body
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        for signature in offered:  # every comparison runs: timing says nothing about which one failed
            matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise NotAuthentic("the signature does not match the body and timestamp", SIGNATURE_HEADER)
    return SignedDelivery(delivery_id=delivery_id, timestamp=timestamp)


def _signatures(header: str) -> list[str]:
    found = []
    for part in header.split(",")[:5]:
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and _HEX.fullmatch(value):
            found.append(value.lower())
    return found
