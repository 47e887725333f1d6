"""Tables, declared once for SQLite and PostgreSQL.

`votes` has one row per (song, voter): the composite primary key is the unique
constraint that, with an INSERT ... ON CONFLICT upsert, makes concurrent votes from
one listener count once. A voter is `u:<user id>` for a signed-in listener or `f:<hmac>`
for an anonymous one (HMAC-SHA256 of the page's fingerprint under the server secret),
so no raw fingerprint and no IP address is ever stored.

`songs.up` and `songs.down` are the song's counts, kept by triggers on `votes` (created by
migration 0002_song_counts, one body per database) in the statement that changes the vote:
every path that writes `votes` (a vote, a retraction, an account deleted, a cascade, a
hand-written fix) keeps them exact, a read never aggregates `votes`, and a failed or
killed transaction takes the vote and its count change with it. `radiocalico db
check-counts` compares them with a full aggregate. `ix_songs_chart` is the chart's order
(net desc, up desc, id) over the songs with at least one up vote, so the chart reads the
first rows of an index instead of sorting every song.

`sessions` has one row per signed-in session: the session cookie names it, signing out
deletes it, so a copied or kept cookie stops working the moment its session ends. Only a
SHA-256 of the session's random id is stored.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

songs = Table(
    "songs",
    metadata,
    Column("id", String(32), primary_key=True),  # radiocalico.songs.song_id(artist, title)
    Column("artist", String(512), nullable=False),
    Column("title", String(512), nullable=False),
    Column("album", String(512), nullable=False, server_default=""),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("up", Integer, nullable=False, server_default="0"),
    Column("down", Integer, nullable=False, server_default="0"),
    # The newest recorded start of the song (kept by the recorder): search ranks by it.
    Column("last_played", DateTime(timezone=True), nullable=True),
    # Spelled as SQL text, as both databases report it back, so that the migrations can be
    # compared with this declaration; db/ratings.py's chart query orders by the same terms.
    Index(
        "ix_songs_chart",
        text("(up - down) DESC"),
        text("up DESC"),
        "id",
        postgresql_where=text("up > 0"),
        sqlite_where=text("up > 0"),
    ),
    Index(None, "last_played"),
)

# Search's substring index on the songs' artist and title, made by migration
# 0006_song_catalogue and kept outside this declaration because each database builds it its
# own way: on PostgreSQL a pg_trgm GIN index on SONG_TEXT, on SQLite an FTS5 trigram table
# kept by triggers. `SEARCH_OBJECTS` are their names, left out of schema comparisons.
SONG_TEXT = "lower(artist || ' ' || title)"
SEARCH_OBJECTS = frozenset({
    "ix_songs_search", "song_search", "song_search_data", "song_search_idx",
    "song_search_docsize", "song_search_config", "song_search_content",
})


def declared(name, type_, parent_names) -> bool:
    """Alembic's `include_name`: whether a database object is one this module declares."""
    return name not in SEARCH_OBJECTS


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(32), nullable=False, unique=True),  # stored lower case
    Column("email", String(254), nullable=False, unique=True),  # stored lower case
    Column("display_name", String(64), nullable=False, server_default=""),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # 'listener', or 'operator' (the console API; `radiocalico user grant-operator EMAIL`).
    Column("role", String(16), nullable=False, server_default="listener"),
)

# A listener token that has backed a young account's votes (api/identity.py): one token, one
# account, so new accounts cannot share one device's token to count several votes.
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("token", String(40), primary_key=True),  # keyed digest of the token id
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

