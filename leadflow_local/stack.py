"""The local stack: moto's server, the resources of ``infra/template.json``, the real Chalice app over
HTTP, and the pump; one process, stopped by Ctrl-C or SIGTERM. With a data directory its data outlives
a restart (``leadflow_local/persistence.py``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadflow_local import project
from leadflow_local.people import DemoPerson
from leadflow_local.persistence import Gate, Persistence, Restored
from leadflow_local.pump import BucketPoller, Pump, QueuePoller, ScheduleRunner, StreamPoller
from leadflow_local.resources import (
    LocalResources,
    bucket_events,
    create_resources,
    environment,
    event_sources,
    load_template,
)

PROJECT_DIR = project.ROOT
REGION = "us-east-1"
RESOURCE_PREFIX = "leadflow-local-"


#: Connections the API and moto accept waiting to be served (``listen(2)``'s backlog). Chalice's own
#: server listens with 5: 20 clients at once saw 6 to 8 connection resets; the kernel caps this at
#: ``net.core.somaxconn`` (4096 on current Linux).
LISTEN_BACKLOG = 1024


#: How long the local pump sleeps when nothing arrives and nothing is written (seconds).
IDLE_POLL_SECONDS = 5.0


class MotoServer:
    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from leadflow_local import inprocess, moto_index, moto_speed, moto_transactions

        # one DynamoDB request at a time, as DynamoDB applies each conditional write atomically
        # (moto_transactions.DYNAMODB_LOCK); the gate lets snapshots copy moto's state while nothing moves
        moto_transactions.install()
        moto_speed.install()  # DynamoDB's data-plane answers written with json (moto_speed.py)
        moto_index.install()  # a query reads its partition, not the whole table (moto_index.py)
        # the stack's own clients (functions, pump) reach moto without a socket: leadflow_local/inprocess.py
        inprocess.install()
        self.gate = Gate(DomainDispatcherApplication(create_backend_app))
        self.server = make_server(host, port, self.gate, threaded=True, request_handler=MotoRequestHandler)
        self.server.socket.listen(LISTEN_BACKLOG)  # werkzeug listens with 128
        self.port = self.server.server_port
        self.endpoint = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)

    def start(self) -> None:
        import logging

        from leadflow_local import inprocess

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.thread.start()
        inprocess.route(self.endpoint, self.gate)

    def stop(self) -> None:
        from leadflow_local import inprocess

        inprocess.unroute(self.endpoint)
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()  # the port is free again (a restart in the same process binds it)


def aws_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def stage_environment(stage: str = "dev") -> dict[str, str]:
    import json

    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return {
        **config.get("environment_variables", {}),
        **config.get("stages", {}).get(stage, {}).get("environment_variables", {}),
    }


def _functions_environment(env: dict[str, str], host: str, port: int) -> dict[str, str]:
    """What the functions see: the stage's settings, the template's, and two of this stack's own."""
    functions_env = {**stage_environment(), **env}
    # e-mail's tracked links, pixel and unsubscribe point at this stack (unless told otherwise)
    functions_env.setdefault("PUBLIC_BASE_URL", os.environ.get("PUBLIC_BASE_URL") or f"http://{host}:{port}")
    # a demo clicks its e-mail's link right after sending it: no scanner window (docs/email.md)
    functions_env["MAIL_SCAN_SECONDS"] = os.environ.get("MAIL_SCAN_SECONDS", "0")
    return functions_env


def _upgrade_restored() -> None:
    """A snapshot from before issue 19's list indexes: its contacts and quarantined submissions get the
    index keys the lists read, its contacts their duplicate blocking keys (``chalicelib/store/
    backfill.py``; nothing to do the next time)."""
    from chalicelib import wiring
    from chalicelib.store.backfill import backfill_duplicate_keys, backfill_list_keys

    wiring.deps()
    backfill_list_keys()
    backfill_duplicate_keys()


