"""What the decode path airs: a damaged or cut file without noise or clicks, surround folded
to stereo, and every track at one loudness, read back from the published stream by PyAV."""

from __future__ import annotations

import json
import logging
import math

import av
import numpy as np
import pytest
from mutagen.flac import FLAC

from radiocalico import stream_layout
from radiocalico.config import Config
from radiocalico.station import Station
from radiocalico.station.audio import decode_track
from radiocalico.station.library import scan_library
from radiocalico.station.loudness import CEILING_DBTP, Leveller, LoudnessCache, identity, measure, measure_pcm
from radiocalico.station.programme import Programme
from radiocalico.station.rotation import Rotation
from radiocalico.station.station import LOUDNESS_CACHE

from .audiofiles import tag_flac, write_pcm
from .streamutil import parse_pdt, run_station
from .test_ladder import NAMES, decode_run, load

RATE = 48000
FULL24 = (1 << 23) - 1


def tone(seconds: float, dbfs: float, hz: float = 440.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.sin(2 * np.pi * hz * t) * 10 ** (dbfs / 20)


def to24(x: np.ndarray) -> np.ndarray:
    return np.rint(x * FULL24).astype(np.int32)


def dbfs(pcm24: np.ndarray) -> float:
    return 20 * math.log10(np.abs(pcm24).max() / FULL24)


def packet_offsets(path) -> list[int]:
    with av.open(str(path)) as container:
        return [packet.pos for packet in container.demux(audio=0) if packet.size]


def programme_of(lib, seconds: float) -> np.ndarray:
    """`seconds` of the programme over a one-track library, as 24-bit values."""
    programme = Programme(Rotation(lib, scan_library(lib), seed=1))
    try:
        return programme.take(int(seconds * RATE)) >> 8
    finally:
        programme.close()


# -- a damaged frame, a cut file ---------------------------------------------------------------


@pytest.fixture
def tone_flac(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    source = to24(np.stack([tone(3.0, -17.0)] * 2, axis=1))
    path = write_pcm(lib / "tone.flac", source, RATE, 24, "flac", "flac")
    return lib, path, source


def test_a_corrupt_frame_is_dropped_not_aired_as_noise(tone_flac, caplog):
    lib, path, source = tone_flac
    offsets = packet_offsets(path)
    data = bytearray(path.read_bytes())
    middle = offsets[len(offsets) // 2]
    data[middle + 20] ^= 0xFF  # in the first subframe: FFmpeg alone decodes it as a 0 dBFS burst
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="radiocalico.station"):
        pcm = programme_of(lib, 3.5)  # past the track's end (a one-track library repeats it)
    assert dbfs(pcm) <= -17.0 + 0.05
    pcm = pcm[:len(source)]
    # The damaged frame is silence, faded out before and in after; the track keeps its
    # length and every other frame plays as it is in the file.
    zero = (np.abs(pcm).max(axis=1) == 0).astype(int)
    silent = np.flatnonzero(np.convolve(zero, np.ones(65, int), "same") == 65)  # (not a zero crossing)
    assert 0.05 * RATE < len(silent) < 0.15 * RATE
    assert silent[-1] - silent[0] + 1 == len(silent)  # one gap
    silent = np.arange(silent[0] - 32, silent[-1] + 33)
    fade = int(0.010 * RATE)
    keep = np.ones(len(pcm), bool)
    keep[silent[0] - fade:silent[-1] + 1 + fade] = False
    assert np.array_equal(pcm[keep], source[keep])
    assert np.abs(pcm[silent[0] - 1]).max() < 0.01 * np.abs(source).max()  # faded, no click
    warnings = [r.getMessage() for r in caplog.records if "tone.flac" in r.getMessage()]
    assert len(warnings) == 1 and "corrupt frame" in warnings[0]


def test_a_cut_file_ends_with_a_fade_and_one_log_line(tone_flac, caplog):
    lib, path, source = tone_flac
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * 0.6)])  # mid-frame
    with caplog.at_level(logging.WARNING, logger="radiocalico.station"):
        pcm = np.concatenate(list(decode_track(path)))[:, :] >> 8
    assert 1.0 * RATE < len(pcm) < 2.5 * RATE
    assert np.array_equal(pcm[:RATE], source[:RATE])
    assert np.abs(pcm[-4:]).max() < 0.001 * FULL24  # faded to silence: no click at the cut
    warnings = [r.getMessage() for r in caplog.records if "tone.flac" in r.getMessage()]
    assert len(warnings) == 1 and "ends early" in warnings[0]


