"""The quality ladder from a real station run, read back by real clients: the `m3u8` parser
on the master and media playlists, PyAV (FFmpeg's demuxer and decoders) on every rendition's
init + segments; per-sequence alignment across renditions, a restart and a skipped track;
STATION_RENDITIONS."""

from __future__ import annotations

import io
import json
import re

import av
import m3u8
import numpy as np
import pytest
from click.testing import CliRunner

from radiocalico import stream_layout
from radiocalico.cli import main as cli
from radiocalico.config import Config
from radiocalico.station import Station, StationError
from radiocalico.station import programme as programme_module
from radiocalico.station.aac import FRAME_SIZE
from radiocalico.station.encoders import LADDER

from .audiofiles import make_flac
from .streamutil import run_station, tfdt_of
from .test_aac import best_lag

SEG = 1.0
SEG_SAMPLES = 48000
FAST = 6.0  # test-only clock acceleration (three encoders per segment)
NAMES = {"lossless": "live_flac.m3u8", "high": "live_high.m3u8", "saver": "live_saver.m3u8"}


def flaky_decoder(monkeypatch, failures: list):
    """bad.flac raises a decode error after its first chunk (a corrupt file)."""
    real = programme_module.decode_track

    def decode_track(path, *args, **kwargs):
        for i, chunk in enumerate(real(path, *args, **kwargs)):
            if path.name == "bad.flac" and i == 1:
                failures.append(path.name)
                raise ValueError("simulated corrupt frame")
            yield chunk

    monkeypatch.setattr(programme_module, "decode_track", decode_track)


@pytest.fixture(scope="module")
def ladder_run(tmp_path_factory):
    """Two runs of a three-rendition station (a restart between), over a library with a
    48 kHz track, a 44.1 kHz track and a corrupt one."""
    tmp = tmp_path_factory.mktemp("ladder")
    lib = tmp / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 2.3, 48000, 24, seed=1, artist="A", title="One")
    make_flac(lib / "b.flac", 1.7, 44100, 16, seed=2, artist="B", title="Two")
    make_flac(lib / "bad.flac", 3.0, 48000, 24, seed=3, artist="Bad", title="Corrupt")
    out = tmp / "out"
    failures: list = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        flaky_decoder(monkeypatch, failures)
        first = Station(lib, out, segment_seconds=SEG, speed=FAST, window=100, seed=4)
        run_station(first, segments=7)
        second = Station(lib, out, segment_seconds=SEG, speed=FAST, window=100, seed=5)
        run_station(second, segments=6)
    return out, first.segments_published, failures, tmp


def load(out, name: str) -> m3u8.M3U8:
    return m3u8.load(str(stream_layout.hls_dir(out) / name))


def media(out) -> dict[str, m3u8.M3U8]:
    return {rendition: load(out, playlist) for rendition, playlist in NAMES.items()}


def test_the_master_playlist_is_valid_and_lists_the_ladder(ladder_run):
    out, *_ = ladder_run
    text = (stream_layout.hls_dir(out) / stream_layout.MASTER_NAME).read_text()
    master = m3u8.loads(text)
    assert master.is_variant and master.version == 7 and master.is_independent_segments
    variants = master.playlists
    # The first variant (where players start) is the AAC one every client plays.
    assert [v.uri for v in variants] == ["live_high.m3u8", "live_flac.m3u8", "live_saver.m3u8"]
    assert [v.stream_info.codecs for v in variants] == ["mp4a.40.2", "fLaC", "mp4a.40.2"]
    for variant in variants:
        info = variant.stream_info
        assert info.bandwidth >= info.average_bandwidth > 0
        assert info.resolution is None and info.audio is None  # audio-only variants
    high, lossless, saver = (v.stream_info for v in variants)
    assert 200_000 < high.average_bandwidth < 320_000 and 70_000 < saver.average_bandwidth < 130_000
    assert lossless.average_bandwidth > high.average_bandwidth
    # Nothing the RFC does not define (the URI tells the renditions apart).
    for line in text.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            assert set(re.findall(r"([A-Z-]+)=", line)) == {"BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS"}


def family(codecs: str) -> str:
    return "flac" if codecs == "fLaC" else "aac" if codecs.startswith("mp4a.") else codecs


