"""E-mail (issue 18): templates, sending, the outbox (admin); and the public tracking routes a
person's mail client reaches: a tracked link (``/t/c``), the open pixel (``/t/o``), one-click
unsubscribe and the preference page (``/t/u``). A token that does not verify (forged, truncated,
expired) gets the neutral page (``/t/gone``) and records nothing: never a 4xx/5xx a person would see."""

from __future__ import annotations

import base64
import html as html_lib
from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.http import URLENCODED, endpoint, idempotency_key, json_response, raw_body, read_json

if TYPE_CHECKING:
    from chalicelib.api.schemas.mail import (
        ConfirmRequest,
        MessagesQuery,
        PreviewQuery,
        SendRequest,
        TemplateRequest,
    )
    from chalicelib.services.tracking import Preferences

bp = Blueprint(__name__)

#: Where a link with a token that does not verify lands (relative: it works under any stage prefix).
NEUTRAL = "../gone"
#: A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0"}
PAGE_HEADERS: dict[str, str | list[str]] = {
    **NO_STORE,
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _deps():  # type: ignore[no-untyped-def]
    from chalicelib import wiring

    return wiring.deps()


def _request_id(request: Request) -> str:
    from chalicelib.domain.ids import new_id

    context = request.context if isinstance(request.context, dict) else {}
    return str(context.get("requestId") or new_id("req"))


# ---------------------------------------------------------------- templates (admin)


@endpoint(
    bp,
    "/v1/email-templates/{template_id}",
    "PUT",
    scope="admin",
    summary="save an e-mail template (a new version); 422 names the part and line that does not parse",
    body="mail.TemplateRequest",
    response="mail.TemplateAnswer",
    ok=("200", "201"),
)
def put_template(request: Request, template_id: str, body: TemplateRequest) -> Response:
    from chalicelib.api import mail_views
    from chalicelib.services import mail

    saved = mail.put_template(template_id, read_json(request), _deps())
    return json_response(201 if saved.version == 1 else 200, mail_views.template(saved))


@endpoint(
    bp,
    "/v1/email-templates/{template_id}",
    "GET",
    scope="admin",
    summary="an e-mail template (its current version)",
    response="mail.TemplateAnswer",
)
def get_template(request: Request, template_id: str) -> Response:
    from chalicelib.api import mail_views
    from chalicelib.services import mail

    return json_response(200, mail_views.template(mail.get_template(template_id, _deps())))


@endpoint(bp, "/v1/email-templates", "GET", scope="admin", summary="every e-mail template")
def list_templates(request: Request) -> Response:
    from chalicelib.api import mail_views
    from chalicelib.services import mail

    return json_response(200, {"items": [mail_views.template(t) for t in mail.list_templates(_deps())]})


@endpoint(
    bp,
    "/v1/email-templates/{template_id}/preview",
    "GET",
    scope="admin",
    summary="the template rendered for a contact (or with every default), links untracked",
    query="mail.PreviewQuery",
)
def preview(request: Request, template_id: str, query: PreviewQuery) -> Response:
    from chalicelib.services import mail

    rendered = mail.preview(template_id, query.contact_id, _deps())
    return json_response(200, {"subject": rendered.subject, "html": rendered.html, "text": rendered.text})


@endpoint(
    bp,
    "/v1/email-templates/{template_id}/send",
    "POST",
    scope="admin",
    summary=(
        "send the template to a contact through SES, once per Idempotency-Key (201: sent or refused with"
        " its reason: no_consent, suppressed, capped; 200: the message of an earlier call)"
    ),
    body="mail.SendRequest",
    response="mail.MessageAnswer",
    ok=("200", "201"),
    idempotent=True,
)
def send(request: Request, template_id: str, body: SendRequest) -> Response:
    """The cause is the caller's Idempotency-Key (kept apart per API key): the same key sends once,
    however often it is retried and for as long as the message is kept. Without a key each call is a
    new send."""
    from chalicelib.api import mail_views
    from chalicelib.api.http import caller
    from chalicelib.domain.ids import new_id
    from chalicelib.services import mail

    key = idempotency_key(request)
    owner = caller.get()
    cause = f"api:{owner.key_id if owner else '-'}:{key}" if key else f"api:{new_id('send')}"
    result = mail.send_template(template_id, body.contact_id, cause, _deps(), lead_id=body.lead_id)
    return json_response(201 if result.new else 200, mail_views.message(result.message))


@endpoint(
    bp,
    "/v1/messages",
    "GET",
    scope="admin",
    summary="e-mails sent (or refused) to whom, newest first, with status, opens, clicks and tracked links",
    query="mail.MessagesQuery",
)
def list_messages(request: Request, query: MessagesQuery) -> Response:
    from chalicelib.api import mail_views
    from chalicelib.services import mail

    found = mail.list_messages(
        _deps(),
        query.contact_id,
        query.template_id,
        query.limit,
        query.journey_id,
        query.status,
        query.cursor,
    )
    items = [mail_views.message(m) for m in found.messages]
    return json_response(200, {"items": items, "next_cursor": found.next_cursor})


@endpoint(
    bp,
    "/v1/messages/{message_id}",
    "GET",
    scope="admin",
    summary="one e-mail as sent (HTML and text parts)",
)
def get_message(request: Request, message_id: str) -> Response:
    from chalicelib.api import mail_views
    from chalicelib.services import mail

    return json_response(200, mail_views.message(mail.get_message(message_id, _deps()), full=True))


# ---------------------------------------------------------------- tracking (public)


def _redirect(location: str) -> Response:
    return Response(body="", status_code=302, headers={"Location": location, **NO_STORE})


@endpoint(
    bp,
    "/t/c/{token}",
    "GET",
    scope=None,
    summary="a tracked link: records email_clicked (the link's name) and redirects (302) to it",
    ok=("302",),
    empty=True,
    any_id=True,
)
def click(request: Request, token: str) -> Response:
    from chalicelib.services import tracking

    url = tracking.clicked(token, _request_id(request), _deps())
    return _redirect(url or NEUTRAL)


@endpoint(
    bp,
    "/t/o/{token}",
    "GET",
    scope=None,
    summary="the open pixel: records email_opened; a 1x1 GIF, never cached",
    produces="image/gif",
    any_id=True,
)
def pixel(request: Request, token: str) -> Response:
    from chalicelib.services import tracking

    tracking.opened(token, _request_id(request), _deps())
    _accept_the_gif(request)
    return Response(body=PIXEL, status_code=200, headers={"Content-Type": "image/gif", **NO_STORE})


def _accept_the_gif(request: Request) -> None:
    """The pixel is the same GIF whatever the client asked for. Chalice answers 400 instead of a
    binary body when the request's ``Accept`` names no binary type (``Chalice._validate_binary_response``,
    run in the Lambda as in ``chalice local``): ``image/*``, ``text/html`` or no ``Accept`` at all,
    all of which mail clients and image proxies send. The check reads ``current_request.headers``
    after the view returns, so this view says it accepts ``image/gif``. What API Gateway then does
    with the base64 body is in docs/email.md ("The open pixel")."""
    from chalice.app import CaseInsensitiveMapping

    request.headers = CaseInsensitiveMapping({**dict(request.headers), "accept": "image/gif"})


def _page(title: str, body: str, status: int = 200) -> Response:
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html_lib.escape(title)}</title>"
        "<body style='font:16px system-ui,sans-serif;max-width:32em;margin:3em auto;padding:0 1em'>"
        f"<h1 style='font-size:1.4em'>{html_lib.escape(title)}</h1>{body}</body></html>"
    )
    return Response(body=page, status_code=status, headers=dict(PAGE_HEADERS))


