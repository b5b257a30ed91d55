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


def native_packages(code: Path) -> dict[str, tuple[str, str]]:
    """Top-level packages or modules of the extracted zip that hold compiled code (``pydantic_core``,
    ``_re2``) -> their distribution and its version. Fails when a compiled file is not built for
    Lambda's python3.12 on arm64."""
    found: list[str] = []
    for library in code.rglob("*.so"):
        relative = library.relative_to(code)
        assert LAMBDA_EXTENSION.search(library.name), f"{relative} is not built for python3.12/arm64"
        found.append(relative.parts[0] if len(relative.parts) > 1 else library.name.split(".")[0])
    owners: dict[str, tuple[str, str]] = {}
    for entry in code.iterdir():
        match = _DIST.match(entry.name + "/")
        if match:
            top_level = entry / "top_level.txt"
            names = top_level.read_text().split() if top_level.exists() else [match.group(1)]
            for name in names:
                owners[name] = (match.group(1), match.group(2))
    return {name: owners.get(name, (name, "")) for name in found}


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
    for name, (distribution, version) in native_packages(code).items():
        assert metadata.version(distribution) == version, f"{distribution}: the zip has {version}"
        # a package is a directory; a top-level extension module is this machine's build of it
        for local in [site / name] if (site / name).is_dir() else site.glob(f"{name}.*.so"):
            (native / local.name).symlink_to(local)
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    return [native, code, runtime]
