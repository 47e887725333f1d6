"""The music library: scan a folder of audio files and read their tags with mutagen.

Modelled on beets' use of mutagen: one `mutagen.File` per file, format-specific code only
where the formats really differ (tag keys, pictures, bit depth). Every file is also probed
with PyAV, so a file that mutagen can parse but FFmpeg cannot decode is rejected at scan
time rather than on air. A file that fails either step is skipped with one log line on the
"radiocalico.station" logger; the scan goes on.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import av
import mutagen
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

log = logging.getLogger("radiocalico.station")

AUDIO_EXTENSIONS = {
    ".flac", ".wav", ".wave", ".aif", ".aiff", ".aifc", ".m4a", ".mp4", ".alac",
    ".mp3", ".ogg", ".oga", ".opus",
}
# Lossy sources have no bit depth of their own; they decode to (at least) 16 bits.
LOSSY_BIT_DEPTH = 16
COVER_FILE_NAMES = ("cover.jpg", "folder.jpg", "cover.jpeg", "folder.jpeg", "cover.png", "folder.png",
                    "front.jpg", "front.png")


@dataclass(frozen=True)
class Track:
    """One playable file and what the station says about it."""

    path: Path
    artist: str
    title: str
    album: str
    date: str  # the year, "" when unknown
    genre: str
    bit_depth: int
    sample_rate: int
    channels: int
    duration: float  # seconds, as probed; playout does not depend on it
    codec: str
    has_embedded_art: bool = False
    cover_file: Path | None = None
    comment: str = field(default="", compare=False)

    @property
    def has_art(self) -> bool:
        return self.has_embedded_art or self.cover_file is not None

    @property
    def year(self) -> int | None:
        return int(self.date) if self.date.isdigit() else None


class LibraryFileError(Exception):
    """A file the station cannot play (unreadable, corrupt, not audio)."""


def _first(tags, *keys) -> str:
    if tags is None:
        return ""
    for key in keys:
        try:
            value = tags.get(key)
        except (KeyError, ValueError):
            value = None
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        text = getattr(value, "text", None)  # ID3 frames
        if text is not None:
            value = text[0] if text else ""
        value = str(value).strip()
        if value:
            return value
    return ""


def _year(date: str) -> str:
    date = date.strip()
    digits = date[:4]
    return digits if len(digits) == 4 and digits.isdigit() else ""


def _read_tags(audio) -> dict[str, str]:
    tags = audio.tags
    if isinstance(audio, MP4):
        return {
            "artist": _first(tags, "\xa9ART", "aART"),
            "title": _first(tags, "\xa9nam"),
            "album": _first(tags, "\xa9alb"),
            "date": _first(tags, "\xa9day"),
            "genre": _first(tags, "\xa9gen"),
            "comment": _first(tags, "\xa9cmt", "\xa9grp"),
        }
    if isinstance(tags, ID3):  # MP3, WAV, AIFF
        return {
            "artist": _first(tags, "TPE1", "TPE2"),
            "title": _first(tags, "TIT2"),
            "album": _first(tags, "TALB"),
            "date": _first(tags, "TDRC", "TYER", "TDOR"),
            "genre": _first(tags, "TCON"),
            "comment": _first(tags, "TIT1", "COMM::eng", "COMM"),
        }
    # Vorbis comments (FLAC, Ogg) and anything dict-like with lower/upper-case keys.
    lowered = {}
    if tags is not None:
        try:
            for key, value in tags.items():
                lowered.setdefault(key.lower(), value)
        except (AttributeError, ValueError):
            pass
    return {
        "artist": _first(lowered, "artist", "albumartist"),
        "title": _first(lowered, "title"),
        "album": _first(lowered, "album"),
        "date": _first(lowered, "date", "year", "originaldate"),
        "genre": _first(lowered, "genre"),
        "comment": _first(lowered, "grouping", "comment", "description"),
    }


def _embedded_picture(audio) -> bytes | None:
    """The embedded front cover (or any picture) of a mutagen file, as image bytes."""
    pictures: list[tuple[int, bytes]] = []  # (picture type, data)
    if isinstance(audio, FLAC):
        pictures += [(p.type, p.data) for p in audio.pictures]
    tags = audio.tags
    if tags is None:
        return _pick(pictures)
    if isinstance(audio, MP4):
        pictures += [(3, bytes(c)) for c in tags.get("covr", [])]
    elif isinstance(tags, ID3):
        pictures += [(frame.type, frame.data) for frame in tags.getall("APIC")]
    else:
        try:
            blocks = tags.get("metadata_block_picture") or tags.get("METADATA_BLOCK_PICTURE") or []
        except (AttributeError, ValueError):
            blocks = []
        for block in blocks:
            try:
                picture = Picture(base64.b64decode(block))
                pictures.append((picture.type, picture.data))
            except Exception:  # a broken picture is no picture
                continue
    return _pick(pictures)


def _pick(pictures: list[tuple[int, bytes]]) -> bytes | None:
    pictures = [p for p in pictures if p[1]]
    if not pictures:
        return None
    pictures.sort(key=lambda p: 0 if p[0] == 3 else 1)  # 3 = front cover
    return pictures[0][1]


def _cover_file_beside(path: Path) -> Path | None:
    try:
        names = {p.name.lower(): p for p in path.parent.iterdir() if p.is_file()}
    except OSError:
        return None
    for name in COVER_FILE_NAMES:
        if name in names:
            return names[name]
    return None


def _probe(path: Path) -> tuple[str, int, int, float, int]:
    """(codec, sample rate, channels, duration, bits) from FFmpeg; raises if not decodable."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise LibraryFileError("no audio stream")
            stream = streams[0]
            ctx = stream.codec_context
            duration = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            # Decode the first packet(s) so a corrupt body is caught now, not on air.
            decoded = 0
            for frame in container.decode(stream):
                decoded += frame.samples
                if decoded:
                    break
            if not decoded:
                raise LibraryFileError("no decodable audio")
            bits = 0
            try:
                bits = int(ctx.bits_per_raw_sample or 0)  # not exposed by every PyAV version
            except AttributeError:
                bits = 0
            return ctx.name, int(ctx.sample_rate), int(ctx.channels), duration, bits
    except LibraryFileError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise LibraryFileError(str(exc)) from exc


