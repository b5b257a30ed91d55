"""The CAPTCHA providers' siteverify (Cloudflare Turnstile, Google reCAPTCHA): the client behind the
screening policy's ``verify`` port (``chalicelib/domain/screening.py``).

It fails closed: a provider that cannot be asked or answers something unreadable, or a stage without
the form's secret, raises :class:`CaptchaUnverified` (403, nothing stored). Standard library only
(``urllib``): one form-encoded POST does not justify a client library in the Lambda zip, and only
forms with a CAPTCHA pay for the imports."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.domain.errors import CaptchaUnverified
from chalicelib.domain.forms import CaptchaSpec
from chalicelib.observability import count, logger

MAX_ANSWER_BYTES = 65536


class CaptchaClient:
    """``verify(spec, token)``: ``True`` when the provider says ``success``. ``secrets`` is read on
    first use (the stage's ``CAPTCHA_SECRETS``: ``{secret_ref or provider: secret}``)."""

    def __init__(
        self,
        secrets: Callable[[], Mapping[str, str] | None],
        turnstile_url: str,
        recaptcha_url: str,
        timeout_seconds: float,
    ) -> None:
        self._secrets = secrets
        self._urls = {"turnstile": turnstile_url, "recaptcha": recaptcha_url}
        self._timeout = timeout_seconds

    def __call__(self, spec: CaptchaSpec, token: str) -> bool:
        return self.verify(spec, token)

    def verify(self, spec: CaptchaSpec, token: str) -> bool:
        name = spec.secret_ref or spec.provider
        secret = dict(self._secrets() or {}).get(name)
        if not secret:
            logger.error("CAPTCHA secret missing", extra={"secret_ref": name})
            raise CaptchaUnverified
        return self._siteverify(spec.provider, secret, token)

    def _siteverify(self, provider: str, secret: str, token: str) -> bool:
        import urllib.error
        import urllib.parse
        import urllib.request

        url = self._urls["turnstile" if provider == "turnstile" else "recaptcha"]
        if not url.startswith(("https://", "http://")):
            raise CaptchaUnverified
        data = urllib.parse.urlencode({"secret": secret, "response": token}).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, data=data, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                verdict: Any = json.loads(answer.read(MAX_ANSWER_BYTES))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            count("CaptchaUnverified")
            logger.warning("CAPTCHA unverified", extra={"provider": provider, "error": type(exc).__name__})
            raise CaptchaUnverified from None
        if not isinstance(verdict, dict) or not isinstance(verdict.get("success"), bool):
            count("CaptchaUnverified")
            raise CaptchaUnverified
        if not verdict["success"]:
            logger.info("CAPTCHA rejected", extra={"provider": provider, "codes": verdict.get("error-codes")})
        return bool(verdict["success"])
