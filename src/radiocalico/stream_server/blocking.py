"""Blocking playlist reload (RFC 8216bis 6.2.5.2), the decisions shared by every server that
answers it: what a request asks for, whether a playlist holds it, and when to refuse.

A client in low-latency mode asks for a media playlist with `_HLS_msn=M` (and
`_HLS_part=P`): "answer once the playlist holds segment M (part P of segment M)". The
answer is the playlist file as the station wrote it (`station.hls`); nothing here writes
one. Refusals, as the RFC says:

* 400: `_HLS_part` without `_HLS_msn`, a value that is not a whole number >= 0, an
  `_HLS_msn` more than two segments past the playlist's last one, or a part further ahead
  than the Advance Part Limit (three part targets' worth of parts);
* 503: the playlist did not reach it within three target durations (the station stopped
  or fell behind); a client then retries or backs off.

A part index past the last part of its segment asks for part 0 of the next segment.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

MSN = "_HLS_msn"
PART = "_HLS_part"
PREFIX = "_HLS_"


class BadRequest(ValueError):
    """The request cannot be answered (400); the message says why."""


@dataclass(frozen=True)
class Want:
    msn: int
    part: int | None


@dataclass(frozen=True)
class Position:
    """Where a media playlist ends: its last whole segment, the parts of the segment being
    made (the open one, `last_msn + 1`), and the timing it declares."""
    last_msn: int
    last_parts: int  # parts listed for the last whole segment (0: none listed)
    open_parts: int  # parts of the open segment published so far
    target_duration: float
    part_target: float  # 0 without Low-Latency HLS


def is_blocking(query_string: str) -> bool:
    return PREFIX in query_string


def parse_want(query_string: str) -> Want | None:
    """The request's `_HLS_msn`/`_HLS_part`; None when it asks for neither (a plain load)."""
    values = dict(parse_qsl(query_string, keep_blank_values=True))
    msn, part = values.get(MSN), values.get(PART)
    if msn is None:
        if part is not None:
            raise BadRequest("_HLS_part needs _HLS_msn")
        return None
    return Want(_whole(MSN, msn), None if part is None else _whole(PART, part))


def _whole(name: str, raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest(f"{name} must be a whole number >= 0")
    return int(raw)


_SEQUENCE = re.compile(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)", re.M)
_TARGET = re.compile(r"^#EXT-X-TARGETDURATION:(\d+)", re.M)
_PART_TARGET = re.compile(r"^#EXT-X-PART-INF:PART-TARGET=([\d.]+)", re.M)


def position(playlist: str) -> Position | None:
    """Where `playlist` ends; None when it is not a media playlist with a segment."""
    sequence = _SEQUENCE.search(playlist)
    target = _TARGET.search(playlist)
    segments = playlist.count("#EXTINF:")
    if not sequence or not target or not segments:
        return None
    blocks = playlist.split("#EXTINF:")
    part_target = _PART_TARGET.search(playlist)
    return Position(int(sequence.group(1)) + segments - 1, blocks[-2].count("#EXT-X-PART:"),
                    blocks[-1].count("#EXT-X-PART:"), float(target.group(1)),
                    float(part_target.group(1)) if part_target else 0.0)


def holds(at: Position, want: Want) -> bool:
    """True when a playlist ending at `at` answers `want`."""
    if want.part is None or not at.part_target:
        return want.msn <= at.last_msn
    msn, part = want.msn, want.part
    if msn < at.last_msn:
        return True
    if msn == at.last_msn:
        return part < at.last_parts or at.open_parts > 0  # past the last part: part 0 of the next
    if msn == at.last_msn + 1:
        return part < at.open_parts
    return False


def check_reachable(at: Position, want: Want) -> None:
    """Raise BadRequest for a request too far ahead of `at` (see the module docstring)."""
    if want.msn > at.last_msn + 2:
        raise BadRequest(f"{MSN}={want.msn} is more than two segments past the playlist's last ({at.last_msn})")
    if want.part is not None and at.part_target:
        per_segment = max(at.last_parts, 1)
        have = (at.last_msn + 1) * per_segment + at.open_parts - 1  # the last part published
        asked = want.msn * per_segment + min(want.part, per_segment)
        limit = 3 / at.part_target if at.part_target < 1 else 3  # the Advance Part Limit
        if asked - have > limit:
            raise BadRequest(f"{PART}={want.part} is more than {math.floor(limit)} parts ahead")


def timeout_seconds(at: Position) -> float:
    """How long a request may wait before the answer is 503."""
    return 3 * at.target_duration


def cache_control(at: Position) -> str:
    """A blocking answer is the playlist at or after the point asked for, right for every
    client that asks the same: cacheable for as long as the playlist's window lasts."""
    return f"public, max-age={int(3 * at.target_duration)}"


# --- one request, from start to answer (the servers do the reading and the waiting) ----------

NOT_YET = "The playlist did not reach the segment or part asked for in time."


@dataclass
class Reload:
    """A blocking reload under way: the playlist as last read and where it ends. A server
    re-reads the file as it changes (`update`) until `ready`, or gives up (503) once
    `remaining` is 0; then it answers `text` with `cache_control`."""
    want: Want
    text: str
    at: Position
    deadline: float = 0.0  # monotonic; set on creation

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + timeout_seconds(self.at)

    @property
    def ready(self) -> bool:
        return holds(self.at, self.want)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def update(self, text: str | None) -> None:
        """The playlist read again (None: unreadable a moment, as the station replaces it)."""
        at = position(text) if text else None
        if at is not None:
            self.text, self.at = text, at

    @property
    def cache_control(self) -> str:
        return cache_control(self.at)


def begin(query_string: str, text: str | None) -> Reload | None:
    """The reload `query_string` asks of the playlist `text` (None: not there); None for a
    plain load or a playlist with nothing to wait on (served as it is, or 404). Raises
    BadRequest (400) for a request the RFC refuses."""
    want = parse_want(query_string)
    at = position(text) if text else None
    if want is None or at is None:
        return None
    check_reachable(at, want)
    return Reload(want, text, at)
