"""One reading of an evidence period's bounds for every entry point (API, command, admin).

A bare date names a whole day: ``from`` is its first instant, ``to`` its last (so ``--to 2026-01-31``
and ``{"period_to": "2026-01-31"}`` both include the 31st). A time without a zone is UTC. The API,
``evidence_export --from/--to`` and the admin form all go through ``period_bound``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def period_bound(value: str | date | datetime | None, *, end_of_day: bool) -> datetime | None:
    """The instant ``value`` names as a period start (``end_of_day=False``) or end (``True``).

    Raises ``ValueError`` for text that is neither an ISO 8601 date nor date-time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            value = date.fromisoformat(text)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    start = datetime.combine(value, time.min, tzinfo=UTC)
    return start + timedelta(days=1, microseconds=-1) if end_of_day else start
