"""Reading back what the station published: playlists, segments, decoded PCM."""

from __future__ import annotations

import re
import struct
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import av
import numpy as np

from radiocalico import stream_layout
from radiocalico.station import Station

# The lossless rendition's playlist; "flac" spelled here pins the published name.
MEDIA_NAME = stream_layout.media_playlist_name("flac")


@dataclass
class Entry:
    uri: str
    duration: float
    pdt: float
    discontinuity: bool
    map_uri: str
    sequence: int


@dataclass
class MediaPlaylist:
    media_sequence: int
    discontinuity_sequence: int
    target_duration: int
    entries: list[Entry]
    text: str


def parse_pdt(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def parse_media_playlist(text: str) -> MediaPlaylist:
    lines = text.strip("\n").split("\n")
    assert lines[0] == "#EXTM3U"
    media_sequence = disc_seq = target = None
    entries: list[Entry] = []
    pending: dict = {}
    current_map = None
    for line in lines[1:]:
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            media_sequence = int(line.split(":")[1])
        elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
            disc_seq = int(line.split(":")[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":")[1])
        elif line == "#EXT-X-DISCONTINUITY":
            pending["discontinuity"] = True
        elif line.startswith("#EXT-X-MAP:"):
            current_map = line.split('URI="')[1].rstrip('"')
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pending["pdt"] = parse_pdt(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            pending["duration"] = float(line.split(":")[1].rstrip(","))
        elif line and not line.startswith("#"):
            assert "pdt" in pending and "duration" in pending, "every segment has PDT and EXTINF"
            entries.append(Entry(line, pending["duration"], pending["pdt"], pending.get("discontinuity", False),
                                 current_map, media_sequence + len(entries)))
            pending = {}
    assert media_sequence is not None and target is not None
    return MediaPlaylist(media_sequence, disc_seq or 0, target, entries, text)


def read_playlist(out: Path) -> MediaPlaylist:
    return parse_media_playlist((stream_layout.hls_dir(out) / MEDIA_NAME).read_text())


def playlist_edge(text: str) -> float:
    """The program-date-time at the end of the newest audio a media playlist lists (the last
    full segment's end plus the parts of the segment being made): what a listener at the
    live edge hears now; nothing before it can change any more."""
    last = parse_media_playlist(text).entries[-1]
    tail = text.rsplit(last.uri, 1)[1]
    parts = sum(float(m) for m in re.findall(r"#EXT-X-PART:DURATION=([0-9.]+)", tail))
    return last.pdt + last.duration + parts


def live_edge(out: Path) -> float:
    """`playlist_edge` of the lossless playlist in the station's folder."""
    return playlist_edge((stream_layout.hls_dir(out) / MEDIA_NAME).read_text())


def decode_bytes(data: bytes, tmp: Path) -> tuple[np.ndarray, int]:
    """Decode an fMP4 byte string: (n, 2) int32 with 24-bit values (not left-aligned), rate."""
    path = tmp / f"decode-{time.monotonic_ns()}.mp4"
    path.write_bytes(data)
    chunks, rate = [], None
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            assert frame.format.name == "s32"
            rate = frame.sample_rate
            chunks.append(frame.to_ndarray().reshape(-1, 2))
    path.unlink()
    return (np.concatenate(chunks) >> 8), rate


def read_stream(out: Path, tmp: Path) -> tuple[np.ndarray, MediaPlaylist]:
    """The audio of every segment in the playlist (one init), decoded."""
    playlist = read_playlist(out)
    maps = {e.map_uri for e in playlist.entries}
    assert len(maps) == 1
    hls = stream_layout.hls_dir(out)
    data = (hls / maps.pop()).read_bytes() + b"".join((hls / e.uri).read_bytes() for e in playlist.entries)
    pcm, rate = decode_bytes(data, tmp)
    assert rate == 48000
    return pcm, playlist


def tfdt_of(segment: bytes) -> int:
    at = segment.index(b"tfdt")
    version = segment[at + 4]
    if version == 1:
        return struct.unpack(">Q", segment[at + 8:at + 16])[0]
    return struct.unpack(">I", segment[at + 8:at + 12])[0]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for the station")


def run_station(station: Station, segments: int, timeout: float = 60.0) -> None:
    """Start, wait until `segments` segments are published (this run), stop."""
    station.start()
    try:
        wait_for(lambda: station.segments_published >= segments or not station.running, timeout)
        assert station.running, "the station stopped on its own"
    finally:
        station.stop()
