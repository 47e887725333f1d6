"""/api/console: the operators' API (accounts with the operator role: `radiocalico user
grant-operator EMAIL`; a listener gets 403 `operator_required`).

- The queue: what plays next as the station published it, skip the track on air, remove or
  move a queued item. These are station commands (`station_commands`, see
  station/programming.py for why the database carries them): the answer is 202 with the
  command's id, and GET /api/console/commands/{id} says when the station applied it and
  how (within a segment of the stream).
- Playlists (folders, genres, hand-picked tracks, with weights) and the schedule (time
  blocks in STATION_TIMEZONE, each naming a playlist; top-of-hour and every-N-songs items).
  A schedule whose blocks overlap is refused (422, saying which); one with gaps is accepted
  and the answer lists them: the whole library plays then.
- Every change is in the audit trail (who, when, what): GET /api/console/audit.

State changes need the session's CSRF token, as every signed-in change does.
"""

from __future__ import annotations

import re

from flask import Blueprint
from sqlalchemy import func, select

from radiocalico.api import programming_schemas as s
from radiocalico.api.history import upcoming
from radiocalico.api.identity import CSRF, require_csrf, require_user
from radiocalico.api.operation import operation
from radiocalico.db import programming as queries
from radiocalico.db import users as user_queries
from radiocalico.db.schema import library_tracks
from radiocalico.errors import APIError, FieldError
from radiocalico.services import services

bp = Blueprint("console", __name__, url_prefix="/api/console")

_TAGS = ("console",)
_ITEM_ID = re.compile(r"[0-9a-f]{12}")
_FORBIDDEN = {403: ("Not an operator (code operator_required), or a wrong CSRF token", None)}
WEEK = 7 * 1440


def require_operator() -> user_queries.User:
    user = require_user()
    if user.role != "operator":
        raise APIError(403, "Only the station's operators may do this.", code="operator_required")
    return user


@bp.before_request
def operators_only() -> None:
    """Before anything else (the body's validation too): a listener gets 403 whatever they send."""
    require_operator()


def _changing() -> user_queries.User:
    user = require_operator()
    require_csrf()
    return user


def _audit(connection, user: user_queries.User, action: str, **detail) -> None:
    queries.record_audit(connection, user.id, user.username, action, detail)


# --- the queue ------------------------------------------------------------------------------

@bp.get("/queue")
@operation(summary="The track on air and what plays next", tags=_TAGS, signed_in=True,
           responses={200: ("The queue", s.QueueOut), **_FORBIDDEN})
def queue():
    require_operator()
    meta = services().recorder.latest
    current = None
    if meta.get("title") or meta.get("artist"):
        current = {key: meta.get(key) for key in ("artist", "title", "album", "reason", "requested",
                                                    "relaxed", "started_at", "live", "dj")}
    return s.QueueOut(current=current, next=upcoming(), published=services().config.station_publish_next)


def _command(op: str, user, target: str | None = None, to: int | None = None, **detail):
    with services().store.writing() as connection:
        cid = queries.add_command(connection, op, target, to)
        _audit(connection, user, op if op == "skip" else f"queue.{op}", command_id=cid, **detail)
    return s.CommandOut(command_id=cid, op=op, applied_at=None, outcome=None), 202


@bp.post("/skip")
@operation(summary="Skip the track on air: it fades out and the next item starts", tags=_TAGS,
           headers=(CSRF,), signed_in=True,
           responses={202: ("The command, applied within a segment", s.CommandOut), **_FORBIDDEN})
def skip():
    user = _changing()
    meta = services().recorder.latest
    return _command("skip", user, track=f"{meta.get('artist', '')} - {meta.get('title', '')}")


def _item(item_id: str) -> str:
    if not _ITEM_ID.fullmatch(item_id):
        raise APIError(404, "No such item in the queue.")
    return item_id


@bp.delete("/queue/<item_id>")
@operation(summary="Take an item out of the queue", tags=_TAGS, headers=(CSRF,), signed_in=True,
           responses={202: ("The command", s.CommandOut), **_FORBIDDEN})
def remove(item_id: str):
    user = _changing()
    return _command("remove", user, _item(item_id), item=item_id)


@bp.post("/queue/<item_id>/move")
@operation(summary="Move a queued item to another place (0: next)", tags=_TAGS, body=s.MoveIn,
           headers=(CSRF,), signed_in=True, responses={202: ("The command", s.CommandOut), **_FORBIDDEN})
def move(item_id: str, body: s.MoveIn):
    user = _changing()
    return _command("move", user, _item(item_id), body.position, item=item_id, position=body.position)


@bp.get("/commands/<int:command_id>")
@operation(summary="Whether (and how) the station applied a command", tags=_TAGS, signed_in=True,
           responses={200: ("The command", s.CommandOut), **_FORBIDDEN})
