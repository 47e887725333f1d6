"""Bodies of the public read-only API (now playing, history, charts, listeners) and of likes.

Query models reject what a cursor, a time range or a search cannot be with a 422 before
any query runs: cursors are opaque keysets we issued, ranges are ordered and at most
`MAX_RANGE` long, a search is at most `MAX_SEARCH` characters and only ever a bound
parameter of a LIKE (escaped), never SQL.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

from radiocalico.api.schemas import Printable, SongId

MAX_RANGE = timedelta(days=366)
MAX_SEARCH = 100
Period = Literal["week", "month", "all"]
PERIODS = {"week": timedelta(days=7), "month": timedelta(days=30), "all": None}


def encode_cursor(at: datetime, tail: str | int) -> str:
    text = f"{at.astimezone(timezone.utc).isoformat()}|{tail}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, tail = raw.split("|", 1)
        parsed = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor this API gave out") from None
    if parsed.tzinfo is None or not tail:
        raise ValueError("not a cursor this API gave out")
    return parsed, tail


def _cursor_of(kind: str):
    def check(cursor: str) -> str:
        _, tail = _decode_cursor(cursor)
        if not (tail.isdigit() if kind == "play" else len(tail) == 32):
            raise ValueError("not a cursor this API gave out")
        return cursor

    return AfterValidator(check)


_CURSOR = StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9_-]+$")
PlayCursor = Annotated[str, _CURSOR, _cursor_of("play")]
LikeCursor = Annotated[str, _CURSOR, _cursor_of("like")]


class PlayOut(BaseModel):
    id: int
    song_id: SongId
    started_at: datetime = Field(description="On the stream's program-date-time clock (UTC); "
                                             "for the upstream CDN, when first seen.")
    artist: str
    title: str
    album: str
    year: str
    bit_depth: int | None = Field(description="The source's bit depth, when published.")
    sample_rate: int | None = Field(description="The source's sample rate, when published.")
    cover_url: str | None = Field(description="A small cover on this origin, if kept.")
    up: int = Field(ge=0)
    down: int = Field(ge=0)
    requested: bool = Field(default=False, description="A listener requested it.")


class NextOut(BaseModel):
    """An item of the station's queue, as metadatav2.json's `next` publishes it."""

    item_id: str
    artist: str
    title: str
    album: str
    cover_url: str = Field(description="The track's cover under the stream's base URL; \"\" when none.")
    reason: str = Field(description="rotation, playlist:<name>, request:<id>, station-id or jingle.")
    requested: bool
    relaxed: bool = Field(description="The rotation rules were relaxed to choose it.")
    starts_at: datetime = Field(description="Projected start on the program-date-time clock.")


class NowPlayingOut(BaseModel):
    current: PlayOut | None
    previous: list[PlayOut] = Field(description="The five plays before, newest first.")
    listeners: int | None = Field(description="Clients fetching the stream right now.")
    next: list[NextOut] = Field(default_factory=list,
                                description="What plays next, first first (STATION_PUBLISH_NEXT).")


class HistoryQuery(BaseModel):
    limit: int = Field(default=30, ge=1, le=100)
    cursor: PlayCursor | None = Field(default=None, description="next_cursor of the page before.")
    since: AwareDatetime | None = Field(default=None, description="Plays from (inclusive).")
    until: AwareDatetime | None = Field(default=None, description="Plays before (exclusive).")
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SEARCH),
                 Printable] = Field(default="", description="Artist or title contains.")

    @model_validator(mode="after")
    def _check(self) -> "HistoryQuery":
        if self.since and self.until:
            if self.since >= self.until:
                raise ValueError("since must be before until")
            if self.until - self.since > MAX_RANGE:
                raise ValueError(f"a time range spans at most {MAX_RANGE.days} days")
        return self

    @property
    def before(self) -> tuple[datetime, int] | None:
        if not self.cursor:
            return None
        at, tail = _decode_cursor(self.cursor)
        return at, int(tail)


class HistoryOut(BaseModel):
    plays: list[PlayOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as cursor for older plays; null at the end.")


class ChartQuery(BaseModel):
    period: Period = Field(default="week", description="week: the last 7 days; month: 30.")
    limit: int = Field(default=20, ge=1, le=100)


class ChartSongOut(BaseModel):
    rank: int
    song_id: SongId
    artist: str
    title: str
    album: str
    up: int = Field(ge=0, description="Thumbs up (in the period, for top-rated).")
    down: int = Field(ge=0)
    net: int
    plays: int = Field(ge=0, description="Plays (in the period, for most-played; else ever).")
    last_played: datetime | None
    cover_url: str | None


class ChartOut(BaseModel):
    chart: Literal["top-rated", "most-played"]
    period: Period
    songs: list[ChartSongOut]


class ListenersQuery(BaseModel):
    days: int = Field(default=7, ge=1, le=90, description="Hours of the last this many days.")


class ListenerHourOut(BaseModel):
    hour: datetime
    peak: int
    mean: float


class ListenersOut(BaseModel):
    listeners: int | None
    window_seconds: int
    renditions: dict[str, int]
    hours: list[ListenerHourOut]


class LikesQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: LikeCursor | None = None

    @property
    def before(self) -> tuple[datetime, str] | None:
        return _decode_cursor(self.cursor) if self.cursor else None


class LikeOut(BaseModel):
    song_id: SongId
    artist: str
    title: str
    album: str
    liked_at: datetime
    up: int
    down: int
    cover_url: str | None


class LikesOut(BaseModel):
    songs: list[LikeOut] = Field(description="Newest like first.")
    next_cursor: str | None
