"""The publisher: metadatav2.json, the covers and the track history they are made from.

The station tells the publisher when a track's first sample went on air (`track_started`,
with its program-date-time) and, once the segment holding it is in the playlists, to
`publish`. The history (newest last) is the publisher's; it travels with the HLS state
(`state()` in, `HlsWriter.extra` back after a restart) so prev_* survive a restart. A
restarted station that resumes the interrupted track reports no start for it: its
``started_at`` stays the original one.

Covers: ``cover.jpg`` is the current track's, as on the public CDN. Each track's cover is
also published under its version, ``covers/<cover_version>.jpg``
(`stream_layout.versioned_cover_path`), which never changes once written, so a player can
show (and cache for good) the cover of the track it is actually playing, which is not
always the newest. The covers of the tracks metadatav2.json names stay; a cover that drops
out of it stays on disk for as many more track changes (a player may still be fetching it,
as with segments), then is deleted.

metadatav2.json
---------------
The public CDN's fields, exactly: ``artist``, ``title``, ``album``, ``date`` (the year, str),
``bit_depth`` and ``sample_rate`` (the *source's*, int), ``prev_artist_1..5`` and
``prev_title_1..5`` (most recent first, "" when none), ``is_new``, ``is_summer``,
``is_vidgames`` (bool). Added for the player to stay in step with the audio:

* ``started_at`` / ``prev_started_at_1..5``: when each of those tracks' first sample is on
  the stream's program-date-time clock (the clock of ``#EXT-X-PROGRAM-DATE-TIME``), ISO-8601
  UTC with milliseconds, e.g. ``"2025-01-31T12:00:04.217Z"`` ("" when none). A player knows
  the PDT of what it is playing and shows a track from its ``started_at`` on.
* ``song_id`` / ``prev_song_id_1..5``: ``radiocalico.songs.song_id(artist, title)`` ("" when none).
* ``cover_version``: a token that changes when (and only when) a new track starts:
  ``<song_id>-<started_at in Unix milliseconds>``, so a player can name the versioned cover
  of any track it has the ``song_id`` and ``started_at`` of.
* ``cover_url``: that track's versioned cover, ``covers/<cover_version>.jpg``, relative to
  metadatav2.json's URL. ``prev_cover_version_1..5`` / ``prev_cover_url_1..5``: the same for
  the previous tracks ("" when none).
* ``source_codec``: the FFmpeg name of the current track's codec (``"flac"``, ``"alac"``,
  ``"pcm_s24le"``, ``"mp3"``, ``"aac"``, ``"opus"``, ``"vorbis"`` …), "" when unknown, so a
  player can tell a lossy source from a lossless one (``bit_depth``/``sample_rate`` alone
  cannot).
* ``source_channels``: the current track's channels in its file (1, 2, 6 for 5.1...: the
  stream folds them to stereo), 0 when unknown.
* ``prev_album_1..5``, ``prev_date_1..5``, ``prev_bit_depth_1..5``,
  ``prev_sample_rate_1..5``, ``prev_source_codec_1..5``, ``prev_source_channels_1..5``,
  ``prev_gain_db_1..5`` (the levelling gain, as ``loudness.gain_db`` is the current
  track's): the same details as the current track's ("" / 0 when none), so a player that
  shows a track behind the newest (the one it is about to play or is playing) shows it as
  fully as the newest.
* ``stream_codec`` ("flac"), ``stream_sample_rate`` (48000), ``stream_bit_depth`` (24),
  ``stream_channels`` (2): the format of the stream's best rendition (the first of
  ``renditions``; with the lossless one offered, as here by default, exactly what these
  fields always said). For players that predate renditions.
* ``renditions``: every rendition the master playlist offers, best first (not the master's
  order, see `radiocalico.station.hls`), so a player can say what is heard::

      [{"name": "lossless", "codec": "flac", "codecs": "fLaC", "bitrate": null,
        "sample_rate": 48000, "bit_depth": 24, "channels": 2, "playlist": "live_flac.m3u8"},
       {"name": "high", "codec": "aac", "codecs": "mp4a.40.2", "bitrate": 256000,
        "sample_rate": 48000, "bit_depth": null, "channels": 2, "playlist": "live_high.m3u8"},
       {"name": "saver", "codec": "aac", "codecs": "mp4a.40.2", "bitrate": 96000,
        "sample_rate": 48000, "bit_depth": null, "channels": 2, "playlist": "live_saver.m3u8"}]

  ``name`` is a STATION_RENDITIONS name; ``bitrate`` the encoder's target in bit/s (null
  when lossless; the master playlist's BANDWIDTH is the measured peak); ``bit_depth`` null
  for a lossy codec; ``playlist`` the media playlist's file name, the last component of the
  variant's URI in the master playlist: match a player's level on it (hls.js `level.url`).

* ``requested``: true when a listener requested the current track (`POST /api/requests`);
  ``prev_requested_1..5`` the same for the previous tracks. ``reason``: why the current
  track plays (``rotation``, ``playlist:<name>``, ``request:<id>``, ``station-id``,
  ``jingle``; "" for a track resumed after a restart), and ``relaxed`` true when the
  rotation rules had to be relaxed to choose it (the library is too small to honour them).
* ``next`` (STATION_PUBLISH_NEXT): the queue, what plays next first, each
  ``{"item_id", "artist", "title", "album", "cover_url", "reason", "requested", "relaxed",
  "starts_at"}``; ``starts_at`` is a projection on the program-date-time clock, and
  ``cover_url`` (relative to metadatav2.json, "" when the track has no cover) a file under
  ``covers/art-*.jpg`` that never changes once written.
* ``loudness``: the gain the current track is aired at (`radiocalico.station.loudness`), null
  when levelling is off (every rendition then carries the file's own samples; the lossless
  one bit-exact for a 48 kHz stereo source). Otherwise ``{"gain_db": -3.2, "target_lufs": -18,
  "integrated_lufs": -14.8, "true_peak_dbtp": -0.4, "source": "measured"}``: with a
  ``gain_db`` other than 0 the lossless rendition is lossless-coded levelled audio, not the
  file bit for bit. ``source`` is "measured", "partial", "replaygain", "r128" or "unmeasured".

* ``live``: true while a DJ is on air (`radiocalico.station.live`): ``artist``/``title`` are
  then the DJ's now-playing (Icecast updinfo), else the DJ and the show's name; ``dj``: the
  DJ's name (null for the library's tracks).

The flags: ``is_new`` is true when the track's year is this year or last year, or a
grouping/comment tag says "new"; ``is_summer`` and ``is_vidgames`` when the genre, grouping
or comment tag mentions "summer", resp. "video game"/"vidgames"/"game".

Timing: the file (with the versioned cover and cover.jpg, written just before it) is
replaced right after the segment that holds the new track's first sample is published in
the playlist, never before.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path

from radiocalico import stream_layout
from radiocalico.songs import song_id

from . import fsutil
from .clock import iso_utc, millis
from .library import Track
from .programme import TrackStart

log = logging.getLogger("radiocalico.station")

HISTORY = 5  # previous tracks in metadatav2.json
_KEPT = HISTORY + 1  # the current track and the previous ones
_ART = "art-"  # the upcoming tracks' covers: covers/art-<digest of the art>.jpg
_ART_KEPT = 50  # such covers kept on disk (a player may still be fetching one out of `next`)


class Publisher:
    def __init__(self, out: Path, saved: dict | None, renditions: list[dict]):
        """`saved`: what `state()` returned before a restart (an empty dict or None if lost);
        `renditions`: the `renditions` field, best first (`Rendition.describe()`)."""
        self.out = Path(out)
        self.covers = stream_layout.covers_dir(self.out)
        self.covers.mkdir(parents=True, exist_ok=True)
        fsutil.remove_stale_temp_files(self.covers)
        self.renditions = renditions
        saved = saved or {}
        self.history: list[dict] = list(saved.get("history", []))
        # Covers out of the metadata, oldest first, still on disk for a while.
        self.retired: list[str] = list(saved.get("retired_covers", []))
        # The covers of the tracks started since the last publish (a track shorter than a
        # segment has one too), (version, JPEG), oldest first.
        self._covers: list[tuple[str, bytes]] = []
        self._stale = self._adopt_covers()
        self.next: list[dict] | None = None  # the queue as published (`set_next`); None: not published
        self._art: dict[str, Path] = {}  # the upcoming tracks' covers to publish: name -> rendered file

    def _adopt_covers(self) -> bool:
        """Covers on disk no saved state knows of (a lost state) retire in the usual way;
        the current track's versioned cover is made from cover.jpg when missing (a state
        from before versioned covers), and then the metadata is stale."""
        named = {_cover_version(r) for r in self.history}
        known = named | set(self.retired)
        strays = sorted((p for p in self.covers.glob(stream_layout.COVERS_GLOB)
                         if p.stem not in known and not p.stem.startswith(_ART)),
                        key=lambda p: p.stat().st_mtime_ns)
        self.retired = [p.stem for p in strays] + self.retired
        if not self.history:
            return False
        current = self.out / stream_layout.versioned_cover_path(_cover_version(self.history[-1]))
        if current.exists() or not (self.out / stream_layout.COVER_NAME).exists():
            return False
        shutil.copyfile(self.out / stream_layout.COVER_NAME, current)
        return True

    def track_started(self, start: TrackStart, started_at: float) -> None:
        """`start`'s first sample is at `started_at` on the program-date-time clock."""
        self.history.append({**_record(start.track, started_at), "loudness": start.loudness, "dj": start.dj,
                             "requested": getattr(start.track, "request_id", None) is not None,
                             "reason": getattr(start.track, "reason", ""),
                             "relaxed": bool(getattr(start.track, "relaxed", False))})
        self.retired += [_cover_version(r) for r in self.history[:-_KEPT]]
        self.history = self.history[-_KEPT:]
        self._covers.append((_cover_version(self.history[-1]), start.cover_jpeg))

    def set_next(self, upcoming: list[dict]) -> None:
        """The queue to publish (`next`): entries with a `cover` (the rendered file, or None);
        the metadata is written again when it changed."""
        entries = []
        for entry in upcoming:
            entry = dict(entry)
            cover = entry.pop("cover", None)
            name = f"{_ART}{Path(cover).stem}" if cover is not None else ""
            if name:
                self._art[name] = Path(cover)
            entry["cover_url"] = stream_layout.versioned_cover_path(name) if name else ""
            entries.append(entry)
        if entries != self.next:
            self.next = entries
            self._stale = self._stale or bool(self.history)

    def state(self) -> dict:
        """What a restarted publisher needs; saved with the segment it belongs to."""
        return {"history": self.history[-_KEPT:], "retired_covers": self.retired}

    def publish(self) -> None:
        """After a segment is published: if a track started in it, its covers, then the
        metadata naming them, then the covers' clean-up."""
        if self._covers:
            for version, jpeg in self._covers:
                fsutil.atomic_write(self.out / stream_layout.versioned_cover_path(version), jpeg)
            fsutil.atomic_write(self.out / stream_layout.COVER_NAME, self._covers[-1][1])
        elif not self._stale:
            return
        self._write_art()
        meta = build_metadata(self.history, self.renditions)
        if self.next is not None:
            meta["next"] = self.next
        fsutil.atomic_write(self.out / stream_layout.METADATA_NAME, json.dumps(meta, indent=1))
        self._covers = []
        self._stale = False
        self._delete_retired()

    def _write_art(self) -> None:
        """The covers `next` names (written once: the name is the art's digest), and those
        of tracks long out of it deleted."""
        named = {entry["cover_url"] for entry in self.next or []}
        for name, source in list(self._art.items()):
            target = self.out / stream_layout.versioned_cover_path(name)
            if stream_layout.versioned_cover_path(name) not in named:
                continue
            if not target.exists():
                try:
                    fsutil.atomic_write(target, source.read_bytes())
                except OSError as exc:
                    log.warning("cover %s unreadable (%s)", source.name, exc)
        if len(self._art) > _ART_KEPT:
            for name in list(self._art)[:len(self._art) - _ART_KEPT]:
                if stream_layout.versioned_cover_path(name) not in named:
                    del self._art[name]
                    try:
                        (self.out / stream_layout.versioned_cover_path(name)).unlink()
                    except OSError:
                        pass

    def _delete_retired(self) -> None:
        while len(self.retired) > _KEPT:
            version = self.retired.pop(0)
            try:
                (self.out / stream_layout.versioned_cover_path(version)).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot delete old cover %s: %s", version, exc)


