"""/api/console/library and /api/console/live: the operators' library (upload, tag edits,
removal) and the DJ on air (disconnect).

The app writes the station's library folder itself (`STATION_LIBRARY`; the dev server's
demo library when unset), so it must reach that folder: where it cannot, the answer is
409 `no_library`, naming the setting. An upload is streamed to a hidden file in the library
(hidden files are never scanned), validated exactly as the library index validates a file
(`station.library.read_track`: tags, an FFmpeg probe, a first decoded frame), and only then
moved to `uploads/` under its own name: a file that is not audio never reaches the folder
the station plays. Its size is checked against `CONSOLE_UPLOAD_MAX_MB` from Content-Length
before a byte is read (413 `too_large`), and the stream is cut there if it lies.
A removed file is moved to the library's hidden `.removed/` folder, not deleted: nothing an
operator does is lost by a slip.

Each change mirrors its row into `library_tracks` at once (the console shows it) and asks
the station to rescan (a `rescan` station command), whose index then reads the file as it
reads any; an `audit` row records who did what.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import mutagen
from flask import Blueprint, request, session

from radiocalico.api import programming_schemas as s
from radiocalico.api.console import _audit, _changing, operators_only, require_operator
from radiocalico.api.identity import CSRF, account_key
from radiocalico.api.operation import Limit, operation
from radiocalico.db import programming as queries
from radiocalico.errors import APIError, FieldError
from radiocalico.services import services
from radiocalico.songs import song_id
from radiocalico.station.library import AUDIO_EXTENSIONS, LibraryFileError, read_track

bp = Blueprint("console_library", __name__, url_prefix="/api/console")
bp.before_request(operators_only)

_TAGS = ("console",)
_FORBIDDEN = {403: ("Not an operator (code operator_required), or a wrong CSRF token", None)}
_NO_LIBRARY = {409: ("This app cannot reach the library folder (code no_library)", None)}
UPLOADS = "uploads"  # the library's folder for uploaded files
REMOVED = ".removed"  # hidden: the scan never looks there
_PARTIAL = ".uploading"  # hidden: uploads being received and validated
_CHUNK = 1 << 20
_OUR_REASONS = ("not a recognised audio file", "no audio stream", "no decodable audio")


def _operator_key() -> str:
    return account_key(f"id:{session.get('uid')}")


_LIMITS = (Limit("ratelimit_console_library", key=_operator_key),)


def library_folder() -> Path | None:
    """The folder the station plays, when this app can reach it."""
    config = services().config
    if config.station_library:
        folder = Path(config.station_library)
    elif config.station_mode == "embedded":
        folder = Path(config.instance_path) / "demo-library"
    else:
        return None
    return folder if folder.is_dir() else None


def _folder() -> Path:
    folder = library_folder()
    if folder is None:
        raise APIError(409, "This app cannot reach the station's library folder: set STATION_LIBRARY to the "
                            "folder the station plays, shared with the app.", code="no_library")
    return folder


def _max_bytes() -> int:
    return services().config.console_upload_max_mb * 1024 * 1024


def _out(track: queries.LibraryTrack) -> s.ConsoleTrackOut:
    return s.ConsoleTrackOut(track_id=track.track_id, song_id=track.song_id, artist=track.artist,
                             title=track.title, album=track.album, duration=track.duration, path=track.path,
                             genre=track.genre)


def _size(n: int) -> str:
    return f"{n / 1024 ** 3:.1f} GB" if n >= 1024 ** 3 else f"{n / 1024 ** 2:.0f} MB"


@bp.get("/library")
@operation(summary="The station's library (search by artist, title, album), with each file's place",
           tags=_TAGS, query=s.ConsoleLibraryQuery, signed_in=True,
           responses={200: ("Tracks", s.ConsoleLibraryOut), **_FORBIDDEN})
def library(query: s.ConsoleLibraryQuery):
    require_operator()
    with services().store.reading() as connection:
        found = queries.search_library(connection, query.q, query.limit)
    return s.ConsoleLibraryOut(tracks=[_out(t) for t in found], folder=library_folder() is not None,
                               max_upload_bytes=_max_bytes())


def _safe_name(name: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name).strip().lstrip(".")
    return name[:200] or "upload"


def _free(folder: Path, name: str) -> Path:
    """`folder/name`, or `stem (2).ext` and so on when taken."""
    path = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while path.exists():
        path = folder / f"{stem} ({n}){suffix}"
        n += 1
    return path


def _refusal(name: str, exc: LibraryFileError) -> str:
    reason = str(exc)
    # FFmpeg's and mutagen's words may name our paths: only ours are shown.
    said = next((r for r in _OUR_REASONS if reason.startswith(r)), "it could not be decoded")
    return f"“{name}” is not audio the station can play: {said}."


def _row(folder: Path, path: Path):
    """The library_tracks row of a file read as the index reads it (LibraryFileError if it cannot)."""
    track = read_track(path)
    relative = path.relative_to(folder).as_posix()
    return queries.LibraryTrack(queries.track_id(relative), song_id(track.artist, track.title), relative[:1024],
                                track.artist, track.title, track.album, track.genre[:256],
                                float(track.duration or 0.0))


@bp.post("/library")
@operation(summary="Upload an audio file into the library (uploads/); refused with the reason when it is "
                   "not audio the station plays, or larger than CONSOLE_UPLOAD_MAX_MB",
           tags=_TAGS, query=s.UploadQuery, headers=(CSRF,), signed_in=True, limits=_LIMITS,
           raw_body="application/octet-stream",
           responses={201: ("In the library; the station plays it from its next scan", s.ConsoleTrackOut),
                      413: ("Larger than the largest upload (code too_large)", None),
                      422: ("Not audio the station can play (code not_audio)", None),
                      **_NO_LIBRARY, **_FORBIDDEN})
def upload(query: s.UploadQuery):
    user = _changing()
    name = _safe_name(query.name)
    limit = _max_bytes()
    length = request.content_length
    if length is not None and length > limit:
        raise APIError(413, f"“{name}” is {_size(length)}; the largest upload is {_size(limit)}.", code="too_large")
    if Path(name).suffix.lower() not in AUDIO_EXTENSIONS:
        kinds = ", ".join(sorted(e.lstrip(".").upper() for e in AUDIO_EXTENSIONS))
        raise APIError(422, f"“{name}” is not an audio file the library plays (its name must end in one of "
                            f"{kinds}).", code="not_audio", fields=[FieldError("name", "not an audio file name")])
    folder = _folder()
    request.max_content_length = limit
    partial = folder / _PARTIAL
    partial.mkdir(exist_ok=True)
    temp = partial / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    try:
        received = 0
        with open(temp, "wb") as out:
            while chunk := request.stream.read(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise APIError(413, f"“{name}” is larger than the largest upload ({_size(limit)}).",
                                   code="too_large")
                out.write(chunk)
        if not received:
            raise APIError(422, f"“{name}” is empty.", code="not_audio")
        try:
            read_track(temp)
        except LibraryFileError as exc:
            raise APIError(422, _refusal(name, exc), code="not_audio") from None
        (folder / UPLOADS).mkdir(exist_ok=True)
        path = _free(folder / UPLOADS, name)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    row = _row(folder, path)
    with services().store.writing() as connection:
        queries.put_library_track(connection, row)
        queries.add_command(connection, "rescan")
        _audit(connection, user, "library.upload", path=row.path, artist=row.artist, title=row.title,
               bytes=received)
    return _out(row), 201


def _file(folder: Path, track_id: str) -> tuple[queries.LibraryTrack, Path]:
    with services().store.reading() as connection:
        track = queries.library_track(connection, track_id) if re.fullmatch(r"[0-9a-f]{20}", track_id) else None
    if track is None:
        raise APIError(404, "No such track in the library.", code="unknown_track")
    path = (folder / track.path).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise APIError(404, "That track's file is not in the library folder any more.", code="unknown_track")
    return track, path


@bp.patch("/library/<track_id>")
@operation(summary="Edit a file's tags (artist, title, album, genre): written into the file",
           tags=_TAGS, body=s.TagsIn, headers=(CSRF,), signed_in=True, limits=_LIMITS,
           responses={200: ("The track as the library now reads it", s.ConsoleTrackOut),
                      404: ("No such track", None),
                      422: ("A format whose tags cannot be written (code tags_unsupported)", None),
                      **_NO_LIBRARY, **_FORBIDDEN})
def edit_tags(track_id: str, body: s.TagsIn):
    user = _changing()
    folder = _folder()
    track, path = _file(folder, track_id)
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    try:
        audio = mutagen.File(path, easy=True)
        if audio is None:
            raise ValueError("not taggable")
        if audio.tags is None:
            audio.add_tags()
        for key, value in changes.items():
            if value:
                audio[key] = value
            elif key in audio:
                del audio[key]
        audio.save()
    except Exception:  # mutagen raises many types on files it cannot tag (WAV's ID3 has no easy keys)
        raise APIError(422, f"The station cannot write tags into “{Path(track.path).name}” "
                            f"({path.suffix.lstrip('.').upper()} files): edit them with a tag editor.",
                       code="tags_unsupported") from None
    row = _row(folder, path)
    with services().store.writing() as connection:
        queries.put_library_track(connection, row)
        queries.add_command(connection, "rescan")
        _audit(connection, user, "library.tags", path=row.path,
               before={k: getattr(track, k) for k in changes}, after={k: getattr(row, k) for k in changes})
    return _out(row)


@bp.delete("/library/<track_id>")
@operation(summary="Remove a file from the library (kept in the library's hidden .removed/ folder)",
           tags=_TAGS, headers=(CSRF,), signed_in=True, limits=_LIMITS,
           responses={204: ("Removed", None), 404: ("No such track", None), **_NO_LIBRARY, **_FORBIDDEN})
def remove_track(track_id: str):
    user = _changing()
    folder = _folder()
    track, path = _file(folder, track_id)
    kept = _free(folder / REMOVED / Path(track.path).parent, path.name)
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, kept)
    with services().store.writing() as connection:
        queries.delete_library_track(connection, track.track_id)
        queries.add_command(connection, "rescan")
        _audit(connection, user, "library.remove", path=track.path, artist=track.artist, title=track.title)
    return None


# --- live -----------------------------------------------------------------------------------

@bp.get("/live")
@operation(summary="Who is on air live, if anyone", tags=_TAGS, signed_in=True,
           responses={200: ("Live status", s.LiveOut), **_FORBIDDEN})
def live():
    require_operator()
    meta = services().recorder.latest
    on_air = bool(meta.get("live"))
    return s.LiveOut(on_air=on_air, dj=meta.get("dj") if on_air else None,
                     title=meta.get("title") if on_air else None, since=meta.get("started_at") if on_air else None)


@bp.post("/live/disconnect")
@operation(summary="Disconnect the DJ on air: their buffered audio airs, then the rotation comes back",
           tags=_TAGS, headers=(CSRF,), signed_in=True,
           responses={202: ("The command, applied within a segment", s.CommandOut), **_FORBIDDEN})
def disconnect():
    user = _changing()
    meta = services().recorder.latest
    with services().store.writing() as connection:
        cid = queries.add_command(connection, "disconnect")
        _audit(connection, user, "live.disconnect", command_id=cid, dj=meta.get("dj") or "")
    return s.CommandOut(command_id=cid, op="disconnect", applied_at=None, outcome=None), 202
