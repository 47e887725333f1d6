"""A DJ goes live from their own software: ffmpeg's icecast:// output as the DJ, a real
station at real speed (live input arrives in real time), the stream decoded with PyAV."""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from radiocalico.config import Config
from radiocalico.db import make_engine, upgrade
from radiocalico.station import Station, scan_library
from radiocalico.station.audio import decode_track
from radiocalico.station.live import LiveInput, LiveSettings, LoginBusy, Session, crossfade, list_recordings
from radiocalico.station.programme import Programme
from radiocalico.station.rotation import Rotation
from radiocalico.station.station import live_input
from radiocalico.stream_layout import METADATA_NAME

from .audiofiles import write_pcm
from .streamutil import read_stream, wait_for

SEG = 0.5
RATE = 48000
ROTATION_TONES = (440, 550)  # the library's two tracks
DJ_TONES = (3000, 2000)  # the DJ's source: the first, then the second half way through
PASSWORD = "correct-horse-battery"
XFADE = 1.0
NEAR_ZERO = (1 << 23) // 1000  # -60 dBFS in the decoded 24-bit values
MAX_SILENCE = int(0.050 * RATE)  # at a hand-over: at most 50 ms

RADIOCALICO = str(Path(sys.executable).with_name("radiocalico"))
pytestmark = pytest.mark.skipif(
    "icecast" not in subprocess.run(["ffmpeg", "-hide_banner", "-protocols"], capture_output=True,
                                    text=True).stdout, reason="ffmpeg with the icecast protocol is needed")