def _flags(track: Track, now_year: int) -> dict[str, bool]:
    words = " ".join((track.genre, track.comment)).lower()
    year = track.year
    return {
        "is_new": (year is not None and year >= now_year - 1) or "new" in words.split(),
        "is_summer": "summer" in words,
        "is_vidgames": "vidgames" in words or "video game" in words or "game" in words,
    }


def _record(track: Track, started_at: float) -> dict:
    record = {
        "artist": track.artist, "title": track.title, "album": track.album, "date": track.date,
        "bit_depth": track.bit_depth, "sample_rate": track.sample_rate,
        "started_at": started_at, "song_id": song_id(track.artist, track.title),
        "path": str(track.path), "source_codec": track.codec, "channels": track.channels,
    }
    record.update(_flags(track, datetime.now(timezone.utc).year))
    log.info("now playing: %s - %s (%s)", track.artist, track.title, iso_utc(started_at))
    return record


def _cover_version(record: dict) -> str:
    """Changes with every track start; a player can rebuild it (see the module docstring)."""
    sid = record.get("song_id") or song_id(record.get("artist", ""), record.get("title", ""))
    return f"{sid}-{millis(float(record.get('started_at', 0.0)))}"


def build_metadata(history: list[dict], renditions: list[dict]) -> dict:
    """metadatav2.json from the track history (oldest first, current last) and the
    renditions offered (best first)."""
    current = history[-1]
    previous = list(reversed(history[:-1]))[:HISTORY]
    meta: dict = {
        "artist": current["artist"],
        "title": current["title"],
        "album": current["album"],
        "date": current["date"],
        "bit_depth": int(current["bit_depth"]),
        "sample_rate": int(current["sample_rate"]),
    }
    for i in range(HISTORY):
        prev = previous[i] if i < len(previous) else None
        meta[f"prev_artist_{i + 1}"] = prev["artist"] if prev else ""
        meta[f"prev_title_{i + 1}"] = prev["title"] if prev else ""
    meta.update(is_new=bool(current["is_new"]), is_summer=bool(current["is_summer"]),
                is_vidgames=bool(current["is_vidgames"]))
    meta["started_at"] = iso_utc(current["started_at"])
    meta["song_id"] = current["song_id"]
    for i in range(HISTORY):
        prev = previous[i] if i < len(previous) else None
        meta[f"prev_started_at_{i + 1}"] = iso_utc(prev["started_at"]) if prev else ""
        meta[f"prev_song_id_{i + 1}"] = prev["song_id"] if prev else ""
    meta["cover_version"] = _cover_version(current)
    meta["cover_url"] = stream_layout.versioned_cover_path(meta["cover_version"])
    for i in range(HISTORY):
        prev = previous[i] if i < len(previous) else None
        version = _cover_version(prev) if prev else ""
        meta[f"prev_cover_version_{i + 1}"] = version
        meta[f"prev_cover_url_{i + 1}"] = stream_layout.versioned_cover_path(version) if prev else ""
    meta["requested"] = bool(current.get("requested"))
    for i in range(HISTORY):
        prev = previous[i] if i < len(previous) else None
        meta[f"prev_requested_{i + 1}"] = bool(prev.get("requested")) if prev else False
    meta["reason"] = current.get("reason", "")
    meta["relaxed"] = bool(current.get("relaxed"))
    meta["source_codec"] = current.get("source_codec", "")
    meta["source_channels"] = int(current.get("channels") or 0)
    for i in range(HISTORY):
        prev = previous[i] if i < len(previous) else None
        meta[f"prev_album_{i + 1}"] = prev.get("album", "") if prev else ""
        meta[f"prev_date_{i + 1}"] = prev.get("date", "") if prev else ""
        meta[f"prev_bit_depth_{i + 1}"] = int(prev.get("bit_depth") or 0) if prev else 0
        meta[f"prev_sample_rate_{i + 1}"] = int(prev.get("sample_rate") or 0) if prev else 0
        meta[f"prev_source_codec_{i + 1}"] = prev.get("source_codec", "") if prev else ""
        meta[f"prev_source_channels_{i + 1}"] = int(prev.get("channels") or 0) if prev else 0
        meta[f"prev_gain_db_{i + 1}"] = float((prev.get("loudness") or {}).get("gain_db") or 0.0) if prev else 0.0
    best = renditions[0]
    meta["stream_codec"] = best["codec"]
    meta["stream_sample_rate"] = best["sample_rate"]
    meta["stream_bit_depth"] = best["bit_depth"]
    meta["stream_channels"] = best["channels"]
    meta["renditions"] = renditions
    meta["loudness"] = current.get("loudness")
    meta["live"] = current.get("dj") is not None
    meta["dj"] = current.get("dj")
    return meta
