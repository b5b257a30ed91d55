"""The LinkedIn API client against a fake LinkedIn on a local HTTP server (pytest-httpserver)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chalicelib.integrations.linkedin import (
    LinkedInAuthFailed,
    LinkedInClient,
    LinkedInError,
    ResponseGone,
    RetryLater,
)

TOKEN = "AQV-leadflow-test-token-5e1d9c"
FORM_RESPONSE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "webhooks" / "linkedin_form_response.json").read_text()
)
RESPONSE_ID = FORM_RESPONSE["id"]
PATH = f"/rest/leadFormResponses/{RESPONSE_ID}"


class Sleeps:
    """A ``sleep`` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def _client(server: HTTPServer, sleeps: Sleeps, **overrides: Any) -> LinkedInClient:
    options: dict[str, Any] = {"token": TOKEN, "timeout": 2.0, "max_attempts": 3, "max_wait": 10.0}
    options.update(overrides)
    return LinkedInClient(base_url=server.url_for("/rest"), sleep=sleeps, **options)


def _requests(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log]


def _assert_token_hidden(error: BaseException) -> None:
    for text in (str(error), repr(error), repr(error.args)):
        assert TOKEN not in text


# ---------------------------------------------------------------- success


def test_form_response_is_fetched_with_bearer_token_and_api_versions(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH, method="GET").respond_with_json(FORM_RESPONSE)
    response = _client(httpserver, sleeps).form_response(RESPONSE_ID)
    assert response.response_id == RESPONSE_ID
    assert response.answers["307234246"] == "amira.haddad@example.com"
    assert response.consents == {"1": True}
    (request,) = _requests(httpserver)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["LinkedIn-Version"] == "202509"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sleeps.waits == []


