"""The JSON of the e-mail services' typed results (templates, messages)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.email import EmailTemplate, Message, journey_of
from chalicelib.domain.interactions import iso


def template(found: EmailTemplate) -> dict[str, Any]:
    return {
        "template_id": found.template_id,
        "version": found.version,
        "subject": found.subject,
        "html": found.html,
        "text": found.text,
        "from": found.sender,
        "consent": found.consent,
        "updated_at": iso(found.updated_at) if found.updated_at else None,
    }


def message(found: Message, full: bool = False) -> dict[str, Any]:
    from chalicelib.services.mail import reported_status

    answer = {
        "message_id": found.message_id,
        "template_id": found.template_id,
        "version": found.version,
        "contact_id": found.contact_id,
        "lead_id": found.lead_id,
        "cause": found.cause,
        "journey_id": journey_of(found.cause),
        "to": found.to,
        "subject": found.subject,
        "status": reported_status(found),
        "reason": found.reason,
        "created_at": iso(found.created_at),
        "sent_at": iso(found.sent_at) if found.sent_at else None,
        "ses_message_id": found.ses_message_id,
        "opens": found.opens,
        "clicks": found.clicks,
        "links": [{"name": link.name, "url": link.url} for link in found.links],
    }
    if full:
        from chalicelib.services.mail import display_html

        # as sent, and as the console shows it (no pixel, links untracked: looking records nothing)
        answer.update(html=found.html, text=found.text, display_html=display_html(found))
    return answer
