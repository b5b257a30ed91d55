"""The local stack's data across restarts: moto keeps everything in memory, so the stack saves it.

A **snapshot** is moto's DynamoDB (tables, items, stream records), SQS (queues and their messages, in
flight or not) and S3 (buckets and objects) backends, pickled, with the pump's positions (how far each
stream shard was delivered, which bucket objects were handled), written to ``<data dir>/state.pickle``
(a temporary file, fsync, then an atomic rename: a crash mid-write leaves the previous snapshot).

It is taken behind :class:`Gate`: the gate holds new requests to moto back, waits for those in flight,
and copies while nothing moves. The pump's positions are read first, so they never point past what the
snapshot holds: a record delivered after that moment is delivered again after a restore (every function
is idempotent: at least once, as Lambda is). Taken on shutdown (Ctrl-C, SIGTERM) and every
``snapshot_seconds`` (30) when anything was written since the last one: **a ``kill -9`` loses at most
what was written in the last ``snapshot_seconds``**; messages that were in flight come back when their
visibility timeout ends.

Pickling moto's backends is not a moto feature: it works for these three services at moto 5.2.5 (SQS's
only lock, a ``threading.Condition`` per queue, is recreated on load), and a snapshot from another moto
version is refused rather than half read. The DynamoDB Streams backend (only shard iterators) is not
kept: the pump asks for fresh iterators from its saved positions.
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SERVICES = ("dynamodb", "sqs", "s3")
FILE_NAME = "state.pickle"
FORMAT = 1
_DYNAMODB_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "CreateTable",
        "DeleteTable",
        "UpdateTable",
        "UpdateTimeToLive",
    }
)
_SQS_READS = frozenset({"ReceiveMessage", "GetQueueAttributes", "GetQueueUrl", "ListQueues"})


def is_write(environ: dict[str, Any]) -> bool:
    """Would this request to moto change what a snapshot holds? (Receives are not counted: a lost
    receive count or visibility change is harmless.)"""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB_"):
        return target.rsplit(".", 1)[-1] in _DYNAMODB_WRITES
    if target.startswith("DynamoDBStreams_"):
        return False
    if target.startswith("AmazonSQS."):
        return target.rsplit(".", 1)[-1] not in _SQS_READS
    return environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE")  # S3, SQS's query protocol


class Gate:
    """moto's WSGI app behind a gate: requests pass side by side; :meth:`closed` waits for those in
    flight, holds new ones back while the caller copies moto's state, then lets them through."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._cond = threading.Condition()
        self._active = 0
        self._closed = False
        #: Requests that changed something (:func:`is_write`), ever: a snapshot is due when it moved.
        self.writes = 0
        #: Called after each write has been applied (the local pump's wake-up: it sleeps otherwise).
        self.on_write: Callable[[], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.passing(is_write(environ)):
            return list(self.app(environ, start_response))

    @contextlib.contextmanager
    def passing(self, wrote: bool) -> Iterator[None]:
        """One request through the gate (the WSGI path above, and ``leadflow_local/inprocess.py``'s
        direct one): held back while a snapshot copies, counted, and the pump woken after a write."""
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._active += 1
            if wrote:
                self.writes += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()
            if wrote and self.on_write is not None:
                self.on_write()

    @contextlib.contextmanager
    def closed(self) -> Iterator[None]:
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._closed = True
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()


class _Pickler(pickle.Pickler):
    """Locks and conditions are not state: a fresh one is made on load."""

    dispatch_table = {
        **copyreg.dispatch_table,
        type(threading.Condition()): lambda _c: (threading.Condition, ()),
        type(threading.Lock()): lambda _l: (threading.Lock, ()),
        type(threading.RLock()): lambda _l: (threading.RLock, ()),
    }


def _backends() -> dict[str, Any]:
    from moto.backends import get_backend

    return {name: get_backend(name) for name in SERVICES}  # type: ignore[call-overload]


@dataclass
class Restored:
    saved_at: str
    pump: dict[str, Any]


class Persistence:
    """``<directory>/state.pickle``: :meth:`restore` at start (before moto serves a request),
    :meth:`save` at shutdown and from :meth:`start_periodic`."""

    def __init__(self, directory: Path, gate: Gate, snapshot_seconds: float = 30.0) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self.gate = gate
        self.snapshot_seconds = snapshot_seconds
        self._saved_writes = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.last_saved: str | None = None

    def restore(self) -> Restored | None:
        """Put the saved backends in place; ``None`` when there is no snapshot yet."""
        import moto

        if not self.path.is_file():
            return None
        with self.path.open("rb") as handle:
            state = pickle.load(handle)  # noqa: S301 - our own file, written by save()
        if state.get("format") != FORMAT or state.get("moto") != moto.__version__:
            raise RuntimeError(
                f"{self.path} was written by another version (moto {state.get('moto')}); "
                "move it away to start empty"
            )
        live = _backends()
        for name, saved in state["backends"].items():
            live[name].clear()
            live[name].update(saved)
        self._saved_writes = self.gate.writes
        self.last_saved = str(state["saved_at"])
        return Restored(saved_at=str(state["saved_at"]), pump=dict(state.get("pump") or {}))

    def save(self, pump_positions: Callable[[], dict[str, Any]] | None = None, force: bool = True) -> bool:
        """Take a snapshot (skipped, unless ``force``, when nothing was written since the last)."""
        import moto

        with self._lock:
            if not force and self.gate.writes == self._saved_writes:
                return False
            self.directory.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            with self.gate.closed():
                positions = pump_positions() if pump_positions else {}
                writes = self.gate.writes
                saved_at = datetime.now(UTC).isoformat(timespec="seconds")
                state = {
                    "format": FORMAT,
                    "moto": moto.__version__,
                    "saved_at": saved_at,
                    "pump": positions,
                    "backends": _backends(),
                }
                _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
            temporary = self.path.with_suffix(".tmp")
            with temporary.open("wb") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
            self._saved_writes, self.last_saved = writes, saved_at
            return True

    def start_periodic(self, pump_positions: Callable[[], dict[str, Any]]) -> None:
        def loop() -> None:
            while not self._stop.wait(self.snapshot_seconds):
                started = time.monotonic()
                try:
                    if self.save(pump_positions, force=False):
                        from chalicelib.observability import logger

                        logger.debug(
                            "snapshot saved", extra={"seconds": round(time.monotonic() - started, 3)}
                        )
                except Exception:  # a failed snapshot must not stop the stack; the next one tries again
                    from chalicelib.observability import logger

                    logger.exception("snapshot failed")

        self._thread = threading.Thread(target=loop, name="leadflow-snapshots", daemon=True)
        self._thread.start()

    def stop_periodic(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
