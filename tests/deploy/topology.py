"""The production topology, started natively on loopback from the files in deploy/.

nginx (Debian's, with deploy/nginx/*.template rendered exactly as the nginx image renders
them, only with other ports and paths), the app server deploy/serve.py (one process
group per replica), the real station (`radiocalico station`), PostgreSQL and Redis.
Used by tests/deploy and bench/api_load_nginx.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests
import urllib3

from radiocalico import stream_layout

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PG_BIN = Path("/usr/lib/postgresql/15/bin")

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what} (last error: {last!r})")


_PLACEHOLDER = re.compile(r"\$\{(NGINX_[A-Z0-9_]+)\}")


def render_nginx(conf_dir: Path, values: dict[str, str]) -> Path:
    """Render deploy/nginx/*.template into conf_dir like envsubst does for NGINX_* names."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    values = dict(values, NGINX_CONF_DIR=str(conf_dir))
    for template in sorted((DEPLOY / "nginx").glob("*.template")):
        text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template.read_text())
        (conf_dir / template.name.removesuffix(".template")).write_text(text)
    return conf_dir / "nginx.conf"


def make_certs(directory: Path) -> tuple[Path, Path]:
    subprocess.run(["sh", str(DEPLOY / "gen-certs.sh"), str(directory), "localhost"],
                   check=True, capture_output=True)
    return directory / "tls.crt", directory / "tls.key"


def make_library(directory: Path, tracks: int = 2, seconds: float = 6.0) -> Path:
    """A tiny music library: a few seconds of sine tones as 48 kHz stereo WAV files."""
    import numpy as np

    directory.mkdir(parents=True, exist_ok=True)
    for i in range(tracks):
        t = np.arange(int(48000 * seconds)) / 48000
        tone = (0.2 * np.sin(2 * np.pi * (330 + 110 * i) * t) * 32767).astype("<i2")
        with wave.open(str(directory / f"Test Artist - Tone {i + 1}.wav"), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(48000)
            out.writeframes(np.repeat(tone[:, None], 2, axis=1).tobytes())
    return directory


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 10) -> None:
        if not self.alive():
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.popen.wait(5)

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        self.popen.wait(5)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


def spawn(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Proc:
    handle = open(log, "ab")
    popen = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env,
                             cwd=cwd, start_new_session=True)
    handle.close()
    return Proc(name, popen, log)


def schema_url(base_url: str) -> tuple[str, str]:
    """Create a fresh schema; returns (URL whose search_path is it, schema name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"rc_deploy_{uuid.uuid4().hex[:12]}"
    dsn = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}", schema


def drop_schema(base_url: str, schema: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class ThrowawayPostgres:
    """A private PostgreSQL 15 cluster in a temp folder (never the machine's shared one)."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.data = directory / "data"
        self.port = free_port()
        self.log = directory / "postgres.log"
        self._as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def init(self) -> "ThrowawayPostgres":
        self.dir.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
            # runuser needs to reach the folder: open the path down to it.
            for parent in [self.dir, *self.dir.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o711)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        return self.start()

    def start(self) -> "ThrowawayPostgres":
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "30", "start")
        return self

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@dataclass
class Topology:
    """nginx + N app server replicas (deploy/serve.py) + the station, on loopback, under `root`."""

    root: Path
    database_url: str
    redis_url: str = ""
    replicas: int = 2
    workers: int = 2
    station: bool = True
    track_seconds: float = 6.0  # the station's tone tracks: short, so tests see track changes
    app_env: dict[str, str] = field(default_factory=dict)
    nginx_values: dict[str, str] = field(default_factory=dict)
    # Directives added to the rendered http block, never to the templates (a benchmark's
    # load balancer in front: realip from loopback, bench/api_load_nginx).
    nginx_http_extra: str = ""

    def __post_init__(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.stream_out = self.root / "stream"
        self.stream_out.mkdir(exist_ok=True)
        self.http_port = free_port()
        self.https_port = free_port()
        self.app_ports = [free_port() for _ in range(self.replicas)]
        self.secret_key = uuid.uuid4().hex * 2
        self.apps: list[Proc | None] = [None] * self.replicas
        self.station_proc: Proc | None = None
        self.stream_server_port = free_port()
        self.stream_server_proc: Proc | None = None
        self.nginx_proc: Proc | None = None
        self.cert: Path | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def app_url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.app_ports[index]}"

    # -- parts --------------------------------------------------------------------------

    def start_station(self) -> None:
        library = make_library(self.root / "library", seconds=self.track_seconds)
        env = dict(os.environ, INSTANCE_PATH=str(self.root / "station-instance"))
        self.station_proc = spawn(
            "station",
            [str(BIN / "radiocalico"), "station", "--library", str(library),
             "--out", str(self.stream_out)],
            self.root / "station.log", env,
        )
        hls = stream_layout.hls_dir(self.stream_out)
        wait_for(lambda: any(hls.glob(stream_layout.SEGMENT_GLOB))
                 and (self.stream_out / stream_layout.METADATA_NAME).exists()
                 and (hls / stream_layout.MASTER_NAME).exists(),
                 60, "the station's first segment")

    def start_stream_server(self) -> None:
        """The blocking-reload server nginx passes Low-Latency HLS requests that wait to."""
        env = dict(os.environ, STATION_OUT=str(self.stream_out))
        self.stream_server_proc = spawn(
            "stream-server",
            [str(BIN / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1",
             "--port", str(self.stream_server_port), "--workers", "1", "--no-ws",
             "radiocalico.stream_server:create_app"],
            self.root / "stream-server.log", env,
        )
        port = self.stream_server_port
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), 0.5).close() or True, 20, "the stream server")

    def app_environment(self, index: int) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        metrics = self.root / f"metrics-{index}"
        metrics.mkdir(exist_ok=True)
        env.update(
            APP_BIND=f"127.0.0.1:{self.app_ports[index]}",
            WEB_CONCURRENCY=str(self.workers),
            APP_THREADS="4",
            APP_GRACEFUL_TIMEOUT="3",
            PROMETHEUS_MULTIPROC_DIR=str(metrics),
            INSTANCE_PATH=str(self.root / f"instance-{index}"),
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            SECRET_KEY=self.secret_key,
            TRUSTED_PROXY_HOPS="1",
            TRUSTED_PROXIES="127.0.0.1/32",
            SESSION_COOKIE_SECURE="true",
            STATION_MODE="external",
            STATION_OUT=str(self.stream_out),
            STREAM_BASE_URL="/stream",
        )
        env.update(self.app_env)
        return env

    def start_app(self, index: int) -> Proc:
        proc = spawn(
            f"app-{index}",
            [sys.executable, str(DEPLOY / "serve.py")],
            self.root / f"app-{index}.log", self.app_environment(index), cwd=self.root,
        )
        self.apps[index] = proc
        url = self.app_url(index) + "/health"

        def healthy():
            if not proc.alive():
                raise RuntimeError(f"app server {index} exited:\n{proc.tail()}")
            return requests.get(url, timeout=2).status_code == 200

        wait_for(healthy, 60, f"app replica {index}")
        return proc

    def nginx_settings(self) -> dict[str, str]:
        certs = self.root / "certs"
        if self.cert is None:  # once: asked again, the running nginx keeps the first
            make_certs(certs)
        cert, key = certs / "tls.crt", certs / "tls.key"
        self.cert = cert
        run = self.root / "nginx-run"
        run.mkdir(exist_ok=True)
        servers = " ".join(
            f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in self.app_ports
        )
        values = {
            "NGINX_USER": getpass.getuser(),
            "NGINX_RUN_DIR": str(run),
            "NGINX_ERROR_LOG": str(self.root / "nginx-error.log"),
            "NGINX_ACCESS_LOG": str(self.root / "nginx-access.log"),
            "NGINX_MIME_TYPES": "/etc/nginx/mime.types",
            "NGINX_HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
            "NGINX_HTTPS_LISTEN": f"127.0.0.1:{self.https_port}",
            "NGINX_PUBLIC_HTTPS_PORT": str(self.https_port),
            "NGINX_SERVER_NAME": "127.0.0.1",  # the certificate's SAN
            "NGINX_TLS_CERT": str(cert),
            "NGINX_TLS_KEY": str(key),
            "NGINX_STREAM_ROOT": str(self.stream_out),
            "NGINX_APP_SERVERS": servers,
            # No DNS here: the upstream of fixed loopback addresses, nothing to re-resolve.
            "NGINX_APP_UPSTREAM": "radiocalico_app",
            "NGINX_RESOLVER": "",
            "NGINX_STREAM_UPSTREAM": f"127.0.0.1:{self.stream_server_port}",
            "NGINX_VOTE_RATE": "10r/s",
            "NGINX_VOTE_BURST": "20",
            "NGINX_AUTH_RATE": "1r/s",
            "NGINX_AUTH_BURST": "10",
        }
        values.update(self.nginx_values)
        return values

    def start_nginx(self) -> None:
        conf = render_nginx(self.root / "nginx-conf", self.nginx_settings())
        if self.nginx_http_extra:
            with (conf.parent / "radiocalico-server.conf").open("a") as server_conf:
                server_conf.write("\n" + self.nginx_http_extra + "\n")
        prefix = str(self.root / "nginx-run") + "/"
        error_log = str(self.root / "nginx-error.log")
        test = subprocess.run([NGINX, "-t", "-p", prefix, "-e", error_log, "-c", str(conf)],
                              capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{test.stderr}")
        self.nginx_proc = spawn(
            "nginx",
            [NGINX, "-p", prefix, "-e", error_log, "-c", str(conf), "-g", "daemon off;"],
            self.root / "nginx.log",
        )
        wait_for(lambda: requests.get(self.http_url + "/nginx-health", timeout=2).ok,
                 20, "nginx")

    # -- all together -------------------------------------------------------------------

    def start(self) -> "Topology":
        try:
            if self.station:
                self.start_station()
                self.start_stream_server()
            # One after the other: the first replica's master migrates the schema.
            for index in range(self.replicas):
                self.start_app(index)
            self.start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in [self.nginx_proc, *self.apps, self.stream_server_proc, self.station_proc]:
            if proc is not None:
                proc.stop()

    def logs(self) -> str:
        parts = []
        for proc in [self.nginx_proc, *self.apps, self.stream_server_proc, self.station_proc]:
            if proc is not None:
                parts.append(f"--- {proc.name} ---\n{proc.tail()}")
        return "\n".join(parts)

    def play(self, artist: str, title: str) -> str:
        """The station played this song (a start stored as the recorder stores it); its id.
        Only a played song can be voted on."""
        from radiocalico.db import Store
        from radiocalico.songs import song_id
        from tests.conftest import station_played

        sid = song_id(artist, title)
        store = Store(self.database_url)
        try:
            station_played(store, (sid, artist, title, ""))
        finally:
            store.dispose()
        return sid

    def session(self) -> requests.Session:
        """Verifies TLS against the generated self-signed certificate (SAN 127.0.0.1)."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        session.verify = str(self.cert)
        return session


def distinct_listener_agents(prefix: str, count: int) -> list[str]:
    """`count` user agents that count as `count` listeners from one address: each in a
    listener slot of its own (radiocalico.listeners.agent_slot, STREAM_LISTENERS_PER_ADDRESS's
    default), as real players behind one address mostly are."""
    from radiocalico.config import Config
    from radiocalico.listeners import agent_slot

    per_address = Config.stream_listeners_per_address
    agents: dict[int, str] = {}
    n = 0
    while len(agents) < count:
        agent = f"{prefix}/{n} ({uuid.uuid4().hex[:8]})"
        agents.setdefault(agent_slot(agent, per_address), agent)
        n += 1
    return list(agents.values())
