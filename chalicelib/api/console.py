"""The web console (a static single-page app), the landing-page capture script, and the few read-only
reports and dead-letter actions the console needs beyond the rest of the API.

Static files are read from ``chalicelib/console/`` (Chalice deploys ``chalicelib/``), only by names
that exist there; the console keeps its API key in ``sessionStorage`` and sends it as ``X-Api-Key``,
so these pages are public and carry no credentials themselves."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.errors import ApiError
from chalicelib.api.http import endpoint, json_response
from chalicelib.domain.errors import NotFound
from chalicelib.services import dead_letters, reports

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
        "X-Content-Type-Options": "nosniff",
        **(extra or {}),
    }
    return Response(body=text, status_code=200, headers=headers)


@endpoint(bp, "/console", "GET", scope=None)
def console_page(request: Request) -> Response:
    return _static(
        "index.html", 0, {"Content-Security-Policy": CONSOLE_CSP, "Referrer-Policy": "no-referrer"}
    )


@endpoint(bp, "/console/{asset}", "GET", scope=None)
def console_asset(request: Request, asset: str) -> Response:
    if asset == "capture.js":
        return _static(asset, 3600, {"Access-Control-Allow-Origin": "*"})
    return _static(asset, 300)


@endpoint(bp, "/capture.js", "GET", scope=None)
def capture_script(request: Request) -> Response:
    """The landing-page script: public and cacheable (an hour) from any page."""
    return _static("capture.js", 3600, {"Access-Control-Allow-Origin": "*"})


@endpoint(bp, "/v1/reports/funnel", "GET", scope="sales")
def funnel(request: Request) -> Response:
    return json_response(200, reports.funnel(dict(request.query_params or {}), wiring.deps()))


@endpoint(bp, "/v1/reports/scores/{model_id}", "GET", scope="sales")
def score_distribution(request: Request, model_id: str) -> Response:
    if request.query_params:
        raise ApiError("this report takes no parameters", next(iter(request.query_params)))
    return json_response(200, reports.distribution(model_id))


@endpoint(bp, "/v1/handoffs/dead-letters", "GET", scope="admin")
def list_dead_letters(request: Request) -> Response:
    return json_response(200, dead_letters.peek(wiring.deps()))


@endpoint(bp, "/v1/handoffs/dead-letters/redrive", "POST", scope="admin")
def redrive_dead_letters(request: Request) -> Response:
    return json_response(200, dead_letters.redrive(wiring.deps()))
