"""A sign-in flood through the production edge: does /health keep answering?

    .venv/bin/python bench/signin_flood/run.py [--seconds 30] [--addresses 48] [--rate 7]
                                               [--hash-priority normal,idle] [--health-server]

Starts the topology tests/deploy uses (nginx templates + deploy/serve.py with its default
2 workers x 2 threads + PostgreSQL + Redis, on loopback). `--addresses` clients, each
from its own loopback address (127.0.0.2, 127.0.0.3, ...) so that each stays inside its
own per-address limits as an attacker with many addresses would, together send `--rate`
sign-ins a second for made-up accounts (a wrong login costs the same Argon2 check as a
wrong password), while one probe asks GET /health every 100 ms. Prints the probe's
latency (p50, p99, max), how the sign-ins were answered (status counts, and how fast the
refusals came), and the load average.

Before the flood, the probe alone for `--quiet-seconds`: the machine's own p99, which a
busy shared machine makes far from 0. One quiet period and flood per `--hash-priority`
value (PASSWORD_HASH_PRIORITY, a fresh server each): `normal` hashes at the request
threads' priority, as before that setting, beside the default `idle`, in one run.
`--health-server` probes /health two more ways at the same time: on the app replica
directly (no nginx), and on an app server of its own (1 worker x 1 thread, the same app
and database) that takes none of the sign-ins: what a health listener sharing no thread
with the application would answer (bench/README.md).
Run it on two checkouts (main and a branch) to compare anything else.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.deploy.topology import Topology, drop_schema, schema_url  # noqa: E402

DEFAULT_DB = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
DEFAULT_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class _FromAddress(HTTPAdapter):
    """Connections from one loopback source address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _probe(url: str, cert: str, stop: float, results) -> None:
    """GET /health every 100 ms until `stop` (time.monotonic(), shared by the processes of
    this machine); puts (latencies, failures)."""
    http = requests.Session()
    http.trust_env = False
    http.verify = cert
    latencies, failed = [], 0
    while time.monotonic() < stop:
        started = time.monotonic()
        try:
            ok = http.get(f"{url}/health", timeout=30).status_code == 200
        except requests.RequestException:
            ok = False
        latencies.append(time.monotonic() - started)
        failed += not ok
        time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
    results.put((latencies, failed))


def _latencies(probes: list[float], failed: int) -> dict:
    return {"p50": round(1000 * statistics.median(probes), 1),
            "p99": round(1000 * _percentile(probes, 0.99), 1),
            "max": round(1000 * max(probes), 1), "probes": len(probes), "failed": failed}


def flood(topo: Topology, seconds: float, addresses: int, rate: float,
          extra_probes: dict[str, str] | None = None) -> dict:
    """`extra_probes`: more /health probes, name -> base URL, beside the one through nginx."""
    stop = time.monotonic() + seconds
    outcomes: dict[int, list[float]] = {}
    lock = threading.Lock()

    def attacker(index: int) -> None:
        http = topo.session()
        http.mount("https://", _FromAddress(f"127.0.0.{2 + index}"))
        interval = addresses / rate
        next_at = time.monotonic() + interval * index / addresses
        while True:
            now = time.monotonic()
            if now >= stop:
                return
            if now < next_at:
                time.sleep(min(next_at, stop) - now)
                continue
            next_at += interval
            started = time.monotonic()
            try:
                status = http.post(f"{topo.url}/api/users/session",
                                   json={"login": f"nobody-{uuid.uuid4().hex[:12]}",
                                         "password": "not the password at all"},
                                   timeout=30).status_code
            except requests.RequestException:
                status = 0
            with lock:
                outcomes.setdefault(status, []).append(time.monotonic() - started)

    # The probe runs in a process of its own: in this one it would wait for the GIL behind
    # the attackers' threads and measure the load generator, not the server.
    urls = {"nginx": topo.url, **(extra_probes or {})}
    queues = {name: multiprocessing.Queue() for name in urls}
    probers = [multiprocessing.Process(target=_probe, args=(url, str(topo.cert), stop, queues[name]))
               for name, url in urls.items()]
    for prober in probers:
        prober.start()
    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(addresses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    health = {name: _latencies(*queue.get()) for name, queue in queues.items()}
    for prober in probers:
        prober.join()
    return {
        "health_ms": health["nginx"],
        **{f"health_ms_{name}": health[name] for name in extra_probes or {}},
        "sign_ins": {status: {"count": len(times),
                              "median_ms": round(1000 * statistics.median(times), 1)}
                     for status, times in sorted(outcomes.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--addresses", type=int, default=48)
    parser.add_argument("--rate", type=float, default=7.0, help="sign-ins per second, all together")
    parser.add_argument("--quiet-seconds", type=float, default=15,
                        help="probing /health before the flood, for the machine's own p99")
    parser.add_argument("--hash-priority", default="normal,idle",
                        help="PASSWORD_HASH_PRIORITY values to flood in turn, comma separated")
    parser.add_argument("--health-server", action="store_true",
                        help="also probe /health on the app directly and on an app server of "
                             "its own (1 worker x 1 thread, the same app) that takes no sign-in")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    for priority in [value.strip() for value in args.hash_priority.split(",") if value.strip()]:
        _flood_one(args, {"APP_THREADS": "2", "PASSWORD_HASH_PRIORITY": priority},
                   f"PASSWORD_HASH_PRIORITY={priority}")


def _start_health_server(topo: Topology) -> dict[str, str]:
    """An app server that only the probe asks: what /health would take on a listener that
    shares no thread with the sign-ins (an experiment, not the shipped deployment)."""
    from tests.deploy.topology import free_port, spawn, wait_for

    port = free_port()
    env = dict(topo.app_environment(0), APP_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1",
               APP_THREADS="1", RADIOCALICO_MIGRATE_ON_START="false",
               INSTANCE_PATH=str(topo.root / "instance-health"))
    metrics = topo.root / "metrics-health"
    metrics.mkdir(exist_ok=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    proc = spawn("health-server", [sys.executable, str(ROOT / "deploy" / "serve.py")],
                 topo.root / "health-server.log", env, cwd=topo.root)
    topo.apps.append(proc)  # stopped with the others
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(f"{url}/health", timeout=2).ok, 60, "the health server")
    return {"app": topo.app_url(0), "own_server": url}


def _flood_one(args, app_env: dict[str, str], label: str) -> None:
    url, schema = schema_url(args.database_url)
    with tempfile.TemporaryDirectory(prefix="radiocalico-signin-flood-") as root:
        topo = Topology(Path(root), url, args.redis_url, replicas=1, workers=2, station=False,
                        app_env=app_env)
        try:
            topo.start()
            extra = _start_health_server(topo) if args.health_server else {}
            with topo.session() as http:  # warm: the first requests open connections
                for _ in range(5):
                    http.get(f"{topo.url}/health", timeout=10)
            quiet = flood(topo, args.quiet_seconds, 1, 0.01, extra)["health_ms"]
            print(f"{label}: quiet ({args.quiet_seconds:.0f} s, one sign-in): /health p50 "
                  f"{quiet['p50']} ms, p99 {quiet['p99']} ms, max {quiet['max']} ms  "
                  f"(load average {os.getloadavg()[0]:.2f})", flush=True)
            result = flood(topo, args.seconds, args.addresses, args.rate, extra)
            print(f"{label}: flood ({args.addresses} addresses, {args.rate}/s, "
                  f"{args.seconds:.0f} s): {result}  (load average {os.getloadavg()[0]:.2f})",
                  flush=True)
        finally:
            topo.stop()
            drop_schema(args.database_url, schema)


if __name__ == "__main__":
    main()
