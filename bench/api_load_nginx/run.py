"""The production path beside the bare app, in one run: reads of one song's rating and
writes (each a new vote), requests/s with p50/p99, counts checked after each.

    .venv/bin/python bench/api_load_nginx/run.py [--duration 10] [--rounds 3]
        [--connections 32] [--workers 2] [--app-threads 2] [--replicas 1]
        [--listeners 2000] [--station] [--paths bare,app,production]

- bare: the app server alone (deploy/serve.py, granian) on PostgreSQL, rate limits off,
  no nginx, anonymous votes counting at once (bench/api_load/run.py's setup);
- production: wrk -> nginx (TLS, HTTP/1.1 keep-alive) -> the same app server ->
  PostgreSQL, with Redis and the shipped limits, nginx's and the app's, unchanged
  (listener tokens 20 an hour per address and counting only once 60 s old, 60 votes a
  minute per listener, 1,000 an hour per address, nginx's 10 votes/s per address);
- app (with `--paths`): the production app server straight, its limits on, no nginx: what
  the edge (TLS, proxying) adds, apart from what the app's production settings add.

Where a request's CPU goes: each run also reads the CPU time of the app server, nginx,
PostgreSQL, Redis and wrk (/proc, and this script's children) and prints it per request.

A load generator on one machine has one address, and the shipped limits are per address.
So the production run comes from `--listeners` client addresses (10.x.y.z), as a site
behind a load balancer sees them: the benchmark's nginx trusts X-Forwarded-For from
loopback (`set_real_ip_from 127.0.0.1`, added to the rendered config by
tests/deploy/topology.py's `nginx_http_extra`, never to deploy/nginx's templates), and the
wrk scripts send each listener's requests from its own address. Each listener's token is
fetched through nginx from its address (as a page does), then waits until it is old
enough to count. Both paths run side by side, in rounds (bare reads, production reads,
bare writes, production writes), so that on a shared machine both meet the same
neighbours; medians are printed, and each round's ratio. Every limit keeps its shipped value: one address
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
import resource
import shutil
import signal
import statistics
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


def exact(direct, database_url: str, before: int, answered: int, in_flight_max: int) -> str:
    time.sleep(2)  # requests wrk abandoned at its deadline still finish on the server
    stored = direct.count_votes(database_url) - before
    in_flight = stored - answered
    ok = 0 <= in_flight <= in_flight_max
    return (f"{'exact' if ok else 'NOT EXACT'}: {answered} answered 200 + "
            f"{in_flight} in flight = {stored} stored")


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(sessions: dict[str, int]) -> dict[str, float]:
    """CPU time so far of the processes of each role: the app servers and nginx by their
    session (each was started in its own), PostgreSQL and Redis by name, and this
    script's finished children (wrk)."""
    used = dict.fromkeys([*sessions, "postgres", "redis"], 0.0)
    role_of = {sid: role for role, sid in sessions.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        role = role_of.get(int(fields[3]))  # the session id
        role = role or ("postgres" if comm == "postgres" else "redis" if comm.startswith("redis") else None)
        if role:
            used[role] += ticks / TICK
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["wrk"] = children.ru_utime + children.ru_stime
    return used


def rotated(songs: list[dict], shift: int, path: Path, direct) -> Path:
    """The songs file with the list turned by `shift`: write.lua pairs every token with
    the first songs first, so each round's votes are new (token, song) pairs."""
    shift %= len(songs)
    direct.write_lua_data(songs[shift:] + songs[:shift], path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of bare read, production read, bare write, production "
                        "write: on a shared machine the paths meet the same neighbours")
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
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--paths", default="bare,production",
                        help="comma-separated, of: bare; app (the production app server with "
                        "its limits, straight, no nginx: what the edge adds, apart); production")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    direct = _direct_bench()
    songs = direct.make_songs(args.songs)
    workdir = Path(tempfile.mkdtemp(prefix="rc-api-load-nginx-"))
    loads = [os.getloadavg()[0]]

    database_url, schema = schema_url(args.database_url)
    bare_url, bare_schema = schema_url(args.database_url)
    topology = Topology(
        workdir / "topology", database_url, args.redis_url,
        replicas=args.replicas, workers=args.workers, station=args.station,
        app_env={"APP_ACCESS_LOG": "false", "APP_THREADS": str(args.app_threads)},
        nginx_http_extra=REAL_IP_FROM_LOOPBACK,
    )
    bare_port = direct.free_port()
    bare = None
    paths = {}
    try:
        topology.start()
        direct.play(database_url, songs)
        tokens = workdir / "tokens.lua"
        direct.write_lua_tokens(fetch_tokens(topology, args.listeners), tokens)
        minted = time.monotonic()
        bare, _ = direct.start_server(bare_url, bare_port, workdir / "bare.log", "production",
                                      args.workers, args.app_threads)
        direct.wait_healthy(f"http://127.0.0.1:{bare_port}")
        direct.play(bare_url, songs)
        bare_tokens = workdir / "bare-tokens.lua"
        direct.write_lua_tokens(
            direct.listener_tokens(f"http://127.0.0.1:{bare_port}", args.listeners), bare_tokens)
        every = {
            "bare": {"url": f"http://127.0.0.1:{bare_port}", "db": bare_url,
                     "tokens": bare_tokens, "addresses": 0, "shift": 0},
            # The production app trusts X-Forwarded-For from loopback (its proxy's address):
            # each listener votes from its own address, as through nginx.
            "app": {"url": topology.app_url(0), "db": database_url, "tokens": tokens,
                    "addresses": args.listeners, "shift": 32},
            "production": {"url": topology.url, "db": database_url, "tokens": tokens,
                           "addresses": args.listeners, "shift": 0},
        }
        paths = {name: every[name] for name in every if name in args.paths.split(",")}
        for name, path in paths.items():
            path["server"] = "bare" if name == "bare" else "app"
        sessions = {"bare": bare.pid, "app": topology.apps[0].popen.pid,
                    "nginx": topology.nginx_proc.popen.pid}
        for path in paths.values():
            path.update(reads=[], writes=[], commands=[])
        before = {db: direct.count_votes(db) for db in {p["db"] for p in paths.values()}}
        wait = TOKEN_MIN_AGE + 1 - (time.monotonic() - minted)
        if wait > 0:
            print(f"(waiting {wait:.0f} s for the listener tokens to count)", flush=True)
            time.sleep(wait)
        for round_ in range(args.rounds):
            for kind in ("reads", "writes"):
                for name, path in paths.items():
                    # Paths on one database vote on songs of their own: every vote is new.
                    data = rotated(songs, 64 * round_ + path["shift"],
                                   workdir / f"songs-{round_}-{name}.lua", direct)
                    was = cpu_seconds(sessions)
                    if kind == "reads":
                        result, command = direct.run_wrk(path["url"], "read.lua", data, args,
                                                         addresses=path["addresses"])
                    else:
                        result, command = direct.run_wrk(path["url"], "write.lua", data, args,
                                                         path["tokens"], path["addresses"])
                    now = cpu_seconds(sessions)
                    # CPU per request by role: what each part of the path costs.
                    result["cpu_us"] = {role: (now[role] - was[role]) / max(1, result["requests"]) * 1e6
                                        for role in now
                                        if role not in ("bare", "app") or role == path["server"]}
                    path[kind].append(result)
                    path["commands"].append(command)
            loads.append(os.getloadavg()[0])
            print(f"round {round_ + 1}: " + ", ".join(
                f"{name} {p['reads'][-1]['rps']:,.0f} reads/s {p['writes'][-1]['rps']:,.0f} "
                f"writes/s" for name, p in paths.items()) + f" (load {loads[-1]:.1f})", flush=True)
        for db, was in before.items():
            sharing = [p for p in paths.values() if p["db"] == db]
            verdict = exact(direct, db, was, sum(w["writes_ok"] for p in sharing for w in p["writes"]),
                            args.connections * args.rounds * len(sharing))
            counted = check_counts(db)
            for path in sharing:
                path.update(exact=verdict, check_counts=counted)
    finally:
        if bare is not None:
            os.killpg(bare.pid, signal.SIGTERM)
            bare.wait(timeout=30)
        topology.stop()
        drop_schema(args.database_url, schema)
        drop_schema(args.database_url, bare_schema)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nmachine: {os.cpu_count()} cores, shared (load average "
          f"{min(loads):.1f} to {max(loads):.1f}); app server {args.replicas} x {args.workers} "
          f"workers x {args.app_threads} threads; station {'on' if args.station else 'off'}; "
          f"wrk {args.threads} threads, {args.connections} connections, {args.duration} s a "
          f"run, {args.rounds} rounds (medians; each round runs both paths back to back)")
    print("| path | reads/s | p50 | p99 | writes/s | p50 | p99 | non-2xx r/w | counts | check-counts |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    names = {"bare": "bare app (granian, limits off)",
             "app": "production app straight (Redis limits on, no nginx)",
             "production": "nginx HTTPS -> granian, Redis limits on"}
    medians = {}
    for key, path in paths.items():
        if "exact" not in path:
            continue
        r = {f: statistics.median(x[f] for x in path["reads"]) for f in ("rps", "p50_ms", "p99_ms")}
        w = {f: statistics.median(x[f] for x in path["writes"]) for f in ("rps", "p50_ms", "p99_ms")}
        medians[key] = (r, w)
        errors = (f"{sum(x['non_2xx'] for x in path['reads'])}/"
                  f"{sum(x['non_2xx'] for x in path['writes'])}")
        print(f"| {names[key]} | {r['rps']:,.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
              f"{w['rps']:,.0f} | {w['p50_ms']:.1f} ms | {w['p99_ms']:.1f} ms | {errors} | "
              f"{path['exact']} | {path['check_counts']} |")
    for name in ("app", "production"):
        if "bare" in medians and name in medians:
            b, p = paths["bare"], paths[name]
            print(f"{name} / bare, per round: " + "; ".join(
                f"reads {p['reads'][i]['rps'] / b['reads'][i]['rps']:.0%} "
                f"writes {p['writes'][i]['rps'] / b['writes'][i]['rps']:.0%}"
                for i in range(args.rounds)))
    print("CPU per request, µs (medians over the rounds; PostgreSQL and Redis are shared, "
          "but only one path runs at a time):")
    for kind in ("reads", "writes"):
        for key, path in paths.items():
            runs = [r["cpu_us"] for r in path.get(kind, [])]
            if runs:
                print(f"  {kind:6} {key:10} " + ", ".join(
                    f"{role} {statistics.median(r[role] for r in runs):,.0f}" for role in runs[0]))
    for key, path in paths.items():
        for command in path.get("commands", [])[:2]:
            print(f"  {key}: $ {command}")
    if args.json:
        print(json.dumps({k: {f: v for f, v in p.items() if f not in ("tokens",)}
                          for k, p in paths.items()}, default=str))


if __name__ == "__main__":
    main()
