"""The production path beside the bare app, in one run: reads of one song's rating and
writes (each a new vote), requests/s with p50/p99, counts checked after each.

    .venv/bin/python bench/api_load_nginx/run.py [--duration 15] [--connections 32]
        [--workers 2] [--app-threads 2] [--replicas 1] [--listeners 2000] [--station]

- bare: the app server alone (deploy/serve.py, granian) on PostgreSQL, rate limits off,
  no nginx, anonymous votes counting at once (bench/api_load/run.py's setup);
- production: wrk -> nginx (TLS, HTTP/1.1 keep-alive) -> the same app server ->
  PostgreSQL, with Redis and the shipped limits, nginx's and the app's, unchanged
  (listener tokens 20 an hour per address and counting only once 60 s old, 60 votes a
  minute per listener, 1,000 an hour per address, nginx's 10 votes/s per address).

A load generator on one machine has one address, and the shipped limits are per address.
So the production run comes from `--listeners` client addresses (10.x.y.z), as a site
behind a load balancer sees them: the benchmark's nginx trusts X-Forwarded-For from
loopback (`set_real_ip_from 127.0.0.1`, added to the rendered config by
tests/deploy/topology.py's `nginx_http_extra`, never to deploy/nginx's templates), and the
wrk scripts send each listener's requests from its own address. Each listener's token is
fetched through nginx from its address (as a page does) before the bare run, so it is old
enough to count by the production run. Every limit keeps its shipped value: one address
meets exactly what it meets in production.

The topology is tests/deploy's (tests/deploy/topology.py: the same nginx templates and app
server, on loopback, in a fresh PostgreSQL schema). The wrk Lua scripts are
bench/api_load/{read,write}.lua. After each run the votes stored must equal the 200
answers (plus at most one in flight per connection at wrk's deadline) and
`radiocalico db check-counts` must be clean.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.deploy.topology import BIN, Topology, drop_schema, schema_url  # noqa: E402

LUA_DIR = ROOT / "bench" / "api_load"
DEFAULT_DB = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
DEFAULT_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The benchmark's load balancer: wrk on loopback says which listener each request is from.
REAL_IP_FROM_LOOPBACK = "set_real_ip_from 127.0.0.1/32;\nreal_ip_header X-Forwarded-For;"
TOKEN_MIN_AGE = 60  # LISTENER_TOKEN_MIN_AGE's default


def _direct_bench():
    """bench/api_load/run.py: its songs, Lua data file, wrk runner and checks."""
    spec = importlib.util.spec_from_file_location("api_load_run", LUA_DIR / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def address(n: int) -> str:
    """The n-th listener's client address, as read.lua and write.lua spell it."""
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def fetch_tokens(topology: Topology, count: int) -> list[str]:
    """One listener token per address, fetched through nginx as the player page does."""
    from radiocalico.api.listener_token import COOKIE

    def one(n: int) -> str:
        session = topology.session()
        response = session.get(f"{topology.url}/api/listener",
                               headers={"X-Forwarded-For": address(n)}, timeout=30)
        response.raise_for_status()
        return f"{COOKIE}={session.cookies[COOKIE]}"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def check_counts(database_url: str) -> str:
    result = subprocess.run([str(BIN / "radiocalico"), "db", "check-counts"],
                            env=dict(os.environ, DATABASE_URL=database_url),
                            capture_output=True, text=True)
    said = result.stdout.strip().splitlines()  # the log goes to stderr
    return "clean" if result.returncode == 0 else f"exit {result.returncode}: {said[-1:]}"


def exact(direct, database_url: str, before: int, writes: dict, connections: int) -> str:
    time.sleep(2)  # requests wrk abandoned at its deadline still finish on the server
    stored = direct.count_votes(database_url) - before
    in_flight = stored - writes["writes_ok"]
    ok = 0 <= in_flight <= connections
    return (f"{'exact' if ok else 'NOT EXACT'}: {writes['writes_ok']} answered 200 + "
            f"{in_flight} in flight = {stored} stored")