def test_each_codec_family_has_its_own_master_and_only_live_m3u8_mixes_them(ladder_run):
    out, *_ = ladder_run
    hls = stream_layout.hls_dir(out)
    live = m3u8.loads((hls / stream_layout.MASTER_NAME).read_text())
    masters = {path.name: m3u8.loads(path.read_text()) for path in hls.glob("*.m3u8")}
    masters = {name: m for name, m in masters.items() if m.is_variant and name != stream_layout.MASTER_NAME}
    assert set(masters) == {"master_aac.m3u8", "master_flac.m3u8"}
    for name, master in masters.items():
        assert master.version == 7 and master.is_independent_segments
        assert len({family(v.stream_info.codecs) for v in master.playlists}) == 1, name
    # The native players' master: the AAC renditions, best first, as live.m3u8 lists them.
    native = masters[stream_layout.NATIVE_MASTER_PATH.rsplit("/", 1)[1]]
    assert [v.uri for v in native.playlists] == [NAMES["high"], NAMES["saver"]]
    assert [v.uri for v in masters["master_flac.m3u8"].playlists] == [NAMES["lossless"]]
    same = {v.uri: str(v.stream_info) for v in live.playlists}
    assert all(same[v.uri] == str(v.stream_info) for m in masters.values() for v in m.playlists)


def test_every_sequence_is_aligned_across_renditions_and_the_restart(ladder_run):
    out, first_run, failures, _ = ladder_run
    assert failures == ["bad.flac"] * len(failures) and failures  # a track was skipped
    playlists = media(out)
    for playlist in playlists.values():
        assert not playlist.is_variant and playlist.is_independent_segments
        assert playlist.target_duration == 1 and not playlist.is_endlist
    reference = playlists["lossless"]
    assert len(reference.segments) >= 12
    hls = stream_layout.hls_dir(out)
    for name, playlist in playlists.items():
        assert playlist.media_sequence == reference.media_sequence
        assert playlist.discontinuity_sequence == reference.discontinuity_sequence
        assert len(playlist.segments) == len(reference.segments)
        flagged = [i for i, s in enumerate(playlist.segments) if s.discontinuity]
        assert flagged == [first_run], name  # the restart, at the same place in every rendition
        for ours, theirs in zip(playlist.segments, reference.segments):
            assert ours.program_date_time == theirs.program_date_time
            assert abs(ours.duration - theirs.duration) < FRAME_SIZE / 48000
            assert round(ours.duration) <= playlist.target_duration
            offset = tfdt_of((hls / ours.uri).read_bytes()) - tfdt_of((hls / theirs.uri).read_bytes())
            assert 0 <= offset < FRAME_SIZE, (name, ours.uri, offset)
    tfdts = [tfdt_of((hls / s.uri).read_bytes()) for s in reference.segments]
    assert tfdts == [tfdts[0] + i * SEG_SAMPLES for i in range(len(tfdts))]


def decode_run(out, segments, tmp) -> tuple[str, int, np.ndarray]:
    """(codec, pts of the first sample, float (n, 2) audio) of init + segments, checking
    that frames follow each other without a hole or overlap (see test_aac.decode)."""
    hls = stream_layout.hls_dir(out)
    (init,) = {s.init_section.uri for s in segments}
    data = (hls / init).read_bytes() + b"".join((hls / s.uri).read_bytes() for s in segments)
    with av.open(io.BytesIO(data), format="mp4") as container:
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        assert ctx.sample_rate == 48000 and ctx.channels == 2
        first_pts, expected, chunks = None, None, []
        for frame in container.decode(stream):
            if first_pts is None:
                first_pts = expected = frame.pts
            assert frame.pts == expected, "a hole or overlap between decoded frames"
            expected += frame.samples
            array = frame.to_ndarray()
            array = array.T if frame.format.is_planar else array.reshape(-1, 2)
            scale = float(1 << 31) if frame.format.name.startswith("s32") else 1.0
            chunks.append(array / scale)
        return ctx.name, first_pts, np.concatenate(chunks)


def low_pass(audio: np.ndarray, top_hz: float = 6000) -> np.ndarray:
    spectrum = np.fft.rfft(audio, axis=0)
    spectrum[np.fft.rfftfreq(len(audio), 1 / 48000) > top_hz] = 0
    return np.fft.irfft(spectrum, len(audio), axis=0)


def test_each_rendition_decodes_and_the_aac_matches_the_programme(ladder_run):
    out, first_run, _, tmp = ladder_run
    playlists = media(out)
    runs = [slice(0, first_run), slice(first_run, None)]  # a decoder restarts at a discontinuity
    for run in runs:
        codec, start, programme = decode_run(out, playlists["lossless"].segments[run], tmp)
        assert codec == "flac"
        for name in ("high", "saver"):
            codec, aac_start, audio = decode_run(out, playlists[name].segments[run], tmp)
            assert codec == "aac"
            assert 0 <= aac_start - start < FRAME_SIZE
            offset = aac_start - start
            assert abs(offset + len(audio) - len(programme)) < FRAME_SIZE
            # The same content at the same time: sample-exact within the run, the first
            # frame aside (it decodes without its overlap). Below 6 kHz, which even the
            # saver rendition keeps (the test tracks are full-band noise).
            body = slice(offset + FRAME_SIZE, min(offset + len(audio), len(programme)))
            lag, r = best_lag(low_pass(audio[body.start - offset:body.stop - offset]), low_pass(programme[body]), 64)
            # Noise is the hardest content for a perceptual coder: its waveform at 96 kbit/s
            # is close, not near-exact; the lag is what proves the timing.
            assert lag == 0 and r > {"high": 0.97, "saver": 0.9}[name], (name, lag, r)
            # No hole: every 10 ms window of the AAC holds energy where the programme does.
            window = 480
            n = (body.stop - body.start) // window * window
            got = np.sqrt((audio[body.start - offset:body.start - offset + n] ** 2).reshape(-1, window * 2).mean(1))
            want = np.sqrt((programme[body.start:body.start + n] ** 2).reshape(-1, window * 2).mean(1))
            loud = want > 0.05
            assert loud.sum() > 10 and (got[loud] > 0.5 * want[loud]).all(), name


