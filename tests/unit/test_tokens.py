"""Cognito tokens, checked as an attacker would try them (pure: keys made here, no moto): only a
current RS256 token signed by one of the pool's keys, from the pool, for the console's client, passes;
and a person's groups give the scopes API keys have."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import rsa

from chalicelib.domain.tokens import (
    Expected,
    InvalidToken,
    PublicKey,
    UnknownKey,
    parse_jwks,
    scopes_for,
    verify,
)

POOL = "us-east-1_pool"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
CLIENT = "console-client"
EXPECTED = Expected(issuer=ISSUER, client_id=CLIENT)
NOW = 1_800_000_000.0
NOW_DT = datetime.fromtimestamp(NOW, UTC)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


@pytest.fixture(scope="module")
def pair() -> tuple[rsa.PublicKey, rsa.PrivateKey]:
    return rsa.newkeys(1024)


@pytest.fixture(scope="module")
def other_pair() -> tuple[rsa.PublicKey, rsa.PrivateKey]:
    return rsa.newkeys(1024)


def jwk(public: rsa.PublicKey, kid: str) -> dict[str, str]:
    size = (public.n.bit_length() + 7) // 8
    return {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": kid,
        "n": b64(public.n.to_bytes(size, "big")),
        "e": b64(public.e.to_bytes(3, "big")),
    }


def keys_of(public: rsa.PublicKey, kid: str = "k1") -> dict[str, PublicKey]:
    return parse_jwks({"keys": [jwk(public, kid)]})


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "sub": "sub-ann",
        "aud": CLIENT,
        "token_use": "id",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "email": "Ann@Example.com",
        "cognito:groups": ["sales_rep"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(private: rsa.PrivateKey, payload: dict[str, Any], kid: str = "k1", alg: str = "RS256") -> str:
    head = part({"alg": alg, "kid": kid, "typ": "JWT"}) + "." + part(payload)
    return head + "." + b64(rsa.sign(head.encode(), private, "SHA-256"))


def test_a_genuine_id_token_names_the_person_their_groups_and_scopes(pair: Any) -> None:
    who = verify(sign(pair[1], claims()), keys_of(pair[0]), EXPECTED, NOW)
    assert (who.sub, who.email, who.groups, who.token_use) == (
        "sub-ann",
        "ann@example.com",
        ("sales_rep",),
        "id",
    )
    assert who.scopes == {"sales"}


def test_a_genuine_access_token_is_checked_on_client_id_not_aud(pair: Any) -> None:
    access = claims(token_use="access", aud=None, client_id=CLIENT, email=None, username="sub-ann")
    who = verify(sign(pair[1], access), keys_of(pair[0]), EXPECTED, NOW)
    assert who.token_use == "access" and who.email is None  # no e-mail: the person cannot be linked
    with pytest.raises(InvalidToken, match="another app client"):
        verify(sign(pair[1], claims(token_use="access", client_id="other")), keys_of(pair[0]), EXPECTED, NOW)


def test_an_id_token_for_another_app_client_is_refused(pair: Any) -> None:
    with pytest.raises(InvalidToken, match=r"another app client \(aud\)"):
        verify(sign(pair[1], claims(aud="someone-elses-client")), keys_of(pair[0]), EXPECTED, NOW)


def test_an_id_token_carrying_client_id_but_the_wrong_aud_is_refused(pair: Any) -> None:
    # id vs access: an id token must match on aud; a client_id claim does not stand in for it
    token = sign(pair[1], claims(aud="other", client_id=CLIENT))
    with pytest.raises(InvalidToken):
        verify(token, keys_of(pair[0]), EXPECTED, NOW)


def test_a_token_use_other_than_id_or_access_is_refused(pair: Any) -> None:
    with pytest.raises(InvalidToken, match="token_use"):
        verify(sign(pair[1], claims(token_use="refresh")), keys_of(pair[0]), EXPECTED, NOW)


def test_alg_none_is_refused_before_any_key_is_used(pair: Any) -> None:
    token = part({"alg": "none", "kid": "k1"}) + "." + part(claims()) + "."
    with pytest.raises(InvalidToken, match="only RS256"):
        verify(token, keys_of(pair[0]), EXPECTED, NOW)


def test_hs256_signed_with_the_public_key_as_secret_is_refused(pair: Any) -> None:
    public_pem = pair[0].save_pkcs1()
    head = part({"alg": "HS256", "kid": "k1"}) + "." + part(claims())
    token = head + "." + b64(hmac.new(public_pem, head.encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidToken, match="only RS256"):
        verify(token, keys_of(pair[0]), EXPECTED, NOW)


def test_an_rs256_header_with_an_hmac_signature_is_refused(pair: Any) -> None:
    public_pem = pair[0].save_pkcs1()
    head = part({"alg": "RS256", "kid": "k1"}) + "." + part(claims())
    token = head + "." + b64(hmac.new(public_pem, head.encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidToken, match="signature"):
        verify(token, keys_of(pair[0]), EXPECTED, NOW)


def test_an_expired_token_is_refused_after_the_leeway(pair: Any) -> None:
    token = sign(pair[1], claims(exp=int(NOW) - 31))
    with pytest.raises(InvalidToken, match="expired"):
        verify(token, keys_of(pair[0]), EXPECTED, NOW)
    # within the 30 s leeway a clock a little behind still accepts it
    assert verify(sign(pair[1], claims(exp=int(NOW) - 5)), keys_of(pair[0]), EXPECTED, NOW).sub == "sub-ann"


def test_a_token_without_exp_or_not_yet_valid_is_refused(pair: Any) -> None:
    with pytest.raises(InvalidToken, match="expired"):
        verify(sign(pair[1], claims(exp=None)), keys_of(pair[0]), EXPECTED, NOW)
    with pytest.raises(InvalidToken, match="not valid yet"):
        verify(sign(pair[1], claims(nbf=int(NOW) + 120)), keys_of(pair[0]), EXPECTED, NOW)


def test_a_token_of_another_pool_is_refused_even_when_signed_with_this_key(pair: Any) -> None:
    other = claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")
    with pytest.raises(InvalidToken, match="another issuer"):
        verify(sign(pair[1], other), keys_of(pair[0]), EXPECTED, NOW)


def test_a_token_signed_by_another_pools_key_under_a_known_kid_is_refused(pair: Any, other_pair: Any) -> None:
    with pytest.raises(InvalidToken, match="signature"):
        verify(sign(other_pair[1], claims()), keys_of(pair[0]), EXPECTED, NOW)


def test_an_unknown_kid_is_its_own_error_so_the_keys_are_refetched(pair: Any) -> None:
    with pytest.raises(UnknownKey):
        verify(sign(pair[1], claims(), kid="rotated"), keys_of(pair[0]), EXPECTED, NOW)


def test_a_tampered_payload_fails_the_signature(pair: Any) -> None:
    token = sign(pair[1], claims())
    head, _, signature = token.rpartition(".")
    forged = head.split(".")[0] + "." + part(claims(**{"cognito:groups": ["admin"]}))
    with pytest.raises(InvalidToken, match="signature"):
        verify(forged + "." + signature, keys_of(pair[0]), EXPECTED, NOW)


def test_a_signature_over_sha1_is_refused_though_the_key_made_it(pair: Any) -> None:
    head = part({"alg": "RS256", "kid": "k1"}) + "." + part(claims())
    token = head + "." + b64(rsa.sign(head.encode(), pair[1], "SHA-1"))
    with pytest.raises(InvalidToken, match="SHA-256"):
        verify(token, keys_of(pair[0]), EXPECTED, NOW)


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d", "!!!.e30.xx", part({"alg": "RS256"}) + ".e30.sig", "x" * 20_000],
)
def test_malformed_tokens_are_refused_not_crashing(pair: Any, token: str) -> None:
    with pytest.raises(InvalidToken):
        verify(token, keys_of(pair[0]), EXPECTED, NOW)


def test_the_jwks_keeps_only_rs256_signing_keys(pair: Any) -> None:
    document = {
        "keys": [
            jwk(pair[0], "good"),
            {**jwk(pair[0], "enc"), "use": "enc"},
            {**jwk(pair[0], "hs"), "alg": "HS256"},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "broken", "n": 5},
        ]
    }
    assert set(parse_jwks(document)) == {"good"}
    with pytest.raises(ValueError, match="list of keys"):
        parse_jwks({"no": "keys"})


def test_groups_map_to_the_scopes_keys_have() -> None:
    assert scopes_for(["admin"]) == {"admin"}
    assert scopes_for(["marketing"]) == {"ingest", "sales"}
    assert scopes_for(["sales_manager"]) == scopes_for(["sales_rep"]) == {"sales"}
    assert scopes_for(["guests", "everyone"]) == frozenset()


def test_a_current_token_made_now_verifies_with_the_real_clock(pair: Any) -> None:
    now = time.time()
    token = sign(pair[1], claims(iat=int(now), exp=int(now) + 60))
    assert verify(token, keys_of(pair[0]), EXPECTED, now).email == "ann@example.com"


def test_the_key_set_is_fetched_once_and_refetched_on_refresh_at_most_once_a_minute(pair: Any) -> None:
    from chalicelib.integrations.jwks import REFRESH_SECONDS, JwksKeys

    clock = [100.0]
    served = [{"keys": [jwk(pair[0], "k1")]}]
    keys = JwksKeys("https://example.test/jwks.json", fetch=lambda url: served[0], clock=lambda: clock[0])
    assert set(keys.keys()) == {"k1"} and set(keys.keys()) == {"k1"}
    assert keys.fetches == 1
    served[0] = {"keys": [jwk(pair[0], "k2")]}
    assert set(keys.keys(refresh=True)) == {"k1"}  # fetched at 100: a forged kid cannot force a fetch
    assert keys.fetches == 1
    clock[0] += REFRESH_SECONDS
    assert set(keys.keys(refresh=True)) == {"k2"}
    assert keys.fetches == 2


def test_an_unreadable_key_set_is_unavailable_not_a_refusal() -> None:
    from chalicelib.domain.tokens import KeysUnavailable
    from chalicelib.integrations.jwks import JwksKeys

    with pytest.raises(KeysUnavailable):
        JwksKeys("https://example.test/jwks.json", fetch=lambda url: ["not", "a", "jwks"]).keys()
    with pytest.raises(KeysUnavailable):
        JwksKeys("file:///etc/passwd").keys()
    with pytest.raises(KeysUnavailable):
        JwksKeys("").keys()


def test_a_rotated_pool_key_is_found_by_refetching_once(pair: Any, other_pair: Any) -> None:
    from chalicelib.domain.routing import User
    from chalicelib.services import signin
    from chalicelib.settings import Settings
    from tests.fakes import FakeSigningKeys, fake_deps

    settings = Settings(COGNITO_USER_POOL_ID=POOL, COGNITO_CLIENT_ID=CLIENT)
    keys = FakeSigningKeys({"k1": keys_of(pair[0])["k1"]})
    deps = fake_deps(settings, signing_keys=keys)
    deps.people.put_user(User("ann", "Ann", "ann@example.com", ("sales_rep",), ("emea",)), NOW_DT)
    assert signin.caller_for(sign(pair[1], claims()), deps, NOW).user_id == "ann"
    keys.published["k2"] = keys_of(other_pair[0])["k1"]  # Cognito rotated: a new kid
    caller = signin.caller_for(sign(other_pair[1], claims(), kid="k2"), deps, NOW)
    assert (caller.user_id, caller.scopes, caller.actor) == ("ann", {"sales"}, "user:ann")
    assert keys.fetches == 2
    with pytest.raises(UnknownKey):  # still unknown after the one refetch: refused
        signin.caller_for(sign(pair[1], claims(), kid="k3"), deps, NOW)


def test_a_token_verifies_without_pyasn1_which_the_zip_leaves_out(pair: Any) -> None:
    import subprocess
    import sys

    token = sign(pair[1], claims())
    n, e = pair[0].n, pair[0].e
    script = (
        "import sys; sys.modules['pyasn1'] = None\n"
        "from chalicelib.domain.tokens import Expected, PublicKey, verify\n"
        f"who = verify({token!r}, {{'k1': PublicKey({n}, {e})}}, Expected({ISSUER!r}, {CLIENT!r}), {NOW})\n"
        "assert 'pyasn1' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print(who.sub)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sub-ann"
