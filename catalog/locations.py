"""Where an asset's data lives is not the catalog's decision: it is checked by whoever registers here.

The catalog may not import compliance (dependency direction), so the datasets layer registers its
resolver as a validator from its ``AppConfig.ready()``; ``asset_register`` and ``asset_update``
call :func:`validate_location` for every non-empty location they store.

Contract: a validator takes the location string and returns nothing or raises
``django.core.exceptions.ValidationError`` whose message names the rule broken and never echoes the
location (it may hold a path or host the caller should not learn about).
"""

from __future__ import annotations

from collections.abc import Callable

Validator = Callable[[str], None]

_validators: list[Validator] = []


def register_location_validator(fn: Validator) -> Validator:
    """Add ``fn`` (idempotent: registering the same function twice keeps one). Usable as a decorator."""
    if fn not in _validators:
        _validators.append(fn)
    return fn


def unregister_location_validator(fn: Validator) -> None:
    """Remove ``fn`` (tests)."""
    if fn in _validators:
        _validators.remove(fn)


def validate_location(location: str) -> None:
    """Run every registered validator on ``location``; an empty location (no data) is always valid."""
    if not location:
        return
    for validator in list(_validators):
        validator(location)
