"""The checkout the local stack, packaging, deploy and the benchmarks work on: its ``app.py``,
``.chalice/``, ``infra/``, ``events/``, ``examples/`` and ``bench/``.

With the development install (``make install``: the checkout, editable) it is the directory above this
package. With an installed wheel (``pip install '.[cli]'``) the package lives in site-packages, so it is
the checkout the command runs in (the current directory or one above it). The commands that only talk
to the API or to AWS need no checkout."""

from __future__ import annotations

from pathlib import Path

#: where this package sits: the checkout itself in a development install
PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def is_checkout(path: Path) -> bool:
    return (path / "app.py").is_file() and (path / "infra" / "template.json").is_file()


def find(start: Path | None = None) -> Path:
    """The checkout: this package's own, else ``start`` (the current directory) or a directory above
    it; :data:`PACKAGE_PARENT` when there is none (:func:`is_checkout` then says so)."""
    if is_checkout(PACKAGE_PARENT):
        return PACKAGE_PARENT
    here = (start or Path.cwd()).resolve()
    return next((path for path in (here, *here.parents) if is_checkout(path)), PACKAGE_PARENT)


ROOT = find()


class NotACheckout(RuntimeError):
    """A command that runs the checkout's app ran outside one."""

    def __init__(self, command: str) -> None:
        super().__init__(
            f"`leadflow {command}` runs a Leadflow checkout's app and infra/: run it inside the checkout "
            f"(none found from {Path.cwd()})"
        )


def require(command: str) -> Path:
    """:data:`ROOT` when it is a checkout; :class:`NotACheckout` otherwise."""
    if not is_checkout(ROOT):
        raise NotACheckout(command)
    return ROOT
