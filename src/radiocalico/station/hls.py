"""The live HLS output: fMP4 segments, the media and master playlists, and the state that
lets a restarted station continue the same stream.

Layout under the output folder::

    hls/live.m3u8          master playlist (one variant, CODECS="fLaC", measured BANDWIDTH)
    hls/live_flac.m3u8     live media playlist (sliding window, PROGRAM-DATE-TIME on every segment)
    hls/init-<hash>.mp4    fMP4 init segment (EXT-X-MAP); named by content
    hls/seg-<id>-<seq>.m4s media segments (<id> names the stream's state, <seq> the media sequence)
    .station-state.json    media sequence, discontinuity sequence, window, tfdt, clock, history

Every file is written atomically. A restart marks its first segment with
EXT-X-DISCONTINUITY, keeps counting the media sequence, keeps `tfdt` continuous and keeps
the program-date-time clock monotonic. EXT-X-ENDLIST is never written: to a player a stopped
station looks like a live stream that is late, and it resumes when the station is back.
Segments that slide out of the playlist stay on disk for another window's length (a player
may still be fetching one), then are deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import fmp4, fsutil

log = logging.getLogger("radiocalico.station")

MASTER_NAME = "live.m3u8"
MEDIA_NAME = "live_flac.m3u8"
STATE_NAME = ".station-state.json"
STATE_VERSION = 1


def iso_utc(timestamp: float) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.000Z."""
    millis = int(round(timestamp * 1000))
    dt = datetime.fromtimestamp(millis // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


@dataclass
class SegmentEntry:
    sequence: int
    uri: str
    duration: float
    program_date_time: float  # unix seconds of the segment's first sample
    discontinuity: bool
    init_uri: str
    size: int


class HlsWriter:
    def __init__(self, out: Path, *, window: int = 8, sample_rate: int = 48000,
                 frame_size: int, streaminfo: bytes, channels: int = 2, bits: int = 24,
                 codecs: str = "fLaC"):
        self.out = Path(out)
        self.dir = self.out / "hls"
        self.dir.mkdir(parents=True, exist_ok=True)
        fsutil.remove_stale_temp_files(self.dir)
        fsutil.remove_stale_temp_files(self.out)
        self.window = max(3, window)
        self.sample_rate = sample_rate
        self.frame_size = frame_size
        self.codecs = codecs
        init = fmp4.init_segment(streaminfo, sample_rate, channels, bits)
        self.init_uri = f"init-{hashlib.sha256(init).hexdigest()[:12]}.mp4"
        if not (self.dir / self.init_uri).exists():
            fsutil.atomic_write(self.dir / self.init_uri, init)

        state = self._load_state()
        self.entries: list[SegmentEntry] = []
        self.next_sequence = 0
        self.discontinuity_sequence = 0
        self.decode_time = 0  # tfdt of the next segment, in samples
        self.clock_end = 0.0  # program-date-time at the end of the last published segment
        self.peak_bps = 0
        self.target_duration = 1
        self.history: list[dict] = []
        self.retired: list[list[str]] = []  # [segment, init] out of the playlist, still on disk
        self.resumed = False
        # Part of every segment name, new whenever the state is lost, so a segment name is
        # never reused for other audio (segments are served as immutable).
        self.stream_id = os.urandom(4).hex()
        if state:
            self.stream_id = str(state.get("stream_id") or self.stream_id)
            self.resumed = True
            self.next_sequence = int(state["next_sequence"])
            self.discontinuity_sequence = int(state["discontinuity_sequence"])
            self.decode_time = int(state["decode_time"])
            self.clock_end = float(state["clock_end"])
            self.peak_bps = int(state.get("peak_bps", 0))
            self.target_duration = int(state.get("target_duration", 1))
            self.history = list(state.get("history", []))
            self.retired = list(state.get("retired", []))
            for raw in state.get("entries", []):
                entry = SegmentEntry(**raw)
                if (self.dir / entry.uri).exists() and (self.dir / entry.init_uri).exists():
                    self.entries.append(entry)
            # A segment whose file went missing cannot stay in a window with a gap:
            # keep only the newest unbroken run.
            run: list[SegmentEntry] = []
            for entry in self.entries:
                if run and entry.sequence != run[-1].sequence + 1:
                    run = []
                run.append(entry)
            self.entries = run
        self.pending_discontinuity = self.resumed
        self._delete_orphans()

    # -- state ---------------------------------------------------------------------------

    def _load_state(self) -> dict | None:
        path = self.out / STATE_NAME
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable station state %s: %s", path, exc)
            return None
        if state.get("version") != STATE_VERSION or state.get("sample_rate") != self.sample_rate:
            log.warning("ignoring station state from an incompatible version")
            return None
        return state

    def _save_state(self) -> None:
        state = {
            "version": STATE_VERSION,
            "sample_rate": self.sample_rate,
            "stream_id": self.stream_id,
            "next_sequence": self.next_sequence,
            "discontinuity_sequence": self.discontinuity_sequence,
            "decode_time": self.decode_time,
            "clock_end": self.clock_end,
            "peak_bps": self.peak_bps,
            "target_duration": self.target_duration,
            "entries": [asdict(e) for e in self.entries],
            "retired": self.retired,
            "history": self.history[-6:],
        }
        fsutil.atomic_write(self.out / STATE_NAME, json.dumps(state, indent=1))

    # -- publishing ----------------------------------------------------------------------

    def publish(self, frames: list[bytes], samples: int, program_date_time: float) -> SegmentEntry:
        """Write one segment, then the playlists (and state). Returns the new entry."""
        sequence = self.next_sequence
        data = fmp4.media_segment(sequence + 1, self.decode_time, self.frame_size, frames)
        uri = f"seg-{self.stream_id}-{sequence:09d}.m4s"
        fsutil.atomic_write(self.dir / uri, data)
        duration = samples / self.sample_rate
        entry = SegmentEntry(sequence, uri, duration, program_date_time,
                             self.pending_discontinuity, self.init_uri, len(data))
        self.pending_discontinuity = False
        self.next_sequence += 1
        self.decode_time += samples
        self.clock_end = program_date_time + duration
        self.entries.append(entry)
        while len(self.entries) > self.window:
            gone = self.entries.pop(0)
            if gone.discontinuity:
                self.discontinuity_sequence += 1
            self.retired.append([gone.uri, gone.init_uri])
        self.target_duration = max(self.target_duration, math.ceil(duration - 1e-9) or 1)
        self.peak_bps = max(self.peak_bps, int(math.ceil(len(data) * 8 / duration)))
        fsutil.atomic_write(self.dir / MEDIA_NAME, self.media_playlist())
        fsutil.atomic_write(self.dir / MASTER_NAME, self.master_playlist())
        self._delete_retired()
        self._save_state()
        return entry

    def _delete_orphans(self) -> None:
        """Segments no state knows of (a lost state file, an older layout) are never served again."""
        known = {e.uri for e in self.entries} | {r[0] for r in self.retired}
        self._unlink_all_but("seg-*.m4s", known)

    def _delete_retired(self) -> None:
        while len(self.retired) > self.window:
            uri, _init = self.retired.pop(0)
            try:
                os.unlink(self.dir / uri)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot delete old segment %s: %s", uri, exc)
        in_use = {e.init_uri for e in self.entries} | {r[1] for r in self.retired} | {self.init_uri}
        self._unlink_all_but("init-*.mp4", in_use)

    def _unlink_all_but(self, pattern: str, keep: set[str]) -> None:
        """Delete this folder's files matching `pattern` whose names are not in `keep`."""
        for path in self.dir.glob(pattern):
            if path.name not in keep:
                try:
                    path.unlink()
                except OSError:
                    pass

    def media_playlist(self) -> str:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.entries[0].sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        current_map = None
        for entry in self.entries:
            if entry.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if entry.init_uri != current_map or entry.discontinuity:
                lines.append(f'#EXT-X-MAP:URI="{entry.init_uri}"')
                current_map = entry.init_uri
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso_utc(entry.program_date_time)}")
            lines.append(f"#EXTINF:{entry.duration:.6f},")
            lines.append(entry.uri)
        return "\n".join(lines) + "\n"

    def master_playlist(self) -> str:
        average = sum(e.size for e in self.entries) * 8 / sum(e.duration for e in self.entries)
        average = int(math.ceil(average / 1000.0) * 1000)
        return (
            "#EXTM3U\n"
            "#EXT-X-VERSION:7\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            f'#EXT-X-STREAM-INF:BANDWIDTH={self.peak_bps},AVERAGE-BANDWIDTH={average},'
            f'CODECS="{self.codecs}"\n'
            f"{MEDIA_NAME}\n"
        )

    def remember_track(self, record: dict) -> None:
        """Track history (newest last), saved with the next published segment's state so
        prev_* survive a restart."""
        self.history.append(record)
        self.history = self.history[-6:]
