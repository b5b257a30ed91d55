"""Warm the local stack's functions before it says it is ready (issue 19, item 4: a developer's first
request is not a cold one).

In Lambda each function is its own process and pays its cold start once (``import app`` is kept
small on purpose: routes name their models and import their services when first served, see
``docs/house-report.md``). The local stack is one long-lived process, so the lazy part of every cold
start (the modules the routes and handlers import when first called, the pydantic models the routes
name, the AWS clients the stores build) was paid by whoever called first: a form POST took about
ten times its warm time. Here the stack pays it once at startup, without writing anything:

1. every module of ``chalicelib`` is imported, and every module those modules import inside a
   function (found by reading their source: the lazy imports, e.g. Powertools' batch and idempotency
   utilities, PynamoDB, the services), so nothing is left to import on a first call;
2. every model a route names (``chalicelib.api.http.OPERATIONS``) is built;
3. every PynamoDB model's connection builds its botocore client, and every store in
   ``wiring.deps()`` builds its clients (each ``cached_property`` of theirs that makes one, and the
   client of the PynamoDB connection a store writes its transactions with); every idempotent
   route's Powertools persistence layer and its client (``wiring.idempotent``, found by reading the
   routes' ``replay_safe(bp, "operation", function, ...)`` calls); and the moto modules moto itself
   imports on the first write to a table with a stream (its Lambda, Kinesis and Logs models: 20 ms);
4. Powertools' Tracer is made (the middleware makes it on the first invocation of any function);
5. botocore's data loader is shared by every botocore session of the process: a client built later
   (PynamoDB makes a session per thread, the idempotency layer one per operation) reads its service
   model from memory instead of parsing botocore's JSON files again (about 0.1 s each here);
6. the caches the stream and queue functions read on every call are filled (:func:`_fill_caches`:
   the active scoring models, the qualification rules and triggers, the journeys' heads, the
   assignment rules; reads only). Each is re-read at most every ``MODELS_CACHE_SECONDS`` (15) in
   any case, so the first call finds what any call within that time finds (``score_changes``' first
   call was 5x its warm one: its first read of the active models).

Local stack only: Lambda never imports this module.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import pkgutil
import threading
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from chalicelib.observability import logger

#: Lazy imports left cold: ``app`` (the Chalice app is loaded from its file once; a second import would
#: build a second app) and the predictive model's training libraries (scikit-learn, numpy: seconds of
#: import for a job that runs rarely; its function still pays them on its first run).
SKIP = ("app", "sklearn", "numpy", "threadpoolctl")

#: The names the stores give the ``cached_property`` that builds their AWS client.
_CLIENT_PROPERTIES = ("client", "_client", "_sqs", "sqs", "s3")

_SHARED_LOADER: list[Any] = []
_LOCK = threading.Lock()


def share_botocore_loader() -> None:
    """Every botocore session created from now on reads service models through one loader (whose
    cache is per loader: by default each new session parses the same JSON files again)."""
    from botocore import loaders, session

    with _LOCK:
        if _SHARED_LOADER:
            return
        original = loaders.create_loader

        def create_loader(search_path_string: str | None = None) -> Any:
            if search_path_string is not None:  # a session with its own data path keeps its own loader
                return original(search_path_string)
            if not _SHARED_LOADER:
                _SHARED_LOADER.append(original())
            return _SHARED_LOADER[0]

        loaders.create_loader = create_loader
        session.create_loader = create_loader  # botocore.session imported the name


def _lazy_imports(path: Path) -> set[str]:
    """The modules a source file imports inside its functions (absolute imports only)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                found.update(alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                found.add(inner.module)
                found.update(f"{inner.module}.{alias.name}" for alias in inner.names)
    return found


def _import_all() -> int:
    import chalicelib

    names = {info.name for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib.")}
    lazy: set[str] = set()
    for root in chalicelib.__path__:
        for source in Path(root).rglob("*.py"):
            lazy |= _lazy_imports(source)
    imported = 0
    for name in sorted(names) + sorted(lazy - names):
        if name.split(".")[0] in SKIP:
            continue
        try:
            importlib.import_module(name)
            imported += 1
        except Exception:  # noqa: S112 - optional (training) dependencies, names that are not modules
            continue
    return imported


def _build_models() -> int:
    from chalicelib.api.http import OPERATIONS, model

    built = 0
    for operation in list(OPERATIONS.values()):
        for name in (operation.body, operation.query, operation.response):
            if isinstance(name, str):
                with contextlib.suppress(Exception):
                    model(name)
                    built += 1
    return built


def _subclasses(cls: Any) -> list[Any]:
    found: list[Any] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _build_clients() -> int:
    from pynamodb.models import Model

    from chalicelib import wiring

    built = 0
    for model in _subclasses(Model):
        meta = getattr(model, "Meta", None)
        if getattr(meta, "table_name", None) and getattr(meta, "host", None) is not None:
            with contextlib.suppress(Exception):
                model._get_connection().connection.client  # noqa: B018 - built on first access
                built += 1
    deps = wiring.deps()
    dependencies = list(vars(deps).values())
    dependencies += [d for found in dependencies if isinstance(found, dict) for d in found.values()]
    for dependency in dependencies:
        lazy_sqs = getattr(dependency, "_sqs", None)  # integrations/sqs.py: a method, not a property
        if callable(lazy_sqs):
            with contextlib.suppress(Exception):
                lazy_sqs()
                built += 1
        for klass in type(dependency).__mro__:
            for name, attribute in vars(klass).items():
                if isinstance(attribute, cached_property) and name in _CLIENT_PROPERTIES:
                    with contextlib.suppress(Exception):
                        getattr(dependency, name)
                        built += 1
        connection = getattr(dependency, "_connection", None)  # PynamoDB's, for TransactWrite
        if connection is not None and hasattr(type(connection), "client"):
            with contextlib.suppress(Exception):
                connection.client  # noqa: B018 - built on first access
                built += 1
    return built + _build_idempotency_layers()


def _replay_safe_calls(path: Path) -> list[tuple[str, str]]:
    """``(operation, function name)`` of each ``replay_safe(bp, "operation", function, ...)`` call in a
    source file whose operation is a plain string and function a name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "replay_safe"
            and len(node.args) >= 3
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and isinstance(node.args[2], ast.Name)
        ):
            found.append((node.args[1].value, node.args[2].id))
    return found


def _build_idempotency_layers() -> int:
    """What an idempotent route builds on its first call (``wiring.idempotent`` is cached per operation
    and function): Powertools' persistence layer and its DynamoDB client."""
    import chalicelib.api
    from chalicelib import wiring

    built = 0
    for root in chalicelib.api.__path__:
        for source in sorted(Path(root).glob("*.py")):
            module = importlib.import_module(f"chalicelib.api.{source.stem}")
            for operation, name in _replay_safe_calls(source):
                function = getattr(module, name, None)
                if callable(function):
                    with contextlib.suppress(Exception):
                        wiring.idempotent(operation, function)
                        built += 1
    return built


#: What moto imports on the first write to a table with a stream (``StreamShard.add`` looks for Lambda
#: event source mappings) and with it: the stack's first write paid these otherwise.
_MOTO_LAZY = ("moto.awslambda.models", "moto.kinesis.models", "moto.logs.models")


def _import_moto_lazy() -> int:
    imported = 0
    for name in _MOTO_LAZY:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
            imported += 1
    return imported


def _fill_caches() -> int:
    """The per-container caches the functions read on every call, filled now (reads only)."""
    from chalicelib import wiring
    from chalicelib.services import rules, scoring

    deps = wiring.deps()
    seconds = deps.settings.models_cache_seconds
    fills = (
        lambda: scoring.active_models(deps),
        lambda: rules.load_rules(deps),
        lambda: rules.load_triggers(deps),
        lambda: deps.journeys.heads(seconds),
        lambda: deps.people.assignment_rules(seconds),
    )
    filled = 0
    for fill in fills:
        with contextlib.suppress(Exception):  # a store this deployment lacks: its function pays it
            fill()
            filled += 1
    return filled


def _build_middleware_chains(app: Any) -> int:
    """What Chalice does on a stream, queue or schedule function's first invocation: its middleware
    chain (``EventSourceHandler.__call__`` builds it when ``handler`` is ``None``), built the same way."""
    built = 0
    for function in getattr(app, "handler_map", {}).values():
        if getattr(function, "handler", False) is None and hasattr(function, "_build_middleware_handlers"):
            with contextlib.suppress(Exception):
                function.handler = function._build_middleware_handlers(
                    function.middleware_handlers, original_handler=function.func
                )
                built += 1
    return built


def warm(app: Any = None) -> dict[str, Any]:
    """Do it all (the stack's environment already set, ``wiring`` reset); what was done and how long.
    With the Chalice ``app``, its functions' middleware chains are built too."""
    started = time.perf_counter()
    share_botocore_loader()
    modules = _import_all() + _import_moto_lazy()
    models = _build_models()
    clients = _build_clients()
    from chalicelib.observability import tracer

    tracer()  # Powertools' Tracer, made on a function's first invocation (its SDK's import)
    caches = _fill_caches()
    chains = _build_middleware_chains(app) if app is not None else 0
    report = {
        "modules": modules,
        "models": models,
        "clients": clients,
        "caches": caches,
        "middleware_chains": chains,
        "seconds": round(time.perf_counter() - started, 2),
    }
    logger.debug("functions warmed", extra=report)
    return report
