"""The production app server: granian (WSGI) running `radiocalico:create_app()`.

    python deploy/serve.py        (the image runs /etc/radiocalico/serve.py)

granian was chosen over gunicorn by measurement on a 2-core machine (bench/README.md:
bench/api_load/run.py with --server). What the gunicorn configuration did is kept:

- migrations run once, in the master, before any worker starts, so replicas of one
  release never race on them (Alembic takes PostgreSQL's transactional DDL lock);
- Prometheus multiprocess mode: the metrics folder is emptied at start, and the live
  gauges of a worker that exited are dropped (granian has no per-worker exit hook, so
  the master watches for dead workers' files);
- one JSON access line per request, without the client's address (nginx is the only
  peer; no raw address is stored anywhere);
- workers are recycled now and then (a slow leak never takes a replica down) and a
  failed worker is respawned; on SIGTERM workers get a grace period to finish.

Settings (environment):
  APP_BIND               host:port to listen on [127.0.0.1:8000]: only the proxy may reach
                         the app; a container sets its compose-network address (0.0.0.0
                         there, with the port never published on the host)
  WEB_CONCURRENCY        worker processes [CPU count]
  APP_THREADS            threads per worker for requests waiting on PostgreSQL [2]: more
                         threads only contend for the GIL here (bench/README.md)
  APP_BACKPRESSURE       connections a worker serves at once [granian's: backlog / workers];
                         idle keep-alive connections from nginx's upstream pool count too,
                         so a value near APP_THREADS starves the pool
  APP_GRACEFUL_TIMEOUT   seconds a stopping worker may finish its requests [20]
  APP_WORKER_LIFETIME    seconds before a worker is replaced [21600]
  APP_ACCESS_LOG         JSON access log on stdout [true]
  RADIOCALICO_MIGRATE_ON_START   apply the migrations before the workers start [true]
  WEB_BUNDLE             serve the player's minified bundle, not its source modules [true]
                         (radiocalico.config; the dev server's default is false)
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ACCESS_LOG_FORMAT = (
    '{"time":"%(time)s","method":"%(method)s","path":"%(path)s",'
    '"query":"%(query_string)s","status":%(status)d,"duration_ms":%(dt_ms).3f,'
    '"user_agent":"%(header{user-agent})s"}'
)
_LIVE_GAUGE = re.compile(r"^gauge_live\w*_(\d+)\.db$")


def _setting(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _int_setting(name: str, default: int, minimum: int = 1) -> int:
    raw = _setting(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        sys.exit(f"{name} must be a whole number >= {minimum}, not {raw!r}")
    return value


def _bind() -> tuple[str, int]:
    raw = _setting("APP_BIND", "127.0.0.1:8000")
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit():
        sys.exit(f"APP_BIND must be host:port, not {raw!r}")
    return host.strip("[]"), int(port)


def _check_app_settings() -> None:
    """The app's settings, read once before any worker starts: a bad one is one line here,
    not a traceback per worker. SECRET_KEY is required whatever STATION_MODE says: every
    replica must sign sessions with the same key."""
    from radiocalico.config import MISSING_SECRET_KEY, Config

    try:
        config = Config.from_env()
    except ValueError as exc:
        sys.exit(str(exc))
    if not config.secret_key:
        sys.exit(MISSING_SECRET_KEY)


def _prepare_metrics_dir() -> Path:
    """Must happen before any worker imports prometheus_client."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="radiocalico-metrics-")
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if metrics_dir.is_dir():
        for entry in metrics_dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    return metrics_dir


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _drop_dead_workers_gauges(metrics_dir: Path, stop: threading.Event) -> None:
    # Imported by the caller: workers are forked while this thread runs, and a fork in the
    # middle of an import leaves the child waiting on that import's lock forever.
    from prometheus_client import multiprocess

    while not stop.wait(5):
        pids = {int(m.group(1)) for p in metrics_dir.iterdir() if (m := _LIVE_GAUGE.match(p.name))}
        for pid in pids:
            if not _alive(pid):
                multiprocess.mark_process_dead(pid, str(metrics_dir))


def _migrate() -> None:
    if _setting("RADIOCALICO_MIGRATE_ON_START", "true").lower() not in ("1", "true", "yes"):
        return
    from radiocalico.config import Config
    from radiocalico.db import make_engine, upgrade

    config = Config.from_env()
    config.instance_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.resolved_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the workers open their own connections
    print("database migrated to the newest revision", flush=True)


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    host, port = _bind()
    workers = _int_setting("WEB_CONCURRENCY", os.cpu_count() or 1)
    threads = _int_setting("APP_THREADS", 2)
    backpressure = _int_setting("APP_BACKPRESSURE", 1) if _setting("APP_BACKPRESSURE", "") else None
    graceful = _int_setting("APP_GRACEFUL_TIMEOUT", 20)
    lifetime = _int_setting("APP_WORKER_LIFETIME", 21600, minimum=60)
    access_log = _setting("APP_ACCESS_LOG", "true").lower() in ("1", "true", "yes")
    os.environ.setdefault("WEB_BUNDLE", "true")  # the workers read it (radiocalico.config)
    _check_app_settings()
    metrics_dir = _prepare_metrics_dir()

    server = Granian(
        "radiocalico:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        backpressure=backpressure,
        websockets=False,
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        respawn_failed_workers=True,
        workers_lifetime=lifetime,
        workers_kill_timeout=graceful,
    )
    stop = threading.Event()

    @server.on_startup
    def _before_workers() -> None:
        _migrate()
        import prometheus_client.multiprocess  # noqa: F401  (see _drop_dead_workers_gauges)

        threading.Thread(target=_drop_dead_workers_gauges, args=(metrics_dir, stop),
                         name="metrics-dead-workers", daemon=True).start()

    @server.on_shutdown
    def _after_workers() -> None:
        stop.set()

    server.serve()


if __name__ == "__main__":
    main()
