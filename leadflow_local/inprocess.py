"""The local stack's own AWS calls, served by moto in this process without a socket (issue 19, item 4).

The stack's functions (the API's routes, the stream and queue consumers) and its pump run in the same
process as moto. Over HTTP every DynamoDB call was a socket round trip between two threads of this
process: serialising, the kernel, and a GIL hand-off each way (the profile of increment 1: the sockets
of both servers 16%, the pump's HTTP 21%). Here botocore's ``before-send`` event (the one moto's own
``mock_aws`` answers) hands each request whose URL is the stack's moto endpoint to the very WSGI
application the moto server serves (:class:`leadflow_local.persistence.Gate` in front of moto's
dispatcher), and turns its answer into botocore's response. So:

- the state is one: the server on its port and this path call the same application, which reads and
  writes moto's process-wide backends (``tests/integration/test_inprocess.py`` writes through one and
  reads through the other);
- what the gate does for a request over the socket it does here too: counting writes for snapshots,
  holding requests back while a snapshot copies, waking the pump after a write;
- botocore still signs, serialises and parses, so the functions see exactly the answers (and errors)
  they would over HTTP, and the moto server stays up for outside clients (the CLI, a sales system
  polling SQS, the browser's sign-in).

For DynamoDB, DynamoDB Streams and SQS (JSON protocol: the calls the functions and the pump make by
the thousand) the request is answered one step earlier, at botocore's ``before-call`` event, the one
a response can short-circuit: the serialised request goes straight to moto's response class and
botocore's own parser reads moto's answer. What that skips is the HTTP request's preparation: SigV4
signing (moto checks no signature; the request carries an ``Authorization`` header naming the same
access key and region, which is all moto reads from it), the user-agent rebuild, the retry loop and
the endpoint's bookkeeping (py-spy, ``bench.throughput``: about a seventh of the stack's CPU). The
``after-call`` event, modeled error fields (a cancelled transaction's reasons) and ``ResponseMetadata``
are as before; ``tests/integration/test_inprocess.py`` compares answers and errors with the socket's.

Only URLs registered with :func:`route` are answered; every other request goes out as usual. The
handlers are added to botocore's built-in handlers, so it is in every botocore session created after
:func:`install` (PynamoDB makes one per thread, boto3 one per ``Session()``); sessions made earlier
keep going over HTTP (slower, same answers). Local stack, tests and benchmarks only: never imported
in Lambda.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from io import BytesIO
from typing import Any
from urllib.parse import unquote, urlsplit

_ROUTES: dict[str, Callable[..., Any]] = {}
_LOCK = threading.Lock()
_INSTALLED: list[bool] = []  # one entry once installed


class _Body(BytesIO):
    """What botocore reads a response from (``stream()`` for streaming bodies, as S3's)."""

    def stream(self, **_kwargs: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def install() -> None:
    """Add the dispatcher to every botocore session created from now on (idempotent)."""
    from botocore import handlers

    with _LOCK:
        if not _INSTALLED:
            handlers.BUILTIN_HANDLERS.append(("before-send", _dispatch))
            # last: every other before-call handler (botocore's, a benchmark's meter) runs first
            handlers.BUILTIN_HANDLERS.append(("before-call", _before_call, handlers.REGISTER_LAST))
            _INSTALLED.append(True)


def route(endpoint: str, app: Callable[..., Any]) -> None:
    """Answer requests to ``endpoint`` (``http://host:port``) with the WSGI ``app``, in process."""
    install()
    with _LOCK:
        _ROUTES[_origin(endpoint)] = app


def unroute(endpoint: str) -> None:
    with _LOCK:
        _ROUTES.pop(_origin(endpoint), None)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _dispatch(request: Any, **_kwargs: Any) -> Any:
    """botocore's ``before-send``: a response for our endpoints, ``None`` (send it) for others."""
    parts = urlsplit(request.url)
    app = _ROUTES.get(f"{parts.scheme}://{parts.netloc}".lower())
    if app is None:
        return None
    from botocore.awsrequest import AWSResponse

    target = request.headers.get("X-Amz-Target")
    if isinstance(target, bytes):
        target = target.decode()
    handler = _direct_handler(target) if target and hasattr(app, "passing") else None
    if handler is not None:
        status, headers, body = _direct(app, handler, request, target)
    else:
        status, headers, body = call(app, request.method, parts, request.headers, request.body)
    return AWSResponse(request.url, status, headers, _Body(body))


_PARSERS: dict[str, Any] = {}


def _before_call(model: Any, params: dict[str, Any], request_signer: Any = None, **_kwargs: Any) -> Any:
    """botocore's ``before-call``: ``(response, parsed)`` for a JSON-protocol call to our endpoints,
    ``None`` (carry on: signing, ``before-send``) for any other."""
    url = params.get("url")
    if not url:
        return None
    parts = urlsplit(url)
    app = _ROUTES.get(f"{parts.scheme}://{parts.netloc}".lower())
    if app is None or not hasattr(app, "passing"):
        return None
    headers = dict(params.get("headers") or {})
    target = headers.get("X-Amz-Target")
    if isinstance(target, bytes):
        target = target.decode()
    handler = _direct_handler(target) if isinstance(target, str) else None
    if handler is None or not isinstance(target, str) or params.get("method") != "POST" or parts.query:
        return None
    from moto.core.request import Request

    headers["Authorization"] = _authorization(request_signer, model)
    # the WSGI environ a server would make (werkzeug's EnvironBuilder, what moto's from_primitives
    # uses, cost 3% of the stack's CPU for the same dict)
    request = Request(_environ("POST", parts, headers, _data(params.get("body"))))
    status, answer_headers, content = _direct(app, handler, request, target)
    return _parsed(url, status, answer_headers, content, model)


def _authorization(signer: Any, model: Any) -> str:
    """What moto reads of a signature: the access key (its account) and the region."""
    credentials = getattr(signer, "_credentials", None)
    key = getattr(credentials, "access_key", None) or "testing"
    region = getattr(signer, "region_name", None) or "us-east-1"
    service = model.service_model.signing_name
    return (
        f"AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/{service}/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-target, Signature=in-process"
    )


def _parsed(url: str, status: int, headers: dict[str, str], content: bytes, model: Any) -> tuple[Any, Any]:
    """What botocore's endpoint makes of an HTTP answer: the response and its parsed dict."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import convert_to_response_dict
    from botocore.parsers import create_parser

    response = AWSResponse(url, status, headers, _Body(content))
    response_dict = convert_to_response_dict(response, model)
    protocol = model.service_model.resolved_protocol
    parser = _PARSERS.get(protocol)
    if parser is None:
        parser = _PARSERS[protocol] = create_parser(protocol)
    parsed = parser.parse(response_dict, model.output_shape)
    if status >= 300:  # botocore's Endpoint._add_modeled_error_fields
        code = parsed.get("Error", {}).get("Code")
        shape = model.service_model.shape_for_error_code(code) if code else None
        if shape is not None:
            parsed.update(parser.parse(response_dict, shape))
    if "ResponseMetadata" in parsed:
        parsed["ResponseMetadata"]["RetryAttempts"] = 0
    return response, parsed


#: The JSON-protocol services the stack's functions and pump call most (``X-Amz-Target`` prefix ->
#: moto's response class): handed to moto's response class directly, as ``mock_aws`` does, without
#: the WSGI layer (werkzeug's environ, moto's service lookup by host and headers, Flask's request and
#: response: about a sixth of the stack's CPU under load, py-spy). Every other request (S3, Cognito,
#: SES, moto's own API) takes the WSGI path.
_DIRECT = {
    "DynamoDB_20120810": ("moto.dynamodb.responses", "DynamoHandler"),
    "DynamoDBStreams_20120810": ("moto.dynamodbstreams.responses", "DynamoDBStreamsHandler"),
    "AmazonSQS": ("moto.sqs.responses", "SQSResponse"),
}
_HANDLERS: dict[str, Any] = {}


def _direct_handler(target: str) -> Any:
    prefix = target.split(".", 1)[0]
    found = _HANDLERS.get(prefix)
    if found is None and prefix in _DIRECT:
        import importlib

        module, name = _DIRECT[prefix]
        found = _HANDLERS[prefix] = getattr(importlib.import_module(module), name)
    return found


def _direct(gate: Any, handler: Any, request: Any, target: str) -> tuple[int, dict[str, str], bytes]:
    """What ``moto.core.utils.convert_to_flask_response`` does for a request, through the gate."""
    from botocore.exceptions import ClientError
    from moto.core.request import normalize_request

    from leadflow_local.persistence import is_write

    with gate.passing(is_write({"HTTP_X_AMZ_TARGET": target, "REQUEST_METHOD": request.method})):
        moto_request = normalize_request(request)
        try:
            result = handler.dispatch(moto_request, moto_request.raw_url, dict(moto_request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
    status, headers, content = result if len(result) == 3 else (200, {}, result)
    body = content.encode() if isinstance(content, str) else bytes(content or b"")
    return int(status), {str(k): str(v) for k, v in (headers or {}).items()}, body


def _data(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return bytes(body.read())  # a file-like body (S3 uploads)


def _environ(method: str, parts: Any, headers: Any, data: bytes) -> dict[str, Any]:
    """The WSGI environ of one request, as werkzeug's server would make it."""
    host = parts.hostname or "127.0.0.1"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        # what werkzeug's server does with the path: unquoted, as latin-1 text (WSGI's convention)
        "PATH_INFO": unquote(parts.path or "/").encode().decode("latin1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": host,
        "SERVER_PORT": str(parts.port or 80),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme,
        "wsgi.input": BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(data)),
        "HTTP_HOST": parts.netloc,
    }
    for name, value in headers.items():
        text = value.decode("latin1") if isinstance(value, bytes) else str(value)
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = text
    return environ


def call(
    app: Callable[..., Any], method: str, parts: Any, headers: Any, body: Any
) -> tuple[int, dict[str, str], bytes]:
    """One request to a WSGI application, as werkzeug's server would make it (status, headers, body)."""
    environ = _environ(method, parts, headers, _data(body))
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], _exc_info: Any = None) -> Any:
        answer["status"] = int(status.split(" ", 1)[0])
        answer["headers"] = dict(response_headers)
        return lambda _chunk: None

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"], content
