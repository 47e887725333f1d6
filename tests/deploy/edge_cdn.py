"""The CDN stand-in: deploy/edge/edge.conf.template rendered by deploy/edge/render.sh and
run natively (Debian's nginx) on loopback in front of an origin Topology's nginx.
Used by tests/deploy/test_edge_cdn.py and bench/edge."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from pathlib import Path

import requests

from tests.deploy.topology import DEPLOY, NGINX, Proc, Topology, free_port, spawn, wait_for


class Edge:
    def __init__(self, root: Path, origin: Topology, cache_size: str = "256m"):
        self.root = root
        self.origin = origin
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = root / "edge-access.log"
        self.cache_size = cache_size
        self.proc: Proc | None = None

    def start(self) -> "Edge":
        # The origin's certificate exists once it has started.
        self.settings = {
            "EDGE_USER": getpass.getuser(),
            "EDGE_RUN_DIR": str(self.root),
            "EDGE_LISTEN": f"127.0.0.1:{self.port}",
            "EDGE_ORIGIN": f"127.0.0.1:{self.origin.https_port}",
            "EDGE_ORIGIN_NAME": "localhost",   # the origin certificate's name
            "EDGE_ORIGIN_CA": str(self.origin.cert),
            "EDGE_ERROR_LOG": str(self.root / "edge-error.log"),
            "EDGE_ACCESS_LOG": str(self.access_log),
            "EDGE_CACHE_SIZE": self.cache_size,
        }
        self.root.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(DEPLOY / "edge" / "render.sh")], check=True, capture_output=True,
                       env={**os.environ, **self.settings})
        conf = self.root / "edge.conf"
        prefix = str(self.root) + "/"
        test = subprocess.run([NGINX, "-t", "-p", prefix, "-e", self.settings["EDGE_ERROR_LOG"],
                               "-c", str(conf)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t failed for the edge:\n{test.stderr}")
        self.proc = spawn("edge", [NGINX, "-p", prefix, "-e", self.settings["EDGE_ERROR_LOG"],
                                   "-c", str(conf), "-g", "daemon off;"], self.root / "edge.log")
        wait_for(lambda: requests.get(self.url + "/edge-health", timeout=2).ok, 20, "the edge")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        return session


def origin_log_offset(origin: Topology) -> int:
    path = origin.root / "nginx-access.log"
    return path.stat().st_size if path.exists() else 0


def origin_stream_requests(origin: Topology, offset: int = 0) -> list[dict]:
    """The origin nginx's stream requests logged since `offset` (its JSON access log)."""
    with open(origin.root / "nginx-access.log", "rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("uri", "").startswith("/stream/"):
            entries.append(entry)
    return entries
