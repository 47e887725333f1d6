"""The demo library: a few minutes of synthesized music, generated once, with no download.

Each track is a chord progression played by an additive pad, an FM arpeggio, a bass line
and drums (synthesized kick, snare and hats), with envelopes, a stereo image, an intro and
a fade-out. Everything comes from fixed seeds, so the library is the same on every machine.
Tracks alternate between 44.1 kHz/16-bit and 48 kHz/24-bit FLAC, carry real Vorbis
comments (written with mutagen) and an embedded cover drawn with Pillow.
"""

from __future__ import annotations

import io
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from mutagen.flac import FLAC, Picture
from PIL import Image, ImageDraw

log = logging.getLogger("radiocalico.station")

DEMO_VERSION = "1"
MARKER = ".radiocalico-demo"
TABLE_SIZE = 4096


@dataclass(frozen=True)
class DemoTrack:
    artist: str
    album: str
    title: str
    year: str
    genre: str
    seconds: float
    sample_rate: int
    bits: int
    root: int  # MIDI note of the key
    minor: bool
    bpm: float
    seed: int
    colours: tuple[tuple[int, int, int], tuple[int, int, int]]


DEMO_TRACKS = [
    DemoTrack("The Calico Trio", "Whisker Season", "Morning Purr", "2023", "Jazz", 64, 44100, 16,
              50, False, 92, 11, ((31, 78, 35), (239, 166, 60))),
    DemoTrack("The Calico Trio", "Whisker Season", "Sunlit Windowsill", "2023", "Jazz", 72, 48000, 24,
              55, False, 104, 12, ((31, 78, 35), (216, 242, 213))),
    DemoTrack("Mint Condition", "Low Tide Summer", "Boardwalk Glow", "2025", "Pop; Summer", 68, 48000, 24,
              57, False, 118, 21, ((56, 162, 157), (245, 234, 218))),
    DemoTrack("Mint Condition", "Low Tide Summer", "Salt and Static", "2025", "Pop; Summer", 61, 44100, 16,
              52, True, 110, 22, ((56, 162, 157), (239, 166, 60))),
    DemoTrack("Pixel Paws", "Eight Lives", "Level Select", "2019", "Video Game", 62, 44100, 16,
              60, False, 132, 31, ((35, 31, 32), (239, 166, 60))),
    DemoTrack("Pixel Paws", "Eight Lives", "Boss of the Yarn", "2019", "Video Game", 66, 48000, 24,
              45, True, 140, 32, ((35, 31, 32), (56, 162, 157))),
    DemoTrack("Forest Green Ensemble", "Slow Canopy", "Moss Chorale", "2021", "Ambient", 75, 48000, 24,
              48, True, 76, 41, ((31, 78, 35), (56, 162, 157))),
    DemoTrack("Forest Green Ensemble", "Slow Canopy", "Under the Fern", "2021", "Ambient", 63, 44100, 16,
              53, False, 84, 42, ((31, 78, 35), (245, 234, 218))),
    DemoTrack("Orange Patch", "Cream & Charcoal", "Night Shift Tabby", "2024", "Electronic", 70, 48000, 24,
              47, True, 124, 51, ((239, 166, 60), (35, 31, 32))),
]

MAJOR_PROGRESSIONS = [[0, 7, 9, 5], [0, 5, 7, 5], [0, 9, 5, 7], [0, 4, 9, 5]]
MINOR_PROGRESSIONS = [[0, 8, 3, 10], [0, 5, 8, 7], [0, 10, 8, 7], [0, 3, 10, 5]]


