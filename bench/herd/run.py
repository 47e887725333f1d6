"""The track-change herd: every listener's page asks for the new song's counts at once.

    .venv/bin/python bench/herd/run.py [--listeners 10000] [--addresses 200] [--spread 2]
        [--voters 0.05] [--vote-seconds 30]

Starts the topology tests/deploy uses (nginx templates + deploy/serve.py, 2 workers x 2
threads, PostgreSQL, Redis; the production limits of the code under test) on loopback.
`--listeners` simulated pages, behind `--addresses` loopback source addresses
(127.0.0.2, ...: as many listeners behind each as a household or an office NAT), hear the
same track change within `--spread` seconds (the station's clock and the players'
latencies spread them uniformly), and each page then asks for the counts of the six songs
on show. Two ways side by side, in one run:

- personal: what the page asked before, `GET /api/ratings?ids=...` with its fingerprint
  (counts and its own vote: private, so every request reaches the app);
- shared: what the page asks now, `GET /api/ratings/counts?ids=...` (the same for
  everyone: nginx's cache answers; the page knows its own votes already).

The two reads are sent by h2load (nghttp2-client, C), as a browser sends them to this
nginx: HTTP/2 over TLS on `--connections` connections, each carrying its pages' requests at
an even rate over the spread (`--rps`), several at once where answers are slow (`-m`). The
clear time runs from the first request sent (a connection's TLS handshake comes before its
first request; a page's connection is open already: it polls the metadata). The Python
generator this bench used before (`--generator aiohttp`, HTTP/1.1, each listener's own
fingerprint and address) spent 3-6 CPU-seconds on 10,000 requests, nine tenths of what the
machine spent: the figures were its own. h2load sends one fingerprint and one address for
every request; neither changes what a read costs (reads are not rate-limited).

Then `--voters` of the listeners vote on the new song over `--vote-seconds` seconds, most
in the first seconds (an exponential curve, mean a fifth of the window), with listener
tokens old enough to count.

Prints, per phase: requests, errors, p50/p99 latency, how long the herd took to clear
(from the track change to the last answer), and the requests that reached the app (from
nginx's access log: an answer from the cache names no upstream) as a share of the
listeners' requests; then that every acknowledged vote was counted exactly once, and
`radiocalico db check-counts`. The load generator shares the machine's cores with nginx,
the app and PostgreSQL: it prints how late its own event loop ran, and the CPU seconds
the generator, nginx and the app each spent in each phase (the generator's share of them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import uvloop

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from radiocalico.api.listener_token import COOKIE as TOKEN_COOKIE  # noqa: E402
from radiocalico.api.listener_token import new_token  # noqa: E402
from radiocalico.songs import song_id  # noqa: E402
from tests.deploy.topology import BIN, Topology, drop_schema, schema_url  # noqa: E402

DEFAULT_DB = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
DEFAULT_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MIN_TOKEN_AGE = 60  # LISTENER_TOKEN_MIN_AGE's default: votes wait for their tokens


class Listener:
    def __init__(self, address: str, secret_key: str):
        self.address = address
        self.fingerprint = uuid.uuid4().hex * 2
        _, self.token = new_token(secret_key)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _upstream_hits(log: Path, since: int, path: str) -> tuple[int, int]:
    """(requests, of them to the app) for `path` in nginx's access log after byte `since`."""
    total = upstream = 0
    with log.open("rb") as lines:
        lines.seek(since)
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry["uri"].split("?")[0] != path:
                continue
            total += 1
            upstream += bool(entry["upstream"])
    return total, upstream


