"""Cognito tokens: checking a JSON Web Token signed with RS256 against the user pool's keys (JWKS), and
what a person's groups allow (the same scopes as API keys: ``chalicelib/domain/access.py``).

The signature is checked here, in a few lines of the standard library, not with ``cryptography``
(PyJWT[crypto], joserfc) nor the pure-Python ``rsa`` package: measured on 2026-12-07, the
``cryptography`` wheel for the Lambda runtime (python3.12, arm64) is 4,867,207 bytes and ``cffi``
another 222,389, against the deployment zip's 5,000,000-byte budget; ``rsa`` with its ``pyasn1``
(119,503 bytes of wheels) left the zip 35 KB under the budget, for one operation. Only one algorithm is
needed (Cognito signs with RS256), and RSASSA-PKCS1-v1_5 verification is RFC 8017 section 8.2.2: open
the signature with the public key and compare the result, whole, with the encoding rebuilt from the
message (padding, SHA-256's DigestInfo and hash); the opened block is never parsed, so no
Bleichenbacher-style forgery of a lax parser applies. Keys under 2048 bits are refused.

Refused (:class:`InvalidToken`, a 401): not three base64url parts, a header whose ``alg`` is not RS256
(``none``, ``HS256`` with the public key as a secret...), a ``kid`` the pool does not have, a bad
signature, a wrong ``iss`` (another pool), expired or not yet valid (``LEEWAY_SECONDS``), a
``token_use`` other than ``id`` or ``access``, an id token for another client (``aud``) or an access
token for another client (``client_id``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (seconds).
LEEWAY_SECONDS = 30
#: A Cognito group (a role) -> the API scopes it grants, as an API key's scopes do. ``admin`` may do
#: everything; marketing captures and imports (``ingest``) and reads leads (``sales``); sales managers
#: and reps work leads (``sales``; which leads a rep may act on is ``domain/routing.may_act_on``).
GROUP_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin"}),
    "marketing": frozenset({"ingest", "sales"}),
    "sales_manager": frozenset({"sales"}),
    "sales_rep": frozenset({"sales"}),
}
MAX_TOKEN_BYTES = 16 * 1024


class InvalidToken(Exception):
    """The token is refused (401); ``reason`` says why, for the answer and the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """The pool's keys cannot be read (network, not a JWKS, sign-in not configured): 503, not 401."""


class UnknownKey(InvalidToken):
    """The token names a ``kid`` the key set lacks: the caller may refetch the JWKS once."""


@dataclass(frozen=True)
class Expected:
    """What a token of this pool must say."""

    issuer: str
    client_id: str


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key of the JWKS: modulus and exponent."""

    n: int
    e: int


@dataclass(frozen=True)
class Identity:
    """The signed-in person the verified token names."""

    sub: str
    email: str | None
    groups: tuple[str, ...]
    token_use: str

    @property
    def scopes(self) -> frozenset[str]:
        return scopes_for(self.groups)


def scopes_for(groups: Iterable[str]) -> frozenset[str]:
    found: set[str] = set()
    for group in groups:
        found |= GROUP_SCOPES.get(group, frozenset())
    return frozenset(found)


def parse_jwks(document: Any) -> dict[str, PublicKey]:
    """The RS256 signing keys of a JWKS document, by ``kid`` (other keys are left out)."""
    keys: dict[str, PublicKey] = {}
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWKS document has a list of keys")
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256":
            continue
        if jwk.get("use", "sig") != "sig" or not isinstance(jwk.get("kid"), str):
            continue
        try:
            keys[jwk["kid"]] = PublicKey(
                int.from_bytes(_b64(jwk["n"]), "big"), int.from_bytes(_b64(jwk["e"]), "big")
            )
        except (KeyError, TypeError, ValueError):
            continue
    return keys


def header_kid(token: str) -> str:
    """The token's ``kid``, after checking its header names RS256 (before any key is looked up)."""
    header = _part(token.split(".", maxsplit=1)[0]) if token.count(".") == 2 else None
    if header is None:
        raise InvalidToken("a token has three base64url parts")
    if header.get("alg") != "RS256":
        raise InvalidToken("only RS256 tokens are accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the token names no key (kid)")
    return kid


def verify(token: str, keys: Mapping[str, PublicKey], expected: Expected, now: float) -> Identity:
    """The token's person when the token is genuine and current, else :class:`InvalidToken`."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("the token is too long")
    kid = header_kid(token)
    key = keys.get(kid)
    if key is None:
        raise UnknownKey(f"the token's key {kid!r} is not one of the pool's")
    signing_input, _, signature = token.rpartition(".")
    try:
        raw = _b64(signature)
    except ValueError:
        raise InvalidToken("the signature is not base64url") from None
    if not signing_input.isascii() or not rs256_verifies(signing_input.encode("ascii"), raw, key):
        raise InvalidToken("the signature does not verify")
    claims = _part(signing_input.split(".")[1])
    if claims is None:
        raise InvalidToken("the payload is not a JSON object")
    return _check(claims, expected, now)


#: SHA-256's DigestInfo prefix, DER (RFC 8017 section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
MIN_KEY_BITS = 2048


def rs256_verifies(message: bytes, signature: bytes, key: PublicKey) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2): the signature, opened with the key, must equal
    the EMSA-PKCS1-v1_5 encoding of the message's hash, byte for byte."""
    import hashlib
    import hmac

    if key.n.bit_length() < MIN_KEY_BITS or key.e < 3 or key.e % 2 == 0:
        return False
    size = (key.n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    opened = int.from_bytes(signature, "big")
    if opened >= key.n:
        return False
    digest = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    return hmac.compare_digest(pow(opened, key.e, key.n).to_bytes(size, "big"), expected)


def _check(claims: dict[str, Any], expected: Expected, now: float) -> Identity:
    if claims.get("iss") != expected.issuer:
        raise InvalidToken("the token is from another issuer (user pool)")
    _check_times(claims, now)
    use = claims.get("token_use")
    audience = {"id": "aud", "access": "client_id"}.get(use) if isinstance(use, str) else None
    if audience is None:
        raise InvalidToken("token_use is neither id nor access")
    if claims.get(audience) != expected.client_id:
        raise InvalidToken(f"the {use} token is for another app client ({audience})")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("the token names no subject")
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise InvalidToken("cognito:groups is not a list of names")
    email = claims.get("email")
    if not isinstance(email, str):
        # an access token has no e-mail; with e-mail usernames its ``username`` is the sub, else the address
        username = claims.get("username")
        email = username if isinstance(username, str) and "@" in username else None
    return Identity(sub=sub, email=email.lower() if email else None, groups=tuple(groups), token_use=str(use))


def _check_times(claims: dict[str, Any], now: float) -> None:
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or now > exp + LEEWAY_SECONDS:
        raise InvalidToken("the token has expired")
    if nbf is not None and (not _number(nbf) or now + LEEWAY_SECONDS < nbf):
        raise InvalidToken("the token is not valid yet")
    if iat is not None and (not _number(iat) or now + LEEWAY_SECONDS < iat):
        raise InvalidToken("the token is issued in the future")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _b64(text: Any) -> bytes:
    if not isinstance(text, str) or not text.isascii() or "=" in text:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def _part(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(_b64(text))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
