"""What the station published, read back from its media playlists when its state is lost.

The state file (`stream_layout.STATE_NAME`) is what lets a restarted station continue the
stream. Without it (deleted, unreadable, from an incompatible version) a station used to
start again at media sequence 0: a player holding the live playlist saw the sequence jump
back (34 -> 0) with no discontinuity, which RFC 8216 6.2.1 forbids and which makes players
stall or replay. The playlists themselves are public and written before the state, so they
say everything a continuation needs: the last media sequence number, the discontinuity
count, the program-date-time clock and the window of segments still on disk.

The station writes its playlists itself (hls.py), so the few tags read here are parsed
here: EXT-X-TARGETDURATION, EXT-X-MEDIA-SEQUENCE, EXT-X-DISCONTINUITY-SEQUENCE,
EXT-X-DISCONTINUITY, EXT-X-MAP, EXT-X-PROGRAM-DATE-TIME, EXTINF and segment URIs. A
playlist that does not parse is skipped with a warning.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Sequence

from radiocalico import stream_layout

log = logging.getLogger("radiocalico.station")


@dataclass
class _Playlist:
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    target_duration: int = 1
    entries: list[dict] = field(default_factory=list)

    @property
    def last_sequence(self) -> int:
        return self.media_sequence + len(self.entries) - 1

    @property
    def last_discontinuity(self) -> int:
        """The discontinuity number of the last segment (RFC 8216 6.2.2)."""
        return self.discontinuity_sequence + sum(e["discontinuity"] for e in self.entries)

    @property
    def clock_end(self) -> float:
        return max((e["program_date_time"] + e["duration"] for e in self.entries), default=0.0)


def _parse(text: str) -> _Playlist:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "#EXTM3U":
        raise ValueError("not an M3U8 playlist")
    playlist = _Playlist()
    pending: dict = {"discontinuity": False}
    init_uri = None
    for line in (raw.strip() for raw in lines[1:]):
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-MEDIA-SEQUENCE":
            playlist.media_sequence = int(value)
        elif tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
            playlist.discontinuity_sequence = int(value)
        elif tag == "#EXT-X-TARGETDURATION":
            playlist.target_duration = int(value)
        elif line == "#EXT-X-DISCONTINUITY":
            pending["discontinuity"] = True
        elif tag == "#EXT-X-MAP":
            init_uri = value.split('URI="', 1)[1].split('"', 1)[0]
        elif tag == "#EXT-X-PROGRAM-DATE-TIME":
            pending["program_date_time"] = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        elif tag == "#EXTINF":
            pending["duration"] = float(value.split(",", 1)[0])
        elif line and not line.startswith("#"):
            if "duration" not in pending or "program_date_time" not in pending or init_uri is None:
                raise ValueError(f"segment {line} lacks EXTINF, PROGRAM-DATE-TIME or MAP")
            playlist.entries.append(dict(pending, uri=line, init_uri=init_uri,
                                         sequence=playlist.media_sequence + len(playlist.entries)))
            pending = {"discontinuity": False}
    return playlist


def _read(path: Path) -> _Playlist | None:
    try:
        return _parse(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, IndexError) as exc:
        log.warning("cannot read back the published playlist %s: %s", path.name, exc)
        return None


def recovered_state(hls_dir: Path, renditions: Sequence[tuple[str, str]]) -> dict | None:
    """A state (hls.py's format) that continues what the media playlists in `hls_dir`
    published; None when there is none. `renditions`: (name, media playlist name) of each
    rendition this run publishes, the first one first.

    Every playlist found counts, a rendition no longer offered included (they share one
    sequence), so the next segment is numbered above every one published, carries a
    discontinuity (a new stream id, the decode time from 0) and is timed after the end of
    the newest one. The windows are kept (hls.py keeps what is still on disk); the
    discontinuity sequence is chosen so that the first rendition's window plus the new
    discontinuity numbers the next segment one above the last one published."""
    published = {path.name: playlist for path in sorted(hls_dir.glob(stream_layout.MEDIA_PLAYLIST_GLOB))
                 if (playlist := _read(path)) is not None}
    published = {name: p for name, p in published.items() if p.entries}
    if not published:
        return None
    window = {name: published[playlist_name].entries if playlist_name in published else []
              for name, playlist_name in renditions}
    last_discontinuity = max(p.last_discontinuity for p in published.values())
    first_flags = sum(e["discontinuity"] for e in window[renditions[0][0]])

    def rendition_state(entries: list[dict]) -> dict:
        for entry in entries:
            try:
                entry["size"] = (hls_dir / entry["uri"]).stat().st_size
            except OSError:
                entry["size"] = 0  # gone: hls.py drops it from the window
        peak = max((e["size"] * 8 / e["duration"] for e in entries if e["duration"] > 0), default=0)
        return {"peak_bps": int(math.ceil(peak)), "entries": entries, "retired": []}

    state = {
        "next_sequence": max(p.last_sequence for p in published.values()) + 1,
        "discontinuity_sequence": last_discontinuity - first_flags,
        "decode_time": 0,
        "clock_end": max(p.clock_end for p in published.values()),
        "target_duration": max(p.target_duration for p in published.values()),
        "renditions": {name: rendition_state(entries) for name, entries in window.items()},
        "extra": {},
    }
    log.warning("the station state was lost: continuing the published playlists after media "
                "sequence %d, with a discontinuity", state["next_sequence"] - 1)
    return state
