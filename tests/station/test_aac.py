"""The AAC rendition's building blocks, read back by real clients (FFmpeg's mp4 demuxer and
AAC decoder through PyAV, and ffprobe): continuous encoding across uneven calls, segment
edges on the programme's clock, an init segment a decoder accepts, no gaps at the joins."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from dataclasses import dataclass

import av
import numpy as np
import pytest

from radiocalico.station import fmp4, mp4a
from radiocalico.station.aac import FRAME_SIZE, AacEncoder, AacPacket, take_segment
from radiocalico.station.audio import STREAM_RATE, float_to_pcm

SEGMENT = 2 * STREAM_RATE  # samples per 2 s segment
SECONDS = 10
TOTAL = SECONDS * STREAM_RATE
TRACK_CHANGE = int(5.3 * STREAM_RATE)  # not on a segment edge, not on a frame edge


def band_limited_noise(rng: np.random.Generator, n: int, top_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1 / STREAM_RATE) > top_hz] = 0
    noise = np.fft.irfft(spectrum, n)
    return noise / np.abs(noise).max()


def programme() -> np.ndarray:
    """10 s of (n, 2) int32 PCM: a rising sweep, then (a "track change" at 5.3 s) a chord.
    Band-limited noise under both makes cross-correlation lags unambiguous."""
    rng = np.random.default_rng(7)
    t = np.arange(TOTAL) / STREAM_RATE
    sweep = np.sin(2 * np.pi * 100 * 5.3 / np.log(80) * (np.exp(t * np.log(80) / 5.3) - 1))  # 100 Hz -> 8 kHz
    chord = sum(np.sin(2 * np.pi * f * t) for f in (330.0, 523.25, 784.0)) / 3
    music = np.where(t < TRACK_CHANGE / STREAM_RATE, sweep, chord)
    left = 0.35 * music + 0.15 * band_limited_noise(rng, TOTAL, 6000)
    right = 0.35 * music + 0.15 * band_limited_noise(rng, TOTAL, 6000)
    return float_to_pcm(np.stack([left, right], axis=1))


@dataclass
class Rendition:
    bit_rate: int
    pcm: np.ndarray
    encoder: AacEncoder
    segments: list[list[AacPacket]]
    init: bytes
    media: list[bytes]


def encode_in_uneven_calls(bit_rate: int) -> Rendition:
    """What the station will do: feed decoded chunks of any size, cut each segment as soon
    as the encoder has emitted every packet before its end."""
    pcm = programme()
    encoder = AacEncoder(bit_rate)
    rng = np.random.default_rng(3)
    sizes = [1, 7, 1023, 1025, 4096, 20000, 33333, 50001]
    pending: list[AacPacket] = []
    segments: list[list[AacPacket]] = []
    fed = 0
    while fed < TOTAL:
        size = min(int(rng.choice(sizes)), TOTAL - fed)
        pending += encoder.encode(pcm[fed:fed + size])
        fed += size
        while encoder.emitted_until >= (len(segments) + 1) * SEGMENT:
            k = len(segments)
            segment, pending = take_segment(pending, k * SEGMENT, (k + 1) * SEGMENT)
            segments.append(segment)
    pending += encoder.flush()
    while len(segments) < SECONDS // 2:
        k = len(segments)
        segment, pending = take_segment(pending, k * SEGMENT, (k + 1) * SEGMENT)
        segments.append(segment)
    init = mp4a.init_segment(encoder.extradata, bit_rate)
    media = [fmp4.media_segment(k, seg[0].position, FRAME_SIZE, [p.data for p in seg])
             for k, seg in enumerate(segments)]
    return Rendition(bit_rate, pcm, encoder, segments, init, media)


@pytest.fixture(scope="module", params=[256_000, 96_000], ids=["high", "saver"])
def rendition(request) -> Rendition:
    return encode_in_uneven_calls(request.param)


def decode(data: bytes) -> tuple[av.audio.stream.AudioStream, int, np.ndarray]:
    """(stream, pts of the first decoded sample, float (n, 2) audio), checking on the way
    that the decoded frames follow each other without a hole or overlap."""
    with av.open(io.BytesIO(data), format="mp4") as container:
        stream = container.streams.audio[0]
        first_pts, expected, chunks = None, None, []
        for frame in container.decode(stream):
            if first_pts is None:
                first_pts = expected = frame.pts
            assert frame.pts == expected, "a hole or overlap between decoded frames"
            expected += frame.samples
            chunks.append(frame.to_ndarray().T)
        return stream, first_pts, np.concatenate(chunks)


def best_lag(decoded: np.ndarray, reference: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The lag (decoded runs late by `lag` samples) maximising the normalised correlation
    of the two mono mixes, and that correlation."""
    a = decoded.mean(axis=1)
    b = reference.mean(axis=1)
    best = (0, -1.0)
    core = b[max_lag:len(b) - max_lag]
    for lag in range(-max_lag, max_lag + 1):
        seg = a[max_lag + lag:max_lag + lag + len(core)]
        r = float(np.dot(seg, core) / (np.linalg.norm(seg) * np.linalg.norm(core) + 1e-12))
        if r > best[1]:
            best = (lag, r)
    return best


