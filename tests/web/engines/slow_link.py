"""A slow link for engines without network emulation (Firefox over BiDi, WebKitGTK over
WebDriver): a TCP proxy in the test process, in front of the dev server, that the engine
is pointed at instead of the server. Every byte crosses it half a round trip late each
way, a new connection waits a round trip (TCP's handshake) before its first byte, and each
connection carries at most `kbit` kbit/s downstream: what Chromium's CDP emulation does,
where the engine's own code cannot tell it from a real link. The page addresses the stream
by path (`/stream/...`), so hls.js's requests take the link too.

`hold` answers some paths later still (a slow origin): {path: extra seconds}, e.g. for a
test that must press before a given file arrives whatever its driver's own latency.

`down()` cuts the link (open connections are reset, new ones closed at once, as a dead
network does to a browser that still believes it is online); `up()` brings it back.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time

CHUNK = 16 * 1024  # the rate is kept per piece of at most this size


class SlowLink:
    def __init__(self, upstream_port: int, *, rtt_ms: float = 400, kbit: float = 2000,
                 hold: dict[str, float] | None = None):
        self.upstream_port = upstream_port
        self.holding(hold or {})
        self.one_way = rtt_ms / 2000  # s
        self.rate = kbit * 1000 / 8  # bytes/s downstream
        self.is_down = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        started.wait(10)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        started.set()
        self._loop.run_forever()

    async def _accept(self, client_reader, client_writer) -> None:
        if self.is_down:
            reset(client_writer)
            return
        await asyncio.sleep(2 * self.one_way)  # the handshake's round trip
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            reset(client_writer)
            return
        self._writers |= {client_writer, server_writer}
        # A browser sends its next request on a connection once the last answer is in: what
        # the server sends after a request is that request's answer.
        held = {"s": 0.0}
        try:
            await asyncio.gather(self._pipe(client_reader, server_writer, None, held),
                                 self._pipe(server_reader, client_writer, self.rate, held))
        finally:
            for writer in (client_writer, server_writer):
                self._writers.discard(writer)
                writer.close()

    async def _pipe(self, reader, writer, rate: float | None, held: dict) -> None:
        """Forward what `reader` receives, each piece `one_way` after it arrived and, with a
        rate (downstream), no sooner than the pieces before it take at that rate, and the
        first piece of a held path's answer `held` later."""
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def send() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        sender = asyncio.ensure_future(send())
        free_at = 0.0  # when the link has sent what is queued
        try:
            while data := await reader.read(CHUNK):
                arrived = loop.time()
                if rate is None:  # upstream: a request
                    words = data.split(b" ", 2)
                    path = words[1] if len(words) > 2 and words[0] in (b"GET", b"HEAD") else b""
                    held["s"] = next((s for p, s in self.hold.items() if path.startswith(p)), 0.0)
                elif held["s"]:
                    arrived += held["s"]
                    held["s"] = 0.0
                if rate:
                    free_at = max(free_at, arrived) + len(data) / rate
                    due = max(arrived + self.one_way, free_at + self.one_way)
                else:
                    due = arrived + self.one_way
                queue.put_nowait((due, data))
        except (ConnectionError, OSError):
            pass
        queue.put_nowait(None)
        try:
            await sender
        except (ConnectionError, OSError):
            pass

    def holding(self, hold: dict[str, float]) -> None:
        self.hold = {path.encode(): seconds for path, seconds in hold.items()}

    def down(self) -> None:
        def cut() -> None:
            self.is_down = True
            for writer in list(self._writers):
                reset(writer)
        self._loop.call_soon_threadsafe(cut)
        time.sleep(0.05)

    def up(self) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "is_down", False)
        time.sleep(0.05)

    def close(self) -> None:
        def stop() -> None:
            self._server.close()
            for writer in list(self._writers):
                reset(writer)
            self._loop.stop()
        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a link that went away does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