@endpoint(
    bp,
    "/t/gone",
    "GET",
    scope=None,
    summary="the neutral page of a link that is not valid",
    produces="text/html",
)
def gone(request: Request) -> Response:
    return _page("This link is no longer valid", "<p>Nothing was recorded. You can close this page.</p>")


@endpoint(
    bp,
    "/t/u/{token}",
    "GET",
    scope=None,
    summary="the preference page: the address's marketing e-mail, and a button to unsubscribe",
    produces="text/html",
    any_id=True,
)
def preference_page(request: Request, token: str) -> Response:
    from chalicelib.services import tracking

    found = tracking.preferences(token, _deps())
    if found is None:
        return _redirect("../gone")
    return _page("E-mail preferences", _preferences_form(found))


def _preferences_form(found: Preferences) -> str:
    """What the person gets now and a plain form (no script) to lower it: one choice per lower level,
    the unsubscribe (one step below this e-mail's kind) chosen already."""
    from chalicelib.domain.consent import LEVEL_WORDS

    email = html_lib.escape(found.masked_email)
    now = f"<p>{email} now gets: <strong>{html_lib.escape(LEVEL_WORDS[found.consent])}</strong>.</p>"
    if not found.choices:
        return now + "<p>There is nothing lower to choose.</p>"
    chosen = found.unsubscribe_to or found.choices[0]
    options = "".join(
        f'<p><label><input type="radio" name="level" value="{level}"'
        f"{' checked' if level == chosen else ''}> {html_lib.escape(LEVEL_WORDS[level])}</label></p>"
        for level in found.choices
    )
    return (
        f"{now}<form method='post'><fieldset style='border:0;padding:0'>"
        "<legend>Unsubscribe, or choose what you still want:</legend>"
        f"{options}</fieldset><input type='hidden' name='List-Unsubscribe' value='One-Click'>"
        "<button type='submit' style='font-size:1em;padding:.5em 1em'>Save my choice</button></form>"
    )