def _tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of process `root` and its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        processes[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, (parent, _) in processes.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    return sum(processes[pid][1] for pid in tree if pid in processes) / tick


def cpu_meter(topo: Topology):
    """CPU seconds so far of the load generator (this process), nginx and the app."""
    def read() -> dict:
        own = os.times()  # this process and its finished children (h2load)
        return {"generator": own.user + own.system + own.children_user + own.children_system,
                "nginx": _tree_cpu(topo.nginx_proc.popen.pid),
                "app": sum(_tree_cpu(app.popen.pid) for app in topo.apps if app)}
    return read


def _cpu_spent(before: dict, after: dict) -> dict:
    """CPU seconds each part spent between two cpu_meter readings, and the generator's share."""
    spent = {part: round(after[part] - before[part], 2) for part in after}
    spent["generator_share"] = f"{100 * spent['generator'] / max(sum(spent.values()), 1e-9):.0f} %"
    return spent


async def _lag_probe(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        await asyncio.sleep(0.05)
        lags.append(time.monotonic() - started - 0.05)


async def phase(sessions, listeners, name: str, request, spread: float, curve=None,
                cpu=None) -> dict:
    """Each listener sends `request(session, listener)` once, at its moment after now.
    With `cpu` (cpu_meter), the CPU seconds each part spent during the phase too."""
    cpu_before = cpu() if cpu else None
    times: list[float] = []
    statuses: dict[int, int] = {}
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(_lag_probe(stop, lags))
    start = time.monotonic()
    last = [start]

    async def one(listener) -> None:
        delay = curve() if curve else random.uniform(0, spread)
        await asyncio.sleep(delay)
        sent = time.monotonic()
        try:
            status = await request(sessions[listener.address], listener)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            status = 0
        done = time.monotonic()
        times.append(done - sent)
        statuses[status] = statuses.get(status, 0) + 1
        last[0] = max(last[0], done)

    await asyncio.gather(*(one(listener) for listener in listeners))
    stop.set()
    await probe
    spent = _cpu_spent(cpu_before, cpu()) if cpu else {}
    return {"phase": name, "requests": len(times), "statuses": statuses,
            "p50_ms": round(1000 * statistics.median(times), 1),
            "p99_ms": round(1000 * _percentile(times, 0.99), 1),
            "clear_s": round(last[0] - start, 2),
            "client_lag_max_ms": round(1000 * max(lags or [0]), 1), "cpu_s": spent}


async def h2load_phase(topo: Topology, name: str, target: str, args, headers: dict[str, str],
                       cpu) -> dict:
    """`--listeners` requests of `target` spread evenly over `--spread` seconds, from
    `--connections` HTTP/2 connections (h2load)."""
    per_connection = args.listeners / args.connections
    with tempfile.NamedTemporaryFile("r", suffix=".tsv") as log:
        command = ["h2load", "-n", str(args.listeners), "-c", str(args.connections), "-t", "1",
                   "-m", "16", "--rps", f"{per_connection / args.spread:.3f}",
                   "--log-file", log.name]
        for header, value in headers.items():
            command += ["-H", f"{header}: {value}"]
        command.append(f"{topo.url}{target}")
        cpu_before = cpu()
        ran = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
        output = (await ran.communicate())[0].decode()
        after = cpu()
        # Each line: start (us since the epoch), status (-1: no answer), us to the answer.
        rows = [tuple(int(field) for field in line.split("\t")[:3]) for line in log]
    if ran.returncode != 0 or not rows:
        raise SystemExit(f"h2load failed: {' '.join(command)}\n{output}")
    statuses = Counter(max(status, 0) for _, status, _ in rows)
    if len(rows) < args.listeners:
        statuses[0] += args.listeners - len(rows)  # never answered
    times = [took / 1e6 for _, _, took in rows]
    first = min(start for start, _, _ in rows)
    return {"phase": name, "requests": len(rows), "statuses": dict(statuses),
            "p50_ms": round(1000 * statistics.median(times), 1),
            "p99_ms": round(1000 * _percentile(times, 0.99), 1),
            "sent_over_s": round((max(start for start, _, _ in rows) - first) / 1e6, 2),
            "clear_s": round((max(start + took for start, _, took in rows) - first) / 1e6, 2),
            "cpu_s": _cpu_spent(cpu_before, after)}


async def run(topo: Topology, args) -> None:
    # A connection torn down mid-answer (a client timeout) is already counted as an error:
    # uvloop's log of it, once per connection, would bury the figures.
    torn = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: torn.append(context))
    rng = random.Random(1)
    addresses = [f"127.0.0.{2 + n % 250}" if n < 250 else f"127.0.{1 + n // 250}.{2 + n % 250}"
                 for n in range(args.addresses)]
    listeners = [Listener(addresses[n % len(addresses)], topo.secret_key) for n in range(args.listeners)]
    minted = time.monotonic()
    context = ssl.create_default_context(cafile=str(topo.cert))
    sessions = {
        address: aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, local_addr=(address, 0),
                                           limit=args.connections_per_address),
            timeout=aiohttp.ClientTimeout(total=30))
        for address in addresses
    }
    shown = [("Herd", f"Song {n} {uuid.uuid4().hex[:6]}") for n in range(6)]  # now + 5 before
    for artist, title in shown:  # the station played them: only played songs take votes
        topo.play(artist, title)
    ids = ",".join(song_id(artist, title) for artist, title in shown)
    meter = cpu_meter(topo)
    log = topo.root / "nginx-access.log"
    try:
        # Open each address's connections first: a page's connection is already open.
        await asyncio.gather(*(
            s.get(f"{topo.url}/api/ratings/counts?ids={song_id('warm', 'up')}")
            for s in sessions.values() for _ in range(args.connections_per_address)))

        async def personal(session, listener):
            async with session.get(f"{topo.url}/api/ratings?ids={ids}",
                                   headers={"X-Listener-Fingerprint": listener.fingerprint}) as r:
                await r.read()
                return r.status

        async def shared(session, listener):
            async with session.get(f"{topo.url}/api/ratings/counts?ids={ids}") as r:
                await r.read()
                return r.status

        for name, request, path in (("personal (the page before)", personal, "/api/ratings"),
                                    ("shared (the page now)", shared, "/api/ratings/counts")):
            since = log.stat().st_size
            if args.generator == "h2load":
                headers = {"X-Listener-Fingerprint": listeners[0].fingerprint} if request is personal else {}
                result = await h2load_phase(topo, name, f"{path}?ids={ids}", args, headers, meter)
            else:
                result = await phase(sessions, listeners, name, request, args.spread, cpu=meter)
            await asyncio.sleep(0.5)  # nginx writes its log lines as it answers
            total, upstream = _upstream_hits(log, since, path)
            result["to_app"] = upstream
            result["to_app_share"] = f"{100 * upstream / max(1, total):.1f} %"
            print(json.dumps(result), flush=True)
            await asyncio.sleep(2)

        wait = MIN_TOKEN_AGE + 1 - (time.monotonic() - minted)
        if wait > 0:
            print(f"(waiting {wait:.0f} s for the listener tokens to count)", flush=True)
            await asyncio.sleep(wait)
        artist, title = shown[0]
        voters = rng.sample(listeners, int(len(listeners) * args.voters))
        acknowledged = 0

        async def vote(session, listener):
            nonlocal acknowledged
            async with session.put(
                    f"{topo.url}/api/ratings/{song_id(artist, title)}/vote",
                    json={"value": "up", "artist": artist, "title": title, "album": ""},
                    headers={"X-Listener-Fingerprint": listener.fingerprint},
                    cookies={TOKEN_COOKIE: listener.token}) as r:
                await r.read()
                acknowledged += r.status == 200
                return r.status

        mean = args.vote_seconds / 5
        since = log.stat().st_size
        result = await phase(sessions, voters, "votes", vote, args.vote_seconds,
                             curve=lambda: min(args.vote_seconds, rng.expovariate(1 / mean)),
                             cpu=meter)
        print(json.dumps(result), flush=True)
        # The uncached answer (the personal one), not the shared one a second old.
        async with sessions[addresses[0]].get(f"{topo.url}/api/ratings/{song_id(artist, title)}") as r:
            counted = (await r.json())["up"]
        print(f"votes acknowledged {acknowledged}, counted {counted}: "
              f"{'exact' if counted == acknowledged else 'DIFFERENT'}; "
              f"connections torn down mid-answer: {len(torn)}", flush=True)
    finally:
        await asyncio.gather(*(s.close() for s in sessions.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=10000)
    parser.add_argument("--addresses", type=int, default=200)
    parser.add_argument("--connections-per-address", type=int, default=4,
                        help="the votes' (and --generator aiohttp's) connections")
    parser.add_argument("--generator", choices=("h2load", "aiohttp"), default="h2load",
                        help="what sends the two reads (the votes are always aiohttp's)")
    parser.add_argument("--connections", type=int, default=200,
                        help="h2load's HTTP/2 connections for the reads")
    parser.add_argument("--spread", type=float, default=2.0)
    parser.add_argument("--voters", type=float, default=0.05)
    parser.add_argument("--vote-seconds", type=float, default=30)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    if args.generator == "h2load" and shutil.which("h2load") is None:
        raise SystemExit("h2load is not installed (apt-get install nghttp2-client, or make system-deps)")
    url, schema = schema_url(args.database_url)
    with tempfile.TemporaryDirectory(prefix="radiocalico-herd-") as root:
        topo = Topology(Path(root), url, args.redis_url, replicas=1, workers=2, station=False,
                        app_env={"APP_THREADS": "2"})
        try:
            topo.start()
            uvloop.run(run(topo, args))
            check = subprocess.run([str(BIN / "radiocalico"), "db", "check-counts"],
                                   env=dict(os.environ, DATABASE_URL=url), capture_output=True, text=True)
            print(f"check-counts: exit {check.returncode} {check.stdout.strip()[-200:]}", flush=True)
            print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            topo.stop()
            drop_schema(args.database_url, schema)


if __name__ == "__main__":
    main()
