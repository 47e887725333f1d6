"""Low-Latency HLS parts: published as the station makes them, the same frames as their
segments (the lossless rendition bit for bit), tags per RFC 8216bis, and the same
playlists still played by a player without Low-Latency HLS (FFmpeg)."""

from __future__ import annotations

import hashlib
import re
import threading

import av
import numpy as np
import pytest

from radiocalico import stream_layout
from radiocalico.station import Station

from .audiofiles import make_flac
from .streamutil import MEDIA_NAME, read_stream, wait_for

SEG = 0.5  # 24,000 samples: 6 FLAC frames of 4,000
PART = 1 / 6  # 2 FLAC frames: 3 parts a segment; AAC parts of 7 or 8 frames
FAST = 4.0


def sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.int32).tobytes()).hexdigest()


def attrs(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


def mdat_payload(data: bytes) -> bytes:
    at = data.index(b"mdat")
    return data[at + 4:]


@pytest.fixture(scope="module")
def llhls(tmp_path_factory):
    """A three-rendition station with parts, its source, and the media playlists seen while
    it ran (sampled as fast as they change)."""
    tmp = tmp_path_factory.mktemp("llhls")
    lib = tmp / "lib"
    lib.mkdir()
    source = make_flac(lib / "hires.flac", 1.3, 48000, 24, seed=11)
    out = tmp / "out"
    station = Station(lib, out, segment_seconds=SEG, part_seconds=PART, speed=FAST, window=100)
    seen: list[str] = []
    stop = threading.Event()

    def watch():
        path = stream_layout.hls_dir(out) / MEDIA_NAME
        last = None
        while not stop.is_set():
            try:
                text = path.read_text()
            except OSError:
                text = None
            if text and text != last:
                seen.append(text)
                last = text
            stop.wait(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    station.start()
    try:
        wait_for(lambda: station.segments_published >= 12 or not station.running, 60)
        assert station.running
    finally:
        station.stop()
        stop.set()
        watcher.join()
    return out, source, seen, tmp


def test_parts_are_published_before_their_segment(llhls):
    """A listener in low-latency mode gets audio a part at a time: playlists list parts of a
    segment not yet whole, one more each time."""
    _out, _source, seen, _tmp = llhls
    open_parts = []
    for text in seen:
        tail = text.rsplit("#EXTINF", 1)[1]
        open_parts.append(tail.count("#EXT-X-PART:"))
    assert {1, 2} <= set(open_parts), open_parts  # 3 parts a segment: the third closes it
    assert 3 not in open_parts


def test_playlist_tags(llhls):
    out, _source, _seen, _tmp = llhls
    hls = stream_layout.hls_dir(out)
    for name in ("lossless", "high", "saver"):
        text = (hls / stream_layout.media_playlist_name(name)).read_text()
        lines = text.splitlines()
        control = attrs(next(l for l in lines if l.startswith("#EXT-X-SERVER-CONTROL:")))
        target = float(attrs(next(l for l in lines if l.startswith("#EXT-X-PART-INF:")))["PART-TARGET"])
        assert control["CAN-BLOCK-RELOAD"] == "YES"
        assert float(control["PART-HOLD-BACK"]) >= 3 * target - 1e-6  # RFC 8216bis: at least 2, SHOULD 3
        parts = [attrs(l) for l in lines if l.startswith("#EXT-X-PART:")]
        assert parts and all(p["INDEPENDENT"] == "YES" for p in parts)
        durations = [float(p["DURATION"]) for p in parts]
        assert max(durations) <= target + 1e-6
        assert min(durations) >= 0.85 * target  # RFC 8216bis 4.4.4.9
        for p in parts:
            assert (hls / p["URI"]).is_file()
        # Parts of the last two whole segments only (then the open one's, if any).
        assert text.count("#EXTINF") > 2
        head = text.rsplit("#EXTINF", 3)[0]
        assert "#EXT-X-PART:" not in head
        hint = attrs(next(l for l in lines if l.startswith("#EXT-X-PRELOAD-HINT:")))
        assert hint["TYPE"] == "PART" and hint["URI"] not in {p["URI"] for p in parts}
        reports = [attrs(l) for l in lines if l.startswith("#EXT-X-RENDITION-REPORT:")]
        others = {stream_layout.media_playlist_name(n) for n in ("lossless", "high", "saver")} - {
            stream_layout.media_playlist_name(name)}
        assert {r["URI"] for r in reports} == others
        last_msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1)) + text.count("#EXTINF") - 1
        open_parts = text.rsplit("#EXTINF", 1)[1].count("#EXT-X-PART:")
        for r in reports:
            msn, part = int(r["LAST-MSN"]), int(r["LAST-PART"])
            assert (msn, part) == ((last_msn + 1, open_parts - 1) if open_parts else (last_msn, 2))


def test_parts_hold_their_segments_frames(llhls):
    """Parts and segment are the same audio: a player switching between them hears no
    difference (the lossless one bit for bit)."""
    out, _source, _seen, _tmp = llhls
    hls = stream_layout.hls_dir(out)
    for name in ("lossless", "high", "saver"):
        text = (hls / stream_layout.media_playlist_name(name)).read_text()
        blocks = text.split("#EXTINF")[:-1]
        segment_uris = [l for l in text.splitlines() if l and not l.startswith("#")]
        checked = 0
        for block, uri in zip(blocks[1:], segment_uris[1:]):
            part_uris = [attrs(l)["URI"] for l in block.splitlines() if l.startswith("#EXT-X-PART:")]
            if part_uris:
                joined = b"".join(mdat_payload((hls / u).read_bytes()) for u in part_uris)
                assert joined == mdat_payload((hls / uri).read_bytes())
                checked += 1
        assert checked >= 1


def test_lossless_stays_bit_exact_with_parts(llhls):
    out, source, _seen, tmp = llhls
    pcm, _playlist = read_stream(out, tmp)
    n = len(source)
    assert len(pcm) >= 3 * n
    for play in range(3):
        assert sha(pcm[play * n:(play + 1) * n]) == sha(source), f"play {play} differs"


def test_ffmpeg_plays_the_low_latency_playlist(llhls):
    """A player without Low-Latency HLS reads the same playlist and decodes its segments."""
    out, _source, _seen, _tmp = llhls
    for name in ("lossless", "high"):
        path = stream_layout.hls_dir(out) / stream_layout.media_playlist_name(name)
        samples = 0
        with av.open(str(path), options={"live_start_index": "0"}) as container:
            for frame in container.decode(audio=0):
                samples += frame.samples
                if samples >= 48000:
                    break
        assert samples >= 48000