def tone_pcm(parts, rate=RATE, bits=24, seed=0, noise=0.01) -> np.ndarray:
    """(n, 2) integers at `bits`: each (frequency, seconds) in turn at half scale, plus a
    little noise (so that a stretch of it is found in the stream at one place only)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sum(s for _, s in parts) * rate)) / rate
    freq = np.concatenate([np.full(int(s * rate), f) for f, s in parts])[:len(t)]
    phase = 2 * np.pi * np.cumsum(freq) / rate
    x = np.sin(phase)[:, None] * 0.4 + rng.uniform(-noise, noise, size=(len(t), 2))
    return np.round(x * ((1 << (bits - 1)) - 1)).astype(np.int32)


def dominant(block: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(block[:, 0].astype(np.float64) * np.hanning(len(block))))
    return float(np.argmax(spectrum) * RATE / len(block))


def labels(pcm: np.ndarray, block: int = 2400) -> list[str]:
    """Per 50 ms block: "dj", "rotation" or "?" (a crossfade, silence) by its loudest tone."""
    out = []
    for i in range(0, len(pcm) - block + 1, block):
        f = dominant(pcm[i:i + block])
        out.append("dj" if any(abs(f - d) < 40 for d in DJ_TONES)
                   else "rotation" if any(abs(f - r) < 40 for r in ROTATION_TONES) else "?")
    return out


def longest_run(flags) -> int:
    """The longest run of true values in a row (silent samples, say)."""
    longest = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def longest_silence(pcm: np.ndarray) -> int:
    return longest_run(np.abs(pcm).max(axis=1) < NEAR_ZERO)


class MetadataWatch:
    """Every distinct metadatav2.json state, in order, as (live, dj, artist, title)."""

    def __init__(self, out: Path):
        self.path = out / METADATA_NAME
        self.seen: list[tuple] = []
        self.full: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.02):
            try:
                meta = json.loads(self.path.read_text())
            except (OSError, ValueError):
                continue
            state = (meta.get("live"), meta.get("dj"), meta["artist"], meta["title"])
            if not self.seen or self.seen[-1] != state:
                self.seen.append(state)
                self.full.append(meta)

    def stop(self):
        self._stop.set()
        self._thread.join()


@pytest.fixture
def library(tmp_path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i, freq in enumerate(ROTATION_TONES):
        write_pcm(lib / f"{i} rotation.flac", tone_pcm([(freq, 8.0)], seed=i, noise=0.0), RATE, 24, "flac", "flac")
    return lib


def credentials(name: str, password: str) -> str | None:
    return name if (name, password) == ("dj", PASSWORD) else None


@pytest.fixture
def on_air(tmp_path, library):
    """A station at real speed with its live input (any free port); yields (station, live)."""
    settings = LiveSettings(port=0, crossfade_seconds=XFADE, buffer_seconds=0.5, no_data_seconds=3.0,
                            silence_seconds=1.0)
    live = LiveInput(settings, credentials, tmp_path / "instance" / "recordings")
    station = Station(library, tmp_path / "out", segment_seconds=SEG, window=400, seed=1, live=live)
    station.start()
    try:
        yield station, live
    finally:
        station.stop()


def dj_software(port: int, source: Path | str, *args: str, user: str = "dj", password: str = PASSWORD,
                mount: str = "/live") -> subprocess.Popen:
    """ffmpeg streaming `source` in real time to the live input, as DJ software does (each
    packet sent as it is made, not in 32 kB bursts: a low bit rate would look stalled)."""
    inputs = ["-f", "lavfi", "-i", source] if isinstance(source, str) else ["-i", str(source)]
    return subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-re", *inputs, *args, "-flush_packets", "1",
                             f"icecast://{user}:{password}@127.0.0.1:{port}{mount}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def updinfo(port: int, song: str, password: str = PASSWORD, user: str = "dj") -> tuple[int, str]:
    """The Icecast metadata update DJ software sends (butt, Mixxx): `song` is "artist - title"."""
    url = (f"http://127.0.0.1:{port}/admin/metadata?mode=updinfo&mount=/live&song="
           + urllib.request.quote(song))
    request = urllib.request.Request(url, headers={"Authorization": _basic(user, password)})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def live_log(caplog) -> str:
    return " | ".join(r.getMessage() for r in caplog.records if r.getMessage().startswith("live"))


def test_a_dj_takes_over_names_the_show_and_hands_back_bit_exact(on_air, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="radiocalico.station")
    station, live = on_air
    source_pcm = tone_pcm([(DJ_TONES[0], 3.5), (DJ_TONES[1], 3.5)], seed=9)
    source = write_pcm(tmp_path / "dj.flac", source_pcm, RATE, 24, "flac", "flac")
    out = station.out
    watch = MetadataWatch(out)
    time.sleep(1.0)  # the rotation plays a while
    sent_at = time.time()
    dj = dj_software(live.port, source, "-c:a", "flac", "-content_type", "audio/ogg", "-ice_name", "Night Shift",
                     "-f", "ogg")
    wait_for(lambda: watch.seen[-1][0] is True, timeout=20)
    assert watch.seen[-1] == (True, "dj", "dj", "Night Shift")  # ice-name, before any updinfo
    assert updinfo(live.port, "Artist X - Title Y") == (200, (
        '<?xml version="1.0"?>\n<iceresponse><message>Metadata update successful</message>'
        "<return>1</return></iceresponse>\n"))
    assert dj.wait(30) == 0, dj.stderr.read()
    wait_for(lambda: watch.seen[-1][0] is False, timeout=20)  # handed back: a fresh track
    wait_for(lambda: station.segments_published * SEG > 0, timeout=5)
    time.sleep(2.0)
    station.stop()
    watch.stop()

    states = watch.seen
    live_states = [s for s in states if s[0]]
    assert live_states == [(True, "dj", "dj", "Night Shift"), (True, "dj", "Artist X", "Title Y")]
    assert states[0][0] is False and states[-1][0] is False and states[-1][1] is None
    first_live = next(m for m in watch.full if m["live"])
    for field in ("album", "bit_depth", "sample_rate", "started_at", "song_id", "cover_url", "renditions",
                  "prev_title_1", "stream_codec", "loudness"):
        assert field in first_live  # every field a player reads is still there
    assert first_live["prev_title_1"] != ""  # the interrupted track moved to the history
    assert (first_live["bit_depth"], first_live["sample_rate"]) == (24, 48000)  # the DJ's source

    pcm, playlist = read_stream(out, tmp_path)
    assert not any(e.discontinuity for e in playlist.entries)
    marks = labels(pcm)
    first = marks.index("dj")
    last = len(marks) - 1 - marks[::-1].index("dj")
    assert "rotation" in marks[:first] and "rotation" in marks[last + 1:], "".join(m[0] for m in marks)
    assert marks[first:last + 1].count("rotation") == 0  # the DJ alone between the hand-overs
    block, n = 2400, int(XFADE * RATE)
    take_over, hand_back = first * block, (last + 1) * block
    silences = [longest_silence(pcm[max(0, at - 2 * n):at + 2 * n]) for at in (take_over, hand_back)]
    print(f"\nlongest near-zero run (< -60 dBFS) around the take-over: {silences[0] / RATE * 1000:.1f} ms, "
          f"around the hand-back: {silences[1] / RATE * 1000:.1f} ms")
    assert max(silences) <= MAX_SILENCE

    # Lossless stays lossless: between the crossfades the stream is the DJ's samples.
    inner = pcm[take_over + n:hand_back - n - RATE // 10]  # (a fade is dominated by the DJ up to its middle)
    assert len(inner) > RATE // 2, f"DJ on air {first * 0.05:.2f}-{(last + 1) * 0.05:.2f} s of {len(pcm) / RATE:.2f} s"
    found = np.flatnonzero((source_pcm[:, 0] == inner[0, 0]) & (source_pcm[:, 1] == inner[0, 1]))
    assert len(found) == 1, "the live audio is not the source's samples"
    at = int(found[0])
    differ = np.flatnonzero((inner != source_pcm[at:at + len(inner)]).any(axis=1))
    assert not len(differ), (f"the DJ's samples differ from {differ[0] / RATE:.3f} s of {len(inner) / RATE:.3f} s "
                             f"after the take-over's crossfade; {live_log(caplog)}")

    # Live latency: when the source's second tone was sent (ffmpeg -re) to when the segment
    # holding it was published (segment end = its publication time on this clock).
    change = int(3.5 * RATE)
    stream_index = take_over + n + (change - at)
    entry = playlist.entries[stream_index // station.segment_samples]
    print(f"live latency, input to published segment: {entry.pdt + entry.duration - (sent_at + 3.5):.2f} s "
          f"(to its program-date-time: {entry.pdt + (stream_index % station.segment_samples) / RATE - (sent_at + 3.5):.2f} s)")

    # The set was recorded, every sample the DJ sent.
    recordings = list_recordings(tmp_path / "instance")
    assert len(recordings) == 1 and recordings[0].name.endswith("-dj.flac")
    with av.open(str(recordings[0])) as container:
        recorded = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in container.decode(audio=0)]) >> 8
    assert np.array_equal(recorded, source_pcm)


@pytest.mark.parametrize("name, args, rate", [
    ("mp3 over SOURCE", ["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "192k", "-legacy_icecast", "1",
                         "-content_type", "audio/mpeg", "-f", "mp3"], 44100),
    ("aac adts", ["-c:a", "aac", "-b:a", "192k", "-content_type", "audio/aac", "-f", "adts"], 48000),
    ("opus in ogg", ["-c:a", "libopus", "-content_type", "audio/ogg", "-f", "ogg"], 48000),
    ("vorbis in ogg, 5.1", ["-ac", "6", "-c:a", "libvorbis", "-content_type", "audio/ogg", "-f", "ogg"], 48000),
    ("native flac 96 kHz", ["-ar", "96000", "-c:a", "flac", "-content_type", "audio/flac", "-f", "flac"], 96000),
])
def test_each_format_djs_send_goes_on_air(on_air, tmp_path, name, args, rate):
    station, live = on_air
    out = station.out
    channels = [] if "-ac" in args else ["-ac", "2"]
    dj = dj_software(live.port, f"sine=frequency={DJ_TONES[0]}:duration=6:sample_rate={rate}", *channels, *args)
    wait_for(lambda: json.loads((out / METADATA_NAME).read_text()).get("live"), timeout=20)
    assert dj.wait(30) == 0, dj.stderr.read()
    wait_for(lambda: not json.loads((out / METADATA_NAME).read_text()).get("live"), timeout=20)
    time.sleep(XFADE + 1.0)  # the crossfade back is published
    station.stop()
    pcm, _ = read_stream(out, tmp_path)
    marks = labels(pcm)
    assert marks.count("dj") >= 10, f"{name}: the DJ's tone is not on air: " + "".join(m[0] for m in marks)
    assert "rotation" in marks[len(marks) - 1 - marks[::-1].index("dj"):]


def test_a_dj_falling_silent_hands_back_and_sound_takes_the_air_again(on_air, tmp_path):
    station, live = on_air
    out = station.out
    source = write_pcm(tmp_path / "silent.flac", np.concatenate([
        tone_pcm([(DJ_TONES[0], 2.5)]), np.zeros((int(3.0 * RATE), 2), np.int32),
        tone_pcm([(DJ_TONES[1], 3.0)])]), RATE, 24, "flac", "flac")
    watch = MetadataWatch(out)
    dj = dj_software(live.port, source, "-c:a", "flac", "-content_type", "audio/ogg", "-f", "ogg")
    assert dj.wait(30) == 0, dj.stderr.read()
    wait_for(lambda: watch.seen[-1][0] is False, timeout=20)
    time.sleep(1.0)
    station.stop()
    watch.stop()
    assert [s[0] for s in watch.seen if s[0] is not None] == [False, True, False, True, False]
    pcm, _ = read_stream(out, tmp_path)
    marks = "".join(m[0] for m in labels(pcm))
    assert "d" in marks and "dr" in marks.replace("?", "") and "rd" in marks.replace("?", ""), marks


def test_a_stall_on_air_is_one_counted_gap_and_the_dj_carries_on(on_air, tmp_path, caplog):
    """The network stalls for 2 s (less than LIVE_NO_DATA_SECONDS) mid-set: the stream pads
    with silence, counts one underrun, and the DJ is heard again after it."""
    caplog.set_level(logging.INFO, logger="radiocalico.station")
    station, live = on_air
    encoded = tmp_path / "set.ogg"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency={DJ_TONES[0]}:duration=9",
                    "-ac", "2", "-ar", "48000", "-c:a", "flac", "-f", "ogg", str(encoded)], check=True)
    data = encoded.read_bytes()
    per_second = len(data) / 9
    connection = _put(live.port, {"Authorization": _basic(), "Content-Type": "audio/ogg", "ice-name": "Stall"})
    start, sent, paused = time.monotonic(), 0, 0.0
    while sent < len(data):  # in real time, with a 2 s pause 4 s in
        elapsed = time.monotonic() - start - paused
        if elapsed >= 4 and not paused:
            time.sleep(2.0)
            paused = 2.0
            continue
        due = min(len(data), int((elapsed + 0.1) * per_second))
        if due > sent:
            connection.send(data[sent:due])
            sent = due
        time.sleep(0.02)
    connection.close()
    wait_for(lambda: live.session is None, timeout=20)
    time.sleep(XFADE + 1.0)
    station.stop()
    ended = [r.getMessage() for r in caplog.records if "disconnected after" in r.getMessage()]
    assert len(ended) == 1 and " 1 underrun(s)" in ended[0], live_log(caplog)
    pcm, playlist = read_stream(station.out, tmp_path)
    assert not any(e.discontinuity for e in playlist.entries)
    marks = "".join(m[0] for m in labels(pcm))
    on_air_part = marks[marks.index("d"):marks.rindex("d") + 1]
    assert "?" * 20 in on_air_part and on_air_part.count("r") == 0, marks  # one gap (>= 1 s) of silence


def _put(port: int, headers: dict, body: bytes = b"", method: str = "PUT", path: str = "/live"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path, skip_accept_encoding=True)
    for key, value in headers.items():
        connection.putheader(key, value)
    connection.endheaders()
    if body:
        try:
            connection.send(body)
        except OSError:
            pass
    return connection


def _basic(user="dj", password=PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bad_sources_get_a_clear_answer_and_the_stream_never_stops(on_air, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="radiocalico.station")
    station, live = on_air
    port = live.port

    # A wrong password, no password, another mount: refused before a byte of audio.
    wrong = _put(port, {"Authorization": _basic(password="nope"), "Content-Type": "audio/ogg"}).getresponse()
    assert wrong.status == 401 and wrong.getheader("WWW-Authenticate", "").startswith("Basic ")
    assert _put(port, {"Content-Type": "audio/ogg"}).getresponse().status == 401
    assert _put(port, {"Authorization": _basic()}, path="/other").getresponse().status == 404
    assert updinfo(port, "x - y", password="nope")[0] == 401
    assert updinfo(port, "x - y")[0] == 400  # no DJ on air: Icecast's "Source does not exist"
    unsupported = _put(port, {"Authorization": _basic(), "Content-Type": "video/webm"}).getresponse()
    assert unsupported.status == 415

    def refused(pattern: str) -> bool:
        return any(pattern in r.getMessage() for r in caplog.records)

    # Garbage bytes, an unknown codec (Speex), 384 kHz: accepted as Icecast does, then one log line.
    garbage = _put(port, {"Authorization": _basic(), "Content-Type": "audio/mpeg"},
                   np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    assert garbage.getresponse().status == 200
    wait_for(lambda: refused("refused: not audio it can decode") or refused("refused: no audio"), timeout=15)
    assert live.session is None
    speex = dj_software(port, "sine=frequency=1000:duration=2:sample_rate=16000", "-c:a", "libspeex",
                        "-content_type", "audio/ogg", "-f", "ogg")
    speex.wait(30)
    wait_for(lambda: refused("refused: codec speex is not one it takes"), timeout=15)
    hires = dj_software(port, "sine=frequency=1000:duration=2:sample_rate=384000", "-c:a", "flac",
                        "-content_type", "audio/ogg", "-f", "ogg")
    hires.wait(30)
    wait_for(lambda: refused("refused: 384000 Hz is outside"), timeout=15)

    # A stalled connection: a few bytes, then nothing; closed after LIVE_NO_DATA_SECONDS.
    stalled_bytes = (tmp_path / "head.ogg")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=3000:duration=1",
                    "-c:a", "flac", "-f", "ogg", str(stalled_bytes)], check=True)
    stalled = _put(port, {"Authorization": _basic(), "Content-Type": "audio/ogg"}, stalled_bytes.read_bytes()[:3000])
    wait_for(lambda: live.session is not None, timeout=10)
    # A second DJ while one is connected: Icecast's "Mountpoint in use".
    second = _put(port, {"Authorization": _basic(), "Content-Type": "audio/ogg"}).getresponse()
    assert second.status == 409 and b"Mountpoint in use" in second.read()
    wait_for(lambda: refused("no data for 3 s"), timeout=15)
    stalled.close()

    # Eight channels: folded to stereo, on air.
    surround = dj_software(port, "sine=frequency=3000:duration=5", "-ac", "8", "-c:a", "flac",
                           "-content_type", "audio/ogg", "-f", "ogg")
    assert surround.wait(30) == 0
    wait_for(lambda: refused("flac 44100 Hz 8 ch"), timeout=15)
    wait_for(lambda: live.session is None, timeout=20)
    time.sleep(1.0)
    station.stop()

    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    pcm, playlist = read_stream(station.out, tmp_path)
    assert not any(e.discontinuity for e in playlist.entries)
    assert len(pcm) == len(playlist.entries) * station.segment_samples  # no segment missing
    assert longest_silence(pcm) <= MAX_SILENCE  # the stream never went quiet
    assert "d" in "".join(m[0] for m in labels(pcm))  # the eight-channel DJ was heard


def test_a_take_over_starts_right_after_the_audio_the_encoders_already_have(tmp_path):
    """The rotation's audio decoded ahead (in half-second chunks) is not aired before the DJ:
    the crossfade starts right after the lookahead an encoder was already given, so the DJ is
    not a chunk further behind for the whole set."""
    lib = tmp_path / "lib"
    lib.mkdir()
    write_pcm(lib / "rotation.flac", tone_pcm([(ROTATION_TONES[0], 3.0)], noise=0.0), RATE, 24, "flac", "flac")
    live = LiveInput(LiveSettings(port=0, crossfade_seconds=XFADE), credentials)
    live.target = RATE // 2
    programme = Programme(Rotation(lib, scan_library(lib), seed=1), live=live)
    step, lookahead = 16000, 3072  # a part and the AAC lookahead, taken as the station's loop does
    first = programme.take(step)
    programme.peek(lookahead)
    assert programme.buffered > lookahead  # rotation audio decoded beyond what an encoder has
    session = Session("dj", "", "", silence_samples=10 * RATE)
    assert live.claim(session)
    dj = np.full((live.target, 2), 1 << 28, np.int32)
    session.push(dj, live.target)
    second = programme.take(step)
    # what the programme and the DJ's buffer hold is the take-over level, less the step taken
    assert programme.buffered + session.buffered == live.target - step
    rotation = np.concatenate(list(decode_track(lib / "rotation.flac")))
    assert np.array_equal(first, rotation[:step])
    assert np.array_equal(second[:lookahead], rotation[step:step + lookahead])
    n = int(XFADE * RATE)
    fading = crossfade(rotation[step + lookahead:2 * step], dj[:step - lookahead], 0, n)
    assert np.array_equal(second[lookahead:], fading)


def test_native_flac_is_decoded_a_frame_behind_what_arrived(tmp_path):
    """Native FLAC is cut into frames as they come (FFmpeg's FLAC parser held 7-8 frames
    back: 0.16 s of 960-sample frames, 0.69 s of its default 4,608), bit for bit what
    FFmpeg's demuxer decodes."""
    from radiocalico.station import live as live_module

    pcm = tone_pcm([(DJ_TONES[0], 2.0)], bits=24)
    for frame_size, depth in ((960, "s16"), (4608, "s32")):
        data = subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "s32le", "-ar", str(RATE), "-ac", "2", "-i", "pipe:0", "-c:a", "flac",
             "-sample_fmt", depth, "-frame_size", str(frame_size), "-f", "flac", "pipe:1"],
            input=(pcm << 8).astype("<i4").tobytes(), capture_output=True, check=True).stdout
        with av.open(io.BytesIO(data), format="flac") as container:
            expected = np.concatenate([live_module.frame_to_pcm(f) for f in container.decode(audio=0)])

        class Trickle:  # the socket: 500 bytes at a time
            def __init__(self):
                self.sent = 0

            def read(self, size=-1):
                chunk = data[self.sent:self.sent + min(size, 500)]
                self.sent += len(chunk)
                return chunk

        body = Trickle()
        source = live_module._NativeFlac(body)
        assert (source.rate, source.channels, source.bits) == (RATE, 2, 16 if depth == "s16" else 24)
        decoded, behind = [], []
        for packet in source.packets():
            end = data.index(bytes(packet)) + packet.size
            behind.append(body.sent - end)
            decoded += [frame_pcm for _, frame_pcm in live_module._frames([packet], source.ctx, RATE, 2)]
        assert np.array_equal(np.concatenate(decoded), expected)
        frame_bytes = len(data) / (len(pcm) / frame_size)
        assert max(behind[:-1]) < frame_bytes + 500 + 16, (frame_size, max(behind), frame_bytes)


