"""Audio files for the station tests, written with PyAV and tagged with mutagen."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import av
import numpy as np
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggvorbis import OggVorbis
from PIL import Image


def noise_pcm(seconds: float, rate: int, bits: int, seed: int = 0, amplitude: float = 0.5) -> np.ndarray:
    """(n, 2) integers at `bits` bits: band-limited-ish random audio (different per channel)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    tone = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1) * 0.5
    x = (tone + rng.uniform(-0.5, 0.5, size=(n, 2))) * amplitude
    full = (1 << (bits - 1)) - 1
    return np.round(x * full).astype(np.int32)


def art_jpeg(colour=(200, 40, 40), size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def write_pcm(path: Path, pcm: np.ndarray, rate: int, bits: int, codec: str, container_format: str,
              **stream_options) -> Path:
    """Encode integer PCM with PyAV; the encoder picks its sample format (PyAV converts)."""
    if bits == 16:
        data, fmt = pcm.astype(np.int16), "s16"
    else:
        data, fmt = (pcm.astype(np.int32) << (32 - bits)), "s32"
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        if codec in ("flac", "pcm_s24le", "pcm_s24be", "pcm_s16le", "pcm_s16be"):
            stream.format = fmt if codec == "flac" else ("s32" if "24" in codec else "s16")
        elif codec == "alac":
            stream.format = "s32p" if bits == 24 else "s16p"
        if codec == "vorbis":  # FFmpeg's own Vorbis encoder is flagged experimental
            stream.codec_context.options = {"strict": "experimental"}
        for key, value in stream_options.items():
            setattr(stream, key, value)
        step = 4096
        for pos in range(0, len(data), step):
            block = np.ascontiguousarray(data[pos:pos + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format=fmt, layout="stereo")
            frame.sample_rate = rate
            frame.pts = pos
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def tag_flac(path: Path, artist, title, album, date, picture: bytes | None = None, genre=""):
    tags = FLAC(path)
    tags.update({"artist": artist, "title": title, "album": album, "date": date})
    if genre:
        tags["genre"] = genre
    if picture:
        pic = Picture()
        pic.type, pic.mime, pic.data = 3, "image/jpeg", picture
        tags.add_picture(pic)
    tags.save()


def tag_id3(path: Path, artist, title, album, date, picture: bytes | None = None, loader=None):
    audio = loader(path)
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    tags.add(TPE1(encoding=3, text=artist))
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TALB(encoding=3, text=album))
    tags.add(TDRC(encoding=3, text=date))
    tags.add(TCON(encoding=3, text="Rock"))
    if picture:
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="cover", data=picture))
    audio.save()


def tag_mp4(path: Path, artist, title, album, date, picture: bytes | None = None):
    audio = MP4(path)
    audio["\xa9ART"], audio["\xa9nam"], audio["\xa9alb"], audio["\xa9day"] = artist, title, album, date
    if picture:
        audio["covr"] = [MP4Cover(picture, imageformat=MP4Cover.FORMAT_JPEG)]
    audio.save()


def tag_ogg(path: Path, artist, title, album, date, picture: bytes | None = None):
    audio = OggVorbis(path)
    audio.update({"artist": artist, "title": title, "album": album, "date": date})
    if picture:
        pic = Picture()
        pic.type, pic.mime, pic.data = 3, "image/jpeg", picture
        audio["metadata_block_picture"] = [base64.b64encode(pic.write()).decode("ascii")]
    audio.save()


def make_flac(path: Path, seconds: float, rate: int = 48000, bits: int = 24, seed: int = 0,
              artist="Artist", title=None, album="Album", date="2020", picture=None,
              pcm: np.ndarray | None = None) -> np.ndarray:
    """Write a tagged FLAC; returns its PCM (integers at `bits` bits)."""
    if pcm is None:
        pcm = noise_pcm(seconds, rate, bits, seed)
    write_pcm(path, pcm, rate, bits, "flac", "flac")
    tag_flac(path, artist, title or path.stem, album, date, picture)
    return pcm