def test_the_encoder_describes_itself():
    encoder = AacEncoder(256_000)
    assert (encoder.frame_size, encoder.initial_padding) == (1024, 1024)
    # AudioSpecificConfig: AOT 2 (LC), sampling frequency index 3 (48 kHz), 2 channels.
    assert encoder.extradata[:2] == bytes([0x11, 0x90])
    assert mp4a.CODECS == "mp4a.40.2"


def test_packets_are_contiguous_across_uneven_calls_and_priming_is_subtracted():
    encoder = AacEncoder(96_000)
    pcm = programme()[:10 * FRAME_SIZE + 5]
    packets = []
    for start, end in [(0, 1), (1, 900), (900, 2100), (2100, 2101), (2101, len(pcm))]:
        packets += encoder.encode(pcm[start:end])
    assert [p.position for p in packets] == [FRAME_SIZE * i for i in range(-1, len(packets) - 1)]
    assert encoder.emitted_until == packets[-1].position + FRAME_SIZE
    packets += encoder.flush()
    assert packets[-1].position + FRAME_SIZE >= len(pcm)


def test_a_resumed_encoder_counts_from_its_start():
    encoder = AacEncoder(96_000, start=7 * SEGMENT)
    packets = encoder.encode(programme()[:5 * FRAME_SIZE])
    assert packets[0].position == 7 * SEGMENT - FRAME_SIZE
    segment, rest = take_segment(packets, 7 * SEGMENT, 7 * SEGMENT + FRAME_SIZE)
    assert [p.position for p in segment] == [7 * SEGMENT]


def test_take_segment_refuses_an_incomplete_segment():
    packets = [AacPacket(FRAME_SIZE * i, b"x") for i in range(-1, 90)]
    with pytest.raises(ValueError):
        take_segment(packets, 0, SEGMENT)


def test_segments_start_on_the_programme_clock(rendition):
    for k, segment in enumerate(rendition.segments):
        tfdt = segment[0].position
        assert 0 <= tfdt - k * SEGMENT < FRAME_SIZE
        assert len(segment) in (93, 94)
        positions = [p.position for p in segment]
        assert positions == list(range(tfdt, tfdt + FRAME_SIZE * len(segment), FRAME_SIZE))
        assert positions[-1] < (k + 1) * SEGMENT <= positions[-1] + FRAME_SIZE
    assert rendition.segments[0][0].position == 0  # the priming packet precedes the programme
    assert fmp4_tfdt(rendition.media[3]) == rendition.segments[3][0].position


def fmp4_tfdt(segment: bytes) -> int:
    at = segment.index(b"tfdt")
    assert segment[at + 4] == 1  # version 1: 64-bit baseMediaDecodeTime
    return int.from_bytes(segment[at + 8:at + 16], "big")


def test_the_whole_stream_decodes_in_time_and_without_gaps(rendition):
    stream, first_pts, audio = decode(rendition.init + b"".join(rendition.media))
    ctx = stream.codec_context
    assert (ctx.name, ctx.profile, ctx.sample_rate, ctx.channels) == ("aac", "LC", STREAM_RATE, 2)
    assert first_pts == 0
    assert abs(len(audio) - TOTAL) < FRAME_SIZE
    reference = rendition.pcm / float(1 << 31)
    # Every segment join (and the track change) lines up sample for sample with the programme.
    for k in range(1, len(rendition.segments)):
        join = rendition.segments[k][0].position
        lag, r = best_lag(audio[join - 4800:join + 4800], reference[join - 4800:join + 4800], 1200)
        assert lag == 0 and r > 0.98, (k, lag, r)
    lag, r = best_lag(audio[:TOTAL], reference, 64)
    assert lag == 0 and r > 0.98, (lag, r)
    # No hole anywhere: every 10 ms window holds energy. The run's first frame is left out:
    # its priming packet was dropped, so it decodes as a fade-in (see radiocalico.station.aac).
    window = STREAM_RATE // 100
    body = audio[FRAME_SIZE:TOTAL]
    rms = np.sqrt((body[:len(body) - len(body) % window] ** 2).reshape(-1, window * 2).mean(axis=1))
    assert rms.min() > 0.2 * np.sqrt((reference ** 2).mean()), int(rms.argmin())