# -- DJs in the database, the `radiocalico dj` command ------------------------------------

def _dj(env, *args, password: str | None = None):
    return subprocess.run([RADIOCALICO, "dj", *args], env=env, input=password and password + "\n",
                          capture_output=True, text=True, timeout=60)


def test_dj_commands_manage_djs_and_recordings(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    upgrade(make_engine(database_url))
    assert _dj(env, "list").stdout.strip() == "no DJs yet: radiocalico dj add NAME"
    added = _dj(env, "add", "Alice", password=PASSWORD)
    assert added.returncode == 0 and "DJ alice added" in added.stdout
    again = _dj(env, "add", "alice", password=PASSWORD)
    assert again.returncode == 1 and "already a DJ named alice" in again.stderr
    assert "a DJ name is" in _dj(env, "add", "no:colons", password=PASSWORD).stderr
    assert "at least 8 characters" in _dj(env, "add", "bob", password="short").stderr
    assert _dj(env, "add", "bob", password="another-password").returncode == 0
    assert [line.split("\t")[0] for line in _dj(env, "list").stdout.splitlines()] == ["alice", "bob"]
    assert _dj(env, "passwd", "alice", password="a-new-password").returncode == 0
    assert "no DJ named carol" in _dj(env, "passwd", "carol", password="a-new-password").stderr
    assert _dj(env, "remove", "bob").returncode == 0
    assert "no DJ named bob" in _dj(env, "remove", "bob").stderr
    assert _dj(env, "list").stdout.startswith("alice\t")

    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "20261202T040000Z-alice.flac").write_bytes(b"fLaC" + bytes(1000))
    listed = _dj(env, "recordings")
    assert listed.stdout.startswith("20261202T040000Z-alice.flac\t")
    assert "no recording named x.flac" in _dj(env, "recordings", "--delete", "x.flac").stderr
    assert _dj(env, "recordings", "--delete", "20261202T040000Z-alice.flac").returncode == 0
    assert _dj(env, "recordings").stdout.strip() == "no recorded sets"


