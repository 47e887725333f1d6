"""The stream's program-date-time clock as text, shared by the playlists and the metadata so
a player can compare `#EXT-X-PROGRAM-DATE-TIME` with `started_at` to the millisecond."""

from __future__ import annotations

from datetime import datetime, timezone


def iso_utc(timestamp: float) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.000Z."""
    millis = int(round(timestamp * 1000))
    dt = datetime.fromtimestamp(millis // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
