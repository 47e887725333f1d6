"""Load benchmark of the ratings API: wrk against the production app server on PostgreSQL.

    .venv/bin/python bench/api_load/run.py [--duration 15] [--connections 32]

Starts deploy/serve.py (or --server gunicorn / granian to compare) on a fresh PostgreSQL schema with
~1,000 songs, then runs wrk twice with the Lua scripts beside this file: reads (one song's
counts and the caller's own vote) and writes (each request a new vote: anonymous votes
need a listener token cookie, which is the voter, so --connections tokens are fetched
first, counting at once, and wrk's requests pair them with songs without repeating). It prints
requests per second and p50/p99 latency for each, and afterwards checks that every count
is exact: the votes stored equal the 200 answers wrk saw, and the API's counts add up to
the rows. Rate limits are switched off here: this measures the API, not the limiter.
With --url it measures an already running server (e.g. nginx in front) instead.

    .venv/bin/python bench/api_load/run.py --compare production:2x2,production:2x8,gunicorn:5x4:gthread

Several servers (server:WORKERSxTHREADS[:gunicorn worker class]) one after the other in
one run, each on its own fresh schema, then a table of all of them side by side.

    .venv/bin/python bench/api_load/run.py --growth [10,10000,1000000] [--rounds 2]

Growth mode (bench/api_load/growth.py): reads/s and p99 of one song with 10, 10,000 and
1,000,000 votes, then the chart's latency with 100,000 songs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

from radiocalico.api.listener_token import COOKIE as TOKEN_COOKIE  # noqa: E402
from radiocalico.songs import song_id  # noqa: E402

DEFAULT_DB = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_songs(count: int) -> list[dict]:
    return [
        {"artist": f"Artist {n % 97}", "title": f"Song number {n}", "id": song_id(f"Artist {n % 97}", f"Song number {n}")}
        for n in range(count)
    ]


def write_lua_data(songs: list[dict], path: Path) -> None:
    rows = ",\n".join(
        '{id="%s", artist="%s", title="%s"}' % (s["id"], s["artist"], s["title"]) for s in songs
    )
    path.write_text("return {\n" + rows + "\n}\n")


# What a benchmark's app needs so that anonymous votes count at once, from one address.
TOKEN_SETTINGS = {"LISTENER_TOKEN_MIN_AGE": "0", "RATELIMIT_LISTENER_TOKENS": "1000000/hour"}


def listener_tokens(url: str, count: int, session: requests.Session | None = None) -> list[str]:
    """`count` listener token cookies ("name=value"), as `count` browsers get with the page."""
    session = session or requests.Session()
    tokens = []
    for _ in range(count):
        session.cookies.clear()
        session.get(f"{url}/api/listener", timeout=10).raise_for_status()
        tokens.append(f"{TOKEN_COOKIE}={session.cookies[TOKEN_COOKIE]}")
    session.cookies.clear()
    return tokens


def write_lua_tokens(tokens: list[str], path: Path) -> None:
    path.write_text("return {\n" + ",\n".join(f'"{t}"' for t in tokens) + "\n}\n")


def play(database_url: str, songs: list[dict]) -> None:
    """The station played every song (one start each, stored as the play recorder stores
    it): only songs the station played take votes."""
    sys.path.insert(0, str(ROOT))
    from radiocalico.db import Store
    from tests.conftest import station_played

    store = Store(database_url)
    try:
        station_played(store, *((s["id"], s["artist"], s["title"], "") for s in songs))
    finally:
        store.dispose()


def seed(url: str, songs: list[dict], session: requests.Session | None = None,
         database_url: str | None = None) -> None:
    """One vote per song through the API, so every song exists before the runs (played
    first when `database_url` is given)."""
    if database_url:
        play(database_url, songs)
    session = session or requests.Session()
    session.get(f"{url}/api/listener", timeout=10).raise_for_status()
    for n, song in enumerate(songs):
        body = {"value": "up", "artist": song["artist"], "title": song["title"]}
        response = session.put(
            f"{url}/api/ratings/{song['id']}/vote",
            json=body,
            headers={"X-Listener-Fingerprint": "ff" * 16},
        )
        response.raise_for_status()


def start_server(database_url: str, port: int, log: Path, server: str = "production",
                 workers: int | None = None, threads: int | None = None,
                 worker_class: str | None = None):
    """deploy/serve.py (production), or granian's or gunicorn's own CLI to compare."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-secret-" + "0123456789abcdef" * 2,
        "RATELIMIT_ENABLED": "false",
        "STATION_MODE": "external",
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="rc-bench-"),
        **TOKEN_SETTINGS,
    }
    migrate = [str(Path(sys.executable).with_name("radiocalico")), "db", "upgrade"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)
    if server == "production":
        env.update(APP_BIND=f"127.0.0.1:{port}", APP_ACCESS_LOG="false")
        if workers:
            env["WEB_CONCURRENCY"] = str(workers)
        if threads:
            env["APP_THREADS"] = str(threads)
        command = [sys.executable, str(ROOT / "deploy" / "serve.py")]
        return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True), command
    if server == "granian":
        command = [str(Path(sys.executable).with_name("granian")), "--interface", "wsgi",
                   "--factory", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(workers or 2), "--blocking-threads", str(threads or 8),
                   "--no-ws", "radiocalico:create_app"]
        return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True), command
    command = [str(Path(sys.executable).with_name("gunicorn"))]
    command += ["-b", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"]
    if workers:
        command += ["-w", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    if worker_class:
        command += ["-k", worker_class]
    command.append("radiocalico:create_app()")
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    return process, command


def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {url} did not become healthy")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict:
    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * _UNITS[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
        "writes_ok": int(m.group(1)) if (m := re.search(r"WRITES_OK (\d+)", output)) else None,
    }


def run_wrk(url: str, script: str | None, data: Path | None, args,
            tokens: Path | None = None, addresses: int = 0) -> tuple[dict, str]:
    """wrk with `script` (beside this file), given the songs file and the tokens file;
    with `addresses`, requests come from that many client addresses (X-Forwarded-For)."""
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
    ]
    if script:
        command += ["-s", str(HERE / script), url, "--", str(data)]
        command += [str(tokens), str(args.threads)] if tokens else []
        command += [str(addresses)] if addresses else []
    else:
        command += [url]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"wrk failed: {result.stderr or result.stdout}")
    return parse_wrk(result.stdout), " ".join(command)


