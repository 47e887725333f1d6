"""The published stream: lossless, resampling, metadata timing, restart, atomic writes."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading

import numpy as np
import pytest

from radiocalico.station import Station, fsutil
from radiocalico.station import programme as programme_module
from radiocalico.station.library import scan_library
from radiocalico.station.programme import Programme
from radiocalico.station.rotation import Rotation
from radiocalico.stream_layout import COVER_NAME, MASTER_NAME, METADATA_NAME, SEGMENT_GLOB, STATE_NAME, hls_dir

from .audiofiles import make_flac, noise_pcm
from .streamutil import MEDIA_NAME, parse_media_playlist, parse_pdt, read_playlist, read_stream, run_station, tfdt_of, wait_for

SEG = 0.5
FAST = 12.0  # test-only clock acceleration


def sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.int32).tobytes()).hexdigest()


def test_24bit_48k_source_is_bit_identical_and_gapless(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    source = make_flac(lib / "hires.flac", 1.3, 48000, 24, seed=7)  # 62400 samples: not frame-aligned
    station = Station(lib, tmp_path / "out", segment_seconds=SEG, speed=FAST, window=100)
    run_station(station, segments=9)
    pcm, playlist = read_stream(tmp_path / "out", tmp_path)
    n = len(source)
    assert len(pcm) >= 3 * n
    for play in range(3):  # the one-track rotation plays it back to back, without a gap
        assert sha(pcm[play * n:(play + 1) * n]) == sha(source), f"play {play} differs"


def test_16bit_source_is_exact_in_the_24bit_stream(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    source = make_flac(lib / "cd.flac", 0.7, 48000, 16, seed=3)
    station = Station(lib, tmp_path / "out", segment_seconds=SEG, speed=FAST, window=100)
    run_station(station, segments=4)
    pcm, _ = read_stream(tmp_path / "out", tmp_path)
    assert sha(pcm[: len(source)]) == sha(source.astype(np.int32) << 8)


def test_44k1_source_is_resampled_to_48k_with_the_same_duration(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    rate, seconds = 44100, 1.25
    t = np.arange(int(rate * seconds)) / rate
    tone = np.round(np.sin(2 * np.pi * 1000 * t) * 0.5 * 32767).astype(np.int32)
    make_flac(lib / "cd.flac", seconds, rate, 16, pcm=np.stack([tone, tone], axis=1), artist="CD", title="Tone")
    out = tmp_path / "out"
    station = Station(lib, out, segment_seconds=SEG, speed=FAST, window=100)
    run_station(station, segments=8)
    meta = json.loads((out / METADATA_NAME).read_text())
    assert meta["sample_rate"] == 44100 and meta["bit_depth"] == 16 and meta["stream_sample_rate"] == 48000
    starts = [parse_pdt(meta["started_at"])] + [parse_pdt(meta[f"prev_started_at_{i}"]) for i in (1, 2)]
    assert starts[0] - starts[1] == pytest.approx(seconds, abs=0.0015)
    assert starts[1] - starts[2] == pytest.approx(seconds, abs=0.0015)
    pcm, _ = read_stream(out, tmp_path)
    one = pcm[: int(48000 * seconds)]  # one play at 48 kHz
    spectrum = np.abs(np.fft.rfft(one[:, 0] * np.hanning(len(one))))
    peak_hz = np.argmax(spectrum) * 48000 / len(one)
    assert peak_hz == pytest.approx(1000, abs=2)
    middle = one[len(one) // 4: 3 * len(one) // 4, 0] / float(1 << 23)
    assert np.sqrt(np.mean(middle ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_metadata_changes_at_the_track_boundary_and_never_before(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "quiet.flac", 1.1, 48000, 24, artist="Quiet", title="Silence",
              pcm=np.zeros((int(1.1 * 48000), 2), dtype=np.int32))
    make_flac(lib / "loud.flac", 0.9, 48000, 24, artist="Loud", title="Noise", seed=5)
    writes: list[tuple[str, bytes]] = []
    real_write = fsutil.atomic_write
    lock = threading.Lock()

    def recording_write(path, data):
        real_write(path, data)
        with lock:
            writes.append((path.name, data if isinstance(data, bytes) else data.encode()))

    monkeypatch.setattr(fsutil, "atomic_write", recording_write)
    out = tmp_path / "out"
    station = Station(lib, out, segment_seconds=SEG, speed=FAST, window=100)
    run_station(station, segments=22)

    pcm, playlist = read_stream(out, tmp_path)
    origin = playlist.entries[0].pdt
    silent = np.all(pcm == 0, axis=1)
    # Boundaries in the audio: where a run of silence starts or ends (runs are long).
    edges = np.flatnonzero(np.diff(silent.astype(np.int8))) + 1
    edges = [int(e) for e in edges if 0 < e < len(pcm)]
    metas = [(i, json.loads(d)) for i, (name, d) in enumerate(writes) if name == METADATA_NAME]
    assert len(metas) >= 6
    frame = 4000
    checked = 0
    for index, meta in metas:
        start = parse_pdt(meta["started_at"])
        sample = (start - origin) * 48000
        if sample > 0:
            nearest = min(edges, key=lambda e: abs(e - sample))
            assert abs(nearest - sample) <= 100 < frame, (meta["title"], sample, nearest)
            expected_quiet = bool(silent[nearest])
            assert (meta["artist"] == "Quiet") == expected_quiet
            checked += 1
        # The playlist written last before this metadata has the segment holding the first
        # sample; the playlist before that one did not (so it was not written late either).
        playlists = [parse_media_playlist(d.decode()) for name, d in writes[:index] if name == MEDIA_NAME]
        holds = [any(e.pdt - 0.0015 <= start < e.pdt + e.duration - 0.0005 for e in p.entries) for p in playlists]
        assert holds[-1], "metadata written before its segment was published"
        if len(holds) > 1 and start > origin + 0.001:
            assert not holds[-2], "metadata written one segment late"
        assert meta["cover_version"] != metas[0][1]["cover_version"] or index == metas[0][0]
        assert writes[index - 1][0] == COVER_NAME  # cover first, then metadata
    assert checked >= 5


def test_metadata_fields(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        make_flac(lib / f"t{i}.flac", 0.6, 48000, 24, seed=i, artist=f"Artist {i}", title=f"Title {i}",
                  album=f"Album {i}", date="2024")
    out = tmp_path / "out"
    run_station(Station(lib, out, segment_seconds=SEG, speed=FAST, window=100), segments=6)
    meta = json.loads((out / METADATA_NAME).read_text())
    cdn_fields = {"artist": str, "title": str, "album": str, "date": str, "bit_depth": int, "sample_rate": int,
                  "is_new": bool, "is_summer": bool, "is_vidgames": bool}
    for i in range(1, 6):
        cdn_fields.update({f"prev_artist_{i}": str, f"prev_title_{i}": str, f"prev_started_at_{i}": str,
                           f"prev_song_id_{i}": str, f"prev_cover_version_{i}": str, f"prev_cover_url_{i}": str,
                           f"prev_album_{i}": str, f"prev_date_{i}": str, f"prev_bit_depth_{i}": int,
                           f"prev_sample_rate_{i}": int, f"prev_source_codec_{i}": str, f"prev_requested_{i}": bool,
                           f"prev_source_channels_{i}": int, f"prev_gain_db_{i}": float})
    cdn_fields.update(started_at=str, song_id=str, cover_version=str, cover_url=str, source_codec=str,
                      source_channels=int, stream_codec=str,
                      stream_sample_rate=int, stream_bit_depth=int, stream_channels=int,
                      renditions=list, loudness=type(None),  # (levelling is off by default in Station)
                      live=bool, dj=type(None),  # (no DJ on air: station/live.py)
                      requested=bool, reason=str, relaxed=bool)
    assert set(meta) == set(cdn_fields)
    for key, kind in cdn_fields.items():
        assert type(meta[key]) is kind, key
    from radiocalico.songs import song_id

    assert meta["song_id"] == song_id(meta["artist"], meta["title"])
    assert meta["prev_song_id_1"] == song_id(meta["prev_artist_1"], meta["prev_title_1"])
    assert meta["prev_artist_1"] and meta["prev_artist_1"] != meta["artist"]
    # A track behind the newest is described as fully as the newest.
    assert meta["prev_album_1"].startswith("Album ") and meta["prev_date_1"] == "2024"
    assert (meta["prev_bit_depth_1"], meta["prev_sample_rate_1"]) == (24, 48000)
    assert meta["started_at"].endswith("Z") and len(meta["started_at"]) == len("2025-01-01T00:00:00.000Z")
    assert (meta["stream_codec"], meta["stream_sample_rate"], meta["stream_bit_depth"]) == ("flac", 48000, 24)
    assert meta["date"] == "2024" and meta["bit_depth"] == 24 and meta["sample_rate"] == 48000
    from PIL import Image

    assert Image.open(out / COVER_NAME).size == (600, 600)


def test_restart_continues_the_stream(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 0.8, 48000, 24, seed=1, artist="A", title="One")
    make_flac(lib / "b.flac", 0.9, 44100, 16, seed=2, artist="B", title="Two")
    out = tmp_path / "out"
    run_station(Station(lib, out, segment_seconds=SEG, speed=FAST, window=6), segments=5)
    first = read_playlist(out)
    meta_before = json.loads((out / METADATA_NAME).read_text())
    restarted = Station(lib, out, segment_seconds=SEG, speed=FAST, window=6)
    run_station(restarted, segments=4)
    second = read_playlist(out)
    text = second.text
    assert "#EXT-X-ENDLIST" not in text
    assert second.entries[-1].sequence == first.entries[-1].sequence + restarted.segments_published
    sequences = [e.sequence for e in second.entries]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    flagged = [e for e in second.entries if e.discontinuity]
    assert len(flagged) == 1 and flagged[0].sequence == first.entries[-1].sequence + 1
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1
    pdts = [e.pdt for e in second.entries]
    assert pdts == sorted(pdts)
    hls = hls_dir(out)
    tfdts = [tfdt_of((hls / e.uri).read_bytes()) for e in second.entries]
    assert all(b - a == 24000 for a, b in zip(tfdts, tfdts[1:])), tfdts  # continuous across the restart
    # The history continues: what played before the restart is "previous" now.
    meta_after = json.loads((out / METADATA_NAME).read_text())
    previous = [meta_after[f"prev_started_at_{i}"] for i in range(1, 6)]
    assert meta_before["started_at"] in previous
    pcm, _ = read_stream(out, tmp_path)  # one decoder plays across the restart
    assert len(pcm) == 24000 * len(second.entries)
    # When the discontinuity leaves the window the discontinuity sequence counts it.
    run_station(Station(lib, out, segment_seconds=SEG, speed=FAST, window=6), segments=8)
    third = read_playlist(out)
    assert third.discontinuity_sequence == 2 and sum(e.discontinuity for e in third.entries) == 0
    assert third.entries[0].sequence == third.media_sequence


def test_writes_are_atomic_and_old_segments_are_deleted(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 0.7, 48000, 24, seed=1)
    out = tmp_path / "out"
    station = Station(lib, out, segment_seconds=SEG, speed=FAST, window=5)
    station.start()
    reads = 0
    try:
        while station.segments_published < 30:
            text = (hls_dir(out) / MEDIA_NAME).read_text()
            playlist = parse_media_playlist(text)  # never partial
            assert text.endswith(".m4s\n")
            assert 1 <= len(playlist.entries) <= 5
            for entry in playlist.entries:
                assert not entry.uri.startswith(fsutil.TEMP_PREFIX)
                assert (hls_dir(out) / entry.uri).exists()
            master = (hls_dir(out) / MASTER_NAME).read_text()
            # Whole (it ends with a variant's URI) and lists the lossless rendition.
            assert master.endswith(".m3u8\n") and f'CODECS="fLaC"\n{MEDIA_NAME}\n' in master
            json.loads((out / METADATA_NAME).read_text())
            reads += 1
    finally:
        station.stop()
    assert reads > 10
    names = [p.name for p in hls_dir(out).iterdir()] + [p.name for p in out.iterdir()]
    assert not [n for n in names if n.startswith(fsutil.TEMP_PREFIX)]
    segments = [n for n in names if n.endswith(".m4s")]
    for tag in ("", "high-", "saver-"):  # each rendition keeps its window and one more
        assert 0 < len([n for n in segments if re.fullmatch(rf"seg-[0-9a-f]+-{tag}\d+\.m4s", n)]) <= 2 * 5
    master = (hls_dir(out) / MASTER_NAME).read_text()
    lossless = master.split(f"\n{MEDIA_NAME}\n")[0].rsplit("#EXT-X-STREAM-INF:", 1)[1]
    bandwidth = int(lossless.split("BANDWIDTH=")[1].split(",")[0])
    sizes = [(hls_dir(out) / e.uri).stat().st_size * 8 / e.duration for e in read_playlist(out).entries]
    assert bandwidth >= max(sizes) and bandwidth < 3 * max(sizes)


def test_decode_error_mid_track_skips_to_the_next(tmp_path, monkeypatch, caplog):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "bad.flac", 1.0, 48000, 24, seed=1)
    good = make_flac(lib / "good.flac", 0.5, 48000, 24, seed=2)
    real_decode = programme_module.decode_track

    def flaky(path, *args, **kwargs):
        for i, chunk in enumerate(real_decode(path, *args, **kwargs)):
            if "bad" in str(path) and i == 1:
                raise ValueError("simulated corrupt frame")
            yield chunk

    monkeypatch.setattr(programme_module, "decode_track", flaky)
    programme = Programme(Rotation(lib, scan_library(lib), seed=1))
    with caplog.at_level(logging.WARNING, logger="radiocalico.station"):
        pcm = programme.take(48000 * 4)
    assert any("decode error" in r.getMessage() and "bad.flac" in r.getMessage() for r in caplog.records)
    starts = [(s.sample, s.track.path.name) for s in programme.starts]
    assert {name for _, name in starts} == {"bad.flac", "good.flac"}
    for sample, name in starts:
        if name == "good.flac":
            assert sha(pcm[sample:sample + len(good)] >> 8) == sha(good)


def test_no_decodable_track_streams_silence_instead_of_spinning(tmp_path, monkeypatch, caplog):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 0.5, 48000, 24)
    calls = []

    def broken(path, *args, **kwargs):
        calls.append(path)
        raise OSError("disk gone")
        yield  # pragma: no cover

    monkeypatch.setattr(programme_module, "decode_track", broken)
    programme = Programme(Rotation(lib, scan_library(lib)))
    with caplog.at_level(logging.WARNING, logger="radiocalico.station"):
        pcm = programme.take(48000 * 12)
    assert not pcm.any()
    assert len(calls) <= 3  # one attempt per ten seconds of silence, not a busy loop
    assert any("silence" in r.getMessage() for r in caplog.records)


def test_lost_state_starts_a_new_stream_without_reusing_segment_names(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 0.7, 48000, 24, seed=1)
    out = tmp_path / "out"
    run_station(Station(lib, out, segment_seconds=SEG, speed=FAST, window=6), segments=4)
    old = {p.name: p.read_bytes() for p in hls_dir(out).glob(SEGMENT_GLOB)}
    before = read_playlist(out)
    (out / STATE_NAME).unlink()
    run_station(Station(lib, out, segment_seconds=SEG, speed=FAST, window=6), segments=4)
    after = read_playlist(out)
    new = [e.uri for e in after.entries if e.sequence > before.entries[-1].sequence]
    assert len(new) >= 4 and not set(new) & set(old)  # no name reused for other audio
    for e in after.entries:  # what stays in the window is what was published, unchanged
        if e.uri in old:
            assert (hls_dir(out) / e.uri).read_bytes() == old[e.uri]
    # The stream goes on (tests/station/test_lost_state.py: every rendition, in detail).
    assert after.entries[-1].sequence == before.entries[-1].sequence + len(new)
    assert [e.discontinuity for e in after.entries if e.uri in new] == [True] + [False] * (len(new) - 1)