def test_each_segment_decodes_on_its_own_after_the_init_segment(rendition):
    reference = rendition.pcm / float(1 << 31)
    for segment, media in zip(rendition.segments, rendition.media):
        _, first_pts, audio = decode(rendition.init + media)
        assert first_pts == segment[0].position
        assert len(audio) == FRAME_SIZE * len(segment)
        # A joining decoder lacks the overlap for its first frame only; the rest is the programme.
        start = first_pts + FRAME_SIZE
        end = min(first_pts + len(audio), TOTAL)
        lag, r = best_lag(audio[FRAME_SIZE:end - first_pts], reference[start:end], 32)
        assert lag == 0 and r > 0.98, (first_pts, lag, r)


def test_bitrates_are_near_the_target(rendition):
    peak, average = mp4a.bitrates([len(m) for m in rendition.media],
                                  [FRAME_SIZE * len(s) for s in rendition.segments])
    assert abs(average - rendition.bit_rate) < 0.15 * rendition.bit_rate, average
    assert average <= peak < 1.5 * rendition.bit_rate


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_reads_the_stream_and_a_lone_segment(rendition, tmp_path):
    whole = tmp_path / "whole.mp4"
    whole.write_bytes(rendition.init + b"".join(rendition.media))
    lone = tmp_path / "lone.mp4"
    lone.write_bytes(rendition.init + rendition.media[2])
    for path, packets, start in [(whole, sum(map(len, rendition.segments)), 0),
                                 (lone, len(rendition.segments[2]), rendition.segments[2][0].position)]:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-show_packets", "-of", "json", str(path)],
            capture_output=True, text=True, check=True)
        assert out.stderr == ""
        info = json.loads(out.stdout)
        (audio,) = info["streams"]
        assert (audio["codec_name"], audio["profile"], audio["sample_rate"], audio["channels"]) == \
            ("aac", "LC", "48000", 2)
        assert len(info["packets"]) == packets
        assert int(info["packets"][0]["pts"]) == start


MSE_APPEND = """async (parts) => {
  const type = 'audio/mp4; codecs="%s"';
  if (!MediaSource.isTypeSupported(type)) return {supported: false};
  const source = new MediaSource();
  const audio = document.createElement('audio');
  audio.src = URL.createObjectURL(source);
  await new Promise(resolve => source.addEventListener('sourceopen', resolve, {once: true}));
  const buffer = source.addSourceBuffer(type);
  const errors = [];
  buffer.addEventListener('error', () => errors.push('error'));
  for (const part of parts) {
    buffer.appendBuffer(Uint8Array.from(atob(part), c => c.charCodeAt(0)));
    await new Promise(resolve => buffer.addEventListener('updateend', resolve, {once: true}));
  }
  const ranges = [];
  for (let i = 0; i < buffer.buffered.length; i++) ranges.push([buffer.buffered.start(i), buffer.buffered.end(i)]);
  return {supported: true, errors, ranges};
}""" % mp4a.CODECS


@pytest.mark.browser
def test_chromium_media_source_buffers_the_segments_without_a_hole(rendition, browser):
    """What hls.js does with the segments: append them to an MSE SourceBuffer."""
    parts = [base64.b64encode(part).decode() for part in [rendition.init, *rendition.media]]
    end = (rendition.segments[-1][-1].position + FRAME_SIZE) / STREAM_RATE
    page = browser.new_page()
    try:
        whole = page.evaluate(MSE_APPEND, parts)
        assert whole["supported"] and whole["errors"] == []
        assert whole["ranges"] == [[0, pytest.approx(end, abs=1e-3)]]
        # A player joining at segment 2 and taking segment 3: one range from segment 2's tfdt.
        joined = page.evaluate(MSE_APPEND, [parts[0], parts[3], parts[4]])
        start = rendition.segments[2][0].position / STREAM_RATE
        stop = (rendition.segments[3][-1].position + FRAME_SIZE) / STREAM_RATE
        assert joined["ranges"] == [[pytest.approx(start, abs=1e-3), pytest.approx(stop, abs=1e-3)]]
    finally:
        page.close()
