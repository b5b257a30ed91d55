"""Screening a public form submission: the policy that decides whether it is set aside (quarantined)
or captured, and which suspicions it raised. Pure: the CAPTCHA provider is asked through the
``verify`` port (``chalicelib/integrations/captcha.py`` in production, a function in tests).

- A filled **honeypot** is decisive (checked first; nothing else is asked, not even the CAPTCHA).
- A **CAPTCHA** the provider rejects is decisive. No token is a 422 naming the token field (a person
  can solve it and send again); a token longer than the providers' documented 2048 characters is
  rejected without asking.
- **Weak signals**: faster than the form's ``min_fill_ms`` (``too_fast``; ``_fill_ms`` is what the
  capture script measures from page load), a ``_fill_ms`` that is not a number
  (``fill_time_invalid``), no browser ``Origin`` although the form lists its pages
  (``no_browser_origin``). One alone never sets a person aside (autofill is fast, a page may prefill,
  a server posts without an Origin): the submission is captured and the signal noted on its
  ``form_submitted`` interaction. Two together are quarantined.

The timer and CAPTCHA tokens are not part of what an attempt submits (:data:`SIGNAL_FIELDS`): a
retry with a new timer is the same attempt."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.forms import CaptchaSpec, FormDefinition

FILL_FIELD = "_fill_ms"
#: What the capture script adds beside the person's fields.
SIGNAL_FIELDS = (FILL_FIELD, "cf-turnstile-response", "g-recaptcha-response")
WEAK_SIGNALS = ("too_fast", "fill_time_invalid", "no_browser_origin")
MAX_CAPTCHA_TOKEN = 2048

#: ``verify(spec, token) -> the provider accepts it``; raises ``CaptchaUnverified`` when it cannot tell.
CaptchaVerifier = Callable[[CaptchaSpec, str], bool]


@dataclass(frozen=True)
class Verdict:
    """``reason``: why the submission is set aside (``None``: capture it); ``signals``: every suspicion
    raised (recorded on the quarantine record, or on the capture's interaction)."""

    reason: str | None
    signals: tuple[str, ...] = ()

    @property
    def quarantined(self) -> bool:
        return self.reason is not None


def split_signals(fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(the person's fields, the capture script's signals)``."""
    signals = {k: fields[k] for k in SIGNAL_FIELDS if k in fields}
    return {k: v for k, v in fields.items() if k not in SIGNAL_FIELDS}, signals


def screen(
    form: FormDefinition,
    fields: Mapping[str, Any],
    signals: Mapping[str, Any],
    from_page: bool,
    verify: CaptchaVerifier,
) -> Verdict:
    """The verdict on one submission (see the module's docstring)."""
    if form.honeypot_filled(dict(fields)):
        return Verdict("honeypot", ("honeypot",))
    weak = []
    timer = fill_time_signal(form, signals)
    if timer is not None:
        weak.append(timer)
    if form.allowed_origins and not from_page:
        weak.append("no_browser_origin")
    decisive = captcha_signal(form.captcha, signals, verify) if form.captcha is not None else None
    if decisive is not None:
        return Verdict(decisive, (decisive, *weak))
    if len(weak) >= 2:
        return Verdict(weak[0], tuple(weak))
    return Verdict(None, tuple(weak))


def _one(raw: Any) -> Any:
    return raw[-1] if isinstance(raw, list) and raw else raw


def fill_time_signal(form: FormDefinition, signals: Mapping[str, Any]) -> str | None:
    if form.min_fill_ms is None:
        return None
    raw = _one(signals.get(FILL_FIELD))
    if raw is None or raw == "":
        if form.fill_time_required:
            raise ValidationFailed([FieldError(FILL_FIELD, f"{FILL_FIELD} is required", "required")])
        return None
    try:
        elapsed = float(raw)
    except (TypeError, ValueError):
        return "fill_time_invalid"  # the capture script sends a number; anything else is made up
    if math.isnan(elapsed):
        return "fill_time_invalid"
    return "too_fast" if elapsed < form.min_fill_ms else None


def captcha_signal(spec: CaptchaSpec, signals: Mapping[str, Any], verify: CaptchaVerifier) -> str | None:
    token = _one(signals.get(spec.token_field))
    if not isinstance(token, str) or not token.strip():
        raise ValidationFailed([FieldError(spec.token_field, "solve the CAPTCHA and send again", "required")])
    if len(token) > MAX_CAPTCHA_TOKEN:
        return "captcha_failed"
    return None if verify(spec, token) else "captcha_failed"
