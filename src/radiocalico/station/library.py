"""The music library: find the audio files of a folder and read their tags with mutagen.

Modelled on beets' use of mutagen: one `mutagen.File` per file, format-specific code only
where the formats really differ (tag keys, pictures, bit depth). Every file is also probed
with PyAV, so a file that mutagen can parse but FFmpeg cannot decode is rejected at scan
time rather than on air; a tag mutagen does not give (WAV's RIFF INFO list, for one) is
taken from FFmpeg's container metadata. A file that fails either step is skipped with one
log line on the "radiocalico.station" logger; the scan goes on.

Tags are published and recorded as `radiocalico.songs.tag_text` makes them (no control
characters, at most what the API accepts). A title from a file name that is not UTF-8 is
decoded for display (Windows-1252, the usual other encoding of such names).

`scan_library` reads a folder in one go; the station keeps a persistent, incremental index
of it instead (`library_index`).
"""

from __future__ import annotations

import base64
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import av
import mutagen
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

from radiocalico.songs import tag_text

from .cover import is_image

log = logging.getLogger("radiocalico.station")

AUDIO_EXTENSIONS = {
    ".flac", ".wav", ".wave", ".aif", ".aiff", ".aifc", ".m4a", ".mp4", ".alac",
    ".mp3", ".ogg", ".oga", ".opus",
}
# Lossy sources have no bit depth of their own; they decode to (at least) 16 bits.
LOSSY_BIT_DEPTH = 16
COVER_FILE_NAMES = ("cover.jpg", "folder.jpg", "cover.jpeg", "folder.jpeg", "cover.png", "folder.png",
                    "front.jpg", "front.png")
# FFmpeg never decodes a picture for us: a probe or a decode opening a file with an 8000 px
# attached picture would otherwise decode it (hundreds of MB) just to describe the stream.
NO_PICTURES = {"max_pixels": "1"}
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


@dataclass(frozen=True, slots=True)  # slots: a big library holds tens of thousands
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
    # The cover already rendered to the published JPEG (`library_index`), None when the
    # track has none or nothing rendered it: playout reads only this, never the art itself.
    cover: Path | None = field(default=None, compare=False)

    @property
    def has_art(self) -> bool:
        return self.has_embedded_art or self.cover_file is not None

    @property
    def year(self) -> int | None:
        return int(self.date) if self.date.isdigit() else None


def display_name(path) -> str:
    """A path as text that can be logged and encoded anywhere (a name that is not UTF-8
    decoded as Windows-1252)."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


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
    """The year of a date in any common form: "2021-05-03", "03.05.2021", "May 2021"."""
    match = _YEAR.search(date)
    return match.group(1) if match else ""


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


def folder_cover(folder: Path, names) -> Path | None:
    """The cover image among a folder's file `names` (listed once per folder), or None."""
    lowered = {name.lower(): name for name in names}
    for name in COVER_FILE_NAMES:
        if name in lowered:
            return folder / lowered[name]
    return None


def _cover_file_beside(path: Path) -> Path | None:
    try:
        names = [p.name for p in path.parent.iterdir() if p.is_file()]
    except OSError:
        return None
    return folder_cover(path.parent, names)


def _probe(path: Path) -> tuple[str, int, int, float, int, dict[str, str]]:
    """(codec, sample rate, channels, duration, bits, container metadata with lower-case
    keys) from FFmpeg; raises if not decodable."""
    try:
        with av.open(str(path), metadata_errors="ignore", options=NO_PICTURES) as container:
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
            metadata = {str(k).lower(): str(v) for k, v in (container.metadata or {}).items()}
            for key, value in (stream.metadata or {}).items():
                metadata.setdefault(str(key).lower(), str(value))
            return ctx.name, int(ctx.sample_rate), int(ctx.channels), duration, bits, metadata
    except LibraryFileError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise LibraryFileError(str(exc)) from exc


# FFmpeg's container metadata keys for each of our tags, when mutagen gave none.
_FFMPEG_KEYS = {
    "artist": ("artist", "album_artist"), "title": ("title",), "album": ("album",),
    "date": ("date", "year", "creation_time"), "genre": ("genre",), "comment": ("comment", "grouping"),
}