def measure_bare(direct, args, songs, data: Path, workdir: Path) -> dict:
    database_url, schema = schema_url(args.database_url)
    port = direct.free_port()
    url = f"http://127.0.0.1:{port}"
    process = None
    try:
        process, command = direct.start_server(database_url, port, workdir / "bare.log",
                                               "production", args.workers, args.app_threads)
        direct.wait_healthy(url)
        direct.play(database_url, songs)
        tokens = workdir / "bare-tokens.lua"
        direct.write_lua_tokens(direct.listener_tokens(url, args.listeners), tokens)
        before = direct.count_votes(database_url)
        reads, read_cmd = direct.run_wrk(url, "read.lua", data, args)
        writes, write_cmd = direct.run_wrk(url, "write.lua", data, args, tokens)
        return {"reads": reads, "writes": writes, "commands": [read_cmd, write_cmd],
                "exact": exact(direct, database_url, before, writes, args.connections),
                "check_counts": check_counts(database_url)}
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        drop_schema(args.database_url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--songs", type=int, default=500)
    parser.add_argument("--listeners", type=int, default=2000,
                        help="listeners (a token and a client address each)")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="app server workers per replica")
    parser.add_argument("--app-threads", type=int, default=2, help="APP_THREADS")
    parser.add_argument("--station", action="store_true",
                        help="run the station beside the production path (it takes CPU)")
    parser.add_argument("--skip-bare", action="store_true", help="the production path only")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    direct = _direct_bench()
    songs = direct.make_songs(args.songs)
    workdir = Path(tempfile.mkdtemp(prefix="rc-api-load-nginx-"))
    data = workdir / "songs.lua"
    direct.write_lua_data(songs, data)
    load_before = os.getloadavg()[0]

    database_url, schema = schema_url(args.database_url)
    topology = Topology(
        workdir / "topology", database_url, args.redis_url,
        replicas=args.replicas, workers=args.workers, station=args.station,
        app_env={"APP_ACCESS_LOG": "false", "APP_THREADS": str(args.app_threads)},
        nginx_http_extra=REAL_IP_FROM_LOOPBACK,
    )
    results = {}
    try:
        topology.start()
        direct.play(database_url, songs)
        tokens = workdir / "tokens.lua"
        direct.write_lua_tokens(fetch_tokens(topology, args.listeners), tokens)
        minted = time.monotonic()
        if not args.skip_bare:
            results["bare"] = measure_bare(direct, args, songs, data, workdir)
        wait = TOKEN_MIN_AGE + 1 - (time.monotonic() - minted)
        if wait > 0:
            print(f"(waiting {wait:.0f} s for the listener tokens to count)", flush=True)
            time.sleep(wait)
        before = direct.count_votes(database_url)
        reads, read_cmd = direct.run_wrk(topology.url, "read.lua", data, args,
                                         addresses=args.listeners)
        writes, write_cmd = direct.run_wrk(topology.url, "write.lua", data, args, tokens,
                                           addresses=args.listeners)
        results["production"] = {
            "reads": reads, "writes": writes, "commands": [read_cmd, write_cmd],
            "exact": exact(direct, database_url, before, writes, args.connections),
            "check_counts": check_counts(database_url)}
    finally:
        topology.stop()
        drop_schema(args.database_url, schema)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nmachine: {os.cpu_count()} cores, shared (load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after); app server {args.replicas} x {args.workers} workers "
          f"x {args.app_threads} threads; station {'on' if args.station else 'off'}; wrk "
          f"{args.threads} threads, {args.connections} connections, {args.duration} s a run")
    print("| path | reads/s | p50 | p99 | writes/s | p50 | p99 | non-2xx r/w | counts | check-counts |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    names = {"bare": "bare app (granian, limits off)",
             "production": "nginx HTTPS -> granian, Redis limits on"}
    for key, result in results.items():
        r, w = result["reads"], result["writes"]
        print(f"| {names[key]} | {r['rps']:,.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
              f"{w['rps']:,.0f} | {w['p50_ms']:.1f} ms | {w['p99_ms']:.1f} ms | "
              f"{r['non_2xx']}/{w['non_2xx']} | {result['exact']} | {result['check_counts']} |")
    if "bare" in results:
        bare, prod = results["bare"], results["production"]
        print(f"production / bare: reads {prod['reads']['rps'] / bare['reads']['rps']:.0%}, "
              f"writes {prod['writes']['rps'] / bare['writes']['rps']:.0%}")
    for key, result in results.items():
        for command in result["commands"]:
            print(f"  {key}: $ {command}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