def test_the_station_checks_djs_against_the_database(database_url, tmp_path, library):
    """STATION_LIVE_PORT's live input, with a DJ `radiocalico dj add` made."""
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    upgrade(make_engine(database_url))
    assert _dj(env, "add", "alice", password=PASSWORD).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = replace(Config(instance_path=tmp_path, database_url=database_url), station_live_port=port,
                     live_crossfade_seconds=XFADE, live_record=False)
    assert live_input(replace(config, station_live_port=0)) is None  # 0: off
    live = live_input(config)
    station = Station(library, tmp_path / "out", segment_seconds=SEG, live=live)
    station.start()
    try:
        refused = _put(port, {"Authorization": _basic("alice", "wrong-password")}).getresponse()
        assert refused.status == 401
        dj = dj_software(port, f"sine=frequency={DJ_TONES[0]}:duration=4", "-ac", "2", "-c:a", "flac",
                         "-content_type", "audio/ogg", "-f", "ogg", user="Alice")
        wait_for(lambda: json.loads((station.out / METADATA_NAME).read_text()).get("dj") == "alice", timeout=20)
        meta = json.loads((station.out / METADATA_NAME).read_text())
        assert (meta["live"], meta["title"]) == (True, "LIVE: alice")  # no ice-name, no updinfo
        assert dj.wait(30) == 0
    finally:
        station.stop()
    assert list_recordings(tmp_path) == []  # LIVE_RECORD off


