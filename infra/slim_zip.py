"""Take out of ``chalice package``'s deployment zip what the Lambda Python runtime already has and the
development code: ``python infra/slim_zip.py out/deployment.zip``. ``make package`` does this itself;
the rules are in ``leadflow_local/packaging.py``."""

from __future__ import annotations

import argparse
from pathlib import Path

from leadflow_local.packaging import left_out, provided_by_runtime, slim

__all__ = ["left_out", "provided_by_runtime", "slim"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("zip", type=Path)
    args = parser.parse_args(argv)
    before, after = slim(args.zip)
    print(f"{args.zip}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB (what the runtime has left out)")


if __name__ == "__main__":
    main()