# -- surround ------------------------------------------------------------------------------------


def write_surround(path, channels: np.ndarray, layout: str) -> None:
    """(n, channels) 24-bit values as a FLAC with `layout`."""
    data = (channels.astype(np.int32) << 8)
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=RATE, layout=layout)
        stream.format = "s32"
        for pos in range(0, len(data), 4096):
            block = np.ascontiguousarray(data[pos:pos + 4096]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="s32", layout=layout)
            frame.sample_rate, frame.pts = RATE, pos
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.mark.parametrize("layout, centre", [("5.1", 2), ("7.1", 2)])
def test_the_centre_channel_is_heard_in_both_left_and_right(tmp_path, layout, centre):
    lib = tmp_path / "lib"
    lib.mkdir()
    count = len(av.AudioLayout(layout).channels)
    channels = np.zeros((RATE, count), dtype=np.int32)
    channels[:, centre] = to24(tone(1.0, -6.0))  # a voice in the centre, nothing else
    write_surround(lib / "surround.flac", channels, layout)
    pcm = programme_of(lib, 1.0)
    # BS.775: C at -3 dB into each side, normalised by the largest row sum so nothing clips
    # (5.1: 1 + 0.707 + 0.707; 7.1 adds the back pair: 1 + 3 * 0.707).
    expected = -6.0 + 20 * math.log10(math.sqrt(0.5) / (1 + (2 if layout == "5.1" else 3) * math.sqrt(0.5)))
    for side in (0, 1):
        assert 20 * math.log10(np.abs(pcm[:, side]).max() / FULL24) == pytest.approx(expected, abs=0.05)
    assert np.array_equal(pcm[:, 0], pcm[:, 1])


# -- loudness ------------------------------------------------------------------------------------