votes = Table(
    "votes",
    metadata,
    Column("song_id", String(32), ForeignKey("songs.id", ondelete="CASCADE"), primary_key=True),
    Column("voter", String(80), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("value", SmallInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("value IN (-1, 1)", name="value_is_up_or_down"),
    Index(None, "user_id"),
    Index(None, "voter", "updated_at"),  # a listener's own votes, newest first (the page's)
)

# --- Play history, cover thumbnails, listener statistics -----------------------------------
#
# `plays` has one row per track start. `play_key` is what makes a start recorded exactly
# once whichever app process sees it first: for our station it is the start on the stream's
# program-date-time clock plus the song id (the same in every replica and across station
# restarts); for the public CDN, whose metadata has no start time, it is the song and the four
# songs before it (see radiocalico.recorder). Search looks up `songs` (one row per song, a
# catalogue far smaller than the history) and then plays by (song_id, started_at).
# A row of `songs` is made only by the recorder, from what the station played, with the
# station's artist and title: a vote on a song it never played is refused.

plays = Table(
    "plays",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("play_key", String(80), nullable=False, unique=True),
    Column("song_id", String(32), ForeignKey("songs.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("artist", String(512), nullable=False),
    Column("title", String(512), nullable=False),
    Column("album", String(512), nullable=False, server_default=""),
    Column("year", String(16), nullable=False, server_default=""),
    Column("bit_depth", SmallInteger, nullable=True),  # the source's, as published
    Column("sample_rate", Integer, nullable=True),
    # A listener's request (metadatav2.json `requested`), not the station's own choice.
    Column("requested", Boolean, nullable=False, server_default=text("false")),
    Index(None, "started_at", "id"),
    Index(None, "song_id", "started_at"),
)

# A small JPEG per song, taken from the station's cover.jpg when the song is first recorded:
# the station publishes only the current cover, the history shows every play's.
song_covers = Table(
    "song_covers",
    metadata,
    Column("song_id", String(32), ForeignKey("songs.id", ondelete="CASCADE"), primary_key=True),
    Column("jpeg", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Concurrent stream listeners, sampled about once a minute by every app process: the peak
# and the mean (listener_sum / samples) of each hour, for an operator's graph.
listener_hours = Table(
    "listener_hours",
    metadata,
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("peak", Integer, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("listener_sum", Integer, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 (hex) of the cookie's session id
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "user_id"),
)

# DJs who may go live (station/live.py): the name is the user name their DJ software sends
# (HTTP Basic auth), stored lower case; the password is hashed as users' are (Argon2id).
djs = Table(
    "djs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# --- Programming: the station's library, playlists, schedule, requests, commands ----------
#
# The station mirrors its library index into `library_tracks` on every index pass, so the
# API (a separate process) can search it and name tracks by a stable `track_id` (a digest
# of the path relative to the library). Playlists, time blocks and timed items are the
# operators' (api/console.py); the station reads them (station/decider.py) when it decides
# ahead. Requests and station commands are written by the API and taken by the station,
# which marks them done; `audit` keeps every operator change.

library_tracks = Table(
    "library_tracks",
    metadata,
    Column("track_id", String(24), primary_key=True),
    Column("song_id", String(32), nullable=False),
    Column("path", String(1024), nullable=False),  # relative to the library folder
    Column("artist", String(512), nullable=False),
    Column("title", String(512), nullable=False),
    Column("album", String(512), nullable=False, server_default=""),
    Column("genre", String(256), nullable=False, server_default=""),
    Column("duration", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "song_id"),
)

playlists = Table(
    "playlists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What a playlist is made of: folders, genres and hand-picked tracks, each with a weight
# (how often it is drawn from, relative to the playlist's other entries).
playlist_entries = Table(
    "playlist_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("playlist_id", Integer, ForeignKey("playlists.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # folder | genre | track
    Column("value", String(1024), nullable=False),
    Column("weight", Integer, nullable=False, server_default="1"),
    Index(None, "playlist_id"),
)

# A time block in the station's time zone: minutes from midnight [start, end), end <= start
# running past midnight; `days` the weekdays it starts on (Monday = 0, comma separated).
schedule_blocks = Table(
    "schedule_blocks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("playlist_id", Integer, ForeignKey("playlists.id", ondelete="CASCADE"), nullable=False),
    Column("days", String(32), nullable=False),
    Column("start_minute", Integer, nullable=False),
    Column("end_minute", Integer, nullable=False),
)

# Timed items: a playlist aired at the top of every hour (station IDs), or after every N
# songs (jingles).
timed_items = Table(
    "timed_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # top_of_hour | every_n
    Column("every", Integer, nullable=True),
    Column("playlist_id", Integer, ForeignKey("playlists.id", ondelete="CASCADE"), nullable=False),
)

track_requests = Table(
    "track_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("track_id", String(24), nullable=False),
    Column("song_id", String(32), nullable=False),
    Column("requester", String(80), nullable=False),  # the voter key (api/identity.py)
    Column("status", String(16), nullable=False),  # waiting | queued | played
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("played_at", DateTime(timezone=True), nullable=True),
    Index(None, "status", "id"),
    Index(None, "song_id", "created_at"),
)

station_commands = Table(
    "station_commands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("op", String(16), nullable=False),  # skip | remove | move
    Column("item", String(32), nullable=True),  # a queue item's id
    Column("position", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(256), nullable=True),
    Index(None, "applied_at", "id"),
)

# The active station's state at the edge of segment `sequence` (redundant stations,
# `radiocalico.station.standby`): the last few edges of each group of stations.
station_shared_state = Table(
    "station_shared_state",
    metadata,
    Column("station_group", String(64), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("node", String(64), nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("username", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", String(2048), nullable=False, server_default=""),
    Index(None, "at", "id"),
)
