"""Time arguments of the command line: WHEN is an ISO 8601 date or datetime, or
a duration back from now (90m, 36h, 7d). Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import UsageError
from .units import parse_duration


def parse_when(value: str, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    v = value.strip()
    try:
        return now - parse_duration(v)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since: {value!r} is neither an ISO 8601 date/datetime nor a "
                         "duration like 90m, 36h, 7d") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
