"""gunicorn settings for the RadioCalico app (`gunicorn -c deploy/gunicorn.conf.py`).

The app is the factory `radiocalico:create_app()`; every setting below can be overridden
with the environment variable named next to it. Migrations run once, in the master,
before any worker starts (`on_starting`), so replicas of one release never race on them
(several replicas starting together: Alembic takes PostgreSQL's transactional DDL lock).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

wsgi_app = "radiocalico:create_app()"

# Loopback by default: only the proxy may reach the app. In a container set GUNICORN_BIND
# to the container's address on the compose network (never publish the port on the host).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Workers: 2 x CPU + 1 by default (WEB_CONCURRENCY overrides), each with a few threads for
# requests that wait on PostgreSQL.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker stuck this long is killed and replaced; on SIGTERM workers get graceful_timeout
# seconds to finish what they are answering before they are stopped.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak never takes a replica down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
# Heartbeat files in memory, not on a possibly slow container disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# nginx sets X-Forwarded-*; gunicorn believes them only from these addresses (the proxy's),
# and the app decides for itself (TRUSTED_PROXIES, TRUSTED_PROXY_HOPS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "radiocalico"
# gunicorn's control socket lives in $HOME by default: replicas on one host would share it
# and containers have no writable home. Not needed here.
control_socket_disable = True

# One JSON object per request on stdout. No client address: nginx (which logs only the
# network) is the only peer gunicorn sees, and no raw address is stored anywhere.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '{"time":"%(t)s","method":"%(m)s","path":"%(U)s",'
    '"query":"%(q)s","status":%(s)s,"bytes":"%(B)s","duration_us":%(D)s,'
    '"user_agent":"%(a)s","pid":"%(p)s"}'
)

# Prometheus multiprocess mode: every worker writes its metrics here and a scrape of any
# worker adds them up. Must be set before the workers import prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="radiocalico-metrics-")


def on_starting(server):
    """In the master, before the workers: empty the metrics folder, migrate the database."""
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if metrics_dir.is_dir():
        for entry in metrics_dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)

    if os.environ.get("RADIOCALICO_MIGRATE_ON_START", "true").lower() in ("1", "true", "yes"):
        from radiocalico.config import Config
        from radiocalico.db import make_engine, upgrade

        config = Config.from_env()
        config.instance_path.mkdir(parents=True, exist_ok=True)
        engine = make_engine(config.resolved_database_url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()  # the workers open their own connections after the fork
        server.log.info("database migrated to the newest revision")


def child_exit(server, worker):
    """Drop the live gauges of a worker that exited (multiprocess mode)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
