"""Typed settings helpers that read the environment and fail loudly.

Every secret may also come from ``<NAME>_FILE`` (a path whose contents are the value), so that
deployments can use Docker/systemd secrets instead of environment variables.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    file_var = f"{name}_FILE"
    if os.environ.get(file_var):
        path = Path(os.environ[file_var])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{file_var} points at {path}, which cannot be read: {exc}"
            ) from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None) -> str:
    """A string setting; without a default, a missing value is a configuration error."""
    value = _raw(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set.")
        return default
    return value


def env_optional(name: str) -> str | None:
    value = _raw(name)
    return value or None


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, not {value!r}.")


def env_choice(name: str, default: str, *, choices: tuple[str, ...]) -> str:
    """One of a fixed set of words (case-insensitive); anything else is a configuration error."""
    value = _raw(name)
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return lowered


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_days(name: str, default: dict[str, int], *, allowed: set[str]) -> dict[str, int]:
    """A mapping like ``declined=90,closed=730`` (names from ``allowed``, whole days >= 1)."""
    value = _raw(name)
    if value is None or not value.strip():
        return dict(default)
    result: dict[str, int] = {}
    for item in value.split(","):
        key, sep, days = item.strip().partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise ImproperlyConfigured(
                f"{name}: {item.strip()!r} is not NAME=DAYS with NAME one of {', '.join(sorted(allowed))}."
            )
        try:
            number = int(days)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {days!r} is not a whole number of days.") from exc
        if number < 1:
            raise ImproperlyConfigured(f"{name}: {key} must keep records at least 1 day.")
        result[key] = number
    return result
