"""Take out of ``chalice package``'s deployment zip what the Lambda Python runtime already has.

    python infra/slim_zip.py out/deployment.zip

PynamoDB and our own code require botocore and boto3, so Chalice vendors them (16 MB of a 22 MB zip).
The Lambda Python runtime ships boto3 with botocore, s3transfer, jmespath, python-dateutil, six and
urllib3, and the function imports those. What must hold for that: PynamoDB 6.1 asks for
``botocore>=1.12.54`` and Powertools for no particular boto3; every runtime version satisfies both. To
pin them instead (say, for a newer API than the runtime's), ship them in a layer.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

#: Top-level distributions the Lambda Python runtime provides (import names and their metadata).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
_DIST_INFO = re.compile(
    r"^(boto3|botocore|s3transfer|jmespath|python_dateutil|six|urllib3)-[^/]+\.(dist-info|data)$"
)
#: Files no function reads: Powertools' Swagger UI (its event handler's; our routes are Chalice's), type
#: stubs, dnspython (email-validator imports it only for deliverability checks, which Leadflow never
#: asks for: ``check_deliverability=False``; leaving it out, 0.33 MB, makes room for RE2), and the
#: bytecode a developer's runs left in ``chalicelib/__pycache__`` (Chalice copies the directory as it
#: is: 0.59 MB of ``.pyc`` for the developer's Python, which Lambda would not use or would recompile).
_UNUSED = re.compile(
    r"^aws_lambda_powertools/event_handler/openapi/swagger_ui/.*\.(js|css)$|\.pyi$"
    r"|^dns/|^dnspython-[^/]+\.dist-info/|(^|/)__pycache__/|\.pyc$"
)


def provided_by_runtime(name: str) -> bool:
    """``name`` is a path inside the zip."""
    top = name.split("/", 1)[0]
    module = top.removesuffix(".py")
    return module in RUNTIME_PROVIDED or bool(_DIST_INFO.match(top))


def left_out(name: str) -> bool:
    return provided_by_runtime(name) or bool(_UNUSED.search(name))


def slim(path: Path) -> tuple[int, int]:
    """Rewrite the zip at ``path`` without the runtime's packages; returns (bytes before, bytes after)."""
    before = path.stat().st_size
    handle, name = tempfile.mkstemp(suffix=".zip", dir=path.parent)
    os.close(handle)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if not left_out(info.filename):
                target.writestr(info, source.read(info))
    shutil.move(name, path)
    return before, path.stat().st_size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zip", type=Path)
    args = parser.parse_args(argv)
    before, after = slim(args.zip)
    print(f"{args.zip}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB (what the runtime has left out)")


if __name__ == "__main__":
    main()
