"""E-mail in pure Python: templates (Jinja2 in its sandbox), the message id that makes a send happen
once, tracked links and the signed tokens of the public tracking routes, and why a send is refused.

Jinja2 is imported on first use (a template saved, a message rendered), never by ``import app``: the
routes that do not e-mail do not pay its import at cold start."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from chalicelib.domain.consent import CONSENT_LEVELS, consent_rank
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.fields import InvalidValue, normalise_email

PARTS = ("subject", "html", "text")
MAX_PART_CHARS = {"subject": 998, "html": 200_000, "text": 100_000}
_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Tracking tokens last this long: a link in an old e-mail then lands on the neutral page.
TOKEN_LIFETIME = timedelta(days=90)
#: What a token is for: a click, the open pixel, an unsubscribe, a double opt-in confirmation.
TOKEN_KINDS = ("c", "o", "u", "k")
#: The longest token: a signed one is about 150 bytes (tests/unit/test_mail.py), a path id at most 256.
MAX_TOKEN_BYTES = 256
#: Consent a template needs unless it says otherwise.
DEFAULT_CONSENT = "marketing"
#: The statuses of a message: refused ones never reached SES.
REFUSALS = ("no_consent", "suppressed", "capped", "unrenderable")


def valid_template_id(template_id: str) -> bool:
    return bool(_TEMPLATE_ID.fullmatch(template_id))


@dataclass(frozen=True)
class EmailTemplate:
    """One version of a template, checked: every part parses in the sandbox."""

    template_id: str
    subject: str
    html: str
    text: str
    sender: str | None = None
    consent: str = DEFAULT_CONSENT
    version: int = 0
    updated_at: datetime | None = None


@cache
def _environment(autoescape: bool) -> Any:
    from chalicelib.domain.email_sandbox import BoundedEnvironment

    # the immutable sandbox (attribute tricks and list.append refused) with bounds on time and
    # memory (email_sandbox.py); ChainableUndefined: {{ contact.fields.city }} on a contact without
    # it renders "" (or its default), never an error
    return BoundedEnvironment(autoescape)


def parse_template(template_id: str, body: dict[str, Any]) -> EmailTemplate:
    """The template the caller sent, or :class:`ValidationFailed` naming each bad part (and its line)."""
    if not valid_template_id(template_id):
        raise ValidationFailed(
            [FieldError("template_id", "template_id must be 1-64 letters, digits, _ or -")]
        )
    errors = [error for part in PARTS if (error := _part_error(part, body.get(part)))]
    sender = body.get("from")
    if sender is not None:
        sender = _address(sender)
        if sender is None:
            errors.append(FieldError("from", "from must be an e-mail address"))
    consent = body.get("consent", DEFAULT_CONSENT)
    if consent not in CONSENT_LEVELS or consent == "none":
        errors.append(FieldError("consent", f"consent must be one of {', '.join(CONSENT_LEVELS[1:])}"))
    if errors:
        raise ValidationFailed(errors)
    checked = EmailTemplate(template_id, body["subject"], body["html"], body["text"], sender, str(consent))
    # a trial render with no fields at all: what fails for a person missing every field (a method
    # called on a missing value, a forbidden attribute) is refused now, not at the send
    render(checked, {"contact": {"fields": {}}, "lead": {"fields": {}}, "account": {"fields": {}}})
    return checked


def _part_error(part: str, value: Any) -> FieldError | None:
    if not isinstance(value, str) or not value.strip():
        return FieldError(part, f"{part} must be non-empty text")
    if len(value) > MAX_PART_CHARS[part]:
        return FieldError(part, f"{part} must be at most {MAX_PART_CHARS[part]} characters")
    problem = syntax_error(value, autoescape=part == "html")
    return FieldError(part, f"{part}: {problem}") if problem else None


def _address(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return normalise_email(value)
    except InvalidValue:
        return None


def syntax_error(source: str, autoescape: bool) -> str | None:
    """Why ``source`` does not compile in the sandbox (``"line 3: unexpected '}'"``), or ``None``."""
    from jinja2 import TemplateSyntaxError

    try:
        _environment(autoescape).from_string(source)
    except TemplateSyntaxError as error:
        return f"line {error.lineno}: {error.message}"
    return None


class RenderFailed(ValidationFailed):
    """A template that parses but cannot render (a forbidden construct met at run time)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def render(template: EmailTemplate, context: dict[str, Any]) -> Rendered:
    """The three parts with the person's fields; a missing field renders empty (or its ``default``).
    A sandbox violation or a runtime error is :class:`RenderFailed` naming the part."""
    from jinja2 import TemplateError

    from chalicelib.domain.email_sandbox import Budget, render_part

    budget = Budget()  # the three parts share one budget of steps, characters and time
    out: dict[str, str] = {}
    for part in PARTS:
        try:
            out[part] = render_part(_environment(part == "html"), getattr(template, part), context, budget)
        except TemplateError as error:
            line = getattr(error, "lineno", None)
            where = f"line {line}: " if line else ""
            raise RenderFailed([FieldError(part, f"{part}: {where}{error}")]) from None
        except (TypeError, ValueError, ArithmeticError, LookupError, RecursionError, MemoryError) as error:
            raise RenderFailed([FieldError(part, f"{part}: {type(error).__name__}: {error}")]) from None
    subject = " ".join(out["subject"].split())  # one line: a header cannot hold a newline
    return Rendered(subject, out["html"], out["text"])