def provision(endpoint: str) -> tuple[LocalResources, dict[str, str]]:
    """Create the template's resources on the moto server at ``endpoint``; return them and the
    environment the functions see."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
        region_name=REGION,
    )
    found = create_resources(
        load_template(),
        session.client("dynamodb", endpoint_url=endpoint),
        session.client("sqs", endpoint_url=endpoint),
        RESOURCE_PREFIX,
        session.client("s3", endpoint_url=endpoint),
        session.client("sesv2", endpoint_url=endpoint),
        session.client("cognito-idp", endpoint_url=endpoint),
    )
    env = environment(load_template(), found)
    # moto serves the pool's keys and the Cognito API on its own endpoint (its tokens name the AWS issuer)
    env["COGNITO_JWKS_URL"] = f"{endpoint}/{found.cognito['UserPool']}/.well-known/jwks.json"
    env["COGNITO_ENDPOINT"] = f"{endpoint}/"
    return found, env


def build_pump(app: Any, found: LocalResources, endpoint: str | None) -> Pump:
    import boto3
    from chalice.utils import to_cfn_resource_name

    session = boto3.session.Session(region_name=REGION)
    streams = session.client("dynamodbstreams", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    handlers = {to_cfn_resource_name(name): name for name in app.handler_map}
    batch_sizes = {
        to_cfn_resource_name(source.name): source.batch_size
        for source in app.event_sources
        if hasattr(source, "batch_size")
    }
    pollers: list[Any] = []
    for source in event_sources(load_template()):
        handler = app.handler_map[handlers[source.function]]
        size = batch_sizes.get(source.function, source.batch_size)
        if source.kind == "DynamoDB":
            pollers.append(StreamPoller(source, handler, size, found, streams, sqs, REGION))
        else:
            pollers.append(QueuePoller(source, handler, size, found, sqs, REGION))
    s3 = session.client("s3", endpoint_url=endpoint)
    for subscription in bucket_events(load_template()):
        handler = app.handler_map[handlers[subscription.function]]
        bucket = found.buckets[subscription.bucket]
        pollers.append(BucketPoller(subscription.function, handler, bucket, subscription.prefix, s3, REGION))
    return Pump(pollers)


def schedules(app: Any) -> list[ScheduleRunner]:
    """The app's scheduled functions (``@app.schedule``), run by the local stack's pump."""
    runners = []
    for source in app.event_sources:
        expression = getattr(source, "schedule_expression", None)
        if expression is not None:
            text = expression if isinstance(expression, str) else expression.to_string()
            runners.append(ScheduleRunner(source.name, app.handler_map[source.name], text, REGION))
    return runners


class StartFailed(Exception):
    """The stack could not start (a port taken meanwhile, moto or the template failing): one line."""


@dataclass
class Stack:
    api_url: str
    aws_endpoint: str
    api_key: str
    resources: LocalResources
    pump: Pump
    #: the functions' environment: table and queue names (what the CLI's AWS-side commands need)
    environment: dict[str, str]
    #: Where the data is kept across restarts (``None``: in memory only), and the snapshot it started
    #: from (``None``: it started empty).
    data_dir: Path | None = None
    restored: Restored | None = None
    snapshot_seconds: float = 30.0
    #: The demo people who can sign in to the console (``leadflow_local/people.py``).
    people: tuple[DemoPerson, ...] = ()
    #: What warming the functions did before the stack was ready (``leadflow_local/warm.py``), and how
    #: long it took; ``None`` with ``LEADFLOW_LOCAL_WARM=0``.
    warmed: dict[str, Any] | None = None


@contextmanager
def running(
    host: str = "127.0.0.1",
    port: int = 8000,
    aws_port: int = 5000,
    api_key: str | None = None,
    data_dir: Path | None = None,
    snapshot_seconds: float = 30.0,
) -> Iterator[Stack]:
    """Everything up, inside the ``with``; everything stopped after it (a last snapshot first, with a
    ``data_dir``)."""
    from chalicelib import wiring
    from leadflow_local import warm

    warming = _warming()
    serialise_metrics()
    try:
        moto = MotoServer(host, aws_port)
    except OSError as exc:
        raise StartFailed(f"moto cannot listen on {host}:{aws_port}: {exc.strerror or exc}") from exc
    persistence = Persistence(data_dir, moto.gate, snapshot_seconds) if data_dir is not None else None
    restored = persistence.restore() if persistence is not None else None  # before moto serves anyone
    moto.start()
    try:
        os.environ.update(aws_environment(moto.endpoint))
        found, env = provision(moto.endpoint)
        functions_env = _functions_environment(env, host, port)
        os.environ.update(functions_env)
        wiring.reset()
        if restored is not None:
            _upgrade_restored()
        key = _admin_key(api_key)
        people = _demo_people(moto.endpoint, found)
        try:
            app, server = _chalice_server(host, port)
        except OSError as exc:
            raise StartFailed(f"the API cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        pump = _pump(app, found, moto, restored)
        # a developer's first request is not a cold one: imports, models and clients, before serving
        warmed = warm.warm(app) if warming else None
        web = threading.Thread(target=server.serve_forever, name="chalice-local", daemon=True)
        pump.start()
        if persistence is not None:
            persistence.start_periodic(pump.positions)
        web.start()  # the API answers last: when it does, everything behind it runs
        try:
            url = f"http://{host}:{server.server.server_port}"
            yield Stack(
                url,
                moto.endpoint,
                key,
                found,
                pump,
                functions_env,
                data_dir,
                restored,
                snapshot_seconds,
                people,
                warmed,
            )
        finally:
            if persistence is not None:
                persistence.stop_periodic()
            server.shutdown()
            server.server.server_close()
            pump.stop()
            pump.join(timeout=30)
            if persistence is not None:
                persistence.save(pump.positions)
    finally:
        moto.stop()


_METRICS_LOCK = threading.RLock()


def serialise_metrics() -> None:
    """Powertools' Metrics, one per process, is not thread-safe: Lambda runs one invocation per
    process at a time, the local stack serves its API on threads and runs its lanes side by side. A
    flush that found metrics could serialise a set another thread's flush had just emptied
    (``SchemaValidationError: Must contain at least one metric``, a 500 now and then under
    ``scripts/hostile.py``'s crowd). Here every change and flush of the process's metrics takes one
    lock (idempotent; local stack only)."""
    import functools

    from chalicelib.observability import metrics

    provider = getattr(metrics, "provider", metrics)
    for name in (
        "add_metric",
        "add_dimension",
        "add_metadata",
        "add_cold_start_metric",
        "clear_metrics",
        "flush_metrics",
    ):
        method = getattr(provider, name, None)
        if method is None or getattr(method, "_leadflow_serialised", False):
            continue

        def locked(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with _METRICS_LOCK:
                return _method(*args, **kwargs)

        functools.update_wrapper(locked, method)
        locked._leadflow_serialised = True  # type: ignore[attr-defined]
        setattr(provider, name, locked)


def _warming() -> bool:
    """Warm the functions at startup (``LEADFLOW_LOCAL_WARM=0``: leave them cold, to compare)? The
    shared botocore loader comes first, before any client: every later one reads models from memory."""
    from leadflow_local import warm

    if os.environ.get("LEADFLOW_LOCAL_WARM", "1") == "0":
        return False
    warm.share_botocore_loader()
    return True


def _pump(app: Any, found: LocalResources, moto: MotoServer, restored: Any) -> Any:
    """The stream, queue and schedule pump, woken by what moto adds to a stream or a queue (each lane
    by its own: ``pump.listen_to_moto``) and S3's lane by every write: it need not poll often when
    idle (issue 19: idle CPU); what arrives with no write (a retry's delay, a message becoming
    visible, a schedule) waits at most :data:`IDLE_POLL_SECONDS`."""
    from leadflow_local.pump import listen_to_moto

    pump = build_pump(app, found, moto.endpoint)
    pump.pollers.extend(schedules(app))
    pump.idle_seconds = IDLE_POLL_SECONDS
    moto.gate.on_write = pump.written
    listen_to_moto(pump)
    if restored is not None:
        pump.resume(restored.pump)
    return pump


def _demo_people(endpoint: str, found: LocalResources) -> tuple[DemoPerson, ...]:
    import boto3

    from chalicelib import wiring
    from leadflow_local import people

    cognito = boto3.session.Session(region_name=REGION).client("cognito-idp", endpoint_url=endpoint)
    return people.seed(cognito, found.cognito["UserPool"], wiring.deps().people)


def _admin_key(secret: str | None) -> str:
    from chalicelib import wiring
    from chalicelib.services.access import create_key

    secret, _ = create_key("local admin", ["admin"], wiring.deps().store, secret=secret)
    return secret


def _chalice_server(host: str, port: int) -> tuple[Any, Any]:
    """The real app on Chalice's local server, on a threading server with a long listen backlog
    (:data:`LISTEN_BACKLOG`; Chalice's listens with 5)."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer, ThreadedHTTPServer

    class Server(ThreadedHTTPServer):
        request_queue_size = LISTEN_BACKLOG
        allow_reuse_address = True
        # a browser's idle keep-alive connection holds its thread: stopping must not wait for it
        daemon_threads = True
        block_on_close = False

    factory = CLIFactory(str(PROJECT_DIR))
    config = factory.create_config_obj(chalice_stage_name="dev")
    app = factory.load_chalice_app()
    # what chalice.local.create_local_server does, with our server class (once per process: the app
    # module is imported once, so a second stack in the same process finds the class already swapped)
    if not isinstance(app, CustomLocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return app, LocalDevServer(app, config, host, port, server_cls=Server)
