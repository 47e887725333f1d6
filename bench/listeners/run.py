"""How many HLS listeners does one node serve? Simulated listeners through the production nginx.

    .venv/bin/python bench/listeners/run.py [--rendition flac] [--steps 250,500,1000,2000]
        [--seconds 30] [--processes 2] [--blocking]

Starts the station and nginx natively with the rendered production templates (the same
way tests/deploy/topology.py does; no app replica is needed for the stream), then, for
each N in --steps, runs N listeners over HTTPS on loopback for --seconds. A listener does
what hls.js does on a live stream: fetches the rendition's media playlist
(`live_<rendition>.m3u8`) every target duration, the init file once, and every new
segment once, starting three segments behind the live edge. A segment that arrives after
its playout deadline (when the listener's buffer would have run dry) is a stall; the
listener then waits, as a player rebuffers. Per step it prints requests/s, bytes/s, the
CPU used (whole machine, nginx, the load generator) and stalls, and at the end the
largest N with zero stalls. Listeners run in --processes asyncio processes (aiohttp),
bounded in count and time, on uvloop; each step also reports how late the clients'
own event loop ran, so that a stall caused by the load generator running out of CPU on
this shared machine is told apart from one caused by the server.

--blocking: the listeners are low-latency players (hls.js in lowLatencyMode): each holds a
blocking playlist reload for the next part (`_HLS_msn`/`_HLS_part`), which nginx passes to
the stream server (radiocalico.stream_server, one asyncio process) with one request per
distinct query upstream, then fetches the new part(s). A listener starts with the last
three parts (PART-HOLD-BACK) buffered; a part that arrives after that buffer ran dry is a
stall. Each step also reports how many reloads went upstream (X-Cache-Status MISS) and the
stream server's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import resource
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import uvloop

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from radiocalico import stream_layout  # noqa: E402
from tests.deploy.topology import Topology  # noqa: E402

# A client loop later than this can make a segment miss its deadline on its own.
CLIENT_LAG_LIMIT = 0.5
LIVE_EDGE_SEGMENTS = 3  # hls.js starts this many target durations behind the edge
_EXTINF = re.compile(r"#EXTINF:([\d.]+)")
_MAP = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')
_TARGET = re.compile(r"#EXT-X-TARGETDURATION:(\d+)")
_PART = re.compile(r'#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)"')
HOLD_BACK_PARTS = 3  # PART-HOLD-BACK is three part targets


def parse_parts(text: str) -> tuple[str | None, list[tuple[int, int, str, float]]]:
    """The init URI and every listed part: (msn, index, uri, duration)."""
    from radiocalico.stream_server import blocking

    at = blocking.position(text)
    init = _MAP.search(text)
    parts, msn, index = [], None, 0
    first = at.last_msn - text.count("#EXTINF:") + 1
    segment = first
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            m = _PART.match(line)
            if msn != segment:
                msn, index = segment, 0
            parts.append((segment, index, m.group(2), float(m.group(1))))
            index += 1
        elif line.startswith("#EXTINF:"):
            segment += 1
    return init.group(1) if init else None, parts


def parse_playlist(text: str) -> tuple[float, str | None, list[tuple[str, float]]]:
    target = float(_TARGET.search(text).group(1)) if _TARGET.search(text) else 2.0
    init = _MAP.search(text)
    segments, duration = [], target
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(_EXTINF.match(line).group(1))
        elif line and not line.startswith("#"):
            segments.append((line, duration))
    return target, init.group(1) if init else None, segments


class Stats:
    def __init__(self):
        self.requests = self.bytes = self.stalls = self.errors = self.segments = 0
        self.upstream = 0  # blocking reloads nginx passed to the stream server (cache MISS)
        self.lag = 0.0  # the longest the client's event loop ran late (seconds)


async def watch_lag(stats: Stats, until: float, tick: float = 0.1) -> None:
    """How late the client's own loop wakes up: when it is late by as much as a segment
    fetch may take, a "stall" is the load generator's, not the server's."""
    while time.monotonic() < until:
        asked = time.monotonic() + tick
        await asyncio.sleep(tick)
        stats.lag = max(stats.lag, time.monotonic() - asked)


async def listener(session, base: str, playlist_url: str, stats: Stats, until: float) -> None:
    async def get(url: str) -> bytes:
        async with session.get(url) as response:
            body = await response.read()
            stats.requests += 1
            stats.bytes += len(body)
            if response.status != 200:
                stats.errors += 1
            return body

    fetched: set[str] = set()
    play_start = None  # monotonic time at which media time 0 plays
    media_time = 0.0  # media seconds fetched so far
    next_reload = time.monotonic()
    while time.monotonic() < until:
        try:
            target, init, segments = parse_playlist((await get(playlist_url)).decode())
            if play_start is None:
                if init:
                    await get(base + init)
                segments = segments[-LIVE_EDGE_SEGMENTS:]
            for name, duration in segments:
                if name in fetched:
                    continue
                await get(base + name)
                fetched.add(name)
                stats.segments += 1
                now = time.monotonic()
                if play_start is None:
                    play_start = now
                elif now > play_start + media_time:  # the buffer ran dry before it came
                    stats.stalls += 1
                    play_start = now - media_time  # rebuffer: playback resumes now
                media_time += duration
        except (aiohttp.ClientError, asyncio.TimeoutError):
            stats.errors += 1
            target = 2.0
        # Reload on a fixed cadence (every target duration from the last reload's start),
        # as players do; a late round does not push the next one back.
        next_reload = max(next_reload + target, time.monotonic() - target)
        await asyncio.sleep(max(0.0, next_reload - time.monotonic()))


async def ll_listener(session, base: str, playlist_url: str, stats: Stats, until: float) -> None:
    """A low-latency player: blocking reloads for the next part, then the part."""
    async def get(url: str) -> tuple[bytes, str | None]:
        async with session.get(url) as response:
            body = await response.read()
            stats.requests += 1
            stats.bytes += len(body)
            if response.status != 200:
                stats.errors += 1
                raise aiohttp.ClientError(f"{response.status} for {url}")
            return body, response.headers.get("X-Cache-Status")

    fetched: set[str] = set()
    play_start = None
    media_time = 0.0
    want = None  # (msn, part) of the next part
    while time.monotonic() < until:
        try:
            url = playlist_url if want is None else f"{playlist_url}?_HLS_msn={want[0]}&_HLS_part={want[1]}"
            body, cache = await get(url)
            if cache == "MISS":
                stats.upstream += 1
            init, parts = parse_parts(body.decode())
            todo = parts
            if play_start is None:
                if init:
                    await get(base + init)
                fetched.update(uri for _m, _i, uri, _d in parts[:-HOLD_BACK_PARTS])  # joins at the hold-back
                todo = parts[-HOLD_BACK_PARTS:]
            for msn, index, uri, duration in todo:
                if uri in fetched:
                    continue
                await get(base + uri)
                fetched.add(uri)
                stats.segments += 1
                now = time.monotonic()
                if play_start is not None and now > play_start + media_time:
                    stats.stalls += 1
                    play_start = now - media_time
                media_time += duration
            if play_start is None:
                play_start = time.monotonic()
            last_msn, last_index = parts[-1][0], parts[-1][1]
            want = (last_msn, last_index + 1)  # past a segment's last part: the next one's first
        except (aiohttp.ClientError, asyncio.TimeoutError):
            stats.errors += 1
            want = None
            await asyncio.sleep(0.5)


async def run_listeners(base: str, playlist: str, count: int, seconds: float, cafile: str,
                        ramp: float, blocking: bool = False):
    context = ssl.create_default_context(cafile=cafile)
    connector = aiohttp.TCPConnector(ssl=context, limit=0)
    timeout = aiohttp.ClientTimeout(total=10)
    stats = Stats()
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def staggered(n):  # arrivals spread over the ramp, not all at once
            await asyncio.sleep(ramp * n / max(count, 1))
            await (ll_listener if blocking else listener)(session, base, base + playlist, stats, until)

        await asyncio.gather(watch_lag(stats, until), *(staggered(n) for n in range(count)))
    return stats


def _worker(args) -> dict:
    base, playlist, count, seconds, cafile, ramp, blocking = args
    started = resource.getrusage(resource.RUSAGE_SELF)
    # uvloop: the clients' own CPU is what limits a run on one machine.
    stats = uvloop.run(run_listeners(base, playlist, count, seconds, cafile, ramp, blocking))
    used = resource.getrusage(resource.RUSAGE_SELF)
    return {**vars(stats), "cpu": used.ru_utime + used.ru_stime - started.ru_utime - started.ru_stime}


def _machine_busy() -> tuple[float, float]:
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (nginx master + workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parts = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(parts[1]) == pid:
            total += (int(parts[11]) + int(parts[12])) / tick
    return total


def measure(topology: Topology, playlist: str, count: int, args) -> dict:
    base = f"{topology.url}/stream/{stream_layout.HLS_DIR}/"
    shares = [count // args.processes + (1 if n < count % args.processes else 0)
              for n in range(args.processes)]
    nginx_pid = topology.nginx_proc.popen.pid
    busy0, total0 = _machine_busy()
    nginx0 = _tree_cpu(nginx_pid)
    stream_pid = topology.stream_server_proc.popen.pid if topology.stream_server_proc else None
    stream0 = _tree_cpu(stream_pid) if stream_pid else 0.0
    started = time.monotonic()
    with multiprocessing.Pool(args.processes) as pool:
        results = pool.map(_worker, [(base, playlist, share, args.seconds, str(topology.cert),
                                      args.ramp, args.blocking) for share in shares if share])
    elapsed = time.monotonic() - started
    busy1, total1 = _machine_busy()
    merged = {key: sum(r[key] for r in results) for key in results[0]}
    merged["lag"] = max(r["lag"] for r in results)
    merged.update(
        elapsed=elapsed,
        machine_cpu=(busy1 - busy0) / (total1 - total0) * os.cpu_count(),
        nginx_cpu=(_tree_cpu(nginx_pid) - nginx0) / elapsed,
        stream_cpu=((_tree_cpu(stream_pid) - stream0) / elapsed) if stream_pid else 0.0,
        client_cpu=merged["cpu"] / elapsed,
    )
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rendition", default="flac",
                        help="media playlist live_<RENDITION>.m3u8 (flac; high, saver)")
    parser.add_argument("--steps", default="250,500,1000,2000")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--ramp", type=float, default=2.0,
                        help="seconds over which a step's listeners arrive [one segment]")
    parser.add_argument("--max-listeners", type=int, default=20000, help="a safety bound")
    parser.add_argument("--blocking", action="store_true",
                        help="low-latency listeners holding blocking playlist reloads")
    args = parser.parse_args()
    steps = [min(int(n), args.max_listeners) for n in args.steps.split(",")]
    playlist = stream_layout.media_playlist_name(args.rendition)

    root = Path(tempfile.mkdtemp(prefix="rc-listeners-"))
    topology = Topology(root, database_url="", replicas=0,
                        nginx_values={"NGINX_APP_SERVERS": "server 127.0.0.1:9;"})
    try:
        topology.start()
        if not (stream_layout.hls_dir(topology.stream_out) / playlist).exists():
            raise SystemExit(f"the station publishes no {playlist}")
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; rendition "
              f"{playlist}; {args.seconds:.0f} s per step; {args.processes} client processes; "
              + ("low-latency listeners (blocking reloads, parts)" if args.blocking else "plain listeners"))
        best = 0
        for count in steps:
            r = measure(topology, playlist, count, args)
            print(f"{count:>6} listeners: {r['requests'] / r['elapsed']:7.0f} req/s  "
                  f"{r['bytes'] / r['elapsed'] / 1e6:7.1f} MB/s  stalls {r['stalls']}  "
                  f"errors {r['errors']}  segments {r['segments']}  CPU: machine "
                  f"{r['machine_cpu']:.2f} cores, nginx {r['nginx_cpu']:.2f}, clients "
                  f"{r['client_cpu']:.2f}; client loop late by up to {r['lag']:.2f} s"
                  + (f"; reloads upstream {r['upstream']} ({r['upstream'] / r['elapsed']:.1f}/s), "
                     f"stream server {r['stream_cpu']:.2f} cores" if args.blocking else ""))
            if r["lag"] > CLIENT_LAG_LIMIT:
                print(f"        the clients ran {r['lag']:.1f} s late: from here the load "
                      "generator, sharing the machine, is what runs out; nginx served "
                      f"{count / max(r['nginx_cpu'], 0.01):,.0f} listeners per core of its own CPU")
            if r["stalls"] or r["errors"]:
                break
            best = count
        print(f"largest N with zero stalls: {best}")
    finally:
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
