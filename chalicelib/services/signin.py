"""Cognito sign-in: a bearer token checked against the user pool's keys (``domain/tokens.py``) becomes
the caller, as an API key would be: its groups give the scopes, and the People user with the token's
e-mail is the person (so ``owner=me``, a rep's team checks and the timeline's ``by`` work for people)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.domain.access import ApiKey
from chalicelib.domain.tokens import Expected, Identity, UnknownKey, verify

if TYPE_CHECKING:
    from chalicelib.wiring import Deps

#: A person found by e-mail is trusted for this long without another read (as keys are).
PERSON_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class NotLinked(Exception):
    """A genuine token whose person cannot act (403): no People user, or no role group."""

    reason: str


class SignInNotConfigured(Exception):
    """The stage has no user pool configured (``COGNITO_USER_POOL_ID``, ``COGNITO_CLIENT_ID``)."""


def identify(token: str, deps: Deps, now: float | None = None) -> Identity:
    """The token's person when it is genuine (:class:`InvalidToken` otherwise). A ``kid`` the kept key
    set lacks refetches the pool's keys once (the adapter rate-limits refetches)."""
    settings = deps.settings
    if not settings.cognito_user_pool_id or not settings.cognito_client_id:
        raise SignInNotConfigured("this stage has no user pool: use an API key")
    expected = Expected(issuer=settings.cognito_issuer, client_id=settings.cognito_client_id)
    at = time.time() if now is None else now
    try:
        return verify(token, deps.signing_keys.keys(), expected, at)
    except UnknownKey:
        return verify(token, deps.signing_keys.keys(refresh=True), expected, at)


def caller_for(token: str, deps: Deps, now: float | None = None) -> ApiKey:
    """The caller a token stands for: an :class:`ApiKey` (``key_id`` ``cognito:<sub>``) with its
    groups' scopes and its People user, so every check made for keys holds for people."""
    who = identify(token, deps, now)
    if not who.scopes:
        raise NotLinked(
            "the signed-in person is in no role group (admin, marketing, sales_manager, sales_rep)"
        )
    user_id = _person(who, deps)
    if user_id is None:
        raise NotLinked(
            f"no People user has the e-mail {who.email!r}: an admin adds one (PUT /v1/users/{{id}})"
            if who.email
            else "the token carries no e-mail: send the ID token"
        )
    return ApiKey(
        key_id=f"cognito:{who.sub}",
        name=who.email or who.sub,
        scopes=who.scopes,
        created_at=datetime.now(UTC),
        user_id=user_id,
    )


def _person(who: Identity, deps: Deps) -> str | None:
    """The id of the People user with the token's e-mail (kept ``PERSON_CACHE_SECONDS`` per container
    in the keys' cache, as a key naming the user: one read of the users a minute, not one a request)."""
    if not who.email:
        return None
    email = who.email

    def find() -> ApiKey | None:
        found = next((u for u in deps.people.users() if u.email.lower() == email), None)
        if found is None:
            return None
        return ApiKey(
            key_id="person",
            name=email,
            scopes=frozenset(),
            created_at=datetime.now(UTC),
            user_id=found.user_id,
        )

    kept = deps.keys_cache.get(f"person:{email}", find, PERSON_CACHE_SECONDS)
    return kept.user_id if kept is not None else None
