"""Small typed readers for settings taken from the environment.

Every secret can also be given as ``NAME_FILE`` (a path whose contents are the value), the
convention Docker and Kubernetes secrets use, so secrets need not sit in the process environment.
"""

from __future__ import annotations

import os
from pathlib import Path


class ImproperlyConfiguredEnv(RuntimeError):
    """A required environment variable is missing or malformed.

    ``manage.py`` prints its message on one line (``custos: <message>``) and exits 2, so every
    message names the variable to set and never echoes a secret.
    """


PROFILES = ("production", "demo", "development", "test")
PROFILE_MARKER = "profile"  # <var dir>/profile: one word, written by ``demo_setup``


def read_profile_marker(var_dir: Path) -> str | None:
    """The profile ``demo_setup`` recorded in ``var_dir``, or None.

    Used only when ``CUSTOS_ENV`` is unset, so that after ``CUSTOS_ENV=demo manage.py
    demo_setup`` the README's plain ``manage.py token_create ...`` runs against the demo.
    """
    try:
        value = (var_dir / PROFILE_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if value not in PROFILES:
        raise ImproperlyConfiguredEnv(
            f"{var_dir / PROFILE_MARKER} must hold one of {', '.join(PROFILES)}; delete it or set CUSTOS_ENV"
        )
    return value


def write_profile_marker(var_dir: Path, profile: str) -> None:
    """Record ``profile`` as the default for commands run without CUSTOS_ENV.

    Only ``demo`` and ``development`` are recorded (``test`` runs are not a user's default, and
    production is never a silent default to write: it is already the fallback).
    """
    if profile not in {"demo", "development"}:
        return
    (var_dir / PROFILE_MARKER).write_text(profile + "\n", encoding="utf-8")


def env_str(name: str, default: str | None = None) -> str | None:
    """Return ``$NAME``, else the contents of the file named by ``$NAME_FILE``, else ``default``."""
    value = os.environ.get(name)
    if value is not None:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return default


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    # the value is not echoed: a boolean variable may hold a mistyped secret
    raise ImproperlyConfiguredEnv(f"{name} must be a boolean: one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name} must be an integer") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Comma-separated list; blanks dropped."""
    value = env_str(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]