def test_live_settings_from_the_environment():
    config = Config.from_env({"STATION_LIVE_PORT": "off", "LIVE_CROSSFADE_SECONDS": "3", "LIVE_RECORD": "false"})
    assert (config.station_live_port, config.live_crossfade_seconds, config.live_record) == (0, 3.0, False)
    defaults = Config()
    assert (defaults.station_live_port, defaults.station_live_host, defaults.live_no_data_seconds,
            defaults.live_silence_seconds, defaults.live_record) == (8010, "127.0.0.1", 10.0, 30.0, True)
    with pytest.raises(ValueError, match="STATION_LIVE_PORT"):
        Config(station_live_port=70000)


@pytest.mark.parametrize("failure, expected", [(LoginBusy(), "another is being checked"),
                                               (OSError("database down"), "cannot check DJ credentials")])
def test_a_login_that_cannot_be_checked_is_refused_with_503(failure, expected, caplog):
    def authenticate(name, password):
        raise failure

    live = LiveInput(LiveSettings(port=0), authenticate)
    live.start(RATE)
    try:
        response = _put(live.port, {"Authorization": _basic(), "Content-Type": "audio/ogg"}).getresponse()
        assert response.status == 503 and response.getheader("Retry-After")
    finally:
        live.stop()
    assert [r.getMessage() for r in caplog.records if expected in r.getMessage()]


def test_libshouts_older_ice_request_line_is_understood():
    """"SOURCE /live ICE/1.0" (older libshout sources) is answered like HTTP/1.0."""
    live = LiveInput(LiveSettings(port=0), credentials)
    live.start(RATE)
    try:
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as client:
            client.sendall(b"SOURCE /live ICE/1.0\r\nAuthorization: " + _basic(password="nope").encode()
                           + b"\r\ncontent-type: audio/mpeg\r\n\r\n")
            answer = client.recv(4096).decode()
    finally:
        live.stop()
    assert answer.startswith("HTTP/1.0 401 ") and "WWW-Authenticate: Basic" in answer
