"""The sample landing page (``examples/landing``) served by the local stack on a port of its own, so that
its form is posted cross-origin as on a real site.

The page takes the API's address from its own query (``?api=http://127.0.0.1:8000``); this server
sends a visitor who came without one to the same page with the stack's address filled in, so the
page follows whatever ports the stack was started on."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from leadflow_local import project

LANDING = project.ROOT / "examples" / "landing"


class _Handler(http.server.SimpleHTTPRequestHandler):
    api_url = ""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path in ("/", "/index.html") and "api" not in parse_qs(parts.query):
            self.send_response(302)
            self.send_header("Location", f"/?api={quote(self.api_url, safe=':/')}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LandingPage:
    """``examples/landing`` on ``http://host:port``; ``url`` is where to open it."""

    def __init__(self, host: str, port: int, api_url: str, directory: Path = LANDING) -> None:
        handler = type("LandingHandler", (_Handler,), {"api_url": api_url})
        self.server = http.server.ThreadingHTTPServer(
            (host, port), functools.partial(handler, directory=str(directory))
        )
        self.server.daemon_threads = True
        self.origin = f"http://{host}:{self.server.server_address[1]}"
        self.url = f"{self.origin}/"
        self.thread = threading.Thread(target=self.server.serve_forever, name="landing-page", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
