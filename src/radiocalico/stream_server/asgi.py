"""The blocking-reload server: an ASGI app answering Low-Latency HLS requests that wait.

nginx (deploy/nginx) serves the station's folder from disk and passes here only what has
to wait: a media playlist requested with `_HLS_msn`/`_HLS_part` (blocking playlist reload,
`blocking`), and a part named by a preload hint that is not on disk yet. Each waiting
request is a coroutine awaiting the file's change (`watcher.Watcher`), not a thread, so
one process holds thousands of listeners (bench/listeners/run.py --blocking).

    granian --interface asgi --factory radiocalico.stream_server:create_app

Reads STATION_OUT (and INSTANCE_PATH) as the station does. Only names the station
publishes are served: media playlists (`stream_layout.rendition_of`) and parts; any path
prefix is accepted (nginx passes `/stream/hls/<name>`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path, PurePosixPath

from radiocalico import stream_layout

from . import blocking
from .watcher import Watcher

PLAYLIST_TYPE = b"application/vnd.apple.mpegurl"
# A hinted part is due within a part target; past a few seconds the station is not making it.
PART_WAIT_SECONDS = 3.0
PART_CACHE = b"public, max-age=31536000, immutable"
PLAIN_PLAYLIST_CACHE = b"public, max-age=1"


def _error(status: int, code: str, message: str) -> tuple[int, list, bytes]:
    body = json.dumps({"error": {"status": status, "code": code, "message": message, "fields": []}})
    return status, [(b"content-type", b"application/json"), (b"cache-control", b"no-store")], body.encode()


class StreamServer:
    def __init__(self, hls_dir: Path, poll_interval: float = 0.01):
        self.dir = Path(hls_dir)
        self.watcher = Watcher(poll_interval)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            status, headers, body = _error(405, "method_not_allowed", "Only GET and HEAD.")
            headers.append((b"allow", b"GET, HEAD"))
        else:
            status, headers, body = await self.answer(scope["path"], scope.get("query_string", b"").decode("latin-1"))
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def answer(self, path: str, query: str) -> tuple[int, list, bytes]:
        name = PurePosixPath(path).name
        if not name or stream_layout.is_private(name):
            return _error(404, "not_found", "No such resource.")
        if stream_layout.rendition_of(name) is not None:
            return await self.playlist(self.dir / name, query)
        if PurePosixPath(name).match(stream_layout.PART_GLOB):
            return await self.part(self.dir / name)
        return _error(404, "not_found", "No such resource.")

    async def playlist(self, path: Path, query: str) -> tuple[int, list, bytes]:
        text = self._text(path)
        try:
            reload = blocking.begin(query, text)
        except blocking.BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        if reload is None:
            if text is None or blocking.position(text) is None:
                return _error(404, "not_found", "No such playlist (yet).")
            return 200, [(b"content-type", PLAYLIST_TYPE), (b"cache-control", PLAIN_PLAYLIST_CACHE)], text.encode()
        while not reload.ready:
            remaining = reload.remaining()
            if remaining <= 0 or not await self.watcher.changed(path, remaining):
                return _error(503, "not_yet", blocking.NOT_YET)
            reload.update(self._text(path))
        return 200, [(b"content-type", PLAYLIST_TYPE), (b"cache-control", reload.cache_control.encode())], \
            reload.text.encode()

    def _text(self, path: Path) -> str | None:
        data = self.watcher.current(path)
        return data.decode("utf-8", "replace") if data is not None else None

    async def part(self, path: Path) -> tuple[int, list, bytes]:
        """A part named by a preload hint: answered once the station has written it."""
        deadline = time.monotonic() + PART_WAIT_SECONDS
        while True:
            data = self.watcher.current(path)
            if data is not None:
                return 200, [(b"content-type", b"audio/mp4"), (b"cache-control", PART_CACHE)], data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _error(404, "not_found", "No such part.")
            await self.watcher.changed(path, remaining)


def create_app() -> StreamServer:
    """The app for STATION_OUT (granian --factory)."""
    from radiocalico.config import Config

    return StreamServer(stream_layout.hls_dir(Path(Config.from_env().resolved_station_out)))