def command(command_id: int):
    require_operator()
    with services().store.reading() as connection:
        found = queries.command(connection, command_id)
    if found is None:
        raise APIError(404, "No such command.")
    op, applied_at, outcome = found
    return s.CommandOut(command_id=command_id, op=op, applied_at=applied_at, outcome=outcome)


# --- playlists ----------------------------------------------------------------------------

def _matching(connection, entry: queries.Entry) -> int:
    query = select(func.count()).select_from(library_tracks)
    if entry.kind == "track":
        query = query.where(library_tracks.c.track_id == entry.value)
    elif entry.kind == "folder":
        folder = entry.value.strip("/")
        if folder:
            query = query.where(library_tracks.c.path.startswith(folder + "/", autoescape=True))
    else:
        query = query.where(func.lower(library_tracks.c.genre).contains(entry.value.lower(), autoescape=True))
    return connection.execute(query).scalar_one()


def _playlist_out(connection, name: str, entries: list[queries.Entry]) -> s.PlaylistOut:
    return s.PlaylistOut(
        name=name, entries=[s.EntryIn(kind=e.kind, value=e.value, weight=e.weight) for e in entries],
        tracks=sum(_matching(connection, e) for e in entries))


@bp.get("/playlists")
@operation(summary="The playlists, with how many library tracks each matches", tags=_TAGS, signed_in=True,
           responses={200: ("Playlists", s.PlaylistsOut), **_FORBIDDEN})
def playlists():
    require_operator()
    with services().store.reading() as connection:
        programming = queries.load(connection)
        out = [_playlist_out(connection, name, entries) for name, entries in sorted(programming.playlists.items())]
    return s.PlaylistsOut(playlists=out)


@bp.put("/playlists/<name>")
@operation(summary="Create or replace a playlist", tags=_TAGS, body=s.PlaylistIn, headers=(CSRF,),
           signed_in=True, responses={200: ("The playlist (tracks 0: the decider falls through to the next "
                                            "source while it is empty)", s.PlaylistOut), **_FORBIDDEN})
def put_playlist(name: str, body: s.PlaylistIn):
    user = _changing()
    name = _playlist_name(name)
    entries = [queries.Entry(e.kind, e.value, e.weight) for e in body.entries]
    with services().store.writing() as connection:
        created = queries.put_playlist(connection, name, entries)
        _audit(connection, user, "playlist.create" if created else "playlist.replace", name=name,
               entries=[vars(e) for e in entries])
        return _playlist_out(connection, name, entries)


@bp.delete("/playlists/<name>")
@operation(summary="Delete a playlist, and the blocks and timed items naming it", tags=_TAGS,
           headers=(CSRF,), signed_in=True, responses={204: ("Deleted", None), **_FORBIDDEN})
def delete_playlist(name: str):
    user = _changing()
    with services().store.writing() as connection:
        if not queries.delete_playlist(connection, name):
            raise APIError(404, "No such playlist.")
        _audit(connection, user, "playlist.delete", name=name)
    return None


def _playlist_name(name: str) -> str:
    try:
        return s.BlockIn.model_validate({"name": name, "playlist": name, "start": "00:00", "end": "00:00"}).name
    except ValueError:
        raise APIError(422, "A playlist name is 1 to 64 printable characters.",
                       fields=[FieldError("name", "1 to 64 printable characters")]) from None


# --- the schedule -------------------------------------------------------------------------

