"""Real clients on the live playlist, real-time pacing, rotation, the demo library, the API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import av
import numpy as np
import pytest

from radiocalico.config import Config
from radiocalico.station import Station, ensure_demo_library, scan_library
from radiocalico.station.demo import DEMO_TRACKS, synthesize
from radiocalico.station.library_index import LibraryIndex
from radiocalico.station.rotation import Rotation
from radiocalico.stream_layout import COVER_NAME, MASTER_NAME, METADATA_NAME, hls_dir

from .audiofiles import make_flac
from .streamutil import MEDIA_NAME, read_playlist, wait_for

IN_CI = os.environ.get("CI", "").lower() == "true"


def need_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        if IN_CI:
            pytest.fail("the ffmpeg command line is required in CI (apt-get install ffmpeg)")
        pytest.skip("the ffmpeg command line is not installed")
    return path


@pytest.fixture
def live_station(tmp_path):
    """A station at real-time pacing, 0.5 s segments, two short tracks."""
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 1.5, 48000, 24, seed=1, artist="A", title="One")
    make_flac(lib / "b.flac", 1.2, 44100, 16, seed=2, artist="B", title="Two")
    station = Station(lib, tmp_path / "out", segment_seconds=0.5)
    station.start()
    yield station, tmp_path / "out"
    station.stop()


def test_real_time_pacing(live_station):
    station, out = live_station
    wait_for(lambda: station.segments_published >= 3, timeout=5)  # the pre-roll, at once
    published = station.segments_published
    time.sleep(2.0)
    # Then one every 0.5 s of wall clock.
    assert 3 <= station.segments_published - published <= 5
    playlist = read_playlist(out)
    last = playlist.entries[-1]
    assert abs(last.pdt + last.duration - time.time()) < 0.6  # the live edge is now


def test_pyav_plays_the_live_master_playlist(live_station):
    _, out = live_station
    samples = 0
    started = time.monotonic()
    with av.open(str(hls_dir(out) / MASTER_NAME), timeout=10) as container:
        # One audio stream per variant; the lossless one is FLAC.
        assert sorted(s.codec_context.name for s in container.streams.audio) == ["aac", "aac", "flac"]
        stream = next(s for s in container.streams.audio if s.codec_context.name == "flac")
        assert stream.codec_context.name == "flac" and stream.codec_context.sample_rate == 48000
        for frame in container.decode(stream):
            assert frame.sample_rate == 48000 and frame.format.name == "s32"
            samples += frame.samples
            if samples >= 3 * 48000:
                break
    assert samples >= 3 * 48000
    assert time.monotonic() - started < 20


def test_ffmpeg_cli_plays_the_live_playlist(live_station, tmp_path):
    ffmpeg = need_ffmpeg()
    _, out = live_station
    wav = tmp_path / "got.wav"
    result = subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(hls_dir(out) / MASTER_NAME), "-t", "2.5", "-c:a", "pcm_s24le",
         str(wav)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with av.open(str(wav)) as container:
        frames = [f.samples for f in container.decode(audio=0)]
        assert container.streams.audio[0].sample_rate == 48000
    assert sum(frames) == pytest.approx(2.5 * 48000, abs=48)


def test_rotation_plays_every_track_before_repeating(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(5):
        make_flac(lib / f"{i}.flac", 0.2, 48000, 16, seed=i)
    rotation = Rotation(lib, scan_library(lib), seed=42)
    played = [rotation.next().path.name for _ in range(5 * 20)]
    for bag in range(20):
        assert sorted(played[bag * 5:(bag + 1) * 5]) == [f"{i}.flac" for i in range(5)]
    assert all(a != b for a, b in zip(played, played[1:]))
    orders = {tuple(played[b * 5:(b + 1) * 5]) for b in range(20)}
    assert len(orders) > 5  # really shuffled


def test_rotation_takes_new_files_into_the_current_bag_and_drops_removed_ones(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(6):
        make_flac(lib / f"{i}.flac", 0.2, 48000, 16, seed=i, title=f"Song {i}")
    index = LibraryIndex(lib, tmp_path / "index", rescan_seconds=3600)
    index.start()
    try:
        index.scanned.wait(30)
        rotation = Rotation(lib, [], seed=1, index=index)
        rotation.next()
        gone = rotation.bag[-1].path
        gone.unlink()
        make_flac(lib / "new.flac", 0.2, 48000, 16, seed=9, title="New song")
        index.scan()
        # The rest of this bag: the new file is in it, the removed one is not.
        rest = [rotation.next().path.name for _ in range(5)]
        assert "new.flac" in rest and gone.name not in rest
    finally:
        index.stop()


def test_a_new_bag_does_not_start_with_the_end_of_the_last(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(9):
        make_flac(lib / f"{i}.flac", 0.1, 48000, 16, seed=i)
    rotation = Rotation(lib, scan_library(lib), seed=3)
    played = [rotation.next().path.name for _ in range(9 * 30)]
    gaps = [j - i for i in range(len(played)) for j in range(i + 1, min(i + 5, len(played)))
            if played[i] == played[j]]
    assert not gaps  # never twice within 4 tracks of itself, across the bags' boundaries too


@pytest.fixture(scope="module")
def demo_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("instance")
    started = time.monotonic()
    path = ensure_demo_library(root / "demo-library")
    return path, time.monotonic() - started


def test_demo_library(demo_library):
    path, seconds = demo_library
    assert seconds < 60
    tracks = scan_library(path)
    assert len(tracks) >= 8
    assert all(60 <= t.duration <= 120 for t in tracks)
    assert len({t.artist for t in tracks}) >= 3 and len({t.album for t in tracks}) >= 3
    assert {(t.sample_rate, t.bit_depth) for t in tracks} == {(44100, 16), (48000, 24)}
    assert all(t.has_embedded_art and t.title and t.date for t in tracks)
    # Generated once: a second call does not touch the files.
    mtimes = {t.path: t.path.stat().st_mtime_ns for t in tracks}
    again = time.monotonic()
    ensure_demo_library(path)
    assert time.monotonic() - again < 0.5
    assert all(p.stat().st_mtime_ns == m for p, m in mtimes.items())


def test_demo_audio_is_deterministic_and_musical():
    track = DEMO_TRACKS[0]
    a, b = synthesize(track), synthesize(track)
    assert np.array_equal(a, b)
    assert np.abs(a).max() <= 0.9
    # Not a bare sine: many spectral peaks, and loudness that moves (notes, drums).
    spectrum = np.abs(np.fft.rfft(a[: track.sample_rate * 8, 0]))
    assert (spectrum > spectrum.max() * 0.05).sum() > 50
    rms = np.sqrt(np.mean(a[: track.sample_rate * 30, 0].reshape(-1, track.sample_rate // 10) ** 2, axis=1))
    assert rms.std() / rms.mean() > 0.1
    assert not np.array_equal(a[: 1000], synthesize(DEMO_TRACKS[1])[: 1000])


def test_from_config_with_the_demo_library(demo_library, tmp_path):
    path, _ = demo_library
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copytree(path, instance / "demo-library")  # what from_config would generate
    config = Config(instance_path=instance, station_segment_seconds=1.0)
    station = Station.from_config(config)
    station.start()
    try:
        out = config.resolved_station_out
        meta = json.loads((out / METADATA_NAME).read_text())
        assert meta["artist"] in {t.artist for t in DEMO_TRACKS}
        assert (out / COVER_NAME).exists() and (hls_dir(out) / MASTER_NAME).exists()
        playlist = read_playlist(out)
        assert all(e.duration == 1.0 for e in playlist.entries)
    finally:
        station.stop()
    assert not station.running


def test_run_forever_stops_on_sigterm(tmp_path):
    import signal
    import sys

    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 1.0, 48000, 24)
    out = tmp_path / "out"
    code = ("import sys; from pathlib import Path; from radiocalico.station import Station; "
            "Station(Path(sys.argv[1]), Path(sys.argv[2]), segment_seconds=0.5).run_forever(); print('clean')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(lib), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (out / METADATA_NAME).exists() or proc.poll() is not None, timeout=60)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "clean" in stdout
    assert "#EXT-X-ENDLIST" not in (hls_dir(out) / MEDIA_NAME).read_text()


def test_playout_jumps_ahead_instead_of_bursting_when_far_behind(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 1.0, 48000, 24)
    out = tmp_path / "out"
    station = Station(lib, out, segment_seconds=0.5)
    clock = {"offset": 0.0}
    real_monotonic = time.monotonic
    from radiocalico.station import station as station_module

    monkeypatch.setattr(station_module.time, "monotonic", lambda: real_monotonic() + clock["offset"])
    station.start()
    try:
        wait_for(lambda: station.segments_published >= 4)
        clock["offset"] = 60.0  # as if the machine had been suspended for a minute
        count = station.segments_published
        time.sleep(1.2)
        assert station.segments_published - count <= 4  # not 120 segments at once
    finally:
        station.stop()
    playlist = read_playlist(out)
    flagged = [e for e in playlist.entries if e.discontinuity]
    assert len(flagged) == 1
    before = playlist.entries[playlist.entries.index(flagged[0]) - 1]
    assert flagged[0].pdt - (before.pdt + before.duration) > 50


def test_station_error_when_library_folder_is_missing(tmp_path):
    from radiocalico.station import StationError

    with pytest.raises(StationError, match="not a folder"):
        Station(tmp_path / "missing", tmp_path / "out").start()
