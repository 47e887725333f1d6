"""The HLS writer: each rendition's fMP4 segments and media playlist, the master playlist
listing them all, and the state that lets a restarted station continue the same stream.

Names come from `radiocalico.stream_layout`. This module is over 300 lines because the
playlists and the state they are rebuilt from after a restart are one job: split, the two
halves would share every field.

One timeline. Every rendition's media playlist holds the same segments: for each media
sequence number the same EXT-X-PROGRAM-DATE-TIME (the segment's programme edge), the same
EXT-X-DISCONTINUITY placement, and segments that start at the same programme sample within
one AAC frame: a FLAC segment starts on the edge, an AAC segment with its first frame
starting in [edge, edge + 1,024) (see `encoders`), its `tfdt` that frame's position and its
EXTINF the frames' real duration (within one frame of the FLAC one). `tfdt` counts samples
of the stream (state included), the same clock for every rendition, so a player can switch
rendition at any segment boundary without a gap or a repeat.

The master playlist (RFC 8216 4.3.4.2, Apple's HLS authoring specification): one
EXT-X-STREAM-INF per rendition with its CODECS (`fLaC`, `mp4a.40.2`), its measured peak
segment bitrate as BANDWIDTH and mean as AVERAGE-BANDWIDTH, audio only (no RESOLUTION), and
EXT-X-INDEPENDENT-SEGMENTS (every segment starts with a sync sample). Order (`master_order`):
a client that does not adapt plays the first variant, and Safari/AVPlayer and hls.js start
with it (Apple: the first variant listed is the one playback starts with) before adapting by
BANDWIDTH. So the first variant is the best rendition every HLS client decodes, `high`
(AAC-LC 256 kbit/s): FLAC in fMP4 is not in Apple's list of HLS codecs and many players
(older Safari and iOS, TVs, cars) cannot decode it. The others follow best first (lossless,
then saver); adapting clients sort by BANDWIDTH anyway. With lossless alone the master is
what it was before there were renditions.

Which master for which player. A player may not change codec in the middle of a stream:
Safari's and iOS's own HLS refuse ("Audio codec changes not allowed"), and WebKit's Media
Source Extensions lose the SourceBuffer on a FLAC <-> AAC change. So besides `live.m3u8`
the station writes one master per codec family (`stream_layout.family_master_name`, the
same EXT-X-STREAM-INF lines, in the same order): `master_aac.m3u8` (high, saver), offered
to native HLS players (the page's `<source>`, AirPlay), and `master_flac.m3u8` (lossless).
`live.m3u8` keeps listing every rendition, codecs mixed: it is the public CDN's shape, and
what our hls.js player loads (on our station as on the CDN). Where the engine changes codec
inside one MediaSource (a probe tells, `web/static/codec-probe.js`) the player switches
family there; elsewhere it keeps each hls.js instance within one family and moves between
families by handing over between two media elements on the program-date-time clock
(`web/static/handover.js`).

Which variant is which rendition: by its URI, `stream_layout.media_playlist_name(name)`
(live_flac.m3u8, live_high.m3u8, live_saver.m3u8), which metadatav2.json's
`renditions[].playlist` repeats. RFC 8216 gives EXT-X-STREAM-INF no NAME (that belongs to
EXT-X-MEDIA), and CODECS + BANDWIDTH would not tell two renditions of one codec apart once
their measured bitrates move, so the URI is the robust key (hls.js: `level.url`).

Every file is written atomically. A restart (with the state or, when the state is lost,
with what the published playlists say: recovery.py) marks its first segment with
EXT-X-DISCONTINUITY in every playlist, keeps counting the media sequence, keeps `tfdt`
continuous and keeps the program-date-time clock monotonic. EXT-X-ENDLIST is never written:
to a player a stopped station looks like a live stream that is late, and it resumes when
the station is back. Segments that slide out of the playlist stay on disk for another
window's length (a player may still be fetching one), then are deleted; the media playlist
of a rendition no longer offered is deleted at start-up.

Low-Latency HLS (RFC 8216bis, `part_samples`): each segment is also published as it is
made, in partial segments of whole frames (`publish_part`; the station paces its pipeline by
parts, see `station`). A part holds the same frames as the same stretch of its segment, cut
as segments are (a FLAC part on its edge, an AAC part the frames starting within its edges),
and every frame is a sync sample, so every part is INDEPENDENT=YES. The media playlists
carry EXT-X-SERVER-CONTROL (CAN-BLOCK-RELOAD=YES, PART-HOLD-BACK three part targets),
EXT-X-PART-INF, the parts of the last `PARTS_LISTED` whole segments and of the one being
made, an EXT-X-PRELOAD-HINT naming the next part and an EXT-X-RENDITION-REPORT for every
other rendition (they move in step). A player without Low-Latency HLS (ffmpeg, VLC, older
hls.js) reads the same playlist and plays the whole segments (the part tags are ignorable
tags to it). The whole segment is written when its last part is, from the same frames: the
lossless rendition stays bit for bit what it is without parts. Blocking playlist reloads
are served from these files by `radiocalico.stream_server`. Parts are not in the state: a
restart resumes at the last whole segment, and the parts of a segment it left open are
named with the stopped run's id (`stream_layout.part_name`), never reused.

The state file holds the timeline, each rendition's window and an opaque `extra` blob the
caller hands over with each segment (the publisher's track history) and gets back after a
restart: it is saved with the segment it belongs to, in the same atomic write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from radiocalico import stream_layout

from . import fmp4, fsutil, recovery
from .clock import iso_utc
from .encoders import LOSSLESS_NAME, EncodedSegment, Encoder, Rendition

log = logging.getLogger("radiocalico.station")

STATE_VERSION = 3
# Version 1 (one FLAC rendition, the publisher's history at the top level) and 2 (renditions,
# each with its own decode time; the lossless one called "flac") are still read.
_READABLE_VERSIONS = (1, 2, STATE_VERSION)
_OLD_LOSSLESS_KEY = "flac"


def master_order(renditions: Sequence[Rendition]) -> list[Rendition]:
    """The master playlist's order (see the module docstring): the best rendition every
    client plays first, then the others as given (best first)."""
    first = next((r for r in renditions if r.universal), None)
    return ([first] if first else []) + [r for r in renditions if r is not first]


# Whole segments whose parts stay listed (RFC 8216bis 6.2.2: parts more than three target
# durations from the end of the playlist are not needed; two 2 s segments and the open one
# stay under that).
PARTS_LISTED = 2


@dataclass(frozen=True)
class PartEntry:
    uri: str
    duration: float


@dataclass
class _OpenSegment:
    """The segment being published part by part."""
    sequence: int
    program_date_time: float
    samples: int = 0  # published so far, counted from the segment's edge
    parts: int = 0


@dataclass
class SegmentEntry:
    sequence: int
    uri: str
    duration: float
    program_date_time: float  # unix seconds of the segment's programme edge
    discontinuity: bool
    init_uri: str
    size: int


class _Variant:
    """One rendition's share of the output: its init segment, its window of segments, the
    segments out of the window still on disk and its measured peak bandwidth."""

    def __init__(self, rendition: Rendition, encoder: Encoder):
        self.rendition = rendition
        self.frame_samples = encoder.frame_samples
        init = encoder.init_segment()
        self.init_uri = stream_layout.init_name(hashlib.sha256(init).hexdigest()[:12])
        self.init = init
        self.entries: list[SegmentEntry] = []
        self.retired: list[list[str]] = []  # [segment, init] out of the playlist, still on disk
        self.peak_bps = 0
        # Low-Latency HLS: each recent segment's parts (the listed ones and those kept on disk
        # for players still fetching them), and the open segment's frames so far.
        self.parts: dict[int, list[PartEntry]] = {}
        self.open_frames: list[bytes] = []
        self.open_start = 0

    def restore(self, saved: dict) -> None:
        self.peak_bps = int(saved.get("peak_bps", 0))
        self.retired = list(saved.get("retired", []))
        self.entries = [SegmentEntry(**raw) for raw in saved.get("entries", [])]

    def state(self) -> dict:
        return {"peak_bps": self.peak_bps, "entries": [asdict(e) for e in self.entries], "retired": self.retired}

    def average_bps(self) -> int:
        average = sum(e.size for e in self.entries) * 8 / sum(e.duration for e in self.entries)
        return int(math.ceil(average / 1000.0) * 1000)


class HlsWriter:
    def __init__(self, out: Path, outputs: Sequence[tuple[Rendition, Encoder]], *, window: int = 8,
                 sample_rate: int = 48000, part_samples: int | None = None, origins: Sequence[str] = ()):
        """`outputs`: each rendition with this run's encoder (for its init segment and frame
        length), in the order `publish` gets their segments. `part_samples`: the length of
        a Low-Latency HLS part (whole FLAC frames dividing the segment), None for none.
        `origins`: the base URLs of every redundant station's output folder (`standby`,
        STATION_ORIGINS): the master playlists list each rendition once per origin."""
        if not outputs:
            raise ValueError("the HLS writer needs at least one rendition")
        self.out = Path(out)
        self.dir = stream_layout.hls_dir(self.out)
        self.dir.mkdir(parents=True, exist_ok=True)
        fsutil.remove_stale_temp_files(self.dir)
        fsutil.remove_stale_temp_files(self.out)
        self.window = max(3, window)
        self.sample_rate = sample_rate
        self.variants = [_Variant(rendition, encoder) for rendition, encoder in outputs]
        self.part_samples = part_samples
        self.origins = tuple(origins)
        self.run_id = os.urandom(3).hex()  # names this run's parts (stream_layout.part_name)
        self._open: _OpenSegment | None = None
        # PART-TARGET: the longest part any rendition makes. An AAC part holds the frames
        # starting within its edges: up to ceil(part / frame) frames.
        self.part_target = 0.0
        if part_samples:
            self.part_target = max(math.ceil(part_samples / v.frame_samples) * v.frame_samples
                                   for v in self.variants) / sample_rate
        for variant in self.variants:
            if not (self.dir / variant.init_uri).exists():
                fsutil.atomic_write(self.dir / variant.init_uri, variant.init)

        # Without a state, what the playlists published (a lost state must not restart the
        # media sequence at 0: see recovery.py).
        state = self._load_state() or recovery.recovered_state(
            self.dir, [(v.rendition.name, v.rendition.playlist_name) for v in self.variants])
        self.next_sequence = 0
        self.discontinuity_sequence = 0
        self.decode_time = 0  # the stream sample (tfdt clock) of the next segment's edge
        self.clock_end = 0.0  # program-date-time at the end of the last published segment
        self.target_duration = 1
        self.extra: dict = {}  # the caller's blob from the state, as last saved
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
            self.target_duration = int(state.get("target_duration", 1))
            self.extra = dict(state.get("extra") or {})
            saved = state.get("renditions", {})
            for variant in self.variants:
                if variant.rendition.name in saved:
                    variant.restore(saved[variant.rendition.name])
            self._keep_unbroken_window()
        # The encoders count from 0 at this run's first edge.
        self.run_start = self.decode_time
        self.pending_discontinuity = self.resumed
        self._delete_orphans()

    # -- state ---------------------------------------------------------------------------

    def _load_state(self) -> dict | None:
        path = self.out / stream_layout.STATE_NAME
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable station state %s: %s", path, exc)
            return None
        if state.get("version") not in _READABLE_VERSIONS or state.get("sample_rate") != self.sample_rate:
            log.warning("ignoring station state from an incompatible version")
            return None
        if state["version"] == 1:
            rendition = {key: state[key] for key in ("decode_time", "peak_bps", "entries", "retired")
                         if key in state}
            # Version 1 kept the caller's fields (the history) at the top level: hand it all over.
            state = dict(state, renditions={_OLD_LOSSLESS_KEY: rendition}, extra=state)
        if state["version"] in (1, 2):
            renditions = dict(state["renditions"])
            lossless = renditions.pop(_OLD_LOSSLESS_KEY, None)
            if lossless is None:
                return None
            state = dict(state, decode_time=lossless["decode_time"],
                         renditions=dict(renditions, **{LOSSLESS_NAME: lossless}))
        return state

    def _keep_unbroken_window(self) -> None:
        """Keep the newest unbroken run of segments every rendition still has on disk: a
        window cannot have a gap, and the renditions' windows must match (a rendition new
        since the last run has none, so every window starts afresh). A discontinuity that
        leaves the window is counted in the discontinuity sequence, so the next segment's
        discontinuity number still follows the last one published."""
        def on_disk(variant: _Variant) -> set[int]:
            return {e.sequence for e in variant.entries
                    if (self.dir / e.uri).exists() and (self.dir / e.init_uri).exists()}

        common = set.intersection(*(on_disk(v) for v in self.variants))
        run: list[int] = []
        for entry in self.variants[0].entries:
            if entry.sequence not in common:
                continue
            if run and entry.sequence != run[-1] + 1:
                run = []
            run.append(entry.sequence)
        keep = set(run)
        dropped = [e for e in self.variants[0].entries if e.sequence not in keep]
        self.discontinuity_sequence += sum(e.discontinuity for e in dropped)
        for variant in self.variants:
            variant.entries = [e for e in variant.entries if e.sequence in keep]

    def _save_state(self, extra: dict) -> None:
        state = {
            "version": STATE_VERSION,
            "sample_rate": self.sample_rate,
            "stream_id": self.stream_id,
            "next_sequence": self.next_sequence,
            "discontinuity_sequence": self.discontinuity_sequence,
            "decode_time": self.decode_time,
            "clock_end": self.clock_end,
            "target_duration": self.target_duration,
            "renditions": {v.rendition.name: v.state() for v in self.variants},
            "extra": extra,
        }
        fsutil.atomic_write(self.out / stream_layout.STATE_NAME, json.dumps(state, indent=1))
        self.extra = extra

    # -- publishing ----------------------------------------------------------------------

    def publish_part(self, parts: Sequence[EncodedSegment], samples: int, program_date_time: float, *,
                     last: bool = False, extra: dict | None = None) -> None:
        """Write one part per rendition (`parts` in the renditions' order, each the frames of
        the programme's next `samples` samples; `program_date_time` that of the part's first
        sample), then the media playlists listing it. With `last` it ends its segment: the
        whole segment is written from the parts' frames, then everything `publish` writes."""
        if not self.part_samples:
            raise RuntimeError("this HLS writer was made without parts")
        if len(parts) != len(self.variants):
            raise ValueError(f"{len(parts)} renditions' parts for {len(self.variants)} renditions")
        segment = self._open
        if segment is None:
            segment = self._open = _OpenSegment(self.next_sequence, program_date_time)
            for variant in self.variants:
                variant.parts[segment.sequence] = []
                variant.open_frames = []
        edge = self.decode_time + segment.samples
        for variant, part in zip(self.variants, parts):
            tfdt = self.run_start + part.start
            if not 0 <= tfdt - edge < variant.frame_samples or not part.frames:
                raise RuntimeError(f"{variant.rendition.name} part at {tfdt}, its edge is {edge}")
            if segment.parts == 0:
                variant.open_start = part.start
            variant.open_frames += part.frames
            uri = stream_layout.part_name(self.stream_id, self.run_id, segment.sequence, segment.parts,
                                          variant.rendition.name)
            fsutil.atomic_write(self.dir / uri, fmp4.media_segment(segment.sequence + 1, tfdt,
                                                                   variant.frame_samples, part.frames))
            duration = len(part.frames) * variant.frame_samples / self.sample_rate
            variant.parts[segment.sequence].append(PartEntry(uri, duration))
        segment.samples += samples
        segment.parts += 1
        if last:
            self._open = None
            whole = [EncodedSegment(v.open_start, v.open_frames) for v in self.variants]
            self.publish(whole, segment.samples, segment.program_date_time, extra)
        elif self.variants[0].entries:  # (a playlist needs one whole segment)
            self._write_media_playlists()

    def _write_media_playlists(self) -> None:
        for variant in self.variants:
            fsutil.atomic_write(self.dir / variant.rendition.playlist_name, self.media_playlist(variant))

    def publish(self, segments: Sequence[EncodedSegment], samples: int, program_date_time: float,
                extra: dict | None = None) -> None:
        """Write one segment per rendition (`segments` in the renditions' order, each the
        frames of the programme's next `samples` samples), then the playlists, then the
        state with `extra`."""
        if len(segments) != len(self.variants):
            raise ValueError(f"{len(segments)} renditions' segments for {len(self.variants)} renditions")
        if self._open is not None:
            raise RuntimeError("a segment is being published in parts")
        sequence = self.next_sequence
        nominal = samples / self.sample_rate
        target = math.ceil(nominal - 1e-9) or 1
        for variant, segment in zip(self.variants, segments):
            tfdt = self.run_start + segment.start
            if not 0 <= tfdt - self.decode_time < variant.frame_samples:
                raise RuntimeError(f"{variant.rendition.name} segment at {tfdt}, its edge is {self.decode_time}")
            data = fmp4.media_segment(sequence + 1, tfdt, variant.frame_samples, segment.frames)
            uri = stream_layout.segment_name(self.stream_id, sequence, variant.rendition.name)
            fsutil.atomic_write(self.dir / uri, data)
            duration = len(segment.frames) * variant.frame_samples / self.sample_rate
            variant.entries.append(SegmentEntry(sequence, uri, duration, program_date_time,
                                                self.pending_discontinuity, variant.init_uri, len(data)))
            variant.peak_bps = max(variant.peak_bps, int(math.ceil(len(data) * 8 / duration)))
            target = max(target, math.floor(duration + 0.5))  # RFC 8216 4.3.3.1: EXTINF rounded
        self.pending_discontinuity = False
        self.next_sequence += 1
        self.decode_time += samples
        self.clock_end = program_date_time + nominal
        while len(self.variants[0].entries) > self.window:
            gone = [variant.entries.pop(0) for variant in self.variants]
            if gone[0].discontinuity:
                self.discontinuity_sequence += 1
            for variant, entry in zip(self.variants, gone):
                variant.retired.append([entry.uri, entry.init_uri])
        self.target_duration = max(self.target_duration, target)
        self._retire_parts(sequence - self.window)
        self._write_media_playlists()
        fsutil.atomic_write(self.dir / stream_layout.MASTER_NAME, self.master_playlist())
        for codec, variants in self._families().items():
            fsutil.atomic_write(self.dir / stream_layout.family_master_name(codec), self.master_playlist(variants))
        self._delete_retired()
        self._save_state(self.extra if extra is None else extra)

    def _retire_parts(self, before: int) -> None:
        """Delete the parts of the segments before `before` (long out of the playlist)."""
        for variant in self.variants:
            for sequence in [s for s in variant.parts if s < before]:
                for part in variant.parts.pop(sequence):
                    try:
                        os.unlink(self.dir / part.uri)
                    except OSError:
                        pass

    def _delete_orphans(self) -> None:
        """Segments no state knows of (a lost state file, an older layout) are never served
        again, nor the playlist of a rendition no longer offered, nor an earlier run's
        parts (none is listed any more)."""
        known = {e.uri for v in self.variants for e in v.entries} | {r[0] for v in self.variants for r in v.retired}
        self._unlink_all_but(stream_layout.SEGMENT_GLOB, known)
        self._unlink_all_but(stream_layout.PART_GLOB, set())
        self._unlink_all_but(stream_layout.MEDIA_PLAYLIST_GLOB, {v.rendition.playlist_name for v in self.variants})
        self._unlink_all_but(stream_layout.FAMILY_MASTER_GLOB,
                             {stream_layout.family_master_name(codec) for codec in self._families()})

    def _delete_retired(self) -> None:
        for variant in self.variants:
            while len(variant.retired) > self.window:
                uri, _init = variant.retired.pop(0)
                try:
                    os.unlink(self.dir / uri)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("cannot delete old segment %s: %s", uri, exc)
        in_use = set()
        for variant in self.variants:
            in_use |= {e.init_uri for e in variant.entries} | {r[1] for r in variant.retired} | {variant.init_uri}
        self._unlink_all_but(stream_layout.INIT_GLOB, in_use)

    def _unlink_all_but(self, pattern: str, keep: set[str]) -> None:
        """Delete this folder's files matching `pattern` whose names are not in `keep`."""
        for path in self.dir.glob(pattern):
            if path.name not in keep:
                try:
                    path.unlink()
                except OSError:
                    pass

    def lock_to(self, sequence: int, decode_time: int, run_local: int, stream_id: str) -> None:
        """Epoch locking (`epoch`): the next segment is `sequence`, starting at stream sample
        `decode_time`, which is the encoders' run-local sample `run_local`; segments are named
        with `stream_id`. A jump from where the last run stopped is a discontinuity."""
        if self._open is not None or sequence < self.next_sequence:
            raise RuntimeError(f"cannot lock to segment {sequence}: {self.next_sequence} is next")
        if sequence != self.next_sequence and self.variants[0].entries:
            self.pending_discontinuity = True
        self.next_sequence = sequence
        self.decode_time = decode_time
        self.run_start = decode_time - run_local
        self.stream_id = stream_id

    def mark_discontinuity(self) -> None:
        """The next segment does not follow on from the last one (a jump of the clock)."""
        self.pending_discontinuity = True

    def media_playlist(self, variant: _Variant) -> str:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
        ]
        if self.part_samples:
            lines += [f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={3 * self.part_target:.6f}",
                      f"#EXT-X-PART-INF:PART-TARGET={self.part_target:.6f}"]
        lines += [
            f"#EXT-X-MEDIA-SEQUENCE:{variant.entries[0].sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        listed = {e.sequence for e in variant.entries[-PARTS_LISTED:]}
        current_map = None
        for entry in variant.entries:
            if entry.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if entry.init_uri != current_map or entry.discontinuity:
                lines.append(f'#EXT-X-MAP:URI="{entry.init_uri}"')
                current_map = entry.init_uri
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso_utc(entry.program_date_time)}")
            if entry.sequence in listed:
                lines += self._part_lines(variant.parts.get(entry.sequence, ()))
            lines.append(f"#EXTINF:{entry.duration:.6f},")
            lines.append(entry.uri)
        if self.part_samples:
            lines += self._live_edge_lines(variant, current_map)
        return "\n".join(lines) + "\n"

    @staticmethod
    def _part_lines(parts: Sequence[PartEntry]) -> list[str]:
        # Every AAC and FLAC frame is a sync sample: every part starts independent.
        return [f'#EXT-X-PART:DURATION={p.duration:.6f},URI="{p.uri}",INDEPENDENT=YES' for p in parts]

    def _live_edge_lines(self, variant: _Variant, current_map: str | None) -> list[str]:
        """The open segment's parts, the hint naming the next part, and where the other
        renditions are (the same place: they are published together)."""
        lines: list[str] = []
        segment = self._open
        if segment is not None:
            if self.pending_discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if self.pending_discontinuity or variant.init_uri != current_map:
                lines.append(f'#EXT-X-MAP:URI="{variant.init_uri}"')
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso_utc(segment.program_date_time)}")
            lines += self._part_lines(variant.parts.get(segment.sequence, ()))
            last_msn, last_part = segment.sequence, segment.parts - 1
            hint = stream_layout.part_name(self.stream_id, self.run_id, segment.sequence, segment.parts,
                                           variant.rendition.name)
        else:
            last_msn = variant.entries[-1].sequence
            last_part = len(variant.parts.get(last_msn, ())) - 1
            hint = stream_layout.part_name(self.stream_id, self.run_id, self.next_sequence, 0,
                                           variant.rendition.name)
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{hint}"')
        for other in self.variants:
            if other is not variant:
                report = f'#EXT-X-RENDITION-REPORT:URI="{other.rendition.playlist_name}",LAST-MSN={last_msn}'
                lines.append(report + (f",LAST-PART={last_part}" if last_part >= 0 else ""))
        return lines

    def _families(self) -> dict[str, list[_Variant]]:
        """The variants by codec family (`Rendition.codec`), best first within each."""
        families: dict[str, list[_Variant]] = {}
        for variant in self.variants:
            families.setdefault(variant.rendition.codec, []).append(variant)
        return families

    def master_playlist(self, variants: Sequence[_Variant] | None = None) -> str:
        """The master listing `variants` (every rendition by default)."""
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
        variants = {v.rendition: v for v in (self.variants if variants is None else variants)}
        for rendition in master_order(list(variants)):
            variant = variants[rendition]
            # Redundant origins: the same variant once per origin, told apart by URI only
            # (RFC 8216 6.3.4 and Apple's redundant streams: a client fails over between them).
            for origin in self.origins or ("",):
                lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={variant.peak_bps},"
                             f"AVERAGE-BANDWIDTH={variant.average_bps()},"
                             f'CODECS="{rendition.codecs}"')
                lines.append(_join(origin, rendition.playlist_name))
        return "\n".join(lines) + "\n"


def _join(origin: str, playlist: str) -> str:
    """A media playlist's URI under a redundant origin (`origin` the base URL of a station's
    output folder, "" for this folder)."""
    if not origin:
        return playlist
    return origin.rstrip("/") + "/" + stream_layout.HLS_DIR + "/" + playlist
