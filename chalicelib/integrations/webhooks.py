"""Signed lead webhooks (``POST /v1/webhooks/{source}``), by the Standard Webhooks scheme
(https://www.standardwebhooks.com)::

    webhook-id:        <the delivery's id, the same on each retry of it>
    webhook-timestamp: <unix seconds when it was signed>
    webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>

The key is the base64 after ``whsec_`` in the source's secret. Several signatures may be sent,
space separated (a sender rotating its secret signs with both). A delivery is authentic when one of the
source's active secrets gives one of the signatures (compared in constant time, every pair), and its
timestamp is within :data:`TOLERANCE_SECONDS` of now. The id is signed, so it cannot be changed to get
a captured delivery past the replay check: within the window the id is accepted once (the capture's
receipt), after it the timestamp is refused.

Signing is the ``standardwebhooks`` reference library's (standard library only, no dependencies), so
senders using it, or Svix, interoperate. Checking the headers and comparing is done here: every header
problem is reported naming the header, and every secret is tried against every signature.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets as _secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain.errors import NotAuthentic

TOLERANCE_SECONDS = 300
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")
_SIGNATURE = re.compile(r"v1,[A-Za-z0-9+/]{43}=")
MISMATCH = "the signature does not match the body, id and timestamp"


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, as Standard Webhooks senders expect."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def sign(secret: str, delivery_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``webhook-signature`` value a sender sends (the reference library's signing)."""
    from standardwebhooks.webhooks import Webhook

    moment = datetime.fromtimestamp(int(timestamp), UTC)
    return Webhook(secret).sign(msg_id=delivery_id, timestamp=moment, data=body)


@dataclass(frozen=True)
class SignedHeaders:
    """A delivery's headers, well formed and in time (not yet checked against any secret)."""

    delivery_id: str
    timestamp: int
    signatures: tuple[str, ...]


def read_headers(headers: dict[str, str], now: float, tolerance: int = TOLERANCE_SECONDS) -> SignedHeaders:
    """The three headers (lower-case names), or :class:`NotAuthentic` naming the one at fault. Needs
    no secret, so an unknown source is answered exactly like a known one up to the signature."""
    delivery_id = headers.get(ID_HEADER, "")
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise NotAuthentic(f"{ID_HEADER} must be 1-200 letters, digits or _ . : -", ID_HEADER)
    raw_timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    # ASCII digits only: str.isdigit() also takes superscripts such as "²", which int() refuses
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
        raise NotAuthentic(f"{TIMESTAMP_HEADER} must be the signing time in unix seconds", TIMESTAMP_HEADER)
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > tolerance:
        raise NotAuthentic(
            f"{TIMESTAMP_HEADER} is more than {tolerance} seconds from now: sign each delivery as it is sent",
            TIMESTAMP_HEADER,
        )
    offered = tuple(
        part for part in headers.get(SIGNATURE_HEADER, "").split(" ")[:10] if _SIGNATURE.fullmatch(part)
    )
    if not offered:
        raise NotAuthentic(f"{SIGNATURE_HEADER} must carry v1,<base64 HMAC-SHA256>", SIGNATURE_HEADER)
    return SignedHeaders(delivery_id, timestamp, offered)


def check_signature(body: bytes, signed: SignedHeaders, secrets: Sequence[str]) -> None:
    """:class:`NotAuthentic` unless one active secret gives one offered signature. Every secret is
    compared with every signature, so timing says nothing about which one failed; a stored secret that
    is not a Standard Webhooks secret (made before this scheme) matches nothing."""
    from standardwebhooks.webhooks import EmptyWebhookSecretError

    matched = False
    for secret in secrets:
        try:
            expected = sign(secret, signed.delivery_id, signed.timestamp, body).encode()
        except (binascii.Error, ValueError, EmptyWebhookSecretError):  # not a usable secret
            expected = b"v1," + b"\0" * 44
        for signature in signed.signatures:
            matched |= hmac.compare_digest(expected, signature.encode())
    if not matched:
        raise NotAuthentic(MISMATCH, SIGNATURE_HEADER)


def verify(
    body: bytes,
    headers: dict[str, str],
    secrets: Sequence[str],
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> SignedHeaders:
    """Headers and signature together (:func:`read_headers`, then :func:`check_signature`)."""
    signed = read_headers(headers, now, tolerance)
    check_signature(body, signed, secrets)
    return signed
