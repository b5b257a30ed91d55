"""The web console (a static single-page app), the landing-page capture script, and the few read-only
reports and dead-letter actions the console needs beyond the rest of the API.

Static files are read from ``chalicelib/console/`` (Chalice deploys ``chalicelib/``), only by names
that exist there; the console keeps its API key in ``sessionStorage`` and sends it as ``X-Api-Key``,
so these pages are public and carry no credentials themselves."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, json_response
from chalicelib.domain.errors import NotFound

if TYPE_CHECKING:
    from chalicelib.api.schemas.queries import FunnelQuery, NoQuery

bp = Blueprint(__name__)
STATIC_DIR = Path(__file__).resolve().parents[1] / "console"
ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(?:js|css|html|svg)")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: The console talks to its own origin only; no inline script, no third-party anything.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
#: On every answer of every console path (page, asset, capture script, error): the policy above, no
#: sniffing, no referrer, no framing, its own browsing context, HTTPS only (API Gateway serves HTTPS;
#: a browser ignores the header over the local stack's HTTP), no powerful features.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
#: The capture script is loaded by landing pages on other sites.
CAPTURE_SCRIPT_HEADERS = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}


@cache
def _asset(name: str) -> str | None:
    if not ASSET_NAME.fullmatch(name):
        return None
    path = STATIC_DIR / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _static(name: str, cache_seconds: int, extra: dict[str, str] | None = None) -> Response:
    text = _asset(name)
    if text is None:
        raise NotFound("console asset", name)
    headers: dict[str, str | list[str]] = {
        "Content-Type": CONTENT_TYPES[Path(name).suffix],
        "Cache-Control": f"public, max-age={cache_seconds}",
        **(extra or {}),
    }
    return Response(body=text, status_code=200, headers=headers)


@endpoint(
    bp,
    "/console",
    "GET",
    scope=None,
    summary="the operator console (HTML)",
    produces="text/html",
    headers=SECURITY_HEADERS,
)
def console_page(request: Request) -> Response:
    # the page may also talk to the Cognito endpoint it signs people in at (its own origin otherwise)
    endpoint_url = urlsplit(wiring.deps().settings.cognito_url)
    cognito = f"{endpoint_url.scheme}://{endpoint_url.netloc}"
    policy = CONSOLE_CSP.replace("connect-src 'self'", f"connect-src 'self' {cognito}")
    return _static("index.html", 0, {"Content-Security-Policy": policy})


@endpoint(
    bp,
    "/console/{asset}",
    "GET",
    scope=None,
    summary="a console asset",
    produces="*/*",
    headers=SECURITY_HEADERS,
)
def console_asset(request: Request, asset: str) -> Response:
    if asset == "capture.js":
        return _static(asset, 3600, CAPTURE_SCRIPT_HEADERS)
    return _static(asset, 0 if asset == "index.html" else 300)


@endpoint(
    bp,
    "/capture.js",
    "GET",
    scope=None,
    summary="the capture script for landing pages",
    produces="text/javascript",
    headers={**SECURITY_HEADERS, **CAPTURE_SCRIPT_HEADERS},
)
def capture_script(request: Request) -> Response:
    """The landing-page script: public and cacheable (an hour) from any page."""
    return _static("capture.js", 3600, CAPTURE_SCRIPT_HEADERS)


@endpoint(
    bp, "/v1/reports/funnel", "GET", scope="sales", summary="the lead funnel", query="queries.FunnelQuery"
)
def funnel(request: Request, query: FunnelQuery) -> Response:
    from chalicelib.api import views
    from chalicelib.services import reports

    return json_response(
        200, views.funnel(reports.funnel(query.since, query.until, query.source, wiring.deps()))
    )


@endpoint(
    bp,
    "/v1/reports/scores/{model_id}",
    "GET",
    scope="sales",
    summary="score distribution of a model (an unknown id: an empty report)",
    query="queries.NoQuery",
    any_id=True,
)
def score_distribution(request: Request, model_id: str, query: NoQuery) -> Response:
    from chalicelib.api import views
    from chalicelib.services import reports

    return json_response(200, views.distribution(reports.distribution(model_id, wiring.deps())))


@endpoint(bp, "/v1/handoffs/dead-letters", "GET", scope="admin", summary="hand-offs in the dead-letter queue")
def list_dead_letters(request: Request) -> Response:
    from chalicelib.api import views
    from chalicelib.services import dead_letters

    return json_response(200, views.dead_letters(dead_letters.peek(wiring.deps())))


@endpoint(
    bp,
    "/v1/handoffs/dead-letters/redrive",
    "POST",
    scope="admin",
    summary="redrive dead-lettered hand-offs",
    ok=("200", "202"),
)
def redrive_dead_letters(request: Request) -> Response:
    from chalicelib.api import views
    from chalicelib.services import dead_letters

    return json_response(200, views.redriven(dead_letters.redrive(wiring.deps())))