def _minute(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _spans(block: queries.Block):
    """The week's minutes [start, end) the block covers, as (day, start, length)."""
    length = (block.end_minute - block.start_minute) % 1440 or 1440
    for day in block.days:
        yield day * 1440 + block.start_minute, length


def _coverage(blocks: list[queries.Block]) -> tuple[list[str | None], list[tuple[str, str, str]]]:
    """Who covers each minute of the week, and the overlaps (first block, second, where)."""
    owner: list[str | None] = [None] * WEEK
    overlaps = []
    for block in blocks:
        for start, length in _spans(block):
            for minute in range(start, start + length):
                m = minute % WEEK
                if owner[m] is None:
                    owner[m] = block.name
                elif not overlaps or overlaps[-1][1] != block.name:
                    overlaps.append((owner[m], block.name, _where(m)))
    return owner, overlaps


def _where(minute: int) -> str:
    return f"{s.DAY_NAMES[minute // 1440]} {_clock(minute % 1440)}"


def _gaps(owner: list[str | None]) -> list[str]:
    if all(o is None for o in owner):
        return ["all week: no block, the whole library plays"]
    gaps = []
    minute = 0
    while minute < WEEK:
        if owner[minute] is None:
            start = minute
            while minute < WEEK and owner[minute] is None:
                minute += 1
            end = minute
            gaps.append(f"{_where(start)}-{_clock(end % 1440) if end % 1440 else '24:00'}"
                        + (f" ({s.DAY_NAMES[(end - 1) // 1440]})" if (end - 1) // 1440 != start // 1440 else "")
                        + ": the whole library plays")
        minute += 1
    return gaps


def _schedule_out(programming: queries.Programming) -> s.ScheduleOut:
    blocks = [s.BlockIn(name=b.name, playlist=b.playlist, days=[s.DAY_NAMES[d] for d in b.days],
                        start=_clock(b.start_minute),
                        end=_clock(b.end_minute) if b.end_minute < 1440 else "24:00")
              for b in programming.blocks]
    timed = [s.TimedIn(kind=t.kind, playlist=t.playlist, every=t.every) for t in programming.timed]
    owner, _ = _coverage(programming.blocks)
    return s.ScheduleOut(timezone=services().config.station_timezone, blocks=blocks, timed=timed,
                         gaps=_gaps(owner))


@bp.get("/schedule")
@operation(summary="The schedule: time blocks (station time zone), timed items, and its gaps", tags=_TAGS,
           signed_in=True, responses={200: ("The schedule", s.ScheduleOut), **_FORBIDDEN})
def schedule():
    require_operator()
    with services().store.reading() as connection:
        programming = queries.load(connection)
    return _schedule_out(programming)


@bp.put("/schedule")
@operation(summary="Replace the schedule (blocks must not overlap; gaps play the whole library)",
           tags=_TAGS, body=s.ScheduleIn, headers=(CSRF,), signed_in=True,
           responses={200: ("The schedule, with its gaps", s.ScheduleOut),
                      422: ("Overlapping blocks, or an unknown playlist", None), **_FORBIDDEN})
def put_schedule(body: s.ScheduleIn):
    user = _changing()
    blocks = [queries.Block(b.name, b.playlist, tuple(sorted(s.DAY_NAMES.index(d) for d in set(b.days))),
                            _minute(b.start) % 1440 if b.start != "24:00" else 0, _minute(b.end))
              for b in body.blocks]
    timed = [queries.Timed(t.kind, t.every if t.kind == "every_n" else None, t.playlist) for t in body.timed]
    _, overlaps = _coverage(blocks)
    if overlaps:
        first, second, where = overlaps[0]
        raise APIError(422, f"Blocks “{first}” and “{second}” overlap (from {where}): one block at a time.",
                       code="blocks_overlap", fields=[FieldError("blocks", f"{first} and {second} overlap")])
    if sum(t.kind == "top_of_hour" for t in timed) > 1:
        raise APIError(422, "One top-of-hour item at most.", fields=[FieldError("timed", "one top_of_hour")])
    with services().store.writing() as connection:
        known = set(queries.load(connection).playlists)
        unknown = sorted(({b.playlist for b in blocks} | {t.playlist for t in timed}) - known)
        if unknown:
            raise APIError(422, f"No playlist is called {', '.join(unknown)}: create it first.",
                           code="unknown_playlist", fields=[FieldError("playlist", n) for n in unknown])
        queries.put_schedule(connection, blocks, timed)
        _audit(connection, user, "schedule.replace", blocks=[b.model_dump() for b in body.blocks],
               timed=[t.model_dump() for t in body.timed])
        programming = queries.load(connection)
    return _schedule_out(programming)


# --- the audit trail ----------------------------------------------------------------------

@bp.get("/audit")
@operation(summary="Every operator change, newest first", tags=_TAGS, query=s.AuditQuery, signed_in=True,
           responses={200: ("Audit entries", s.AuditOut), **_FORBIDDEN})
def audit(query: s.AuditQuery):
    require_operator()
    with services().store.reading() as connection:
        entries = queries.audit_trail(connection, query.limit, query.before)
    return s.AuditOut(entries=[s.AuditEntryOut(**vars(e)) for e in entries])


# --- requests -------------------------------------------------------------------------------

@bp.get("/requests")
@operation(summary="Listeners' requests not played yet, oldest first", tags=_TAGS, signed_in=True,
           responses={200: ("Open requests", s.OpenRequestsOut), **_FORBIDDEN})
def open_requests():
    require_operator()
    out = []
    with services().store.reading() as connection:
        for found in queries.open_requests(connection):
            track = queries.library_track(connection, found.track_id)
            out.append(s.OpenRequestOut(request_id=found.id, artist=track.artist if track else "",
                                        title=track.title if track else "(no longer in the library)",
                                        status=found.status, created_at=found.created_at))
    return s.OpenRequestsOut(requests=out)
