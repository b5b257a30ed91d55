"""The user pool's signing keys (its JWKS document), fetched over HTTPS and kept per container.

The URL is configured (``COGNITO_JWKS_URL``), not derived from a token's ``iss``: on AWS it is
``https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json``, locally moto's
``<endpoint>/<pool id>/.well-known/jwks.json`` (moto's tokens always name the AWS issuer). A token with a
``kid`` the kept set lacks (Cognito rotated its keys) refetches the document, at most once every
``REFRESH_SECONDS`` per container, so a stream of forged ``kid`` values cannot turn each request into a
fetch."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping

from chalicelib.domain.tokens import KeysUnavailable as JwksUnavailable
from chalicelib.domain.tokens import PublicKey, parse_jwks

#: An unknown ``kid`` refetches the keys at most this often.
REFRESH_SECONDS = 60.0
TIMEOUT_SECONDS = 3.0
MAX_DOCUMENT_BYTES = 64 * 1024


def _fetch_json(url: str) -> object:
    if not url.startswith(("https://", "http://")):  # never file:// or another scheme from a setting
        raise JwksUnavailable("COGNITO_JWKS_URL must be an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 (scheme checked)
            return json.loads(answer.read(MAX_DOCUMENT_BYTES + 1)[:MAX_DOCUMENT_BYTES])
    except (OSError, ValueError) as exc:
        raise JwksUnavailable(f"the user pool's keys could not be read: {exc}") from exc


class JwksKeys:
    """:class:`~chalicelib.domain.ports.SigningKeys` over a JWKS URL."""

    def __init__(
        self,
        url: str,
        fetch: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, PublicKey] | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        #: How many times the document was fetched (tests and logs).
        self.fetches = 0

    def keys(self, refresh: bool = False) -> Mapping[str, PublicKey]:
        """The kept keys (fetched on first use); ``refresh``: fetch again unless fetched within
        ``REFRESH_SECONDS``."""
        with self._lock:
            stale = refresh and self._clock() - self._fetched_at >= REFRESH_SECONDS
            if self._keys is None or stale:
                if not self.url:
                    raise JwksUnavailable("sign-in is not configured (COGNITO_JWKS_URL)")
                self._fetched_at = self._clock()
                self.fetches += 1
                try:
                    self._keys = parse_jwks((self._fetch or _fetch_json)(self.url))
                except ValueError as exc:
                    raise JwksUnavailable(str(exc)) from exc
            return self._keys
