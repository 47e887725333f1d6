"""Configuration read from environment variables, each with a documented default.

Every setting lives in one frozen dataclass so that the app, the CLI, the station and the
tests agree on names and defaults. `Config.from_env()` is the only place that reads
`os.environ`; tests build a `Config` directly with `dataclasses.replace`.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import secrets
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PUBLIC_CDN_URL = "https://d3d4yli4hf5bmh.cloudfront.net"
STATION_MODES = ("embedded", "external", "upstream")
LOUDNESS_TARGET_RANGE = (-40, -5)  # LUFS STATION_LOUDNESS_TARGET may be set to


MISSING_SECRET_KEY = (
    "SECRET_KEY is not set: set it to `openssl rand -hex 32`, the same on every replica "
    "(only the development server, STATION_MODE=embedded, generates its own)"
)


# Listener tokens and sessions are signed with SECRET_KEY and checked without a database
# look-up: whoever guesses the key mints votes. A key is refused when shorter than this,
# made of few distinct characters, or only a well-known word repeated.
SECRET_KEY_MIN_LENGTH = 32
_SECRET_KEY_WORDS = ("changeme", "secret", "secretkey", "password", "radiocalico", "test",
                     "dev", "development", "default", "key", "example", "x")


def secret_key_problem(key: str) -> str | None:
    """Why `key` is too weak to sign with, or None."""
    letters = re.sub(r"[^a-z0-9]", "", key.lower())
    if len(key.strip()) < SECRET_KEY_MIN_LENGTH:
        return f"shorter than {SECRET_KEY_MIN_LENGTH} characters"
    if len(set(key)) < 8:
        return "made of too few distinct characters"
    if any(letters == word * (len(letters) // len(word)) for word in _SECRET_KEY_WORDS):
        return "a well-known word"
    return None


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    """NAME, or the contents of the file NAME_FILE names: Docker and Swarm secrets are
    files (/run/secrets/...), and a secret in a file is not in `docker inspect` or in the
    environment of every process the app starts. One trailing newline is not part of it."""
    raw = environ.get(name)
    path = environ.get(f"{name}_FILE")
    if not path:
        return raw
    if raw:
        raise ValueError(f"{name} and {name}_FILE are both set: keep one")
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        raise ValueError(f"{name}_FILE names {path}, which cannot be read ({reason})") from None
    return text.removesuffix("\n").removesuffix("\r")


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Config:
    """Settings; the environment variable of each field is its name in upper case."""

    # Where SQLite, the generated secret, the demo library and the station output live.
    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    # SQLAlchemy URL; empty means an SQLite file in the instance folder.
    # PostgreSQL: postgresql+psycopg://user@host:5432/dbname
    database_url: str = ""
    # The password DATABASE_URL's connections use, when the URL carries none: kept apart so
    # that it can come from a secret file (DATABASE_PASSWORD_FILE), the same one PostgreSQL
    # is initialised with (POSTGRES_PASSWORD_FILE), while the URL stays plain configuration.
    database_password: str = ""
    # Signs session cookies and keys the HMAC of listener fingerprints; every app server
    # and replica must share it. Required, except by the development server
    # (STATION_MODE=embedded), which generates one once and keeps it in the instance folder.
    secret_key: str = ""
    # Origins allowed to call /api from another site (comma separated); none by default.
    cors_origins: tuple[str, ...] = ()
    # Rate-limit storage: Redis when set (limits then hold across workers), memory otherwise.
    redis_url: str = ""
    ratelimit_enabled: bool = True
    # Per listener (account or listener token) and per client address, for casting votes.
    # Per address sized for real use: 50 listeners behind one NAT voting on every song.
    ratelimit_votes: str = "60/minute"
    ratelimit_votes_per_ip: str = "1000/hour"
    # Listener tokens (the signed cookie an anonymous vote needs) issued per client address.
    ratelimit_listener_tokens: str = "20/hour"
    # Seconds a listener token must have existed ("listened a while") before it may vote.
    listener_token_min_age: float = 60.0
    # Per client address, for sign-in and sign-up.
    ratelimit_auth: str = "10/minute"
    # New accounts per client address (on top of RATELIMIT_AUTH).
    ratelimit_signups: str = "5/hour"
    # An account younger than this (seconds) votes only with a listener token that counts,
    # one token per account, as an anonymous listener does: a new account is no cheaper
    # way to count a vote than a new token.
    account_trust_seconds: float = 86400.0
    # Every password check (sign-in, changing the e-mail or password, deleting the
    # account), per account and per client address.
    ratelimit_password: str = "10/minute"
    # Password hashes (Argon2, 64 MiB and ~0.2 s of a core each) running at once in the
    # whole app server (all its workers); a check that finds none free answers 503 at once.
    password_hash_concurrency: int = 1
    # The CPU priority of the hashing threads (api/passwords.py): idle (Linux SCHED_IDLE:
    # any request thread that wakes up runs first), a nice value 1-19 above the request
    # threads', or normal (theirs). Under load a hash waits, never /health or a vote.
    password_hash_priority: str = "idle"
    # How many reverse proxies in front of the app set X-Forwarded-For; 0 trusts none.
    trusted_proxy_hops: int = 0
    # The addresses (comma-separated CIDR networks) our proxies connect from: the header is
    # believed only on a connection from one of them. Required when TRUSTED_PROXY_HOPS > 0.
    trusted_proxies: tuple[str, ...] = ()
    # Send the session cookie only over HTTPS; turn on behind TLS.
    session_cookie_secure: bool = False
    # Largest accepted request body, in bytes.
    max_content_length: int = 16 * 1024
    # embedded: the dev server runs the station and serves it under /stream.
    # external: another process (production) writes the stream; nginx serves it.
    # upstream: the player listens to the public RadioCalico CDN.
    station_mode: str = "embedded"
    # Base URL the player loads hls/live.m3u8, metadatav2.json and cover.jpg from;
    # empty means /stream for embedded and external, the public CDN for upstream.
    stream_base_url: str = ""
    # Folder of audio files to play; empty means a generated demo library.
    station_library: str = ""
    # Folder the station writes hls/, metadatav2.json and cover.jpg into;
    # empty means <instance_path>/stream.
    station_out: str = ""
    station_segment_seconds: float = 2.0
    # Low-Latency HLS part length (whole FLAC frames dividing a segment: the nearest is
    # taken); 0 publishes whole segments only.
    station_part_seconds: float = 0.333
    # The renditions the station publishes (comma separated): lossless (FLAC), high (AAC
    # 256 kbit/s), saver (AAC 96 kbit/s); the master playlist's order does not depend on this.
    station_renditions: tuple[str, ...] = ("lossless", "high", "saver")
    # --- Redundant stations (station/standby.py) ------------------------------------------
    # This station's name among stations making one stream; empty: a single station. With
    # a node id the station needs DATABASE_URL on PostgreSQL and is epoch-locked.
    station_node_id: str = ""
    # The stations that make one stream share a group name (and database).
    station_group: str = "main"
    # Where segment 0 begins (unix seconds or ISO 8601): segments numbered, timed and named
    # from the clock. Empty: the Unix epoch with a node id, else off (the count goes on from
    # the station's state).
    station_epoch: str = ""
    # Every redundant station's output folder URL (comma separated), listed in the master
    # playlists as redundant variants; empty lists this station's own playlists only.
    station_origins: tuple[str, ...] = ()
    # Integrated loudness (LUFS, EBU R128) every track is levelled to, under a -1 dBTP true
    # peak ceiling (station/loudness.py says why -18); "off" airs files at their own level.
    station_loudness_target: str = "-18"
    # --- Programming (station/decider.py) ------------------------------------------------
    # No song within this many minutes of its last play, no artist within the other; a
    # library too small to honour them relaxes them (the track breaking them least plays,
    # flagged `relaxed`). 0 turns a rule off.
    rotation_song_separation_minutes: float = 120.0
    rotation_artist_separation_minutes: float = 30.0
    # The station's time zone (an IANA name, e.g. Europe/Paris): time blocks and the top of
    # the hour are read on its clock.
    station_timezone: str = "UTC"
    # metadatav2.json carries the queue (`next`) and /api/now-playing returns it.
    station_publish_next: bool = True
    # A song may be requested only this many minutes after its last play or request.
    request_min_minutes_since_play: float = 60.0
    # Requests (POST /api/requests) per listener, and per client address.
    ratelimit_requests: str = "3/hour"
    ratelimit_requests_per_ip: str = "30/hour"
    # --- The operator console (api/console.py, api/console_library.py) ---------------------
    # Library changes (upload, tag edit, removal) per operator account.
    ratelimit_console_library: str = "120/hour"
    # The largest file an operator may upload into the library, in MB (MiB).
    console_upload_max_mb: int = 1024
    # Readiness (/health/ready): the newest segment in the station output folder must be at
    # most this many seconds old; 0 leaves the station out of readiness (upstream mode
    # never checks it).
    ready_max_segment_age: float = 30.0
    # --- Live: a DJ goes live from their own software (station/live.py) ------------------
    # The port the station takes DJs' Icecast-style sources on (mount /live); 0 turns it off.
    station_live_port: int = 8010
    # The address it listens on: 0.0.0.0 for DJs on other machines (put TLS in front).
    station_live_host: str = "127.0.0.1"
    # Seconds of the crossfade at the take-over and at the hand-back to the rotation.
    live_crossfade_seconds: float = 2.0
    # Live audio buffered beyond a part (or segment) before going on air, against network jitter.
    live_buffer_seconds: float = 0.25
    # A DJ connection sending nothing this long is closed and the rotation resumes.
    live_no_data_seconds: float = 10.0
    # Digital silence (below -90 dBFS) this long from the DJ hands back to the rotation.
    live_silence_seconds: float = 30.0
    # Record each live set as FLAC under <instance_path>/recordings.
    live_record: bool = True
    # --- Play history, charts, the embed and stream listeners -----------------------------
    # Each app process reads metadatav2.json this often (seconds) and records track starts
    # (once, whatever the number of processes); 0 turns recording off in this process.
    history_poll_seconds: float = 5.0
    # Plays older than this many days are deleted; 0 keeps every play.
    history_retention_days: int = 0
    # Sites that may show /embed in an iframe (CSP frame-ancestors), comma separated, e.g.
    # https://example.org; "*" allows any site; empty allows only this site.
    embed_origins: tuple[str, ...] = ()
    # The site's public origin (https://radio.example), for the few absolute links the app
    # writes (cover URLs in the API, the embed card's link). Empty: links relative to the
    # answering origin. Never taken from the request's Host, which a client chooses.
    public_url: str = ""
    # A client counts as listening while it fetched an HLS playlist within this many seconds.
    stream_listener_window_seconds: int = 60
    # The IPv6 network (prefix length, 32-128) counted as one client address by every
    # per-address limit (listener tokens, sign-ups, sign-ins, votes) and by the stream
    # listener count: a subscriber is handed a whole /64 and can use a new address in it
    # for each request. 128 counts each address alone. IPv4 addresses count one by one.
    client_ipv6_prefix: int = 64
    # Distinct stream listeners one address (an IPv4 address, an IPv6 /64) can count as:
    # invented user agents beyond this add nobody (see listeners.stream_listener_digest).
    stream_listeners_per_address: int = 32
    # Serve the player's scripts as the minified bundle `python -m radiocalico.web.vendor`
    # makes (static/build/) instead of the source modules: on in production (deploy/serve.py),
    # off for the dev server, so that an edited module shows at the next reload.
    web_bundle: bool = False
    # Where `radiocalico serve` listens.
    host: str = "127.0.0.1"
    port: int = 3000

    def __post_init__(self) -> None:
        if self.station_mode not in STATION_MODES:
            raise ValueError(
                f"STATION_MODE must be one of {', '.join(STATION_MODES)}, not {self.station_mode!r}"
            )
        self.station_loudness_lufs  # raises ValueError for a value that is neither off nor LUFS
        self.station_zone  # raises ValueError for a zone zoneinfo does not know
        if self.rotation_song_separation_minutes < 0 or self.rotation_artist_separation_minutes < 0:
            raise ValueError("ROTATION_SONG_SEPARATION_MINUTES and ROTATION_ARTIST_SEPARATION_MINUTES "
                             "must be 0 (off) or a number of minutes")
        self.station_epoch_seconds  # raises ValueError for an epoch that is not a time
        if not 0 <= self.station_part_seconds < self.station_segment_seconds:
            raise ValueError("STATION_PART_SECONDS must be 0 (no Low-Latency HLS parts) or shorter than a segment")
        if self.history_poll_seconds < 0:
            raise ValueError("HISTORY_POLL_SECONDS must be 0 (off) or a positive number of seconds")
        if self.history_retention_days < 0:
            raise ValueError("HISTORY_RETENTION_DAYS must be 0 (keep all) or a number of days")
        if self.stream_listener_window_seconds < 6:
            raise ValueError("STREAM_LISTENER_WINDOW_SECONDS must be at least 6 seconds")
        if not 0 <= self.station_live_port <= 65535:
            raise ValueError("STATION_LIVE_PORT must be a port number, or 0 to turn the live input off")
        if self.live_crossfade_seconds <= 0 or self.live_buffer_seconds < 0:
            raise ValueError("LIVE_CROSSFADE_SECONDS must be positive and LIVE_BUFFER_SECONDS at least 0")
        if self.live_no_data_seconds <= 0 or self.live_silence_seconds <= 0:
            raise ValueError("LIVE_NO_DATA_SECONDS and LIVE_SILENCE_SECONDS must be positive")
        self.password_hash_nice  # raises ValueError for a priority it does not know
        if not 32 <= self.client_ipv6_prefix <= 128:
            raise ValueError("CLIENT_IPV6_PREFIX must be an IPv6 prefix length from 32 to 128 "
                             "(64: one subscriber's network)")
        if self.stream_listeners_per_address < 1:
            raise ValueError("STREAM_LISTENERS_PER_ADDRESS must be at least 1")
        for origin in self.embed_origins:
            if origin != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?", origin):
                raise ValueError(
                    f"EMBED_ORIGINS must list origins like https://example.org (or *), not {origin!r}"
                )
        if self.public_url and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?",
                                                self.public_url):
            raise ValueError(
                f"PUBLIC_URL must be an origin like https://radio.example, not {self.public_url!r}"
            )
        for network in self.trusted_proxies:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES must list CIDR networks (e.g. 172.28.0.0/16), "
                    f"not {network!r}"
                ) from None
        if self.secret_key.lower().startswith("change-me"):
            raise ValueError(
                "SECRET_KEY is still the placeholder from deploy/.env.example: "
                "set it to `openssl rand -hex 32`, the same on every replica"
            )
        if self.secret_key and (problem := secret_key_problem(self.secret_key)):
            raise ValueError(
                f"SECRET_KEY is too weak ({problem}): set it to `openssl rand -hex 32`, "
                "the same on every replica"
            )
        if self.database_password:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                url = make_url(self.database_url)
            except ArgumentError:
                url = None
            if url is None or url.get_backend_name() == "sqlite":
                raise ValueError("DATABASE_PASSWORD is set but DATABASE_URL names no database "
                                 "server to use it with (postgresql+psycopg://user@host/db)")
            if url.password:
                raise ValueError("DATABASE_PASSWORD is set and DATABASE_URL carries a password "
                                 "too: keep one")
        if self.trusted_proxy_hops > 0 and not self.trusted_proxies:
            raise ValueError(
                "TRUSTED_PROXY_HOPS is set but TRUSTED_PROXIES names no proxy address: "
                "set TRUSTED_PROXIES to the network the proxy connects from"
            )

    @property
    def password_hash_nice(self) -> int | None:
        """PASSWORD_HASH_PRIORITY as a nice increment (0: normal); None for idle."""
        text = self.password_hash_priority.strip().lower()
        if text == "idle":
            return None
        if text == "normal":
            return 0
        if not (text.isdigit() and 1 <= int(text) <= 19):
            raise ValueError(f"PASSWORD_HASH_PRIORITY must be idle, normal or a nice value "
                             f"from 1 to 19, not {self.password_hash_priority!r}")
        return int(text)

    @property
    def station_loudness_lufs(self) -> float | None:
        """STATION_LOUDNESS_TARGET as LUFS; None when off."""
        text = self.station_loudness_target.strip().lower()
        if text == "off":
            return None
        try:
            target = float(text.removesuffix("lufs"))
        except ValueError:
            target = math.nan
        if not LOUDNESS_TARGET_RANGE[0] <= target <= LOUDNESS_TARGET_RANGE[1]:
            raise ValueError(f"STATION_LOUDNESS_TARGET must be off or a loudness in LUFS from "
                             f"{LOUDNESS_TARGET_RANGE[0]} to {LOUDNESS_TARGET_RANGE[1]}, "
                             f"not {self.station_loudness_target!r}")
        return target

    @property
    def station_zone(self) -> ZoneInfo:
        """STATION_TIMEZONE as a zone."""
        try:
            return ZoneInfo(self.station_timezone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"STATION_TIMEZONE must be an IANA time zone name such as UTC or "
                             f"Europe/Paris, not {self.station_timezone!r}") from None

    @property
    def trusted_proxy_networks(self) -> tuple:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = _setting(environ, f.name.upper())
            if raw is None:
                continue
            if f.name == "instance_path":
                values[f.name] = Path(raw).resolve()
            elif f.name == "station_live_port" and raw.strip().lower() == "off":
                values[f.name] = 0
            elif isinstance(f.default, bool):
                values[f.name] = _bool(raw)
            elif isinstance(f.default, int):
                values[f.name] = int(raw)
            elif isinstance(f.default, float):
                values[f.name] = float(raw)
            elif isinstance(f.default, tuple):
                values[f.name] = _list(raw)
            else:
                values[f.name] = raw
        return cls(**values)

    @property
    def station_epoch_seconds(self) -> float | None:
        """STATION_EPOCH as unix seconds; None when the station is not epoch-locked."""
        raw = self.station_epoch.strip()
        if not raw:
            return 0.0 if self.station_node_id else None
        try:
            return float(raw)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"STATION_EPOCH must be unix seconds or an ISO 8601 time, not {raw!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()

    @property
    def resolved_database_url(self) -> str:
        if self.database_password:
            from sqlalchemy.engine import make_url

            return make_url(self.database_url).set(password=self.database_password) \
                .render_as_string(hide_password=False)
        return self.database_url or f"sqlite:///{self.instance_path / 'radiocalico.sqlite3'}"

    @property
    def resolved_station_out(self) -> Path:
        return Path(self.station_out) if self.station_out else self.instance_path / "stream"

    @property
    def resolved_stream_base_url(self) -> str:
        if self.stream_base_url:
            return self.stream_base_url.rstrip("/")
        return PUBLIC_CDN_URL if self.station_mode == "upstream" else "/stream"

    def resolved_secret_key(self) -> str:
        """The configured key, else (the development server only) one generated once and
        kept in the instance folder. Anywhere else a generated key would differ from one
        replica to the next: a session signed by one would be refused by the others."""
        if self.secret_key:
            return self.secret_key
        if self.station_mode != "embedded":
            raise ValueError(MISSING_SECRET_KEY)
        key_file = self.instance_path / "secret_key"
        if not key_file.exists():
            self.instance_path.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip()
