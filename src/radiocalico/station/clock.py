"""The stream's program-date-time clock as text, shared by the playlists and the metadata so
a player can compare `#EXT-X-PROGRAM-DATE-TIME` with `started_at` to the millisecond."""

from __future__ import annotations

from datetime import datetime, timezone


def millis(timestamp: float) -> int:
    """The clock's resolution: whole milliseconds (what a player reads from the text)."""
    return int(round(timestamp * 1000))


def iso_utc(timestamp: float) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.000Z."""
    millis_ = millis(timestamp)
    dt = datetime.fromtimestamp(millis_ // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis_ % 1000:03d}Z"
