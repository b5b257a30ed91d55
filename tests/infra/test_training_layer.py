"""The training layer (``infra/build_training_layer.py``): built for the functions' platform from
``requirements-training.txt``, within Lambda's size limit, and the tree trainer runs from it alone
(numpy and scikit-learn loaded from the layer, not from the dev venv)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra"))
from build_training_layer import MAX_MB, cached_build

from leadflow_local.packaging import Packaged


@pytest.fixture(scope="module")
def deployed_layer(packaged_app: Packaged, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The layer ``make package`` builds beside the zip (python3.12, arm64), extracted."""
    out = packaged_app.zip.parent / "training-layer.zip"
    extracted = tmp_path_factory.mktemp("deployed-layer")
    zipfile.ZipFile(out).extractall(extracted)
    return out, extracted


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float], Path]:
    """The same requirements built for this machine (x86_64, CPython 3.11), to run the trainer from."""
    work = tmp_path_factory.mktemp("layer")
    out = work / "training-layer.zip"
    sizes = cached_build("x86_64", "3.11", out)
    extracted = work / "opt"
    zipfile.ZipFile(out).extractall(extracted)
    return out, sizes, extracted


def test_the_deployed_layer_fits_lambdas_limit_holds_the_pinned_libraries_built_for_the_functions(
    deployed_layer: tuple[Path, Path],
):
    _, extracted = deployed_layer
    unzipped = sum(f.stat().st_size for f in extracted.rglob("*") if f.is_file()) / 1e6
    assert unzipped < MAX_MB
    names = {p.name for p in (extracted / "python").iterdir()}
    assert {"numpy", "scipy", "sklearn"} <= names
    assert any(n.startswith("scikit_learn-1.7.2") for n in names), (
        "the version requirements-training.txt pins"
    )
    assert not (extracted / "python" / "sklearn" / "tests").exists(), "test suites are left out"
    libraries = [p.name for p in (extracted / "python").rglob("*.so")]
    assert libraries and all("cpython-312-aarch64" in n for n in libraries if "cpython-" in n), (
        "compiled for the functions' python3.12 on arm64"
    )


@pytest.mark.skipif(
    sysconfig.get_platform() != "linux-x86_64" or sys.version_info[:2] != (3, 11), reason="x86_64, 3.11"
)
def test_the_tree_trainer_runs_from_the_layer(layer: tuple[Path, dict[str, float], Path]):
    _, _, extracted = layer
    probe = (
        "import random, numpy, sklearn\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from chalicelib.domain.predictive import TrainingConfig, parse_predictive\n"
        "from chalicelib.domain.predictive_training import Example, train\n"
        "rng = random.Random(1); start = datetime(2026, 1, 1, tzinfo=UTC); examples = []\n"
        "for n in range(400):\n"
        "    size = rng.choice([5, 50, 500, 5000]); won = rng.random() < (0.7 if size >= 500 else 0.2)\n"
        "    seen = {'account.employees': size, 'lead.source': rng.choice(['ads', 'event'])}\n"
        "    examples.append(Example(seen, won, start + timedelta(hours=n), str(n)))\n"
        "trained = train(examples, TrainingConfig(time_limit=5))\n"
        "model = parse_predictive('m', 1, {'type': 'predictive', 'parameters': trained.parameters})\n"
        "print(numpy.__file__); print(sklearn.__file__)\n"
        "print(model.algorithm, round(trained.metrics['auc'], 3))\n"
    )
    site = Path(sysconfig.get_paths()["purelib"])  # pydantic and the rest of the function's own zip
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{extracted / 'python'}:{ROOT}:{site}"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    numpy_path, sklearn_path, result = done.stdout.strip().splitlines()[-3:]
    assert numpy_path.startswith(str(extracted)) and sklearn_path.startswith(str(extracted))
    algorithm, auc = result.split()
    assert algorithm == "trees" and float(auc) > 0.6