def count_votes(database_url: str) -> int:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM votes").fetchone()[0]


def api_total(url: str, songs: list[dict]) -> int:
    total = 0
    for start in range(0, len(songs), 20):
        ids = ",".join(s["id"] for s in songs[start:start + 20])
        for rating in requests.get(f"{url}/api/ratings", params={"ids": ids}).json()["ratings"]:
            total += rating["up"] + rating["down"]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--songs", type=int, default=1000)
    parser.add_argument("--server", choices=SERVERS, default="production",
                        help="production: deploy/serve.py (granian); gunicorn or granian: "
                        "their own CLI with --workers, --server-threads, --worker-class")
    parser.add_argument("--workers", type=int, default=None, help="server workers")
    parser.add_argument("--server-threads", type=int, default=None, help="threads per worker")
    parser.add_argument("--worker-class", default=None, help="gunicorn worker class")
    parser.add_argument("--compare", default=None, metavar="SPECS",
                        help="several servers side by side in one run, each a fresh schema: "
                        "comma-separated server:WORKERSxTHREADS[:class], "
                        "e.g. production:2x2,production:2x8,gunicorn:5x4:gthread")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--url", default=None, help="measure this running server instead")
    parser.add_argument("--json", action="store_true", help="print one JSON line too")
    parser.add_argument("--growth", nargs="?", const="10,10000,1000000", default=None,
                        metavar="SIZES", help="growth mode: reads of one song with each number "
                        "of votes (default 10,10000,1000000), then the chart")
    parser.add_argument("--rounds", type=int, default=2, help="growth mode: rounds per size")
    parser.add_argument("--chart-songs", type=int, default=100_000, help="growth mode")
    args = parser.parse_args()
    if args.growth and args.url:
        parser.error("--growth seeds its own database schema: it cannot use --url")
    if args.compare and (args.url or args.growth):
        parser.error("--compare starts its own servers: not with --url or --growth")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    specs = ([parse_spec(text, parser) for text in args.compare.split(",")] if args.compare
             else [(args.server, args.workers, args.server_threads, args.worker_class)])
    results = []
    for spec in specs:
        result = measure(args, *spec)
        if result is None:  # growth mode prints its own figures
            return
        results.append((spec, result))
    if len(results) > 1:
        print(f"\nside by side ({os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} now, {args.connections} connections, "
              f"{args.duration} s each):")
        print("| server | workers x threads | reads/s | p99 | writes/s | p99 | counts |")
        print("|---|---|---:|---:|---:|---:|---|")
        for (server, workers, threads, worker_class), (reads, writes, exact) in results:
            label = server + (f" {worker_class}" if worker_class else "")
            print(f"| {label} | {workers} x {threads} | {reads['rps']:,.0f} | "
                  f"{reads['p99_ms']:.1f} ms | {writes['rps']:,.0f} | {writes['p99_ms']:.1f} ms | "
                  f"{'exact' if exact else 'NOT EXACT'} |")
    if args.json:
        print(json.dumps([{"server": spec, "reads": r, "writes": w, "exact": e}
                          for spec, (r, w, e) in results]))


