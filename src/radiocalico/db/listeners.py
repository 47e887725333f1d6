"""The hourly series of concurrent stream listeners (`listener_hours`).

Every app process samples the shared count about once a minute and adds the sample to its
hour with one upsert: the peak is the largest sample, the mean is listener_sum / samples.
More processes take more samples of the same shared count, which leaves the mean unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, DateTime, bindparam, select, text

from radiocalico.db.plays import as_utc
from radiocalico.db.schema import listener_hours

_ADD_SAMPLE = text("""
    INSERT INTO listener_hours (hour, peak, samples, listener_sum)
    VALUES (:hour, :listeners, 1, :listeners)
    ON CONFLICT (hour) DO UPDATE SET
        peak = CASE WHEN excluded.peak > listener_hours.peak
                    THEN excluded.peak ELSE listener_hours.peak END,
        samples = listener_hours.samples + 1,
        listener_sum = listener_hours.listener_sum + excluded.listener_sum
""").bindparams(bindparam("hour", type_=DateTime(timezone=True)))


@dataclass(frozen=True)
class ListenerHour:
    hour: datetime
    peak: int
    mean: float


def add_sample(connection: Connection, at: datetime, listeners: int) -> None:
    hour = at.replace(minute=0, second=0, microsecond=0)
    connection.execute(_ADD_SAMPLE, {"hour": hour, "listeners": int(listeners)})


def hours(connection: Connection, since: datetime, until: datetime) -> list[ListenerHour]:
    query = (
        select(listener_hours)
        .where(listener_hours.c.hour >= since, listener_hours.c.hour < until)
        .order_by(listener_hours.c.hour)
    )
    return [
        ListenerHour(as_utc(row.hour), row.peak, round(row.listener_sum / max(1, row.samples), 2))
        for row in connection.execute(query)
    ]
