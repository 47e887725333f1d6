"""The production compose stack, driven the way deploy/README.md's quick start runs it:
`make images`, `deploy/make-env.sh`, `deploy/gen-certs.sh`, `docker-compose ... up -d`, in a
copy of deploy/ with its own compose project, Docker network and loopback ports.

Docker itself: started here (dockerd, as root) when it is installed but not running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import requests

from tests.deploy.topology import DEPLOY, REPO, free_port, wait_for

PROJECT = "rcdockertest"
COMPOSE_FILE = "docker-compose.prod.yml"


def docker_running() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_docker(log: Path) -> str | None:
    """None when Docker answers (started here if need be), else why not."""
    if shutil.which("docker") is None or shutil.which("docker-compose") is None:
        return "docker (docker.io) or docker-compose is not installed"
    if docker_running():
        return None
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        return "the Docker daemon is not running (and cannot be started here without root)"
    with open(log, "ab") as out:
        subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if docker_running():
            return None
        time.sleep(1)
    return f"dockerd did not come up within 60 s (log: {log})"


def build_images() -> float:
    """`make images` (cached layers make a rebuild take seconds); returns its duration."""
    started = time.monotonic()
    result = subprocess.run(["make", "images"], cwd=REPO, capture_output=True, text=True,
                            timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return time.monotonic() - started


class Stack:
    """One compose project from a copy of deploy/ in `directory`."""

    def __init__(self, directory: Path, project: str = PROJECT, **env: str):
        self.dir = directory / "deploy"
        shutil.copytree(DEPLOY, self.dir, ignore=shutil.ignore_patterns("certs", ".env", "music"))
        self.project = project
        self.http_port, self.https_port = free_port(), free_port()
        settings = {
            "PUBLISH_ADDRESS": "127.0.0.1",
            "HTTP_PORT": str(self.http_port),
            "HTTPS_PORT": str(self.https_port),
            "NETWORK_NAME": f"{project}-network",
            "NETWORK_SUBNET": "172.31.250.0/24",
            **env,
        }
        self.run([str(self.dir / "make-env.sh"), str(self.dir / ".env"),
                  *(f"{k}={v}" for k, v in settings.items())])
        self.run([str(self.dir / "gen-certs.sh")])
        (self.dir / "music").mkdir()
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.cert = self.dir / "certs" / "tls.crt"

    def run(self, argv: list[str], check: bool = True, timeout: float = 300):
        result = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True,
                                timeout=timeout)
        if check:
            assert result.returncode == 0, f"{argv}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        return result

    def compose(self, *args: str, check: bool = True, timeout: float = 300):
        return self.run(["docker-compose", "-p", self.project, "-f", COMPOSE_FILE,
                         "--env-file", ".env", *args], check=check, timeout=timeout)

    def up(self, *args: str) -> None:
        self.compose("up", "-d", *args, timeout=600)

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "--timeout", "5", check=False)

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def inspect(self, container: str, template: str) -> str:
        return self.run(["docker", "inspect", "-f", template, container]).stdout.strip()

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--tail=200", service, check=False).stdout

    def psql(self, sql: str) -> str:
        return self.compose("exec", "-T", "db", "psql", "-U", "radiocalico", "-d", "radiocalico",
                            "-tAc", sql).stdout.strip()

    def scrape(self, container: str) -> str:
        """A replica's /metrics from inside its container (not published by nginx)."""
        return self.run(["docker", "exec", container, "python", "-c",
                         "import urllib.request; print(urllib.request.urlopen("
                         "'http://127.0.0.1:8000/metrics', timeout=5).read().decode())"]).stdout

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.cert)
        return session

    def status(self, path: str, timeout: float = 5) -> int:
        try:
            return self.session().get(self.url + path, timeout=timeout).status_code
        except requests.RequestException:
            return -1

    def wait_ready(self, timeout: float = 180) -> None:
        wait_for(lambda: self.status("/health/ready") == 200, timeout,
                 "/health/ready through nginx")
