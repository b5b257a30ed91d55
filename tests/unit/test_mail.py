"""E-mail in pure Python and on in-memory fakes (issue 18): rendering in the sandbox, tracking tokens,
and the send service's exactly-once, consent, suppression and cap rules."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.email import (
    EmailTemplate,
    MessageFilter,
    TokenClaims,
    lowered_for_unsubscribe,
    parse_template,
    render,
    rewrite_links,
    sign_token,
    verify_token,
)
from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import mail, tracking
from chalicelib.settings import Settings
from chalicelib.wiring import Deps
from tests.fakes import FakeRecordStore, fake_deps
from tests.fakes_mail import FakeMail, FakeMailer

NOW = datetime(2026, 12, 7, tzinfo=UTC)
KEY = b"k" * 32


def template(**parts: str) -> EmailTemplate:
    body = {"subject": "Hi {{ contact.first_name | default('there') }}", "html": "<p>x</p>", "text": "x"}
    return parse_template("t1", {**body, **parts})


def test_missing_field_renders_its_default_and_a_missing_object_renders_empty() -> None:
    rendered = render(template(text="{{ lead.fields.budget }}|{{ account.name | upper }}"), {"contact": {}})
    assert rendered.subject == "Hi there"
    assert rendered.text == "|"


def test_a_template_that_cannot_render_without_fields_is_refused_on_save() -> None:
    with pytest.raises(ValidationFailed) as refused:
        template(text="{{ account.name.upper() }}")
    assert [e.field for e in refused.value.errors] == ["text"]


def test_html_part_is_autoescaped_and_the_text_part_is_not() -> None:
    rendered = render(
        template(html="<b>{{ contact.company }}</b>", text="{{ contact.company }}"),
        {"contact": {"company": "<script>x</script> & Co"}},
    )
    assert rendered.html == "<b>&lt;script&gt;x&lt;/script&gt; &amp; Co</b>"
    assert rendered.text == "<script>x</script> & Co"


def test_sandbox_refuses_a_forbidden_construct_naming_the_part() -> None:
    bad = replace(template(), text="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ValidationFailed) as refused:
        render(bad, {})
    assert [e.field for e in refused.value.errors] == ["text"]


def test_template_that_does_not_parse_names_each_part_and_line() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_template("t1", {"subject": "{{ x", "html": "a\n\n{% for %}", "text": "", "consent": "lots"})
    errors = {e.field: e.message for e in refused.value.errors}
    assert set(errors) == {"subject", "html", "text", "consent"}
    assert "line 1" in errors["subject"] and "line 3" in errors["html"]


def test_links_are_named_by_data_link_or_order_and_mailto_is_left_alone() -> None:
    html = '<a href="mailto:a@b.c">m</a><a data-link="buy" href="https://x.test/b">b</a><a href=\'https://x.test/c\'>c</a>'
    out, links = rewrite_links(html, lambda link: f"https://t.test/{link.name}")
    assert [(link.name, link.url) for link in links] == [
        ("buy", "https://x.test/b"),
        ("link2", "https://x.test/c"),
    ]
    assert (
        'href="mailto:a@b.c"' in out
        and 'href="https://t.test/buy"' in out
        and "href='https://t.test/link2'" in out
    )


def test_token_verifies_only_unforged_unexpired_of_its_kind_and_url() -> None:
    claims = TokenClaims("c", "msg_1", int((NOW + timedelta(days=90)).timestamp()), "buy", "https://x.test/b")
    token = sign_token(KEY, claims)
    assert verify_token(KEY, token, "c", NOW, "https://x.test/b") == claims
    assert verify_token(b"other" * 8, token, "c", NOW, "https://x.test/b") is None
    assert verify_token(KEY, token, "c", NOW, "https://evil.test/") is None
    assert verify_token(KEY, token, "o", NOW, "https://x.test/b") is None
    assert verify_token(KEY, token, "c", NOW + timedelta(days=91), "https://x.test/b") is None
    assert verify_token(KEY, token[:-3], "c", NOW, "https://x.test/b") is None
    assert verify_token(KEY, "not-a-token", "c", NOW) is None
    assert len(token) < 256  # a path segment the API's id check accepts


def test_unsubscribe_lowers_consent_just_below_the_emails_and_never_raises_it() -> None:
    assert lowered_for_unsubscribe("profiling", "marketing") == "subscriptions"
    assert lowered_for_unsubscribe("transactional", "marketing") == "transactional"


# ---------------------------------------------------------------- the send service on fakes


@dataclass
class World:
    deps: Deps
    store: FakeRecordStore
    mail: FakeMail
    mailer: FakeMailer


def _world(consent: str = "marketing", cap: int = 3, scan_seconds: int = 0) -> World:
    store, mail_store, mailer = FakeRecordStore(), FakeMail(), FakeMailer()
    settings = Settings(MAIL_CAP_PER_DAY=cap, MAIL_SCAN_SECONDS=scan_seconds)
    deps = fake_deps(settings, store=store, mail=mail_store, mailer=mailer)
    store.add(Contact("c1", "ada@example.com", {"first_name": "Ada"}, NOW, NOW, consent=consent))
    mail_store.put_template(template(html='<a href="https://x.test/p">p</a>'), NOW)
    return World(deps, store, mail_store, mailer)


def test_a_crash_between_ses_and_the_record_sends_no_second_email_on_retry() -> None:
    w = _world()
    w.mail.crash_on_finish = True
    with pytest.raises(RuntimeError):
        mail.send_template("t1", "c1", "journey:j1:1:s1", w.deps)
    retried = mail.send_template("t1", "c1", "journey:j1:1:s1", w.deps)
    assert len(w.mailer.sent) == 1
    assert retried.new is False and mail.reported_status(retried.message) == "unknown"


def test_the_same_cause_sends_once_and_another_cause_sends_again() -> None:
    w = _world()
    first = mail.send_template("t1", "c1", "api:k1", w.deps)
    again = mail.send_template("t1", "c1", "api:k1", w.deps)
    other = mail.send_template("t1", "c1", "api:k2", w.deps)
    assert (first.new, again.new, other.new) == (True, False, True)
    assert again.message.message_id == first.message.message_id != other.message.message_id
    assert len(w.mailer.sent) == 2
    headers = w.mailer.sent[0].headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://localhost:8000/t/u/")


def test_frequency_cap_refuses_the_next_marketing_email_with_its_reason() -> None:
    w = _world(cap=2)
    statuses = [mail.send_template("t1", "c1", f"api:{n}", w.deps).message.status for n in range(3)]
    assert statuses == ["sent", "sent", "capped"]
    assert len(w.mailer.sent) == 2
    assert "cap is 2" in (
        w.mail.list_messages(MessageFilter(contact_id="c1"), 10, None).items[0].reason or ""
    )


def test_transactional_email_is_not_capped_and_needs_only_transactional_consent() -> None:
    w = _world(consent="transactional", cap=1)
    w.mail.put_template(replace(template(), template_id="receipt", consent="transactional"), NOW)
    statuses = [mail.send_template("receipt", "c1", f"api:{n}", w.deps).message.status for n in range(2)]
    assert statuses == ["sent", "sent"]
    assert mail.send_template("t1", "c1", "api:m", w.deps).message.status == "no_consent"


def test_suppressed_address_and_provider_refusal_are_recorded_not_sent() -> None:
    w = _world()
    w.mail.suppress("ada@example.com", "complaint", NOW)
    assert mail.send_template("t1", "c1", "api:1", w.deps).message.status == "suppressed"
    w.mail.suppressed.clear()
    w.mailer.reject = "SES refused the e-mail: MessageRejected"
    failed = mail.send_template("t1", "c1", "api:2", w.deps).message
    assert failed.status == "failed" and "MessageRejected" in (failed.reason or "")
    assert w.mailer.sent == []


def test_an_erasing_contact_is_never_emailed() -> None:
    from chalicelib.domain.errors import PersonErased

    w = _world()
    contact = w.store.get_contact("c1")
    assert contact is not None
    w.store.add(replace(contact, erasing=True))
    with pytest.raises(PersonErased):
        mail.send_template("t1", "c1", "api:1", w.deps)
    assert w.mailer.sent == []


def test_a_replayed_click_is_recorded_once_a_minute_and_a_later_click_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tracked URL replayed in a loop (or clicked twice) writes one interaction a minute per link,
    not one per request: the redirect still answers every time."""
    import re
    from datetime import UTC, datetime, timedelta

    w = _world()
    sent = mail.send_template("t1", "c1", "api:1", w.deps).message
    found = re.search(r"/t/c/([^\"]+)", sent.html)
    assert found is not None
    token = found.group(1)
    moment = datetime(2026, 12, 7, 10, 0, 5, tzinfo=UTC)
    monkeypatch.setattr(tracking, "_now", lambda: moment)
    for request in range(50):
        assert tracking.clicked(token, f"req-{request}", w.deps) == "https://x.test/p"
    monkeypatch.setattr(tracking, "_now", lambda: moment + timedelta(minutes=1))
    assert tracking.clicked(token, "req-later", w.deps) == "https://x.test/p"
    clicks = [i for i in w.store.interactions_of("c1") if i.type == "email_clicked"]
    assert len(clicks) == 2 and w.mail.messages[sent.message_id].clicks == 2