def _hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def _env(n: int, sr: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    """ADSR over n samples, release at the end."""
    t = np.arange(n) / sr
    a = max(attack, 1e-4)
    env = np.where(t < a, t / a, sustain + (1 - sustain) * np.exp(-(t - a) / max(decay, 1e-4)))
    tail = max(1, int(release * sr))
    if tail < n:
        env[-tail:] *= np.linspace(1.0, 0.0, tail)
    return env


def _add(buf: np.ndarray, start: int, mono: np.ndarray, pan: float, gain: float) -> None:
    end = min(len(buf), start + len(mono))
    if end <= start:
        return
    seg = mono[: end - start] * gain
    buf[start:end, 0] += seg * np.cos((pan + 1) * np.pi / 4)
    buf[start:end, 1] += seg * np.sin((pan + 1) * np.pi / 4)


def synthesize(track: DemoTrack) -> np.ndarray:
    """(n, 2) float64 in [-1, 1]."""
    sr = track.sample_rate
    rng = np.random.default_rng(track.seed)
    n = int(track.seconds * sr)
    buf = np.zeros((n, 2))
    beat = 60.0 / track.bpm
    bar = 4 * beat
    progression = (MINOR_PROGRESSIONS if track.minor else MAJOR_PROGRESSIONS)[track.seed % 4]
    third = 3 if track.minor else 4
    scale = [0, 2, 3, 5, 7, 8, 10] if track.minor else [0, 2, 4, 5, 7, 9, 11]
    bars = int(track.seconds / bar) + 1
    # One cycle of the additive pad voice (6 harmonics), read as a wavetable.
    cycle = np.arange(TABLE_SIZE) / TABLE_SIZE
    pad_table = sum(np.sin(2 * np.pi * h * cycle + 0.3 * h) / h ** 1.6 for h in range(1, 7))
    fm_ratio = [2.0, 3.0, 3.5, 1.5][track.seed % 4]
    for b in range(bars):
        t0 = b * bar
        chord_root = track.root + progression[b % len(progression)]
        notes = [chord_root, chord_root + third, chord_root + 7, chord_root + 12]
        s0 = int(t0 * sr)
        # Pad: additive voice per chord note, slightly detuned left/right.
        length = int((bar + 0.6) * sr)
        t = np.arange(length) / sr
        env = _env(length, sr, 0.25, 0.8, 0.6, 0.6)
        for i, note in enumerate(notes):
            f = _hz(note + 12)
            for side, cents in ((-0.7, -4.0), (0.7, 4.0)):
                fd = f * 2 ** (cents / 1200)
                index = ((t * fd + i / 4.0) * TABLE_SIZE).astype(np.int64) & (TABLE_SIZE - 1)
                _add(buf, s0, pad_table[index] * env, side, 0.035)
        # Bass: root on 1 and 3, a passing note on the "and" of 4.
        for beat_i, offset in ((0, 0), (2, 0), (3.5, 7 if b % 2 else 12)):
            start = int((t0 + beat_i * beat) * sr)
            length = int(beat * 0.95 * sr)
            tb = np.arange(length) / sr
            f = _hz(chord_root - 24 + offset)
            voice = np.tanh(1.8 * (np.sin(2 * np.pi * f * tb) + 0.35 * np.sin(4 * np.pi * f * tb)))
            _add(buf, start, voice * _env(length, sr, 0.005, 0.25, 0.4, 0.05), 0.0, 0.22)
        # Arpeggio: FM bell on eighths, walking the chord with scale passing tones.
        if b >= 1:
            for e in range(8):
                if rng.random() < 0.2:
                    continue
                start = int((t0 + e * beat / 2) * sr)
                length = int(beat * 0.9 * sr)
                ta = np.arange(length) / sr
                if rng.random() < 0.75:
                    note = notes[rng.integers(0, 4)] + 12
                else:
                    note = chord_root + scale[rng.integers(0, 7)] + 12
                f = _hz(note)
                index = 2.5 * np.exp(-ta * 6)
                voice = np.sin(2 * np.pi * f * ta + index * np.sin(2 * np.pi * f * fm_ratio * ta))
                _add(buf, start, voice * np.exp(-ta * 4.5), float(rng.uniform(-0.6, 0.6)), 0.09)
        # Drums from the third bar on, out for the last bar.
        if 2 <= b < bars - 2:
            for beat_i in range(4):
                start = int((t0 + beat_i * beat) * sr)
                if beat_i in (0, 2):
                    length = int(0.35 * sr)
                    tk = np.arange(length) / sr
                    phase = 2 * np.pi * np.cumsum(45 + 90 * np.exp(-tk * 30)) / sr
                    _add(buf, start, np.sin(phase) * np.exp(-tk * 9), 0.0, 0.5)
                else:
                    length = int(0.25 * sr)
                    ts = np.arange(length) / sr
                    noise = rng.standard_normal(length)
                    noise = np.diff(noise, prepend=0.0) * 0.5
                    body = np.sin(2 * np.pi * 185 * ts) * np.exp(-ts * 25)
                    _add(buf, start, (noise * np.exp(-ts * 18) + body) * 0.6, 0.1, 0.35)
            for e in range(8):
                start = int((t0 + e * beat / 2) * sr)
                length = int(0.06 * sr)
                noise = np.diff(rng.standard_normal(length + 1))
                th = np.arange(length) / sr
                _add(buf, start, noise * np.exp(-th * 60), -0.3, 0.05 if e % 2 else 0.08)
    fade = int(3.0 * sr)
    buf[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
    buf[: int(0.05 * sr)] *= np.linspace(0.0, 1.0, int(0.05 * sr))[:, None]
    peak = np.abs(buf).max()
    return buf * (0.89 / peak)  # -1 dBFS


def cover_art(track: DemoTrack) -> bytes:
    rng = np.random.default_rng(track.seed // 10)  # one cover per album
    size = 800
    a, b = track.colours
    image = Image.new("RGB", (size, size), a)
    draw = ImageDraw.Draw(image)
    for i in range(size):
        mix = i / size
        colour = tuple(int(a[c] * (1 - mix) + b[c] * mix * 0.5 + a[c] * mix * 0.5) for c in range(3))
        draw.line([(0, i), (size, i)], fill=colour)
    for _ in range(14):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(30, 220))
        draw.ellipse([x - r, y - r, x + r, y + r], outline=b, width=int(rng.integers(3, 14)))
    draw.rectangle([40, size - 150, size - 40, size - 40], fill=(245, 234, 218))
    draw.text((60, size - 130), track.album, fill=(35, 31, 32))
    draw.text((60, size - 95), track.artist, fill=(31, 78, 35))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def write_flac(path: Path, pcm: np.ndarray, sample_rate: int, bits: int) -> None:
    if bits == 16:
        ints = np.clip(np.round(pcm * 32768), -32768, 32767).astype(np.int16)
        fmt = "s16"
    else:
        ints = np.clip(np.round(pcm * 8388608), -8388608, 8388607).astype(np.int32) << 8
        fmt = "s32"
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=sample_rate, layout="stereo")
        stream.format = fmt
        step = 4096 * 16
        for pos in range(0, len(ints), step):
            block = np.ascontiguousarray(ints[pos:pos + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format=fmt, layout="stereo")
            frame.sample_rate = sample_rate
            frame.pts = pos
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    tmp.replace(path)


def generate_track(folder: Path, number: int, track: DemoTrack) -> Path:
    album_dir = folder / track.artist / track.album
    album_dir.mkdir(parents=True, exist_ok=True)
    path = album_dir / f"{number:02d} {track.title}.flac"
    write_flac(path, synthesize(track), track.sample_rate, track.bits)
    tags = FLAC(path)
    tags["artist"] = track.artist
    tags["albumartist"] = track.artist
    tags["album"] = track.album
    tags["title"] = track.title
    tags["date"] = track.year
    tags["genre"] = track.genre
    tags["tracknumber"] = str(number)
    tags["comment"] = "RadioCalico demo library: synthesized, no samples"
    picture = Picture()
    picture.type = 3
    picture.mime = "image/jpeg"
    picture.desc = "Front cover"
    picture.width = picture.height = 800
    picture.depth = 24
    picture.data = cover_art(track)
    tags.add_picture(picture)
    tags.save()
    return path


def ensure_demo_library(path: Path) -> Path:
    """Generate the demo library in `path` unless a complete one is already there."""
    path = Path(path)
    marker = path / MARKER
    if marker.is_file() and marker.read_text().strip() == DEMO_VERSION:
        return path
    log.info("generating the demo library in %s", path)
    staging = path.with_name(path.name + ".generating")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for number, track in enumerate(DEMO_TRACKS, start=1):
        generate_track(staging, number, track)
    (staging / MARKER).write_text(DEMO_VERSION)
    if path.exists():
        shutil.rmtree(path)
    staging.rename(path)
    return path
