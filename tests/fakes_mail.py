"""In-memory fakes of the e-mail ports (``MailStore``, ``Mailer``), used by ``tests/fakes.py``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.email import (
    REFUSALS,
    EmailTemplate,
    Message,
    MessageFilter,
    Rendered,
    SendRejected,
    counts_to_cap,
)
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.stored import Page


class FakeMail:
    def __init__(self) -> None:
        self.templates: dict[str, list[EmailTemplate]] = {}
        self.messages: dict[str, Message] = {}
        self.suppressed: dict[str, str] = {}
        #: Set to make the next ``finish_message`` raise (a crash between SES and the record).
        self.crash_on_finish = False

    def put_template(self, template: EmailTemplate, now: datetime) -> EmailTemplate:
        versions = self.templates.setdefault(template.template_id, [])
        saved = replace(template, version=len(versions) + 1, updated_at=now)
        versions.append(saved)
        return saved

    def get_template(self, template_id: str, version: int | None = None) -> EmailTemplate | None:
        versions = self.templates.get(template_id) or []
        if not versions:
            return None
        if version is None:
            return versions[-1]
        return versions[version - 1] if 1 <= version <= len(versions) else None

    def list_templates(self, limit: int) -> list[EmailTemplate]:
        return [v[-1] for _, v in sorted(self.templates.items())][:limit]

    def claim_message(self, message: Message) -> Message | None:
        if message.message_id in self.messages:
            return self.messages[message.message_id]
        self.messages[message.message_id] = message
        return None

    def finish_message(
        self, message_id: str, status: str, ses_message_id: str | None, reason: str | None, now: datetime
    ) -> None:
        if self.crash_on_finish:
            self.crash_on_finish = False
            raise RuntimeError("the function died between SES and the record")
        current = self.messages[message_id]
        if current.status != "sending":
            raise ConcurrentUpdate("not sending")
        self.messages[message_id] = replace(
            current,
            status=status,
            ses_message_id=ses_message_id,
            reason=reason,
            sent_at=now if status == "sent" else None,
        )

    def get_message(self, message_id: str) -> Message | None:
        return self.messages.get(message_id)

    def list_messages(self, where: MessageFilter, limit: int, cursor: str | None) -> Page:
        found = sorted(
            (m for m in self.messages.values() if where.holds(m)), key=lambda m: m.created_at, reverse=True
        )
        start = int(cursor or 0)
        return Page(found[start : start + limit], str(start + limit) if start + limit < len(found) else None)

    def sent_since(self, contact_id: str, since: datetime) -> int:
        return sum(
            1
            for m in self.messages.values()
            if m.contact_id == contact_id
            and m.created_at >= since
            and m.status not in (*REFUSALS, "failed")
            and counts_to_cap(m.consent)
        )

    def claim_within_cap(
        self, message: Message, cap: int, since: datetime
    ) -> tuple[Message | None, int | None]:
        """One thread at a time (the fakes are not raced): the count and the claim together."""
        if message.message_id in self.messages:
            return self.messages[message.message_id], None
        held = self.sent_since(message.contact_id, since)
        if held >= cap:
            return None, held
        self.messages[message.message_id] = message
        return None, None

    def release_cap(self, contact_id: str, message_id: str) -> None:
        return None  # a failed message does not count in ``sent_since``

    def count_event(self, message_id: str, kind: str) -> None:
        m = self.messages[message_id]
        self.messages[message_id] = replace(
            m, opens=m.opens + (kind == "opens"), clicks=m.clicks + (kind == "clicks")
        )

    def suppression(self, email: str) -> str | None:
        return self.suppressed.get(email.lower())

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        self.suppressed[email.lower()] = reason

    def forget_contact(self, contact_id: str) -> int:
        doomed = [m for m, message in self.messages.items() if message.contact_id == contact_id]
        for message_id in doomed:
            del self.messages[message_id]
        return len(doomed)


@dataclass
class Sent:
    sender: str
    to: str
    rendered: Rendered
    headers: dict[str, str]
    tags: dict[str, str]


@dataclass
class FakeMailer:
    sent: list[Sent] = field(default_factory=list)
    #: Set to refuse the next send (as SES refuses an unverified sender).
    reject: str | None = None

    def send(
        self, sender: str, to: str, rendered: Rendered, headers: dict[str, str], tags: dict[str, str]
    ) -> str:
        if self.reject:
            reason, self.reject = self.reject, None
            raise SendRejected(reason)
        self.sent.append(Sent(sender, to, rendered, headers, tags))
        return f"ses-{len(self.sent)}"
