"""Running the deployment zip's code on this machine, as close to Lambda as it gets here.

The zip is built for Lambda (python3.12, arm64): its compiled extensions (``pydantic_core``) cannot
load in this x86_64 Python 3.11. Everything else runs from the zip; each package with compiled code
is taken from this environment instead, and only after checking that the zip holds the same version
built for Lambda's runtime and architecture (:func:`native_packages`)."""

from __future__ import annotations

import re
import zipfile
from importlib import metadata
from pathlib import Path

#: What the Lambda Python runtime adds to the zip's code (``infra/slim_zip.py`` leaves them out).
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
LAMBDA_EXTENSION = re.compile(r"\.cpython-312-aarch64-linux-gnu\.so$")
_DIST = re.compile(r"^([A-Za-z0-9_.]+)-([^-/]+)\.dist-info/$")


def native_packages(code: Path) -> dict[str, str]:
    """Top-level packages of the extracted zip that hold compiled code -> their distribution version.
    Fails when a compiled file is not built for Lambda's python3.12 on arm64."""
    found: dict[str, str] = {}
    for library in code.rglob("*.so"):
        relative = library.relative_to(code)
        assert LAMBDA_EXTENSION.search(library.name), f"{relative} is not built for python3.12/arm64"
        found[relative.parts[0]] = ""
    versions = {}
    for entry in code.iterdir():
        match = _DIST.match(entry.name + "/")
        if match:
            top_level = entry / "top_level.txt"
            names = top_level.read_text().split() if top_level.exists() else [match.group(1)]
            for name in names:
                versions[name] = match.group(2)
    for package in found:
        found[package] = versions.get(package, "")
    return found


def runtime_path(zip_path: Path, where: Path) -> list[Path]:
    """Extract the zip under ``where``; the ``sys.path`` a function sees: this machine's builds of the
    zip's compiled packages (same versions), the zip's code, and the runtime's packages."""
    code = where / "task"
    zipfile.ZipFile(zip_path).extractall(code)
    native = where / "native"
    native.mkdir()
    runtime = where / "runtime"
    runtime.mkdir()
    import botocore

    site = Path(botocore.__file__).parents[1]
    for package, version in native_packages(code).items():
        assert metadata.version(package) == version, f"{package}: the zip has {version}"
        (native / package).symlink_to(site / package)
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    return [native, code, runtime]