_UNSET = object()


def read_track(path: Path, cover_file=_UNSET) -> Track:
    """Read one file; raises LibraryFileError when it cannot be played. `cover_file`: the
    folder's cover image when the caller listed the folder already (else looked up)."""
    return read_track_and_art(path, cover_file)[0]


def read_track_and_art(path: Path, cover_file=_UNSET) -> tuple[Track, bytes | None]:
    """`read_track`, and the embedded picture's bytes (read with the tags, not again)."""
    path = Path(path)
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types on corrupt input
        raise LibraryFileError(f"unreadable tags ({exc.__class__.__name__}: {exc})") from exc
    if audio is None:
        raise LibraryFileError("not a recognised audio file")
    codec, sample_rate, channels, duration, probed_bits, metadata = _probe(path)
    info = audio.info
    bit_depth = int(getattr(info, "bits_per_sample", 0) or 0) or probed_bits
    if not bit_depth:
        bit_depth = LOSSY_BIT_DEPTH
    sample_rate = int(getattr(info, "sample_rate", 0) or 0) or sample_rate
    if codec == "opus":
        sample_rate = 48000  # Opus always decodes at 48 kHz whatever the input rate was
    tags = _read_tags(audio)
    for key, keys in _FFMPEG_KEYS.items():
        if not tags[key]:
            tags[key] = _first(metadata, *keys)
    tags = {key: tag_text(value) for key, value in tags.items()}
    try:
        picture = _embedded_picture(audio)
    except Exception:
        picture = None
    if cover_file is _UNSET:
        cover_file = _cover_file_beside(path)
    track = Track(
        path=path,
        artist=tags["artist"] or "Unknown Artist",
        title=tags["title"] or tag_text(display_name(path.stem)) or "Untitled",
        album=tags["album"],
        date=_year(tags["date"]),
        genre=tags["genre"],
        bit_depth=bit_depth,
        sample_rate=sample_rate,
        channels=channels,
        duration=float(getattr(info, "length", 0.0) or duration),
        codec=codec,
        has_embedded_art=picture is not None,
        cover_file=cover_file,
        comment=tags["comment"],
    )
    return track, picture


def audio_files(root: Path):
    """(audio file, its folder's cover image or None) under `root`, sorted by path within
    each folder; hidden files and folders are left out. Symbolic links to folders are
    followed, each real folder once (a link back up the tree is no loop)."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = Path(dirpath)
        cover = folder_cover(folder, filenames)
        for name in sorted(filenames):
            file = folder / name
            if name.startswith(".") or file.suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            yield file, cover


def scan_library(path: Path | str) -> list[Track]:
    """Every playable audio file under `path` (recursively), sorted by path.

    Unreadable or corrupt files are skipped with one warning each.
    """
    root = Path(path)
    if not root.is_dir():
        return []
    tracks: list[Track] = []
    for file, cover in audio_files(root):
        try:
            tracks.append(read_track(file, cover))
        except LibraryFileError as exc:
            log.warning("skipping %s: %s", display_name(file), exc)
    return tracks


def cover_sources(track: Track, embedded: bytes | None = None):
    """(where, image bytes) of the track's art, best first: the embedded picture, then the
    folder's cover image. `embedded`: the picture if the caller read it already."""
    if embedded is None and track.has_embedded_art:
        try:
            audio = mutagen.File(track.path)
            embedded = _embedded_picture(audio) if audio is not None else None
        except Exception as exc:
            log.warning("cannot read embedded art of %s: %s", display_name(track.path), exc)
    if embedded:
        yield f"the picture in {display_name(track.path)}", embedded
    if track.cover_file is not None:
        try:
            yield display_name(track.cover_file), track.cover_file.read_bytes()
        except OSError as exc:
            log.warning("cannot read %s: %s", display_name(track.cover_file), exc)


def load_cover(track: Track) -> bytes | None:
    """The track's best valid cover image's bytes (embedded first, else the file beside
    it), or None."""
    for where, data in cover_sources(track):
        if is_image(data):
            return data
        log.warning("unreadable cover art: %s; trying the next", where)
    return None
