"""Build the training function's Lambda layer: numpy, scipy and scikit-learn (``requirements-training.txt``)
for the functions' platform, into ``out/training-layer.zip``, with its sizes measured.

The API and stream functions never load these (``chalicelib/domain/predictive_trees_training.py``
imports them inside the training functions only), so the deployment zip stays as it is; only the
functions that train attach the layer (``TrainingLayer`` in ``infra/template.json``).

    .venv/bin/python infra/build_training_layer.py                 # arm64, CPython 3.12 (the functions')
    .venv/bin/python infra/build_training_layer.py --arch x86_64 --python 3.11   # this machine's (tests)

``make package`` (``leadflow_local/packaging.py``) builds it beside the deployment zip, for the
functions' runtime and architecture, and keeps a copy per requirements, runtime and architecture in
``build/`` so a second package does not download it again. The wheels are manylinux2014 or
manylinux_2_28 (glibc 2.17 or 2.28): the python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34).
Test suites, Cython sources and caches are left out (no import needs them). Lambda allows 250 MB
unzipped for a function and all its layers together: the script refuses a layer above ``MAX_MB``,
which leaves room for the function's own zip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
}
#: Lambda's limit is 250 MB unzipped for the function and its layers; the app's zip is ~15 MB unzipped.
MAX_MB = 230
LEFT_OUT_DIRS = {"tests", "__pycache__"}
#: numpy.testing (which scipy imports) reads a helper from numpy's own tests: kept.
KEPT = ("numpy/_core/tests",)
LEFT_OUT_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".cpp", ".h")


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def cached_build(arch: str, python: str, out: Path) -> dict[str, float]:
    """:func:`build` into ``out``, from the copy in ``build/`` when the requirements, runtime and
    architecture are the same as last time."""
    digest = hashlib.sha256((ROOT / "requirements-training.txt").read_bytes()).hexdigest()[:12]
    kept = ROOT / "build" / f"training-layer-{arch}-py{python}-{digest}.zip"
    sizes_file = kept.with_suffix(".json")
    if not (kept.is_file() and sizes_file.is_file()):
        sizes = build(arch, python, kept, ROOT / "build" / f"training-layer-{arch}-py{python}")
        sizes_file.write_text(json.dumps(sizes))
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kept, out)
    return dict(json.loads(sizes_file.read_text()))


def build(arch: str, python: str, out: Path, work: Path) -> dict[str, float]:
    target = work / "python"
    shutil.rmtree(work, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run(  # noqa: S603 (a fixed command: pip, with the pinned requirements)
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            *[option for platform in PLATFORMS[arch] for option in ("--platform", platform)],
            "--implementation",
            "cp",
            "--python-version",
            python,
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(ROOT / "requirements-training.txt"),
        ],
        check=True,
    )
    installed = tree_size(target)
    for path in sorted(target.rglob("*"), reverse=True):
        if path.relative_to(target).as_posix().startswith(KEPT):
            continue
        if path.is_dir() and path.name in LEFT_OUT_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in LEFT_OUT_SUFFIXES:
            path.unlink()
    unzipped = tree_size(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(target.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(work).as_posix())
    return {
        "installed_mb": installed / 1e6,
        "unzipped_mb": unzipped / 1e6,
        "zip_mb": out.stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument("--python", default="3.12", help="the functions' runtime version")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "training-layer.zip")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "training-layer")
    args = parser.parse_args()
    sizes = build(args.arch, args.python, args.out, args.work)
    print(
        f"{args.out}: {sizes['zip_mb']:.1f} MB zipped, {sizes['unzipped_mb']:.1f} MB unzipped "
        f"({sizes['installed_mb']:.1f} MB as installed; Lambda's limit: 250 MB with the function)"
    )
    if sizes["unzipped_mb"] > MAX_MB:
        raise SystemExit(f"the layer takes {sizes['unzipped_mb']:.1f} MB unzipped, more than {MAX_MB} MB")


if __name__ == "__main__":
    main()
