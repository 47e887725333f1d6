"""Tables, declared once for SQLite and PostgreSQL.

`votes` has one row per (song, voter): the composite primary key is the unique
constraint that, with an INSERT ... ON CONFLICT upsert, makes concurrent votes from
one listener count once. A voter is `u:<user id>` for a signed-in listener or `f:<hmac>`
for an anonymous one (HMAC-SHA256 of the page's fingerprint under the server secret),
so no raw fingerprint and no IP address is ever stored.

`sessions` has one row per signed-in session: the session cookie names it, signing out
deletes it, so a copied or kept cookie stops working the moment its session ends. Only a
SHA-256 of the session's random id is stored.
"""

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
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
)

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
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 (hex) of the cookie's session id
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "user_id"),
)