def message_id(template_id: str, contact_id: str, cause: str) -> str:
    """The same id for the same template, person and cause: a retried send finds its message. Not the
    template's version: a template saved between a send and its retry (a journey's redelivery after SES
    answered, an API call retried with its Idempotency-Key) must find the e-mail already sent, not
    send the new version as a second one."""
    digest = hashlib.sha256(f"{template_id}\x1f{contact_id}\x1f{cause}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


# ---------------------------------------------------------------- tracked links

# Hand-written over an HTML parser: only the href of <a> start tags is replaced, everything else of
# the rendered HTML stays byte for byte (a parser would re-serialise it). Only absolute http(s) links
# are tracked (mailto:, tel:, anchors and the unsubscribe link are left alone).
_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(["'])(https?://[^"']+)\1""", re.IGNORECASE)
_NAME = re.compile(r"""\bdata-link\s*=\s*(["'])([A-Za-z0-9_.:-]{1,64})\1""", re.IGNORECASE)


@dataclass(frozen=True)
class TrackedLink:
    name: str
    url: str


def rewrite_links(
    html: str, tracked_url: Callable[[TrackedLink], str | None]
) -> tuple[str, list[TrackedLink]]:
    """Every ``<a href="http...">`` pointed at ``tracked_url(link)`` (``None``: left as it is, e.g. the
    unsubscribe link); the link's name is its ``data-link`` attribute, else ``link1``, ``link2``...
    in document order."""
    import html as html_lib

    links: list[TrackedLink] = []

    def anchor(match: re.Match[str]) -> str:
        tag = match.group(0)
        href = _HREF.search(tag)
        if href is None:
            return tag
        named = _NAME.search(tag)
        link = TrackedLink(
            named.group(2) if named else f"link{len(links) + 1}", _safe_url(html_lib.unescape(href.group(2)))
        )
        target = tracked_url(link)
        if target is None:
            return tag
        links.append(link)
        quote = href.group(1)
        replaced = f"href={quote}{html_lib.escape(target, quote=True)}{quote}"
        return tag[: href.start()] + replaced + tag[href.end() :]

    return _ANCHOR.sub(anchor, html), links


def link_names(template: EmailTemplate) -> tuple[frozenset[str], str | None]:
    """What a journey's save knows of a template: the names of its tracked links, and why it does not
    render with no fields at all (else ``None``). The API's catalog (``services/journeys.py``) and the
    CLI's offline check (``leadflow journeys validate --template``) both ask this."""
    empty: dict[str, Any] = {"fields": {}}
    try:
        rendered = render(
            template, {"contact": empty, "lead": empty, "account": empty, "unsubscribe_url": "#"}
        )
    except RenderFailed as failed:
        return frozenset(), failed.errors[0].message
    _, links = rewrite_links(rendered.html, lambda link: link.url)
    return frozenset(link.name for link in links), None


def _safe_url(url: str) -> str:
    """The address as a redirect's ``Location`` may carry it: whitespace, control and non-ASCII
    characters (a person's field with a line break, rendered into a link) percent-encoded as UTF-8, as
    a browser would; the rest (reserved characters, existing escapes) as written. Hand-written: the
    domain may not import urllib (the import contract), and this is ``quote`` with every printable
    ASCII character safe."""
    return "".join(
        char
        if "!" <= char <= "~"
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in url
    )


# ---------------------------------------------------------------- signed tokens


@dataclass(frozen=True)
class TokenClaims:
    kind: str
    message_id: str
    expires: int
    link: str = ""
    url: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes, url: str) -> bytes:
    return hmac.new(key, b"leadflow-mail\0" + payload + b"\0" + url.encode(), hashlib.sha256).digest()[:16]


def sign_token(key: bytes, claims: TokenClaims) -> str:
    """``payload.mac``: the payload (kind, message id, link name, expiry) in URL-safe base64 and an
    HMAC-SHA256 (128 bits kept) over it and the link's URL under the stage's tracking key. The URL is
    not in the token (it stays short enough for a path segment); the click route finds it on the
    message by the link's name, and the MAC proves the pair."""
    payload = json.dumps(
        [claims.kind, claims.message_id, claims.link, claims.expires], separators=(",", ":")
    ).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload, claims.url))}"


def read_token(token: str) -> TokenClaims | None:
    """The claims a token says it has, unverified (to find the link's URL); ``None``: not a token
    (also one longer than :data:`MAX_TOKEN_BYTES` or not ASCII: the public routes take any path
    segment, and no key read with its claims may be longer than DynamoDB allows)."""
    if len(token) > MAX_TOKEN_BYTES or not token.isascii():
        return None
    try:
        payload_text, _ = token.split(".")
        kind, message, link, expires = json.loads(_unb64(payload_text))
    except (ValueError, TypeError):
        return None
    if not (isinstance(kind, str) and isinstance(message, str) and isinstance(link, str)):
        return None
    if not isinstance(expires, int):
        return None
    return TokenClaims(kind, message, expires, link)