def music(seconds: float, seed: int) -> np.ndarray:
    """Pink-ish noise under a few held tones with a slow swell: music-like, peaky enough."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    spectrum /= np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / RATE), 200.0))[:, None]  # 1/f power above 200 Hz
    pinkish = np.fft.irfft(spectrum, n, axis=0)
    t = np.arange(n) / RATE
    tones = sum(np.sin(2 * np.pi * hz * t) for hz in (220.0, 330.0, 495.0))[:, None] * 0.05
    swell = (0.75 + 0.25 * np.sin(2 * np.pi * 0.5 * t))[:, None]
    x = (pinkish / np.abs(pinkish).max() * 0.5 + tones) * swell
    return x / np.abs(x).max()


def mastered(path, seconds: float, lufs: float, seed: int) -> float:
    """A FLAC of music() at `lufs` integrated; returns its true peak (dBTP)."""
    x = music(seconds, seed)
    probe = measure_pcm([to24(x * 0.25) << 8])
    x = x * 0.25 * 10 ** ((lufs - probe.integrated) / 20)
    assert np.abs(x).max() < 1.0
    write_pcm(path, to24(x), RATE, 24, "flac", "flac")
    got = measure(path)
    assert got.integrated == pytest.approx(lufs, abs=0.1)
    return got.true_peak


def track_spans(out, rendition: str, tmp) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """The rendition's decoded audio and, per track start in metadatav2.json, (title, first,
    end) indices in it (from started_at on the program-date-time clock)."""
    lossless = load(out, NAMES["lossless"]).segments
    _, lossless_pts, _ = decode_run(out, lossless, tmp)
    _, first_pts, audio = decode_run(out, load(out, NAMES[rendition]).segments, tmp)
    meta = json.loads((out / stream_layout.METADATA_NAME).read_text())
    starts = [(meta["title"], meta["started_at"])] + [
        (meta[f"prev_title_{i}"], meta[f"prev_started_at_{i}"]) for i in range(1, 6) if meta[f"prev_title_{i}"]]
    origin = lossless[0].program_date_time.timestamp()
    bounds = sorted((lossless_pts - first_pts + round((parse_pdt(at) - origin) * RATE), title) for title, at in starts)
    spans = [(title, first, nxt[0] if nxt else len(audio)) for (first, title), nxt in
             zip(bounds, bounds[1:] + [None])]
    return audio, [(t, a, b) for t, a, b in spans if a >= 0]


TARGET = -18.0


@pytest.fixture(scope="module")
def levelled_run(tmp_path_factory):
    """A station levelling two tracks mastered 20 dB apart, every rendition."""
    tmp = tmp_path_factory.mktemp("levelled")
    lib = tmp / "lib"
    lib.mkdir()
    peaks = {"Loud": mastered(lib / "loud.flac", 5.0, -14.0, seed=1),
             "Quiet": mastered(lib / "quiet.flac", 5.0, -34.0, seed=2)}
    tag_flac(lib / "loud.flac", "A", "Loud", "Album", "2020")
    tag_flac(lib / "quiet.flac", "B", "Quiet", "Album", "2020")
    out = tmp / "out"
    # Measured beforehand, as the background measurer has by the time a track airs in a
    # running station: on a busy machine the first track's measurement at open may run out
    # of its budget and level it from its opening part only; this test is of the levelling, not of that race.
    instance = tmp / "instance"
    instance.mkdir()
    cache = LoudnessCache(instance / LOUDNESS_CACHE)
    for path in sorted(lib.glob("*.flac")):
        cache.put(path, identity(path), measure(path))
    cache.close()
    station = Station(lib, out, segment_seconds=0.5, speed=12, window=100, seed=3, loudness_target=TARGET,
                      instance_path=instance)
    run_station(station, segments=36)  # 18 s: each track airs at least once in full
    return out, tmp, peaks


@pytest.mark.parametrize("rendition, peak_margin", [("lossless", 0.0), ("high", 0.5), ("saver", 1.0)])
def test_tracks_mastered_20_db_apart_air_at_the_target(levelled_run, rendition, peak_margin):
    out, tmp, peaks = levelled_run
    audio, spans = track_spans(out, rendition, tmp)
    whole = [(title, a, b) for title, a, b in spans if b - a >= 4.5 * RATE]
    assert {title for title, _, _ in whole} == {"Loud", "Quiet"}
    edge = int(0.25 * RATE)  # an AAC encoder's frames overlap the track boundary
    for title, first, end in whole:
        got = measure_pcm([np.rint(np.clip(audio[first + edge:end - edge], -1, 1 - 2 ** -23) * FULL24)
                           .astype(np.int32) << 8])
        assert got.integrated == pytest.approx(TARGET, abs=1.0), (rendition, title, got)
        # The ceiling holds (AAC's own overshoot allowed for); nothing was pushed against it.
        assert got.true_peak < CEILING_DBTP + peak_margin, (rendition, title, got)


def test_metadata_says_what_gain_airs(levelled_run):
    out, _, _ = levelled_run
    meta = json.loads((out / stream_layout.METADATA_NAME).read_text())
    loudness = meta["loudness"]
    assert loudness["source"] == "measured" and loudness["target_lufs"] == TARGET
    expected = {"Loud": -14.0, "Quiet": -34.0}[meta["title"]]
    assert loudness["integrated_lufs"] == pytest.approx(expected, abs=0.1)
    assert loudness["gain_db"] == pytest.approx(TARGET - expected, abs=0.1)
    assert meta["bit_depth"] == 24 and meta["stream_codec"] == "flac"  # the CDN's fields as they were


def test_levelling_off_keeps_the_metadata_field_null(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    write_pcm(lib / "a.flac", to24(np.stack([tone(1.0, -20.0)] * 2, axis=1)), RATE, 24, "flac", "flac")
    out = tmp_path / "out"
    run_station(Station(lib, out, segment_seconds=0.5, speed=12, window=100), segments=3)
    assert json.loads((out / stream_layout.METADATA_NAME).read_text())["loudness"] is None


def test_a_measurement_is_made_once_and_kept_across_restarts(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    path = write_pcm(lib / "a.flac", to24(np.stack([tone(2.0, -30.0)] * 2, axis=1)), RATE, 24, "flac", "flac")
    cache = tmp_path / "instance" / "loudness.sqlite3"
    first = Leveller(TARGET, cache, lambda: [path])
    gain, info = first.level(path)  # measured as it opens (nothing cached, no tag)
    assert info["source"] == "measured" and gain == pytest.approx(TARGET - info["integrated_lufs"], abs=0.01)
    first.cache.close()
    from radiocalico.station import loudness

    monkeypatch.setattr(loudness, "measure", lambda *a, **k: pytest.fail("measured again"))
    again = Leveller(TARGET, cache, lambda: [path])
    assert again.level(path) == (gain, info)
    # A changed file is measured afresh.
    assert LoudnessCache(cache).get(path) is not None
    write_pcm(path, to24(np.stack([tone(2.0, -20.0)] * 2, axis=1)), RATE, 24, "flac", "flac")
    assert LoudnessCache(cache).get(path) is None


def test_a_replaygain_tag_levels_a_track_not_yet_measured_and_a_measurement_wins(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    path = write_pcm(lib / "a.flac", to24(np.stack([tone(2.0, -30.0)] * 2, axis=1)), RATE, 24, "flac", "flac")
    tags = FLAC(path)
    tags.update({"REPLAYGAIN_TRACK_GAIN": "+7.50 dB", "REPLAYGAIN_TRACK_PEAK": "0.031623"})
    tags.save()
    leveller = Leveller(TARGET, None, lambda: [path])
    gain, info = leveller.level(path)
    assert info["source"] == "replaygain" and gain == pytest.approx(7.5)  # -25.5 LUFS by the tag
    leveller.start()  # the background thread measures it
    try:
        for _ in range(200):
            if leveller.cache.get(path) is not None:
                break
            leveller._stop.wait(0.05)
    finally:
        leveller.stop()
    gain, info = leveller.level(path)
    assert info["source"] == "measured" and gain == pytest.approx(TARGET - info["integrated_lufs"], abs=0.01)


def test_the_ceiling_holds_back_a_quiet_peaky_track(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    x = np.stack([tone(3.0, -40.0)] * 2, axis=1)
    x[RATE:RATE + 48] = 0.5  # a click at -6 dBFS in a -40 dBFS track
    path = write_pcm(lib / "peaky.flac", to24(x), RATE, 24, "flac", "flac")
    gain, info = Leveller(TARGET, None, lambda: [path]).level(path)
    assert gain == pytest.approx(CEILING_DBTP - info["true_peak_dbtp"], abs=0.02)
    assert gain < TARGET - info["integrated_lufs"]


@pytest.mark.parametrize("value, lufs", [("-18", -18.0), ("-16 LUFS", -16.0), ("off", None), ("OFF", None)])
def test_station_loudness_target_setting(value, lufs):
    assert Config.from_env({"STATION_LOUDNESS_TARGET": value}).station_loudness_lufs == lufs


@pytest.mark.parametrize("value", ["loud", "-80", "3", ""])
def test_a_bad_loudness_target_is_a_clear_error(value):
    with pytest.raises(ValueError, match="STATION_LOUDNESS_TARGET"):
        Config.from_env({"STATION_LOUDNESS_TARGET": value})


def test_the_default_config_levels_to_minus_18():
    assert Config.from_env({}).station_loudness_lufs == TARGET


def test_a_track_that_cannot_go_on_ends_with_a_fade(tmp_path, monkeypatch):
    from radiocalico.station import programme as programme_module

    lib = tmp_path / "lib"
    lib.mkdir()
    write_pcm(lib / "a.flac", to24(np.stack([tone(2.0, -6.0)] * 2, axis=1)), RATE, 24, "flac", "flac")
    real = programme_module.decode_track
    aired = []

    def dies(path, *args, **kwargs):
        for i, chunk in enumerate(real(path, *args, **kwargs)):
            if i == 2:
                raise OSError("disk gone")  # mid-track
            aired.append(len(chunk))
            yield chunk

    monkeypatch.setattr(programme_module, "decode_track", dies)
    pcm = programme_of(lib, 1.5)
    cut = sum(aired[:2])  # two chunks aired, then the next track (the same file) from its start
    assert np.abs(pcm[cut - 4:cut]).max() < 0.001 * FULL24
    assert np.abs(pcm[cut - 2000:cut - 1000]).max() > 0.4 * FULL24


def test_no_gain_leaves_the_samples_untouched():
    from radiocalico.station.loudness import apply_gain

    pcm = to24(np.stack([tone(0.1, -1.0)] * 2, axis=1)) << 8
    assert apply_gain(pcm, 0.0) is pcm
    assert np.array_equal(apply_gain(apply_gain(pcm, -6.0), 0.0), apply_gain(pcm, -6.0))
    assert np.abs((apply_gain(pcm, -6.0) >> 8) - np.rint((pcm >> 8) * 10 ** (-6 / 20))).max() == 0


def encode_tagged(path, codec: str, fmt: str, rate: int) -> None:
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        frame_size = stream.codec_context.frame_size or 1152
        data = (np.stack([tone(1.0, -20.0, rate=rate)] * 2, axis=1)).astype(np.float32)
        for pos in range(0, len(data) - frame_size, frame_size):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[pos:pos + frame_size].T), format="fltp",
                                               layout="stereo")
            frame.sample_rate, frame.pts = rate, pos
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_replaygain_tags_of_each_kind_are_read(tmp_path):
    from mutagen.id3 import ID3, TXXX
    from mutagen.mp3 import MP3
    from mutagen.oggopus import OggOpus

    from radiocalico.station.loudness import tagged

    mp3 = tmp_path / "a.mp3"
    encode_tagged(mp3, "libmp3lame", "mp3", 44100)
    audio = MP3(mp3, ID3=ID3)
    if audio.tags is None:
        audio.add_tags()
    audio.tags.add(TXXX(encoding=3, desc="replaygain_track_gain", text="-4.25 dB"))
    audio.tags.add(TXXX(encoding=3, desc="REPLAYGAIN_TRACK_PEAK", text="0.5"))
    audio.save()
    got = tagged(mp3)
    assert got.source == "replaygain" and got.integrated == pytest.approx(-18 + 4.25)
    assert got.true_peak == pytest.approx(20 * math.log10(0.5))

    opus = tmp_path / "a.opus"
    encode_tagged(opus, "libopus", "ogg", 48000)
    audio = OggOpus(opus)
    audio["R128_TRACK_GAIN"] = ["-1280"]  # Q7.8: -5 dB relative to -23 LUFS
    audio.save()
    got = tagged(opus)
    assert got.source == "r128" and got.integrated == pytest.approx(-18.0)

    assert tagged(tmp_path / "missing.flac") is None


def test_the_station_command_refuses_a_bad_loudness_target_in_one_line(tmp_path):
    from click.testing import CliRunner

    from radiocalico.cli import main as cli

    result = CliRunner().invoke(cli, ["station", "--library", str(tmp_path), "--loudness-target", "loud"])
    assert result.exit_code != 0 and "STATION_LOUDNESS_TARGET must be off or a loudness" in result.output
    assert "Traceback" not in result.output


def test_a_file_name_that_is_not_utf8_is_measured_and_cached(tmp_path):
    """Found by running the dev server on a real library: the cache could not key a Latin-1
    `Café.flac` (its name has no UTF-8 text), and the measurer stopped at it every pass."""
    import os
    from pathlib import Path

    name = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"Caf\xe9.flac")))
    mastered(name, 2.0, -30.0, seed=5)
    cache = LoudnessCache(tmp_path / "loudness.sqlite3")
    cache.put(name, identity(name), measure(name))
    cache.close()
    again = LoudnessCache(tmp_path / "loudness.sqlite3")
    got = again.get(name)
    again.close()
    assert got is not None and got.integrated == pytest.approx(-30.0, abs=0.2)