@endpoint(
    bp,
    "/t/u/{token}",
    "POST",
    scope=None,
    summary=(
        "one-click unsubscribe (RFC 8058: body List-Unsubscribe=One-Click): lowers the contact's consent"
        " below the e-mail's, answers 200 without a redirect"
    ),
    body={
        "type": "object",
        "properties": {
            "List-Unsubscribe": {"enum": ["One-Click"]},
            "level": {
                "enum": ["none", "consent_given", "transactional", "subscriptions", "marketing", "profiling"],
                "description": "the preference page's choice (lower only); absent: just below the e-mail's",
            },
        },
    },
    media=(URLENCODED,),
    produces="text/html",
    any_id=True,
)
def one_click_unsubscribe(request: Request, token: str) -> Response:
    from urllib.parse import parse_qs

    from chalicelib.services import tracking

    form = parse_qs(raw_body(request, 1024).decode("utf-8", "replace"), keep_blank_values=True)
    if form.get("List-Unsubscribe") != ["One-Click"]:
        from chalicelib.api.errors import ApiError

        raise ApiError("the body must be List-Unsubscribe=One-Click (RFC 8058)", "List-Unsubscribe")
    level = _chosen_level(form.get("level"))
    now = tracking.unsubscribe(token, _request_id(request), _deps(), level)
    if now is None:
        return _page("This link is no longer valid", "<p>Nothing was changed.</p>")
    if level is not None:
        from chalicelib.domain.consent import LEVEL_WORDS

        # what the person gets now: a level at or above theirs changed nothing (the page never raises)
        return _page("Your choice is saved", f"<p>From now on: {html_lib.escape(LEVEL_WORDS[now])}.</p>")
    return _page("You are unsubscribed", "<p>You will get no more marketing e-mail from us.</p>")


def _chosen_level(given: list[str] | None) -> str | None:
    """The preference page's ``level`` (absent in an RFC 8058 one-click POST): one consent level, else 400."""
    from chalicelib.domain.consent import CONSENT_LEVELS

    if given is None:
        return None
    if len(given) != 1 or given[0] not in CONSENT_LEVELS:
        from chalicelib.api.errors import ApiError

        raise ApiError(f"level must be one of {', '.join(CONSENT_LEVELS)}", "level")
    return given[0]


# ---------------------------------------------------------------- double opt-in


@endpoint(
    bp,
    "/v1/contacts/{contact_id}/confirm-request",
    "POST",
    scope="admin",
    summary=(
        "send the double opt-in e-mail: its link raises the contact's consent to level (default"
        " marketing) once the person confirms; once per Idempotency-Key"
    ),
    body="mail.ConfirmRequest",
    optional_body=True,
    response="mail.MessageAnswer",
    ok=("200", "201"),
    idempotent=True,
)
def confirm_request(request: Request, contact_id: str, body: ConfirmRequest) -> Response:
    from chalicelib.api import mail_views
    from chalicelib.api.http import caller
    from chalicelib.domain.ids import new_id
    from chalicelib.services import mail

    key = idempotency_key(request)
    owner = caller.get()
    cause = f"confirm:{owner.key_id if owner else '-'}:{key}" if key else f"confirm:{new_id('send')}"
    result = mail.request_confirmation(contact_id, str(body.level), cause, _deps())
    return json_response(201 if result.new else 200, mail_views.message(result.message))


@endpoint(
    bp,
    "/t/k/{token}",
    "GET",
    scope=None,
    summary="the double opt-in page: what confirming sets, and the button (a GET changes nothing)",
    produces="text/html",
    any_id=True,
)
def confirm_page(request: Request, token: str) -> Response:
    from chalicelib.services import tracking

    found = tracking.confirmation(token, _deps())
    if found is None:
        return _redirect("../gone")
    masked, _level = found
    form = (
        f"<p>Confirm that {html_lib.escape(masked)} wants to hear from us.</p>"
        '<form method="post"><button type="submit" style="font-size:1em;padding:.5em 1em">Confirm</button>'
        "</form>"
    )
    return _page("Confirm your subscription", form)


@endpoint(
    bp,
    "/t/k/{token}",
    "POST",
    scope=None,
    summary="confirm a double opt-in: raises the contact's consent (recorded on its history)",
    produces="text/html",
    any_id=True,
)
def confirm(request: Request, token: str) -> Response:
    from chalicelib.services import tracking

    if not tracking.confirm(token, _deps()):
        return _page("This link is no longer valid", "<p>Nothing was changed.</p>")
    return _page("Thank you", "<p>Your subscription is confirmed.</p>")