def test_metadata_lists_the_renditions(ladder_run):
    out, *_ = ladder_run
    meta = json.loads((out / stream_layout.METADATA_NAME).read_text())
    assert (meta["stream_codec"], meta["stream_sample_rate"], meta["stream_bit_depth"]) == ("flac", 48000, 24)
    assert meta["renditions"] == [
        {"name": "lossless", "codec": "flac", "codecs": "fLaC", "bitrate": None, "sample_rate": 48000,
         "bit_depth": 24, "channels": 2, "playlist": "live_flac.m3u8"},
        {"name": "high", "codec": "aac", "codecs": "mp4a.40.2", "bitrate": 256000, "sample_rate": 48000,
         "bit_depth": None, "channels": 2, "playlist": "live_high.m3u8"},
        {"name": "saver", "codec": "aac", "codecs": "mp4a.40.2", "bitrate": 96000, "sample_rate": 48000,
         "bit_depth": None, "channels": 2, "playlist": "live_saver.m3u8"},
    ]
    master = load(out, stream_layout.MASTER_NAME)
    assert {v.uri for v in master.playlists} == {r["playlist"] for r in meta["renditions"]}


def test_lossless_alone_is_the_stream_as_it_was(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 1.3, 48000, 24, seed=7)
    out = tmp_path / "out"
    run_station(Station(lib, out, segment_seconds=0.5, speed=12, renditions=("lossless",)), segments=4)
    hls = stream_layout.hls_dir(out)
    master = (hls / stream_layout.MASTER_NAME).read_text()
    assert re.fullmatch(r'#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n'
                        r'#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="fLaC"\nlive_flac.m3u8\n', master)
    names = {p.name for p in hls.iterdir()}
    # The lossless family's master is the same playlist.
    assert {n for n in names if n.endswith(".m3u8")} == {"live.m3u8", "live_flac.m3u8", "master_flac.m3u8"}
    assert (hls / "master_flac.m3u8").read_text() == master
    assert all(re.fullmatch(r"seg-[0-9a-f]{8}-\d{9}\.m4s|init-[0-9a-f]{12}\.mp4|(live|live_flac|master_flac)\.m3u8", n)
               for n in names)
    meta = json.loads((out / stream_layout.METADATA_NAME).read_text())
    assert [r["name"] for r in meta["renditions"]] == ["lossless"] and meta["stream_codec"] == "flac"


def test_station_renditions_is_parsed_and_ordered_by_the_ladder(tmp_path):
    config = Config.from_env({"STATION_RENDITIONS": " saver, lossless "})
    assert config.station_renditions == ("saver", "lossless")
    assert Config().station_renditions == LADDER == ("lossless", "high", "saver")
    station = Station(tmp_path / "lib", tmp_path / "out", renditions=config.station_renditions)
    assert [r.name for r in station.renditions] == ["lossless", "saver"]  # best first, whatever the order
    from radiocalico.station.hls import master_order

    assert [r.name for r in master_order(station.renditions)] == ["saver", "lossless"]
    every = Station(tmp_path / "lib", tmp_path / "out", renditions=("saver", "high", "lossless"))
    assert [r.name for r in master_order(every.renditions)] == ["high", "lossless", "saver"]


@pytest.mark.parametrize("value", ["lossless,hifi", ""])
def test_an_unknown_rendition_is_a_clear_start_up_error(tmp_path, value):
    with pytest.raises(StationError, match="STATION_RENDITIONS: .*choose from lossless,high,saver"):
        Station(tmp_path / "lib", tmp_path / "out", renditions=Config.from_env({"STATION_RENDITIONS": value})
                .station_renditions)
    env = {"STATION_RENDITIONS": value, "INSTANCE_PATH": str(tmp_path / "instance")}
    for args in (["station", "--out", str(tmp_path / "out")], ["serve", "--port", "0"]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
        assert result.output.startswith("Error: STATION_RENDITIONS: ") and "lossless,high,saver" in result.output
    result = CliRunner().invoke(cli, ["station", "--renditions", "high,flac"], env={"INSTANCE_PATH": str(tmp_path)})
    assert result.exit_code == 1 and "unknown rendition 'flac'" in result.output
