"""Request and response bodies of the API, as pydantic models.

They validate what clients send and, through `radiocalico.api.openapi`, are the OpenAPI
document: the two can never drift apart.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from radiocalico.songs import SONG_ID_PATTERN, TAG_TEXT_MAX, strip_invisible

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    # PostgreSQL refuses NUL in text, and no tag or name has a reason to hold controls.
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    return value


Printable = AfterValidator(_printable)

SongId = Annotated[str, StringConstraints(pattern=SONG_ID_PATTERN)]
TagText = Annotated[
    str, BeforeValidator(lambda v: strip_invisible(v) if isinstance(v, str) else v),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_TEXT_MAX), Printable
]
OptionalTagText = Annotated[
    str, BeforeValidator(lambda v: strip_invisible(v) if isinstance(v, str) else v),
    StringConstraints(strip_whitespace=True, max_length=TAG_TEXT_MAX), Printable
]
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{2,31}$"
Username = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(pattern=USERNAME_PATTERN),
    # The pattern applies after trimming and lower-casing: documented as such.
    WithJsonSchema({"type": "string", "pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9_.-]{2,31}\s*$",
                    "description": "Trimmed and lower-cased, then " + USERNAME_PATTERN}),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
DisplayName = Annotated[
    str, BeforeValidator(lambda v: strip_invisible(v) if isinstance(v, str) else v),
    StringConstraints(strip_whitespace=True, max_length=64), Printable,
]
VoteValue = Literal["up", "down"]
MAX_BATCH = 20
_SONG_ID = re.compile(SONG_ID_PATTERN)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    fields: list[ErrorField]


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- ratings --------------------------------------------------------------------------


class RatingOut(BaseModel):
    song_id: SongId
    up: int = Field(ge=0)
    down: int = Field(ge=0)
    my_vote: VoteValue | None = Field(description="The caller's own vote, if any.")


class RatingsOut(BaseModel):
    ratings: list[RatingOut]


class CountOut(BaseModel):
    song_id: SongId
    up: int = Field(ge=0)
    down: int = Field(ge=0)


class CountsOut(BaseModel):
    counts: list[CountOut]


class MyVoteOut(BaseModel):
    song_id: SongId
    value: VoteValue


class MyVotesOut(BaseModel):
    votes: list[MyVoteOut] = Field(description="Newest first, at most the newest 5,000.")


class RatingsQuery(BaseModel):
    ids: str = Field(
        description=f"Comma-separated song ids, at most {MAX_BATCH}.",
        examples=["0f1e2d3c4b5a69788796a5b4c3d2e1f0"],
    )

    @field_validator("ids")
    @classmethod
    def _ids(cls, value: str) -> str:
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not ids:
            raise ValueError("name at least one song id")
        if len(ids) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} song ids per request")
        bad = [sid for sid in ids if not _SONG_ID.fullmatch(sid)]
        if bad:
            raise ValueError("each id must be 32 lower-case hex digits")
        return ",".join(dict.fromkeys(ids))

    @property
    def song_ids(self) -> list[str]:
        return self.ids.split(",")


class VoteIn(Strict):
    value: VoteValue
    artist: TagText
    title: TagText
    album: OptionalTagText = ""


class ListenerOut(BaseModel):
    votes_count_in_seconds: float = Field(
        ge=0, description="Seconds until this listener's anonymous votes are accepted."
    )


class ChartQuery(BaseModel):
    limit: int = Field(default=10, ge=1, le=100)


class ChartEntryOut(BaseModel):
    song_id: SongId
    artist: str
    title: str
    album: str
    up: int
    down: int


class ChartOut(BaseModel):
    songs: list[ChartEntryOut]


# --- users ----------------------------------------------------------------------------


class RegisterIn(Strict):
    username: Username
    email: EmailStr
    password: Password
    display_name: DisplayName = ""


class SignInIn(Strict):
    login: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254), Printable
    ] = Field(description="Username or e-mail address.")
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ProfileUpdateIn(Strict):
    display_name: DisplayName | None = None
    email: EmailStr | None = None
    new_password: Password | None = None
    current_password: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        default=None, description="Required to change the e-mail address or the password."
    )


class DeleteAccountIn(Strict):
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ProfileOut(BaseModel):
    id: int
    username: str
    email: str
    display_name: str
    created_at: datetime


class SignUpOut(BaseModel):
    message: str = Field(
        description="The same whether or not the e-mail address already had an account; "
        "GET /api/users/me tells whether this client is now signed in."
    )


class SessionOut(BaseModel):
    user: ProfileOut
    csrf_token: str = Field(description="Send back as X-CSRF-Token on every state change.")


class LikedSongOut(BaseModel):
    song_id: SongId
    artist: str
    title: str
    album: str
    liked_at: datetime


class LikedSongsOut(BaseModel):
    songs: list[LikedSongOut]


# --- health ---------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    database: Literal["ok", "unreachable"]
    reason: str | None = None


# --- player ---------------------------------------------------------------------------


class PlayerConfigOut(BaseModel):
    station_mode: Literal["embedded", "external", "upstream"]
    stream_url: str
    # For the browser's own HLS (Safari, iOS, AirPlay): a master whose variants share one
    # codec, since a native player cannot change codec mid-stream.
    native_stream_url: str
    metadata_url: str
    cover_url: str
