"""The project as a wheel: `pip install 'leadflow[cli]'` gives a working `leadflow` command, and the
runtime requirements (what Lambda gets) carry none of the CLI's dependencies.

The wheel is built from a copy of the sources (``pip wheel --no-deps``, as `make install` builds the
editable install) and installed with its ``cli`` extra into a fresh virtualenv. Offline: the new
environment sees the dependencies already installed in this one through a directory of links (every
distribution of this environment except leadflow itself), and pip resolves the wheel's requirements,
extra included, against them with ``--no-index`` (a requirement the extra names that is not installed
here fails the install)."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: what the wheel is built from (the files setuptools reads; README and docs are not packaged)
SOURCES = ("pyproject.toml", "requirements.txt", "requirements-cli.txt", "LICENSE", "app.py")
PACKAGES = ("chalicelib", "leadflow_local")
#: the CLI's own dependencies: in the `cli` extra, never in what Lambda installs
CLI_ONLY = {"click", "rich", "pyyaml", "chalice", "moto", "aws-sam-translator"}


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)], source)
    (built,) = out.glob("leadflow-*.whl")
    return built


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def _project(requirement: str) -> str:
    """``moto[server,sqs]==5.2.5 ; extra == "cli"`` -> ``moto``."""
    name = requirement.split(";", maxsplit=1)[0].strip()
    for mark in "[=<>!~ ":
        name = name.split(mark)[0]
    return name.lower().replace("_", "-")


def test_the_wheel_declares_the_cli_extra_and_lambda_needs_none_of_it(wheel: Path):
    metadata = _metadata(wheel)
    assert "cli" in metadata.get_all("Provides-Extra", [])
    requirements = metadata.get_all("Requires-Dist", [])
    runtime = {_project(r) for r in requirements if "extra ==" not in r}
    extra = {_project(r) for r in requirements if 'extra == "cli"' in r}
    assert extra >= CLI_ONLY, CLI_ONLY - extra
    assert not runtime & CLI_ONLY, runtime & CLI_ONLY
    assert {"pynamodb", "aws-lambda-powertools", "pydantic"} <= runtime
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "leadflow_local/cli.py" in names and "chalicelib/wiring.py" in names and "app.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        assert "leadflow = leadflow_local.cli:main" in archive.read(entry_points).decode()


def _dependencies_of_this_environment(links: Path) -> None:
    """A directory of links to every distribution installed here except leadflow (its editable install
    would shadow the wheel); the `.pth` files are left behind, so nothing of the checkout is imported."""
    site = Path(sysconfig.get_paths()["purelib"])
    links.mkdir()
    for entry in site.iterdir():
        lowered = entry.name.lower()
        if lowered.startswith(("leadflow", "__editable__")) or entry.suffix == ".pth":
            continue
        (links / entry.name).symlink_to(entry)


def test_pip_install_leadflow_cli_gives_a_working_leadflow_command(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    target_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path
        ).strip()
    )
    links = tmp_path / "dependencies"
    _dependencies_of_this_environment(links)
    (target_site / "leadflow-test-dependencies.pth").write_text(f"{links}\n")

    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PIP_FIND_LINKS"}}
    env |= {"PIP_NO_INDEX": "1", "PIP_CONSTRAINT": "", "PIP_NO_INPUT": "1"}
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", f"{wheel}[cli]"],
        tmp_path,
        env,
    )

    # the command runs from anywhere, with the installed package (not this checkout's)
    where = _run(
        [str(python), "-c", "import leadflow_local, chalicelib; print(leadflow_local.__file__)"],
        tmp_path,
        env,
    )
    assert Path(where.strip()).is_relative_to(venv), where
    leadflow = venv / "bin" / "leadflow"
    usage = _run([str(leadflow), "--help"], tmp_path, env)
    for command in ("local", "models", "leads", "keys", "import", "handoff", "deploy"):
        assert f"  {command} " in usage, usage
    local = _run([str(leadflow), "local", "--help"], tmp_path, env)
    assert "--port" in local and "--demo" in local, local
    # a command that needs no stack works: the offline model check, on a file of this checkout
    checked = _run(
        [str(leadflow), "models", "validate", str(ROOT / "events/models/b2b_default.json")], tmp_path, env
    )
    assert "b2b-default" in checked, checked

    # the commands that run the checkout's app find it from inside one, and refuse in one line outside
    found = _run(
        [str(python), "-c", "from leadflow_local import project; print(project.ROOT)"], ROOT / "docs", env
    )
    assert Path(found.strip()) == ROOT, found
    outside = subprocess.run(
        [str(leadflow), "local", "--port", "58201", "--aws-port", "58202"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outside.returncode == 1, outside
    assert "runs a Leadflow checkout's app" in outside.stderr and "Traceback" not in outside.stderr, (
        outside.stderr
    )