def verify_token(key: bytes, token: str, kind: str, now: datetime, url: str = "") -> TokenClaims | None:
    """The claims of an authentic, unexpired token of ``kind`` for ``url``; ``None`` for anything else
    (forged, truncated, expired, another kind or link): the caller answers all of them alike."""
    claims = read_token(token)
    if claims is None or claims.kind != kind or claims.expires < now.timestamp():
        return None
    try:
        payload_text, mac_text = token.split(".")
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except ValueError:
        return None
    if not hmac.compare_digest(mac, _mac(key, payload, url)):
        return None
    return TokenClaims(claims.kind, claims.message_id, claims.expires, claims.link, url)


def expiry(now: datetime) -> int:
    return int((now + TOKEN_LIFETIME).timestamp())


# ---------------------------------------------------------------- who may be e-mailed


@dataclass(frozen=True)
class Refusal:
    status: str  # one of REFUSALS
    reason: str


def refusal(
    consent: str, needed: str, suppressed: str | None, sent_recently: int, cap: int, counts_to_cap: bool
) -> Refusal | None:
    """Why this person may not get this e-mail, or ``None``: consent below the template's level, an
    address suppressed (bounce, complaint), or the frequency cap reached (marketing e-mails only)."""
    if consent_rank(consent) < consent_rank(needed):
        return Refusal("no_consent", f"the contact's consent is {consent}; the template needs {needed}")
    if suppressed:
        return Refusal("suppressed", f"the address is suppressed ({suppressed})")
    if counts_to_cap and sent_recently >= cap:
        return cap_refusal(sent_recently, cap)
    return None


#: What a message's status may be, as stored (``sending`` is reported as ``unknown``).
STATUSES = ("sending", "sent", "failed", *REFUSALS)


def scanned(message: Message, at: datetime, seconds: int) -> bool:
    """Whether an open or click at ``at`` came too soon after the send to be the person's: mail
    scanners and prefetchers act as the message is delivered, people read it later. A message not yet
    marked ``sent`` (SES answered, the record not finished: a scanner can be that quick) counts from
    its claim, just before SES was called."""
    sent = message.sent_at or message.created_at
    return seconds > 0 and at - sent <= timedelta(seconds=seconds)


def journey_of(cause: str) -> str | None:
    """The journey a message was sent for (its cause ``journey:<id>:<version>:<step>``), else ``None``."""
    kind, _, rest = cause.partition(":")
    journey_id = rest.split(":", 1)[0]
    return journey_id if kind == "journey" and journey_id else None


@dataclass(frozen=True)
class MessageFilter:
    """``GET /v1/messages``: at most one of contact, journey, template is the key read (in that order);
    the others and ``status`` are checked on the messages read."""

    contact_id: str | None = None
    template_id: str | None = None
    journey_id: str | None = None
    #: as stored (``sending``, not ``unknown``)
    status: str | None = None

    def holds(self, message: Message) -> bool:
        return (
            (self.contact_id is None or message.contact_id == self.contact_id)
            and (self.template_id is None or message.template_id == self.template_id)
            and (self.journey_id is None or journey_of(message.cause) == self.journey_id)
            and (self.status is None or message.status == self.status)
        )


def cap_refusal(sent_recently: int, cap: int) -> Refusal:
    return Refusal("capped", f"{sent_recently} e-mails in the last 24 hours; the cap is {cap}")


def counts_to_cap(consent_needed: str) -> bool:
    """Marketing e-mails count against the frequency cap; transactional ones (a confirmation) do not."""
    return consent_rank(consent_needed) >= consent_rank("subscriptions")


def lowered_for_unsubscribe(current: str, template_consent: str) -> str:
    """The consent left after an unsubscribe from an e-mail that needed ``template_consent``: just
    below it (marketing -> subscriptions), never raised."""
    below = CONSENT_LEVELS[max(consent_rank(template_consent) - 1, 0)]
    return below if consent_rank(current) > consent_rank(below) else current


@dataclass
class Message:
    """One e-mail to one person, written (``sending``) before SES is called: its id is
    :func:`message_id`, so a retried send finds it instead of sending again."""

    message_id: str
    template_id: str
    version: int
    contact_id: str
    to: str
    cause: str
    status: str  # sending, sent, failed, unknown (a crash between SES and "sent") or a refusal
    created_at: datetime
    subject: str = ""
    html: str = ""
    text: str = ""
    lead_id: str | None = None
    reason: str | None = None
    ses_message_id: str | None = None
    sent_at: datetime | None = None
    links: list[TrackedLink] = field(default_factory=list)
    consent: str = DEFAULT_CONSENT
    opens: int = 0
    clicks: int = 0


class SendRejected(Exception):
    """The provider refused the e-mail for certain (nothing was sent): the message is ``failed``."""