SERVERS = ("production", "gunicorn", "granian")


def parse_spec(text: str, parser: argparse.ArgumentParser):
    """"production:2x8" or "gunicorn:5x4:gthread" -> (server, workers, threads, class)."""
    parts = text.strip().split(":")
    match = re.fullmatch(r"(\d+)x(\d+)", parts[1]) if len(parts) in (2, 3) else None
    if parts[0] not in SERVERS or match is None:
        parser.error(f"--compare: {text!r} is not server:WORKERSxTHREADS[:class]")
    return parts[0], int(match[1]), int(match[2]), parts[2] if len(parts) == 3 else None


def measure(args, server, workers, threads, worker_class):
    """One server on a fresh schema: reads, writes, and whether every count is exact.
    Prints as it goes; returns (reads, writes, exact), or None in growth mode."""
    songs = make_songs(args.songs)
    workdir = Path(tempfile.mkdtemp(prefix="rc-api-load-"))
    data = workdir / "songs.lua"
    write_lua_data(songs, data)

    process = schema = None
    database_url = args.database_url
    url = args.url
    try:
        if url is None:
            schema = f"rc_bench_{uuid.uuid4().hex[:10]}"
            dsn = args.database_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            separator = "&" if "?" in args.database_url else "?"
            database_url = f"{args.database_url}{separator}options={quote(f'-csearch_path={schema}')}"
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            process, command = start_server(database_url, port, workdir / "server.log", server,
                                            workers, threads, worker_class)
            print(f"server: {' '.join(command)}")
            wait_healthy(url)
        if args.growth:
            import growth

            growth.run(args, url, database_url, workdir, run_wrk, write_lua_data)
            return None
        seed(url, songs, database_url=database_url if schema else None)
        tokens = workdir / "tokens.lua"
        # Every write must be a new (token, song) pair: enough tokens for 5,000 writes/s.
        token_count = max(args.connections, -(-args.duration * 5000 // len(songs)))
        write_lua_tokens(listener_tokens(url, token_count), tokens)
        before = count_votes(database_url) if schema else None
        reads, read_cmd = run_wrk(url, "read.lua", data, args)
        writes, write_cmd = run_wrk(url, "write.lua", data, args, tokens)

        print(f"machine: {os.cpu_count()} cores; {args.connections} connections, {args.duration}s each")
        print(f"reads : {reads['rps']:8.0f} req/s  p50 {reads['p50_ms']:.2f} ms  p99 {reads['p99_ms']:.2f} ms  non-2xx {reads['non_2xx']}  socket errors {reads['socket_errors']}")
        print(f"        {read_cmd}")
        print(f"writes: {writes['rps']:8.0f} req/s  p50 {writes['p50_ms']:.2f} ms  p99 {writes['p99_ms']:.2f} ms  non-2xx {writes['non_2xx']}  socket errors {writes['socket_errors']}")
        print(f"        {write_cmd}")
        exact = None
        if schema:
            time.sleep(2)  # requests wrk abandoned at its deadline still finish on the server
            stored = count_votes(database_url) - before
            counted = api_total(url, songs)
            # wrk stops with up to one request per connection in flight: those are stored
            # but their answers never counted.
            in_flight = stored - writes["writes_ok"]
            exact = 0 <= in_flight <= args.connections and counted == stored + before
            print(f"exact : {'yes' if exact else 'NO'} ({writes['writes_ok']} writes answered 200 "
                  f"+ {in_flight} in flight at wrk's deadline = {stored} new votes stored; "
                  f"API counts add up to {counted} = {stored} + {before} seeded)")
        return reads, writes, exact
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        if schema:
            with psycopg.connect(args.database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
