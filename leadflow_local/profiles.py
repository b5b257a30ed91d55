"""Where the ``leadflow`` commands find the API, its key and the AWS environment: profiles.

Two files live in the configuration directory (``$XDG_CONFIG_HOME/leadflow``, else
``~/.config/leadflow``):

- ``profiles.toml``, the operator's own (``LEADFLOW_PROFILES`` names another file)::

      [default]
      api_url = "http://127.0.0.1:8000"
      api_key = "lf_..."

      [prod]
      api_url = "https://leads.example.com"
      api_key_env = "LEADFLOW_PROD_KEY"     # the key from this variable

      [prod.env]                             # for the commands that talk to AWS (keys, handoff)
      AWS_PROFILE = "leadflow-prod"
      API_KEYS_TABLE = "leadflow-prod-ApiKeysTable-1ABC"

- ``local.toml``, written by ``leadflow local`` once the stack is up and removed when it stops: the profile
  ``local`` with the stack's API, admin key and, under ``env``, its AWS endpoint, region, dummy
  credentials, tables and queues.

The profile used: the one named by ``--profile`` / ``LEADFLOW_PROFILE``; else ``default`` of
``profiles.toml`` when there is one; else ``local`` while a local stack runs. Options and variables set
by the user always win over a profile. The ``env`` of a profile chosen by default is used only when the
environment names no AWS target of its own (an endpoint, a profile, credentials, a region, a table or a
queue): a shell set up for a deployment is never pointed at the local stack behind the user's back.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOCAL = "local"
DEFAULT = "default"
#: Variables that say "this shell talks to a particular AWS": with any of them set, a profile's ``env`` is
#: used only when the profile was named.
AWS_TARGET = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_REGION")
#: What a local endpoint (moto) needs and a user cannot be expected to know.
LOCAL_AWS_DEFAULTS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class ProfileError(Exception):
    """A profile that cannot be read or does not exist (the CLI prints it in one line)."""


@dataclass(frozen=True)
class Profile:
    name: str | None
    path: Path | None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        found = self.values.get("env")
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def describe(self) -> str:
        return f"profile {self.name!r} of {self.path}" if self.name else "no profile"


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "leadflow"


def profiles_path() -> Path:
    named = os.environ.get("LEADFLOW_PROFILES")
    return Path(named) if named else config_dir() / "profiles.toml"


def local_profile_path() -> Path:
    return config_dir() / "local.toml"


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path} is not valid TOML: {exc}") from None


def select(name: str | None) -> Profile:
    """The profile to use (see the module's docstring); an empty one when there is none."""
    own, local = profiles_path(), local_profile_path()
    for path, wanted in ((own, name or DEFAULT), (local, name or LOCAL)):
        found = _read(path).get(wanted)
        if isinstance(found, dict):
            return Profile(wanted, path, dict(found))
    if name is not None:
        raise ProfileError(f"no profile {name!r} in {own} (nor in {local})")
    return Profile(None, None)


def is_local(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def _names_a_resource(key: str) -> bool:
    return key.endswith(("_TABLE", "_QUEUE_URL", "_DLQ_URL", "_BUCKET"))


def use_aws_environment(name: str | None) -> Profile | None:
    """Prepare ``os.environ`` for a command that talks to AWS itself (``keys``, ``handoff``): the
    profile's ``env`` where the user set nothing (see the module's docstring), then, when the endpoint
    is local, the region and dummy credentials moto takes. Returns the profile whose ``env`` was used."""
    profile = select(name)
    env = profile.env
    # a variable holding the profile's own value (the stack's endpoint, its queue) targets nothing else
    targeted = any(
        os.environ.get(k) and os.environ[k] != env.get(k)
        for k in (*AWS_TARGET, *(k for k in os.environ if _names_a_resource(k)))
    )
    used = None
    if env and (name is not None or not targeted):
        used = profile
        for key, value in env.items():
            if name is not None or not os.environ.get(key):
                os.environ[key] = value
    if is_local(os.environ.get("AWS_ENDPOINT_URL")):
        own_keys = os.environ.get("AWS_ACCESS_KEY_ID") not in (None, "", "testing")
        for key, value in LOCAL_AWS_DEFAULTS.items():
            if own_keys and key == "AWS_SECRET_ACCESS_KEY":
                continue  # the user's own key pair stays a pair
            if not os.environ.get(key):
                os.environ[key] = value
    return used


# ---------------------------------------------------------------- the local stack's profile


def _toml_string(value: str) -> str:
    # a JSON string without ASCII escaping is a TOML basic string, but for DEL, which TOML wants escaped
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def write_local(api_url: str, api_key: str, env: dict[str, str], pid: int) -> Path:
    """Write ``local.toml`` (owner-only: it holds the admin key) and return its path."""
    path = local_profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Written by `leadflow local` (pid {pid}) at {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}; "
        "removed when it stops.",
        "# Every leadflow command uses this profile when nothing else is set (see docs/operators.md).",
        f"[{LOCAL}]",
        f"api_url = {_toml_string(api_url)}",
        f"api_key = {_toml_string(api_key)}",
        f"pid = {pid}",
        "",
        f"[{LOCAL}.env]",
        *(f"{key} = {_toml_string(value)}" for key, value in sorted(env.items())),
        "",
    ]
    temporary = path.with_name(f".{path.name}.{pid}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(lines))
    temporary.replace(path)
    return path


def remove_local(pid: int) -> None:
    """Remove ``local.toml`` if this process wrote it (a newer stack's file is left alone)."""
    path = local_profile_path()
    try:
        if _read(path).get(LOCAL, {}).get("pid") == pid:
            path.unlink()
    except (ProfileError, OSError):
        pass
