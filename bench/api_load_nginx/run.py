"""Load benchmark through the production edge: wrk -> nginx (TLS, HTTP/1.1 keep-alive) ->
app server replicas (deploy/serve.py, granian) -> PostgreSQL, with the real station running.

    .venv/bin/python bench/api_load_nginx/run.py [--duration 15] [--connections 32]
                                                  [--replicas 2] [--workers 2]

The topology is the one tests/deploy starts (tests/deploy/topology.py: the same nginx
templates and app server, on loopback, in a fresh PostgreSQL schema). The wrk Lua
scripts are bench/api_load/{read,write}.lua: reads of one song's rating, and
writes where every request is a new vote (anonymous votes need a listener token: the
topology counts tokens at once, and --connections of them are fetched first). For a throughput figure the rate limits are lifted
(nginx zones at 100000r/s, RATELIMIT_ENABLED=false); everything else is production. Prints requests/s and p50/p99 latency with the exact wrk command behind each.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.deploy.topology import Topology, drop_schema, schema_url  # noqa: E402

LUA_DIR = ROOT / "bench" / "api_load"
DEFAULT_DB = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
DEFAULT_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _direct_bench():
    """bench/api_load/run.py: its songs, Lua data file and wrk runner."""
    spec = importlib.util.spec_from_file_location("api_load_run", LUA_DIR / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--songs", type=int, default=500)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="app server workers per replica")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    for script in ("read.lua", "write.lua"):
        if not (LUA_DIR / script).exists():
            raise SystemExit(f"missing {LUA_DIR / script}")

    direct = _direct_bench()
    songs = direct.make_songs(args.songs)
    workdir = Path(tempfile.mkdtemp(prefix="rc-api-load-nginx-"))
    data = workdir / "songs.lua"
    direct.write_lua_data(songs, data)

    database_url, schema = schema_url(args.database_url)
    topology = Topology(
        workdir / "topology", database_url, args.redis_url,
        replicas=args.replicas, workers=args.workers,
        app_env={"RATELIMIT_ENABLED": "false", "APP_ACCESS_LOG": "false",
                 **direct.TOKEN_SETTINGS},
        nginx_values={"NGINX_VOTE_RATE": "100000r/s", "NGINX_VOTE_BURST": "100000",
                      "NGINX_AUTH_RATE": "100000r/s", "NGINX_AUTH_BURST": "100000",
                      "NGINX_ACCESS_LOG": "/dev/null"},
    )
    try:
        topology.start()
        direct.seed(topology.url, songs, topology.session())
        tokens = workdir / "tokens.lua"
        direct.write_lua_tokens(
            direct.listener_tokens(topology.url, args.connections, topology.session()), tokens)
        reads, read_cmd = direct.run_wrk(topology.url, "read.lua", data, args)
        writes, write_cmd = direct.run_wrk(topology.url, "write.lua", data, args, tokens)
        print(f"machine: {os.cpu_count()} cores; nginx -> {args.replicas} app replicas x "
              f"{args.workers} workers x 4 threads -> PostgreSQL; station running; "
              f"{args.connections} connections, {args.duration}s each")
        for name, result, command in (("reads", reads, read_cmd), ("writes", writes, write_cmd)):
            print(f"{name:6s}: {result['rps']:8.1f} req/s  p50 {result['p50_ms']:.2f} ms  "
                  f"p99 {result['p99_ms']:.2f} ms  non-2xx {result['non_2xx']}  "
                  f"socket errors {result['socket_errors']}")
            print(f"        $ {command}")
        if args.json:
            print(json.dumps({"reads": reads, "writes": writes}))
    finally:
        topology.stop()
        drop_schema(args.database_url, schema)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
