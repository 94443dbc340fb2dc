"""The event body: the exact bytes hashed into the ledger (docs/ledger.md, "Event body").

Canonical JSON per RFC 8785 of::

    {"action": str, "actor": {"id": str, "type": "user"|"system"}, "details": {...},
     "reason": str, "target": {"id": str, "type": str}, "time": int, "v": 1}

``time`` is UTC integer microseconds since the Unix epoch. Details are normalised first so the
body never holds a float (I-JSON numbers lose precision): datetimes become integer microseconds,
floats, Decimals, UUIDs and integers outside +/-(2**53 - 1) become strings, tuples and sets
become (sorted) lists. Anything else is refused with TypeError, which fails the change.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import rfc8785

BODY_VERSION = 1
MAX_SAFE_INTEGER = 2**53 - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_micros(moment: dt.datetime) -> int:
    """UTC integer microseconds since the epoch (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=micros)


def normalize(value: Any) -> Any:
    """A JSON value with no floats, safe to canonicalize and to store in a JSON column."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return str(value)  # drops str subclasses (TextChoices) to plain text
    if isinstance(value, int):
        return int(value) if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return repr(value)  # shortest round-trip text ("0.9", "2.0", "nan"), never a JSON number
    if isinstance(value, dt.datetime):
        return to_micros(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise TypeError(f"audit details keys must be strings, got {type(key).__name__}")
            out[str(key)] = normalize(item)
        return out
    if isinstance(value, list | tuple):
        return [normalize(item) for item in value]
    if isinstance(value, set | frozenset):
        items = [normalize(item) for item in value]
        return sorted(items, key=lambda item: (type(item).__name__, str(item)))
    raise TypeError(f"audit details cannot hold a {type(value).__name__}; use ids, counts or strings")


def event_body(
    *, time_us: int, actor_type: str, actor_id: str, action: str, target_type: str, target_id: str, reason: str, details: dict
) -> bytes:
    """The canonical body bytes of one event (``details`` must already be normalised)."""
    return rfc8785.dumps(
        {
            "v": BODY_VERSION,
            "time": time_us,
            "actor": {"type": str(actor_type), "id": str(actor_id)},
            "action": str(action),
            "target": {"type": str(target_type), "id": str(target_id)},
            "reason": str(reason),
            "details": details,
        }
    )
