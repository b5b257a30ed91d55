"""Build what is deployed: ``chalice package`` for Lambda's runtime and architecture, a slim zip, and
the template with what Chalice cannot express (``infra/template.json`` merged, then the operability
resources of :mod:`leadflow_local.operability`).

    python -m leadflow_local.packaging --stage prod out/

writes ``out/sam.json`` (a SAM template whose ``CodeUri`` is ``./deployment.zip``) and
``out/deployment.zip``. :func:`expand` runs the SAM transform locally (``aws-sam-translator``, the
library CloudFormation's own transform is built from), so what is linted, checked for cycles and
created on moto in CI is exactly what ``leadflow deploy`` hands to CloudFormation.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadflow_local import project

PROJECT_DIR = project.ROOT
MERGE_TEMPLATE = PROJECT_DIR / "infra" / "template.json"

#: Lambda's runtime for every function. Chalice takes the runtime from the Python that runs it (3.11
#: here); Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34) and is supported for longer.
LAMBDA_RUNTIME = "python3.12"
#: Read from ``.chalice/config.json`` (``lambda_architecture``); arm64 costs 20% less per GB-second.
ARCHITECTURE_KEY = "lambda_architecture"

#: Top-level distributions the Lambda Python runtime provides (import names and their metadata).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
_DIST_INFO = re.compile(
    r"^(boto3|botocore|s3transfer|jmespath|python_dateutil|six|urllib3)-[^/]+\.(dist-info|data)$"
)
#: Files no function reads: Powertools' Swagger UI (its event handler's; our routes are Chalice's),
#: type stubs, the X-Ray SDK's patches for libraries Leadflow does not use (only botocore is patched;
#: Powertools reads ``ext/httplib``), the bytecode caches `chalice package` copies from a checkout where
#: tests ran (about 0.4 MB of ``chalicelib/**/__pycache__``: another interpreter's; Lambda compiles
#: what it imports), and dnspython (email-validator imports it only for deliverability checks, which
#: Leadflow never asks for: ``check_deliverability=False``; leaving it out, 0.33 MB, makes room for
#: RE2), and pydantic's v1 compatibility package and mypy plugin (0.14 MB: pydantic 2 reaches
#: ``pydantic.v1`` only for a type that defines ``__get_validators__``, which nothing in the zip does),
#: and pyasn1 with rsa's command line (``rsa`` imports pyasn1 only to load or save key files; Leadflow
#: builds keys from the JWKS's numbers: the zip was 5,070,564 bytes with them, over the 5,000,000 budget).
#: The development code (this package: the local stack, the operator CLI, these build tools)
#: needs no rule: it lives outside ``chalicelib/``, and ``chalice package`` copies only ``app.py``,
#: ``chalicelib/`` and the requirements.
_UNUSED = re.compile(
    r"^aws_lambda_powertools/event_handler/openapi/swagger_ui/.*\.(js|css)$|\.pyi$"
    r"|(^|/)__pycache__/|\.pyc$|^dns/|^dnspython-[^/]+\.dist-info/|^pydantic/v1/|^pydantic/mypy\.py$"
    r"|^pyasn1/|^pyasn1-[^/]+\.dist-info/|^rsa/cli\.py$"
    r"|^wrapt/_wrappers\.c$|^aws_xray_sdk/ext/(aiobotocore|aiohttp|bottle|dbapi2\.py|django|flask"
    r"|flask_sqlalchemy|httpx|mysql|pg8000|psycopg|psycopg2|pymongo|pymysql|pynamodb|requests|sqlalchemy"
    r"|sqlalchemy_core|sqlite3)(/|$)"
)


def provided_by_runtime(name: str) -> bool:
    """``name`` is a path inside the zip."""
    top = name.split("/", 1)[0]
    module = top.removesuffix(".py")
    return module in RUNTIME_PROVIDED or bool(_DIST_INFO.match(top))


def left_out(name: str) -> bool:
    return provided_by_runtime(name) or bool(_UNUSED.search(name))


def slim(path: Path) -> tuple[int, int]:
    """Rewrite the zip at ``path`` without what :func:`left_out` names; (bytes before, bytes after).

    PynamoDB and our own code require botocore and boto3, so Chalice vendors them (16 MB of a 22 MB
    zip). The Lambda Python runtime ships boto3 with botocore, s3transfer, jmespath, python-dateutil, six
    and urllib3, and the function imports those. PynamoDB 6.1 asks for ``botocore>=1.12.54`` and
    Powertools for no particular boto3; every runtime version satisfies both."""
    before = path.stat().st_size
    handle, name = tempfile.mkstemp(suffix=".zip", dir=path.parent)
    os.close(handle)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if not left_out(info.filename):
                target.writestr(info, source.read(info))
    shutil.move(name, path)
    return before, path.stat().st_size


@dataclass(frozen=True)
class Packaged:
    template: Path  # the SAM template (``sam.json``)
    zip: Path
    zip_bytes_before_slim: int
    zip_bytes: int

    def sam(self) -> dict[str, Any]:
        return dict(json.loads(self.template.read_text()))


class PackagingError(RuntimeError):
    """``chalice package`` failed (its last lines say why: often the package index is unreachable)."""


def package(stage: str, out: Path, timeout: float = 900) -> Packaged:
    """Package the app for ``stage`` into ``out`` (a fresh interpreter: Chalice is patched there)."""
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "leadflow_local.packaging", "--stage", stage, str(out)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise PackagingError(f"packaging failed:\n{tail}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Packaged(out / "sam.json", out / "deployment.zip", report["before"], report["after"])


def _patch_chalice_for_runtime(runtime: str) -> None:
    """Two changes so Chalice builds for ``runtime`` while another Python runs it:

    - ``Config.lambda_python_version`` is the running interpreter's version in Chalice 1.34; here it is
      Lambda's runtime, so the template says ``python3.12`` and wheels are chosen for ``cp312``;
    - Chalice asks pip for Lambda-platform wheels with ``--platform`` and ``--abi`` but no
      ``--python-version``, so pip matches them against the running interpreter's version and finds
      no ``cp312`` wheel (pydantic-core); the version is added."""
    from chalice import config
    from chalice.deploy import packager

    config.Config.lambda_python_version = property(lambda _self: runtime)  # type: ignore[method-assign,assignment]
    execute = packager.PipRunner._execute
    version = runtime.removeprefix("python")

    def _execute(self: Any, command: str, args: list[str], *rest: Any, **kwargs: Any) -> Any:
        if command == "download" and "--platform" in args and "--python-version" not in args:
            args = ["--python-version", version, *args]
        return execute(self, command, args, *rest, **kwargs)

    packager.PipRunner._execute = _execute  # type: ignore[method-assign]


def _chalice_package(stage: str, out: Path) -> None:
    import io
    from contextlib import redirect_stdout

    from chalice.cli import main as chalice_main

    _patch_chalice_for_runtime(LAMBDA_RUNTIME)
    argv = ["chalice", "--project-dir", str(PROJECT_DIR), "package", "--pkg-format", "cloudformation"]
    argv += ["--merge-template", str(MERGE_TEMPLATE), "--stage", stage, str(out)]
    sys.argv = argv
    # Chalice needs a region to build its template, and no AWS call is made: never ask EC2 for one
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    captured = io.StringIO()
    code: Any
    try:
        with redirect_stdout(captured):
            code = chalice_main()
    except SystemExit as exit_:  # click ends with SystemExit(0) on success
        code = exit_.code
    if code not in (0, None) or not (out / "deployment.zip").exists():
        raise PackagingError(captured.getvalue() or f"chalice package exited with {code}")
    if "Could not install dependencies" in captured.getvalue():
        # Chalice only warns and packages without them: a zip that fails at its first import
        raise PackagingError(captured.getvalue())


#: The functions' architecture (``.chalice/config.json``'s ``lambda_architecture``) for the training layer.
ARCHITECTURE = "arm64"


def training_layer(out: Path) -> Path:
    """The training function's layer (numpy, scipy, scikit-learn: ``infra/build_training_layer.py``)
    beside the zip, for the functions' runtime and architecture; ``TrainingLayer`` in the template
    points at it, and ``leadflow deploy`` uploads it (unless the stage names its own ``TrainingLayerArn``)."""
    sys.path.insert(0, str(PROJECT_DIR / "infra"))
    try:
        from build_training_layer import cached_build
    finally:
        sys.path.pop(0)
    path = out / "training-layer.zip"
    cached_build(ARCHITECTURE, LAMBDA_RUNTIME.removeprefix("python"), path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    _chalice_package(args.stage, args.out.resolve())
    before, after = slim(args.out / "deployment.zip")
    layer = training_layer(args.out)
    from leadflow_local import operability

    sam_path = args.out / "sam.json"
    sam = operability.add(json.loads(sam_path.read_text()))
    sam_path.write_text(json.dumps(sam, indent=2) + "\n")
    print(
        f"{args.out / 'deployment.zip'}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB "
        f"(without what the runtime has and the development code); {sam_path}: "
        f"{sam_path.stat().st_size:,} bytes; {layer}: training layer",
        file=sys.stderr,
    )
    print(json.dumps({"before": before, "after": after}))


# ---------------------------------------------------------------- the SAM transform, run here


def expand(
    sam: dict[str, Any], code_uri: str, region: str, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of ``sam`` in ``region``, with every
    function's code at ``code_uri`` (``s3://bucket/key``). Parameters keep their ``Ref``s: the values
    given here only matter where SAM itself must read one (none of Leadflow's do).

    SAM asks IAM for AWS-managed policy ARNs only for functions without a ``Role``; every Leadflow
    function has its own role, so nothing is looked up and expanding makes no AWS call."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    template = copy.deepcopy(sam)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    values = dict(parameters or {})
    to_py27_compatible_template(template, values)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    expanded = translator.translate(template, parameter_values=values, get_managed_policy_map=dict)
    translator.metrics.publish()  # to SAM's no-op publisher: else it warns when collected
    return dict(undo_mark_unicode_str_in_template(expanded))


# ---------------------------------------------------------------- dependency cycles


_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_targets(value: Any) -> set[str]:
    """Resources a ``Fn::Sub`` names: ``${X}`` and ``${X.Attr}`` of its string (``${!X}`` is a
    literal), minus the names its variable map defines; plus whatever the map's values refer to."""
    if isinstance(value, str):
        text, variables = value, {}
    else:
        text, variables = value[0], dict(value[1]) if len(value) > 1 else {}
    names = {match.split(".", 1)[0] for match in _SUB_NAME.findall(text)} - set(variables)
    for nested in variables.values():
        names |= references(nested)
    return names


def references(value: Any) -> set[str]:
    """Every logical id ``value`` refers to by ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``, at any depth."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner.split(".", 1)[0] if isinstance(inner, str) else str(inner[0]))
                if not isinstance(inner, str):
                    found |= references(inner[1:])
            elif key == "Fn::Sub":
                found |= _sub_targets(inner)
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """Resource -> the resources it needs first (references and ``DependsOn``); parameters, pseudo
    parameters and conditions are not resources and are left out."""
    resources = template.get("Resources", {})
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        needs = references({k: v for k, v in resource.items() if k != "DependsOn"})
        depends = resource.get("DependsOn", [])
        needs |= {depends} if isinstance(depends, str) else set(depends)
        graph[name] = {target for target in needs if target in resources}
    return graph


def cycles(template: dict[str, Any]) -> list[list[str]]:
    """Each dependency cycle once, as the path that closes it (``[A, B, A]``); ``[]`` when none."""
    graph = dependencies(template)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


if __name__ == "__main__":
    main()