def test_a_complaint_suppresses_and_a_send_event_reconciles_a_message_left_unknown() -> None:
    w = _world()
    w.mail.crash_on_finish = True
    with pytest.raises(RuntimeError):
        mail.send_template("t1", "c1", "api:1", w.deps)
    (unknown,) = w.mail.messages.values()
    assert mail.reported_status(unknown) == "unknown"
    event = {
        "eventType": "Send",
        "mail": {"messageId": "ses-1", "tags": {"message_id": [unknown.message_id]}},
    }
    assert mail.ses_event(event, w.deps).startswith("reconciled")
    assert w.mail.messages[unknown.message_id].status == "sent"
    assert mail.ses_event(event, w.deps) == "nothing to reconcile"  # a redelivery changes nothing
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "Ada@Example.com"}]},
    }
    envelope = {"Type": "Notification", "Message": json.dumps(complaint)}
    assert mail.ses_event(envelope, w.deps) == "suppressed 1 (complaint)"
    assert mail.send_template("t1", "c1", "api:2", w.deps).message.status == "suppressed"


def test_a_click_or_open_as_the_email_is_delivered_is_a_scanners_not_scored_or_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Safe Links and its kind follow every link of a message at delivery: before, each such fetch was
    an email_clicked, which scored the person and woke a journey's branch (a sales call for everyone
    behind a Microsoft 365 tenant). Within MAIL_SCAN_SECONDS of the send it is email_scanned."""
    import re
    from datetime import timedelta

    w = _world(scan_seconds=10)
    monkeypatch.setattr(mail, "_now", lambda: NOW)
    sent = mail.send_template("t1", "c1", "api:1", w.deps).message
    click = re.search(r"/t/c/([^\"]+)", sent.html)
    pixel = re.search(r"/t/o/([^\"]+)", sent.html)
    assert click is not None and pixel is not None
    monkeypatch.setattr(tracking, "_now", lambda: NOW + timedelta(seconds=2))
    assert tracking.clicked(click.group(1), "scan", w.deps) == "https://x.test/p"  # the link still works
    assert tracking.opened(pixel.group(1), "scan", w.deps)
    kinds = sorted((i.type, i.properties.get("of")) for i in w.store.interactions_of("c1"))
    assert kinds == [
        ("email_scanned", "email_clicked"),
        ("email_scanned", "email_opened"),
        ("email_sent", None),
    ]
    assert (w.mail.messages[sent.message_id].clicks, w.mail.messages[sent.message_id].opens) == (0, 0)
    monkeypatch.setattr(tracking, "_now", lambda: NOW + timedelta(minutes=5))  # the person, later
    tracking.clicked(click.group(1), "person", w.deps)
    clicks = [i for i in w.store.interactions_of("c1") if i.type == "email_clicked"]
    assert len(clicks) == 1 and w.mail.messages[sent.message_id].clicks == 1


def test_a_click_on_a_message_not_yet_marked_sent_is_judged_from_its_claim() -> None:
    """SES answered, the scanner followed the link, the record still says ``sending`` (no sent_at):
    before, no reference time meant the scanner's click counted as the person's."""
    from datetime import timedelta

    from chalicelib.domain.email import scanned

    w = _world()
    w.mail.crash_on_finish = True
    with pytest.raises(RuntimeError):
        mail.send_template("t1", "c1", "api:1", w.deps)
    message = next(iter(w.mail.messages.values()))
    assert message.sent_at is None
    assert scanned(message, message.created_at + timedelta(seconds=2), 10)
    assert not scanned(message, message.created_at + timedelta(minutes=5), 10)
    assert not scanned(message, message.created_at, 0)  # the window off: every click is the person's
