"""Request and response bodies of the library, requests and the operator console
(api/requests.py, api/console.py); the OpenAPI document describes them from here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from radiocalico.api.public_schemas import NextOut
from radiocalico.api.schemas import Printable

TrackId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20}$")]
PlaylistName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), Printable]
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


class LibraryQuery(BaseModel):
    q: str = Field(default="", max_length=200, description="Words of the artist, title or album.")
    limit: int = Field(default=30, ge=1, le=100)


class LibraryTrackOut(BaseModel):
    track_id: TrackId = Field(description="Stable while the file stays where it is in the library.")
    song_id: str
    artist: str
    title: str
    album: str
    duration: float = Field(description="Seconds.")


class LibraryOut(BaseModel):
    tracks: list[LibraryTrackOut]


class RequestIn(BaseModel):
    track_id: TrackId


class RequestOut(BaseModel):
    request_id: int
    track: LibraryTrackOut
    status: Literal["waiting"] = "waiting"
    waiting: int = Field(description="Requests waiting before this one in the station's fair order (this "
                                     "listener's first ones go first).")


# --- the console ----------------------------------------------------------------------------

class QueueOut(BaseModel):
    current: dict | None = Field(description="The track on air as metadatav2.json names it "
                                             "(artist, title, reason, requested, relaxed, started_at).")
    next: list[NextOut]
    published: bool = Field(description="False when STATION_PUBLISH_NEXT is off: the queue is then not known here.")


class MoveIn(BaseModel):
    position: int = Field(ge=0, le=50, description="0 plays it next.")


class CommandOut(BaseModel):
    command_id: int
    op: str
    applied_at: datetime | None = Field(description="When the station applied it (within a segment); null until then.")
    outcome: str | None


class EntryIn(BaseModel):
    kind: Literal["folder", "genre", "track"]
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024), Printable] = Field(
        description="A folder relative to the library, a genre (matched within the genre tag, any case), "
                    "or a track_id.")
    weight: int = Field(default=1, ge=1, le=100, description="How often this entry is drawn from, "
                                                              "relative to the playlist's others.")


class PlaylistIn(BaseModel):
    entries: list[EntryIn] = Field(max_length=500)


class PlaylistOut(BaseModel):
    name: str
    entries: list[EntryIn]
    tracks: int = Field(description="Library tracks it matches now (0: the decider falls through to the "
                                    "next source).")


class PlaylistsOut(BaseModel):
    playlists: list[PlaylistOut]


class BlockIn(BaseModel):
    name: PlaylistName
    playlist: PlaylistName
    days: list[Day] = Field(default_factory=lambda: list(DAY_NAMES), min_length=1, max_length=7,
                            description="The days the block starts on.")
    start: ClockTime = Field(description="HH:MM in the station's time zone.")
    end: ClockTime = Field(description="HH:MM; at or before start runs past midnight (equal: 24 hours); "
                                       "24:00 is midnight.")


class TimedIn(BaseModel):
    kind: Literal["top_of_hour", "every_n"]
    playlist: PlaylistName
    every: int | None = Field(default=None, ge=1, le=100, description="every_n: after this many songs.")

    @model_validator(mode="after")
    def _every(self):
        if self.kind == "every_n" and self.every is None:
            raise ValueError("every_n needs `every` (songs between two items)")
        return self


class ScheduleIn(BaseModel):
    blocks: list[BlockIn] = Field(default_factory=list, max_length=200)
    timed: list[TimedIn] = Field(default_factory=list, max_length=20)


class ScheduleOut(BaseModel):
    timezone: str
    blocks: list[BlockIn]
    timed: list[TimedIn]
    gaps: list[str] = Field(description="Times no block covers: the whole library plays then.")


class AuditQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    before: int | None = Field(default=None, ge=1, description="The id of the oldest entry already shown.")


class AuditEntryOut(BaseModel):
    id: int
    username: str
    at: datetime
    action: str
    detail: dict


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]


# --- the console's library -------------------------------------------------------------------

Tag = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256), Printable]


class ConsoleLibraryQuery(BaseModel):
    q: str = Field(default="", max_length=200, description="Words of the artist, title or album.")
    limit: int = Field(default=50, ge=1, le=200)


class ConsoleTrackOut(LibraryTrackOut):
    path: str = Field(description="Where the file is, relative to the library folder.")
    genre: str


class ConsoleLibraryOut(BaseModel):
    tracks: list[ConsoleTrackOut]
    folder: bool = Field(description="False when this app cannot reach the station's library folder "
                                     "(STATION_LIBRARY): uploads, tag edits and removals are then refused.")
    max_upload_bytes: int


class UploadQuery(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Printable] = Field(
        description="The file's name, with its extension (.flac, .mp3, ...): it is stored under uploads/.")


class TagsIn(BaseModel):
    artist: Tag | None = None
    title: Tag | None = None
    album: Tag | None = None
    genre: Tag | None = None


class LiveOut(BaseModel):
    on_air: bool = Field(description="A DJ is on air now (metadatav2.json's live).")
    dj: str | None
    title: str | None
    since: str | None = Field(description="When the DJ's current title started (program-date-time).")


class OpenRequestOut(BaseModel):
    request_id: int
    artist: str
    title: str
    status: Literal["waiting", "queued"] = Field(description="queued: the station has put it in the queue.")
    created_at: datetime


class OpenRequestsOut(BaseModel):
    requests: list[OpenRequestOut] = Field(description="Not played yet, oldest first.")
