"""What the public tracking routes do with a signed token: a click (``email_clicked`` with the link's
name, then the link), an open (``email_opened``), an unsubscribe (``email_unsubscribed`` and the
consent lowered on the contact's history) and a double opt-in confirmation (consent raised).

A token that is forged, truncated, expired or of another kind gives ``None``: the route answers the
neutral page and nothing is recorded. Every interaction's id is derived from the message and the
request id (API Gateway's), so a replayed request is recorded once; a new click is a new interaction
(scoring decides what repeated clicks are worth). The interactions table's stream scores them within
seconds, like any interaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from chalicelib.domain.consent import ConsentUpdate, consent_rank
from chalicelib.domain.email import (
    Message,
    TokenClaims,
    lowered_for_unsubscribe,
    read_token,
    scanned,
    verify_token,
)
from chalicelib.domain.entities import Contact, Interaction
from chalicelib.domain.ids import derived_id
from chalicelib.observability import count, logger
from chalicelib.wiring import Deps


def _now() -> datetime:
    return datetime.now(UTC)


def _claims(token: str, kind: str, deps: Deps, url: str = "") -> TokenClaims | None:
    claims = verify_token(deps.tracking_key(), token, kind, _now(), url)
    if claims is None:
        count("TrackingTokenRefused")
    return claims


def _link_url(token: str, deps: Deps) -> str:
    """The URL of the link a click token names, from its message ("" when there is none: the MAC
    then fails like a forged one's)."""
    said = read_token(token)
    message = deps.mail.get_message(said.message_id) if said and said.kind == "c" else None
    for link in message.links if message else []:
        if link.name == said.link:  # type: ignore[union-attr]
            return link.url
    return ""


def _message_and_contact(claims: TokenClaims, deps: Deps) -> tuple[Message, Contact] | None:
    message = deps.mail.get_message(claims.message_id)
    if message is None:
        return None
    contact = deps.store.get_contact(message.contact_id)
    if contact is None and message.to:
        # merged into another contact since the e-mail went out: the address's claim moved to the
        # survivor, who now owns this inbox (its unsubscribe must still work); an erased person's
        # claim is gone, so they stay gone
        contact = deps.store.contact_by_email(message.to)
        if contact is not None:
            message = replace(message, contact_id=contact.contact_id)
    if contact is None or contact.erasing:
        return None
    return message, contact


def _record(
    message: Message, kind: str, request_id: str, properties: dict[str, str], scan_seconds: int = 0
) -> Interaction:
    """The open or click as an interaction. Its id is the message, the kind, the link and the minute
    (not the request): the same link opened or clicked again within a minute, or a tracked URL replayed
    in a loop, is the interaction already recorded, so replays write at most one item a minute per
    link rather than one per request. (``request_id`` is only logged.)

    An open or click made within ``scan_seconds`` (``MAIL_SCAN_SECONDS``) of the send is a mail
    scanner's (Safe Links and its kind follow every link of a message as it is delivered; privacy
    proxies fetch the pixel): it is kept as ``email_scanned`` (``of``: the kind), which no model
    scores and no journey branch waits on, and is not counted as an open or click of the message.
    An unsubscribe is never a scanner's: it is a POST, which scanners do not send."""
    now = _now()
    logger.debug("tracked", extra={"request_id": request_id, "kind": kind})
    if scanned(message, now, scan_seconds):
        kind, properties = "email_scanned", {**properties, "of": kind}
    return Interaction(
        interaction_id=derived_id(
            "em", message.message_id, kind, properties.get("link", ""), now.strftime("%Y%m%d%H%M")
        ),
        contact_id=message.contact_id,
        type=kind,
        occurred_at=now,
        properties={"message_id": message.message_id, "template_id": message.template_id, **properties},
        lead_id=message.lead_id,
        source="email",
    )


def clicked(token: str, request_id: str, deps: Deps) -> str | None:
    """The link's address after recording the click; ``None``: the neutral page, nothing recorded."""
    url = _link_url(token, deps)
    claims = _claims(token, "c", deps, url) if url else None
    if claims is None:
        return None
    found = _message_and_contact(claims, deps)
    if found is not None:
        message, _ = found
        properties = {"link": claims.link, "url": claims.url}
        scan = deps.settings.mail_scan_seconds
        interaction = _record(message, "email_clicked", request_id, properties, scan)
        if deps.store.record_interaction(interaction) and interaction.type == "email_clicked":
            deps.mail.count_event(message.message_id, "clicks")
            count("EmailClicked")
    return claims.url  # the link works even for a person erased since: only nothing is recorded


def opened(token: str, request_id: str, deps: Deps) -> bool:
    claims = _claims(token, "o", deps)
    if claims is None:
        return False
    found = _message_and_contact(claims, deps)
    if found is None:
        return False
    message, _ = found
    interaction = _record(message, "email_opened", request_id, {}, deps.settings.mail_scan_seconds)
    if deps.store.record_interaction(interaction) and interaction.type == "email_opened":
        deps.mail.count_event(message.message_id, "opens")
        count("EmailOpened")
    return True


@dataclass(frozen=True)
class Preferences:
    """What the preference page shows: the address (masked), whether this e-mail's kind is on, the
    levels the person may lower their consent to (highest first) and the one an unsubscribe sets."""

    masked_email: str
    consent: str
    subscribed: bool
    choices: tuple[str, ...] = ()
    unsubscribe_to: str | None = None


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def preferences(token: str, deps: Deps) -> Preferences | None:
    claims = _claims(token, "u", deps)
    found = _message_and_contact(claims, deps) if claims else None
    if found is None:
        return None
    message, contact = found
    from chalicelib.domain.consent import lower_choices

    lowered = lowered_for_unsubscribe(contact.consent, message.consent)
    return Preferences(
        _mask(contact.email or ""),
        contact.consent,
        consent_rank(contact.consent) >= consent_rank(message.consent),
        tuple(lower_choices(contact.consent)),
        lowered if lowered != contact.consent else None,
    )


def unsubscribe(token: str, request_id: str, deps: Deps, level: str | None = None) -> str | None:
    """Lower the contact's consent just below the e-mail's (marketing -> subscriptions), or to the
    ``level`` the person chose on the preference page (lower only: a level at or above theirs changes
    nothing), with the change on the contact's history and an ``email_unsubscribed`` interaction.
    The person's consent after it; ``None``: the token is not valid (or the person is gone), nothing
    changed. Repeating it changes nothing more."""
    from chalicelib.services.consent import set_consent

    claims = _claims(token, "u", deps)
    found = _message_and_contact(claims, deps) if claims else None
    if found is None:
        return None
    message, contact = found
    lowered = lowered_for_unsubscribe(contact.consent, message.consent)
    if level is not None:
        lowered = level if consent_rank(level) < consent_rank(contact.consent) else contact.consent
    if lowered != contact.consent:
        set_consent(contact.contact_id, ConsentUpdate(lowered, f"unsubscribe:{message.message_id}"), deps)
        logger.info(
            "unsubscribed", extra={"contact_id": contact.contact_id, "message_id": message.message_id}
        )
    deps.store.record_interaction(_record(message, "email_unsubscribed", request_id, {"consent": lowered}))
    count("EmailUnsubscribed")
    return lowered


def confirmation(token: str, deps: Deps) -> tuple[str, str] | None:
    """The (masked address, level) a confirmation link would set; ``None``: not a valid link."""
    found = _confirming(token, deps)
    if found is None or _spent(*found):
        return None
    contact, _, level = found
    return _mask(contact.email or ""), level


def _spent(contact: Contact, message: Message, level: str) -> bool:
    """A confirmation raises consent once: after it was used, the person's consent fell below its
    level again (an unsubscribe, a withdrawal), and only a new confirmation may raise it; the old
    link, replayed by anyone who has it (a forwarded e-mail, a scanner that submits forms), may not."""
    used = any(entry.source == f"double-opt-in:{message.message_id}" for entry in contact.consent_history)
    return used and consent_rank(contact.consent) < consent_rank(level)


def _confirming(token: str, deps: Deps) -> tuple[Contact, Message, str] | None:
    said = read_token(token)
    claims = _claims(token, "k", deps, "") if said is not None else None
    found = _message_and_contact(claims, deps) if claims else None
    if claims is None or found is None:
        return None
    message, contact = found
    return contact, message, claims.link


def confirm(token: str, deps: Deps) -> bool:
    """A confirmed double opt-in: the consent the link names, recorded on the contact's history as
    ``double-opt-in:<message id>`` (the way back after a withdrawal). Repeating it changes nothing."""
    from chalicelib.services.consent import set_consent

    found = _confirming(token, deps)
    if found is None or _spent(*found):
        return False
    contact, message, level = found
    if consent_rank(contact.consent) < consent_rank(level):
        set_consent(contact.contact_id, ConsentUpdate(level, f"double-opt-in:{message.message_id}"), deps)
        count("DoubleOptInConfirmed")
    return True