def read_track(path: Path) -> Track:
    """Read one file; raises LibraryFileError when it cannot be played."""
    path = Path(path)
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types on corrupt input
        raise LibraryFileError(f"unreadable tags ({exc.__class__.__name__}: {exc})") from exc
    if audio is None:
        raise LibraryFileError("not a recognised audio file")
    codec, sample_rate, channels, duration, probed_bits = _probe(path)
    info = audio.info
    bit_depth = int(getattr(info, "bits_per_sample", 0) or 0) or probed_bits
    if not bit_depth:
        bit_depth = LOSSY_BIT_DEPTH
    sample_rate = int(getattr(info, "sample_rate", 0) or 0) or sample_rate
    if codec == "opus":
        sample_rate = 48000  # Opus always decodes at 48 kHz whatever the input rate was
    tags = _read_tags(audio)
    try:
        embedded = _embedded_picture(audio) is not None
    except Exception:
        embedded = False
    return Track(
        path=path,
        artist=tags["artist"] or "Unknown Artist",
        title=tags["title"] or path.stem,
        album=tags["album"],
        date=_year(tags["date"]),
        genre=tags["genre"],
        bit_depth=bit_depth,
        sample_rate=sample_rate,
        channels=channels,
        duration=float(getattr(info, "length", 0.0) or duration),
        codec=codec,
        has_embedded_art=embedded,
        cover_file=_cover_file_beside(path),
        comment=tags["comment"],
    )


def scan_library(path: Path | str) -> list[Track]:
    """Every playable audio file under `path` (recursively), sorted by path.

    Unreadable or corrupt files are skipped with one warning each.
    """
    root = Path(path)
    if not root.is_dir():
        return []
    tracks: list[Track] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            file = Path(dirpath) / name
            if name.startswith(".") or file.suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            try:
                tracks.append(read_track(file))
            except LibraryFileError as exc:
                log.warning("skipping %s: %s", file, exc)
    return tracks


def load_cover(track: Track) -> bytes | None:
    """The track's cover image bytes (embedded first, else the file beside it), or None."""
    if track.has_embedded_art:
        try:
            audio = mutagen.File(track.path)
            data = _embedded_picture(audio) if audio is not None else None
            if data:
                return data
        except Exception as exc:
            log.warning("cannot read embedded art of %s: %s", track.path, exc)
    if track.cover_file is not None:
        try:
            return track.cover_file.read_bytes()
        except OSError as exc:
            log.warning("cannot read %s: %s", track.cover_file, exc)
    return None
