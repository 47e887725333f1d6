"""The published stream's file layout: every file name and URL path of the stream, once.

The station writes these files, the dev server's `/stream/` route and nginx serve them,
readiness watches them, and the player is told their URLs by `/api/config`. The layout is
the public RadioCalico CDN's, so a player can point at either::

    <out>/metadatav2.json              now playing, the five previous tracks, stream format
    <out>/cover.jpg                    the current track's cover art
    <out>/covers/<cover_version>.jpg   each listed track's cover art, by its version: never
                                       changes once written (served as immutable)
    <out>/hls/live.m3u8                master playlist (one EXT-X-STREAM-INF per rendition,
                                       every codec: the public CDN's shape)
    <out>/hls/master_<codec>.m3u8      one codec family's master playlist: master_aac.m3u8
                                       (high, saver), master_flac.m3u8 (lossless); a
                                       player never has to change codec within one
    <out>/hls/live_<rendition>.m3u8    a rendition's live media playlist: live_flac.m3u8
                                       (lossless), live_high.m3u8, live_saver.m3u8
    <out>/hls/init-<hash>.mp4          fMP4 init segment (EXT-X-MAP), named by its content
    <out>/hls/seg-<id>-<seq>.m4s       lossless media segments (<id> names the stream's
                                       state); the others': seg-<id>-<rendition>-<seq>.m4s
    <out>/hls/part-<id>-<run>-<seq>.<i>.m4s   Low-Latency HLS partial segment <i> of segment
                                       <seq> (others': part-<id>-<run>-<rendition>-<seq>.<i>.m4s);
                                       <run> is new at each start of the station, so a
                                       segment left open by a stop never shares a part's name
    <out>/.station-state.json          the station's own state; never served

The lossless rendition's files keep the names the stream had before it had renditions, so
links and caches made then still work. How a player tells the master playlist's variants
apart: by the media playlist URI of each EXT-X-STREAM-INF (its last path component is
`media_playlist_name(rendition)`; hls.js gives it as `level.url`/`level.uri`), which
metadatav2.json's `renditions[].playlist` names for each rendition; the master carries no
non-standard attribute (see `radiocalico.station.hls`).

Names beginning with a dot are the station's private files (state, temporary files) and
are never served.
"""

from __future__ import annotations

from pathlib import Path

METADATA_NAME = "metadatav2.json"
COVER_NAME = "cover.jpg"
COVERS_DIR = "covers"
COVER_SUFFIX = ".jpg"
COVERS_GLOB = "*" + COVER_SUFFIX
HLS_DIR = "hls"
MASTER_NAME = "live.m3u8"
# The family native HLS players (Safari, iOS, AirPlay receivers) are offered: AAC-LC, which
# every HLS client decodes.
NATIVE_CODEC = "aac"
STATE_NAME = ".station-state.json"
# The station's library index (its database and rendered covers): hidden, never served.
LIBRARY_INDEX_DIR = ".library-index"

SEGMENT_SUFFIX = ".m4s"
INIT_SUFFIX = ".mp4"
PLAYLIST_SUFFIX = ".m3u8"
SEGMENT_GLOB = "seg-*" + SEGMENT_SUFFIX
PART_GLOB = "part-*" + SEGMENT_SUFFIX
INIT_GLOB = "init-*" + INIT_SUFFIX
MEDIA_PLAYLIST_GLOB = "live_*" + PLAYLIST_SUFFIX
# The lossless rendition's name in its files, from before there were renditions.
LOSSLESS_RENDITION = "lossless"
_LOSSLESS_PLAYLIST_STEM = "flac"


def media_playlist_name(rendition: str) -> str:
    """The media playlist of one rendition: `live_flac.m3u8` for the lossless one (its name
    of old, also accepted as `media_playlist_name("flac")`), else `live_<rendition>.m3u8`."""
    stem = _LOSSLESS_PLAYLIST_STEM if rendition == LOSSLESS_RENDITION else rendition
    return f"live_{stem}{PLAYLIST_SUFFIX}"


def segment_name(stream_id: str, sequence: int, rendition: str | None = None) -> str:
    """A media segment: `seg-<id>-<seq>.m4s` for the lossless rendition (or `rendition`
    None), `seg-<id>-<rendition>-<seq>.m4s` for the others."""
    tag = f"{rendition}-" if rendition and rendition != LOSSLESS_RENDITION else ""
    return f"seg-{stream_id}-{tag}{sequence:09d}{SEGMENT_SUFFIX}"


def part_name(stream_id: str, run_id: str, sequence: int, index: int, rendition: str | None = None) -> str:
    """Partial segment `index` of segment `sequence` (Low-Latency HLS), named as
    `segment_name` names the segment, with this run's id."""
    tag = f"{rendition}-" if rendition and rendition != LOSSLESS_RENDITION else ""
    return f"part-{stream_id}-{run_id}-{tag}{sequence:09d}.{index}{SEGMENT_SUFFIX}"


def rendition_of(playlist_name: str) -> str | None:
    """The rendition of a media playlist name (`live_flac.m3u8` -> "flac"); None otherwise."""
    head, tail = "live_", PLAYLIST_SUFFIX
    if playlist_name.startswith(head) and playlist_name.endswith(tail):
        return playlist_name[len(head):-len(tail)] or None
    return None


def family_master_name(codec: str) -> str:
    """The master playlist of one codec family (metadatav2.json's `renditions[].codec`):
    `master_aac.m3u8`, `master_flac.m3u8`."""
    return f"master_{codec}{PLAYLIST_SUFFIX}"


FAMILY_MASTER_GLOB = family_master_name("*")


def init_name(content_hash: str) -> str:
    return f"init-{content_hash}{INIT_SUFFIX}"


def versioned_cover_path(cover_version: str) -> str:
    """A track's cover by its metadatav2.json `cover_version`, relative to the stream's base
    (and to metadatav2.json): `covers/<cover_version>.jpg`."""
    return f"{COVERS_DIR}/{cover_version}{COVER_SUFFIX}"


def is_versioned_cover(relative_path: str) -> bool:
    """True for a `versioned_cover_path`: content that never changes under its name."""
    folder, _, name = relative_path.rpartition("/")
    return folder == COVERS_DIR and name.endswith(COVER_SUFFIX) and not is_private(name)


def is_private(relative_path: str) -> bool:
    """True for the station's own files (state, temporary files): never served."""
    return any(part.startswith(".") for part in relative_path.split("/"))


# Paths relative to the stream's base URL (the dev server's /stream, nginx's /stream/, or
# the public CDN).
MASTER_PATH = f"{HLS_DIR}/{MASTER_NAME}"
NATIVE_MASTER_PATH = f"{HLS_DIR}/{family_master_name(NATIVE_CODEC)}"
METADATA_PATH = METADATA_NAME
COVER_PATH = COVER_NAME


def hls_dir(out: Path) -> Path:
    return Path(out) / HLS_DIR


def covers_dir(out: Path) -> Path:
    return Path(out) / COVERS_DIR