def test_configured_api_version_is_sent(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_json(FORM_RESPONSE)
    _client(httpserver, sleeps, version="202611").form_response(RESPONSE_ID)
    (request,) = _requests(httpserver)
    assert request.headers["LinkedIn-Version"] == "202611"


def test_response_id_is_url_encoded_in_the_path(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    odd_id = "resp:2026.11_a-b"
    httpserver.expect_request(f"/rest/leadFormResponses/{odd_id}").respond_with_json(
        {**FORM_RESPONSE, "id": odd_id}
    )
    assert _client(httpserver, sleeps).form_response(odd_id).response_id == odd_id
    (request,) = _requests(httpserver)
    assert request.environ["RAW_URI"] == "/rest/leadFormResponses/resp%3A2026.11_a-b"


def test_invalid_response_id_is_refused_without_a_request(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    with pytest.raises(LinkedInError):
        _client(httpserver, sleeps).form_response("../adAccounts")
    assert _requests(httpserver) == []


# ---------------------------------------------------------------- retried


def test_server_error_is_retried_then_succeeds(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_ordered_request(PATH).respond_with_data("busy", status=500)
    httpserver.expect_ordered_request(PATH).respond_with_json(FORM_RESPONSE)
    assert _client(httpserver, sleeps).form_response(RESPONSE_ID).response_id == RESPONSE_ID
    assert len(_requests(httpserver)) == 2
    (wait,) = sleeps.waits
    assert 0.25 <= wait <= 0.5  # the first backoff, jittered between half and all of 0.5 s


def test_throttled_request_waits_for_retry_after_then_succeeds(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_ordered_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "2"})
    httpserver.expect_ordered_request(PATH).respond_with_json(FORM_RESPONSE)
    assert _client(httpserver, sleeps).form_response(RESPONSE_ID).response_id == RESPONSE_ID
    assert sleeps.waits == [2.0]


def test_retry_after_given_as_an_http_date_is_honoured(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    httpserver.expect_ordered_request(PATH).respond_with_data("", status=429, headers={"Retry-After": when})
    httpserver.expect_ordered_request(PATH).respond_with_json(FORM_RESPONSE)
    _client(httpserver, sleeps).form_response(RESPONSE_ID)
    (wait,) = sleeps.waits
    assert 1.0 <= wait <= 3.0


def test_long_retry_after_gives_up_at_once_with_that_wait(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "120"})
    with pytest.raises(RetryLater) as caught:
        _client(httpserver, sleeps, max_wait=10.0).form_response(RESPONSE_ID)
    assert caught.value.retry_after == 120.0
    assert caught.value.status == 429
    assert len(_requests(httpserver)) == 1
    assert sleeps.waits == []


def test_throttled_last_attempt_passes_its_retry_after_on(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "3"})
    with pytest.raises(RetryLater) as caught:
        _client(httpserver, sleeps, max_attempts=2).form_response(RESPONSE_ID)
    assert caught.value.retry_after == 3.0
    assert sleeps.waits == [3.0]
    assert len(_requests(httpserver)) == 2


def test_persistent_server_errors_raise_retry_later_after_max_attempts(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH).respond_with_data("unavailable", status=503)
    with pytest.raises(RetryLater) as caught:
        _client(httpserver, sleeps, max_attempts=3).form_response(RESPONSE_ID)
    assert len(_requests(httpserver)) == 3
    assert len(sleeps.waits) == 2
    assert 0.25 <= sleeps.waits[0] <= 0.5
    assert 0.5 <= sleeps.waits[1] <= 1.0  # exponential: the ceiling doubles
    assert caught.value.retry_after > 0
    assert caught.value.status == 503
    assert not isinstance(caught.value, LinkedInAuthFailed)


@pytest.fixture
def slow_server() -> Iterator[tuple[HTTPServer, threading.Event]]:
    """A fake LinkedIn that holds every request until released (threaded, so held requests don't queue)."""
    release = threading.Event()
    server = HTTPServer(threaded=True)
    server.start()

    def hold(request: Request) -> Response:
        release.wait(5)
        return Response(json.dumps(FORM_RESPONSE), content_type="application/json")

    server.expect_request(PATH).respond_with_handler(hold)
    yield server, release
    release.set()
    server.clear()
    server.stop()


def test_timeouts_are_retried_then_raise_retry_later(
    slow_server: tuple[HTTPServer, threading.Event], sleeps: Sleeps
) -> None:
    server, _ = slow_server
    with pytest.raises(RetryLater) as caught:
        _client(server, sleeps, timeout=0.2, max_attempts=2).form_response(RESPONSE_ID)
    assert "in time" in str(caught.value)
    assert len(sleeps.waits) == 1
    assert caught.value.retry_after > 0


def test_refused_connection_is_retried_then_raises_retry_later(sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LinkedInClient(
        base_url=f"http://127.0.0.1:{port}/rest", token=TOKEN, sleep=sleeps, max_attempts=3
    )
    with pytest.raises(RetryLater) as caught:
        client.form_response(RESPONSE_ID)
    assert len(sleeps.waits) == 2
    assert "could not reach LinkedIn" in str(caught.value)


# ---------------------------------------------------------------- not retried


@pytest.mark.parametrize("status", [404, 410])
def test_deleted_response_is_gone(status: int, httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"status": status, "message": "Not found"}, status=status
    )
    with pytest.raises(ResponseGone) as caught:
        _client(httpserver, sleeps).form_response(RESPONSE_ID)
    assert not isinstance(caught.value, RetryLater)
    assert caught.value.status == status
    assert len(_requests(httpserver)) == 1
    assert sleeps.waits == []


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_an_auth_failure_to_retry_later(
    status: int, httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"status": status, "code": "EXPIRED_ACCESS_TOKEN"}, status=status
    )
    with pytest.raises(LinkedInAuthFailed) as caught:
        _client(httpserver, sleeps).form_response(RESPONSE_ID)
    assert isinstance(caught.value, RetryLater)
    assert caught.value.retry_after > 0
    assert len(_requests(httpserver)) == 1  # a renewed token is needed: repeating now would not help
    assert sleeps.waits == []


@pytest.mark.parametrize("status", [400, 422])
def test_other_client_errors_are_permanent(status: int, httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_json({"status": status}, status=status)
    with pytest.raises(LinkedInError) as caught:
        _client(httpserver, sleeps).form_response(RESPONSE_ID)
    assert not isinstance(caught.value, RetryLater | ResponseGone)
    assert len(_requests(httpserver)) == 1


def test_answer_that_is_not_json_is_a_permanent_error(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_data("<html>maintenance</html>", content_type="text/html")
    with pytest.raises(LinkedInError) as caught:
        _client(httpserver, sleeps).form_response(RESPONSE_ID)
    assert not isinstance(caught.value, RetryLater)


def test_redirect_is_not_followed(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=302, headers={"Location": "/elsewhere"})
    httpserver.expect_request("/elsewhere").respond_with_json(FORM_RESPONSE)
    with pytest.raises(LinkedInError):
        _client(httpserver, sleeps).form_response(RESPONSE_ID)
    assert [request.path for request in _requests(httpserver)] == [PATH]


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (503, {}, "unavailable"),
        (429, {"Retry-After": "600"}, ""),
        (404, {}, "{}"),
        (401, {}, "{}"),
        (400, {}, "{}"),
        (200, {}, "not json"),
        (200, {}, "[]"),
    ],
)
def test_token_never_appears_in_errors(
    status: int, headers: dict[str, str], body: str, httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, status=status, headers=headers)
    client = _client(httpserver, sleeps)
    with pytest.raises(LinkedInError) as caught:
        client.form_response(RESPONSE_ID)
    _assert_token_hidden(caught.value)
    assert TOKEN not in repr(client)
