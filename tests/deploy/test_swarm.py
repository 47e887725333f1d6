"""The Swarm stack (deploy/stack.yml) on a single-node swarm of the test's own dockerd,
deployed as deploy/README.md says ("More than one machine"): secrets created with
`docker secret create`, nodes labelled, `docker stack deploy`. Health over TLS, the
stream decoded from segments fetched through nginx, a rolling update of the app under
load with no failed request, and an app task killed while listeners vote with no failed
vote. The images are those `make images` builds (cached when the compose test ran first).

With CI=true a missing Docker fails; on a developer machine it skips, saying why.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from radiocalico import stream_layout
from radiocalico.songs import song_id
from tests.conftest import require
from tests.deploy.docker_stack import build_images, ensure_docker
from tests.deploy.topology import DEPLOY, free_port, wait_for

pytestmark = pytest.mark.docker

STACK = "rcswarm"
NEXT_IMAGE = "radiocalico:prod-swarm-next"  # the "release" the rolling update rolls out
SECRETS = ("radiocalico_secret_key", "radiocalico_db_password", "radiocalico_tls_crt",
           "radiocalico_tls_key")


def docker(*args: str, check: bool = True, timeout: float = 300, **kwargs):
    result = subprocess.run(["docker", *args], capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    if check:
        assert result.returncode == 0, f"docker {args}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def ipvs_available() -> bool:
    """The routing mesh (ingress publishing, virtual IPs) is the kernel's IPVS."""
    return Path("/proc/net/ip_vs").exists()


class Swarm:
    """deploy/stack.yml deployed as STACK, reached on loopback ports."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.http_port, self.https_port = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.secret_key = os.urandom(32).hex()
        self.db_password = os.urandom(24).hex()
        subprocess.run([str(DEPLOY / "gen-certs.sh"), str(workdir / "certs")],
                       check=True, capture_output=True, timeout=60)
        self.cert = workdir / "certs" / "tls.crt"
        self.env = {
            **os.environ,
            "HTTP_PORT": str(self.http_port),
            "HTTPS_PORT": str(self.https_port),
            "PUBLIC_HOSTNAME": "127.0.0.1",
            # The mesh where the kernel has IPVS; else published on the node itself.
            "PUBLISH_MODE": "ingress" if ipvs_available() else "host",
            "NETWORK_SUBNET": "10.231.250.0/24",
            "WEB_CONCURRENCY": "1",
            "APP_REPLICAS": "2",
            "STATION_RENDITIONS": "lossless,saver",
            "LISTENER_TOKEN_MIN_AGE": "0",
            # One test client votes for many listeners: the limits per address stand aside.
            "RATELIMIT_VOTES": "600/minute",
            "RATELIMIT_VOTES_PER_IP": "100000/hour",
            "NGINX_VOTE_RATE": "100r/s",
            "NGINX_VOTE_BURST": "100",
        }

    # --- the commands deploy/README.md gives ------------------------------------------------
    def deploy(self) -> None:
        node = docker("info", "-f", "{{.Swarm.NodeID}}").stdout.strip()
        docker("node", "update", "--label-add", "radiocalico.db=true",
               "--label-add", "radiocalico.redis=true", "--label-add", "radiocalico.stream=true",
               node)
        for name, value in (("radiocalico_secret_key", self.secret_key),
                            ("radiocalico_db_password", self.db_password)):
            docker("secret", "create", name, "-", input=value + "\n")
        docker("secret", "create", "radiocalico_tls_crt", str(self.cert))
        docker("secret", "create", "radiocalico_tls_key", str(self.workdir / "certs" / "tls.key"))
        docker("stack", "deploy", "-c", str(DEPLOY / "stack.yml"), STACK, env=self.env)

    def remove(self) -> None:
        docker("stack", "rm", STACK, check=False)
        # Secrets and the network go once the tasks are gone.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and docker(
                "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}").stdout.strip():
            time.sleep(1)
        for name in SECRETS:
            docker("secret", "rm", name, check=False)
        docker("volume", "prune", "-f", "--filter", f"label=com.docker.stack.namespace={STACK}",
               check=False)

    # --- looking at it -------------------------------------------------------------------------
    def service(self, name: str) -> str:
        return f"{STACK}_{name}"

    def tasks(self, name: str) -> list[tuple[str, str]]:
        """(task id, container id) of the running tasks of a service."""
        out = docker("ps", "--filter", f"label=com.docker.swarm.service.name={self.service(name)}",
                     "--format", '{{.Label "com.docker.swarm.task.id"}} {{.ID}}').stdout
        return [tuple(line.split()) for line in out.splitlines() if line.strip()]

    def healthy_app_tasks(self) -> int:
        return sum(docker("inspect", "-f", "{{.State.Health.Status}}", container,
                          check=False).stdout.strip() == "healthy"
                   for _, container in self.tasks("app"))

    def psql(self, sql: str) -> str:
        ((_, container),) = self.tasks("db")
        return docker("exec", container, "psql", "-U", "radiocalico", "-d", "radiocalico",
                      "-tAc", sql).stdout.strip()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.cert)
        return session

    def status(self, path: str) -> int:
        try:
            return self.session().get(self.url + path, timeout=5).status_code
        except requests.RequestException:
            return -1


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    reason = ensure_docker(tmp_path_factory.mktemp("dockerd") / "dockerd.log")
    require(reason is None, reason or "")
    print(f"\nmake images: {build_images():.1f} s")
    started = time.monotonic()
    state = docker("info", "-f", "{{.Swarm.LocalNodeState}}").stdout.strip()
    joined_here = state != "active"
    if joined_here:
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    stack = Swarm(tmp_path_factory.mktemp("swarm"))
    stack.remove()  # what an interrupted earlier run may have left
    try:
        stack.deploy()
        wait_for(lambda: stack.status("/health/ready") == 200, 300, "/health/ready through nginx",
                 interval=1)
        wait_for(lambda: stack.healthy_app_tasks() == 2, 120, "two healthy app tasks", interval=1)
        print(f"\nswarm stack up and ready: {time.monotonic() - started:.1f} s "
              f"(published: {stack.env['PUBLISH_MODE']})")
        yield stack
    finally:
        stack.remove()
        docker("image", "rm", NEXT_IMAGE, check=False)  # the tag only; the layers are prod's
        if joined_here:
            docker("swarm", "leave", "--force", check=False)


def test_health_over_tls_and_the_secrets_stay_out_of_the_environment(swarm):
    session = swarm.session()  # verifies the certificate handed over as a Swarm secret
    health = session.get(swarm.url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["database"] == "ok", health.text
    plain = session.get(f"http://127.0.0.1:{swarm.http_port}/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith(swarm.url)
    # The app reached PostgreSQL with the password from the secret file, and neither
    # secret is in any container's configuration (`docker inspect` shows environments).
    for service in ("app", "db", "nginx"):
        for _, container in swarm.tasks(service):
            config = docker("inspect", container).stdout
            assert swarm.secret_key not in config and swarm.db_password not in config


@pytest.mark.parametrize("rendition", [stream_layout.LOSSLESS_RENDITION, "saver"])
def test_the_stream_decodes_from_segments_fetched_through_nginx(swarm, rendition):
    """What the page's player fetches (master playlist, media playlist, init, segments),
    through nginx, decoded: every rendition the stack publishes is music."""
    import av
    import numpy as np

    session = swarm.session()
    master = session.get(swarm.url + f"/stream/{stream_layout.MASTER_PATH}", timeout=10)
    assert master.status_code == 200
    media = next(line for line in master.text.splitlines()
                 if line == stream_layout.media_playlist_name(rendition))
    base = f"{swarm.url}/stream/{stream_layout.HLS_DIR}/"
    playlist = session.get(base + media, timeout=10).text
    init = next(line.split('URI="')[1].split('"')[0] for line in playlist.splitlines()
                if line.startswith("#EXT-X-MAP"))
    segments = [line for line in playlist.splitlines() if line.endswith(".m4s")][-3:]
    assert len(segments) == 3, playlist
    body = session.get(base + init, timeout=10).content
    for segment in segments:
        response = session.get(base + segment, timeout=10)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        body += response.content
    samples, peak = 0, 0.0
    with av.open(io.BytesIO(body)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        for frame in container.decode(stream):
            array = frame.to_ndarray()
            samples += frame.samples
            full_scale = np.iinfo(array.dtype).max if array.dtype.kind == "i" else 1.0
            peak = max(peak, float(np.abs(array).max()) / full_scale)
    seconds = samples / rate
    print(f"\ndecoded {seconds:.2f} s of {stream.codec_context.name} at {rate} Hz, peak {peak:.3f}")
    assert seconds >= 3 * 1.9  # three segments of 2 s
    assert peak > 0.01          # music, not silence


class Load:
    """Listeners hammering the API through nginx (reads and idempotent votes), recording
    every answer that is not a success."""

    def __init__(self, swarm: Swarm, threads: int = 4):
        self.swarm, self.threads = swarm, threads
        self.stop = threading.Event()
        self.ok = 0
        self.votes = 0
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.title = f"Swarm {uuid.uuid4().hex[:8]}"
        self.sid = song_id("Swarm Artist", self.title)
        swarm.psql("INSERT INTO songs (id, artist, title, album, first_seen, last_played) "
                   f"VALUES ('{self.sid}', 'Swarm Artist', '{self.title}', '', now(), now())")
        self.workers = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, index: int) -> None:
        session = self.swarm.session()
        url = self.swarm.url
        session.get(url + "/api/listener", timeout=15).raise_for_status()
        fingerprint = uuid.uuid4().hex
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 4 == 0:   # a vote (PUT: retried by nginx on another task if one drops it)
                method, path = "PUT", f"/api/ratings/{self.sid}/vote"
                kwargs = {"json": {"value": "up" if n % 8 else "down", "artist": "Swarm Artist",
                                   "title": self.title, "album": ""},
                          "headers": {"X-Listener-Fingerprint": fingerprint}}
            else:
                method, path = "GET", ("/api/ratings/top?limit=5", "/health", "/")[n % 3]
                kwargs = {}
            try:
                response = session.request(method, url + path, timeout=15, **kwargs)
                outcome = None if response.status_code == 200 else f"{response.status_code}"
            except requests.RequestException as exc:
                outcome = repr(exc)
            with self.lock:
                if outcome is None:
                    self.ok += 1
                    self.votes += method == "PUT"
                else:
                    self.failures.append(f"{method} {path}: {outcome}")
            time.sleep(0.05)

    def __enter__(self):
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for worker in self.workers:
            worker.join(30)


def test_a_rolling_update_of_the_app_under_load_fails_no_request(swarm):
    before = {task for task, _ in swarm.tasks("app")}
    # A new image tag, as a release would be (the same layers: the test is the update).
    docker("tag", "radiocalico:prod", NEXT_IMAGE)
    started = time.monotonic()
    with Load(swarm) as load:
        time.sleep(2)
        docker("service", "update", "--detach", "--image", NEXT_IMAGE, swarm.service("app"))

        def updated() -> bool:
            state = docker("service", "inspect", "-f", "{{.UpdateStatus.State}}",
                           swarm.service("app")).stdout.strip()
            assert state not in ("rollback_started", "rollback_completed", "paused"), state
            return state == "completed"

        wait_for(updated, 300, "the rolling update to complete", interval=1)
        time.sleep(2)
    after = {task for task, _ in swarm.tasks("app")}
    print(f"\nrolling update: {time.monotonic() - started:.1f} s, {load.ok} requests succeeded "
          f"({load.votes} votes), {len(load.failures)} failed: {load.failures[:5]}")
    assert len(after) == 2 and not (after & before), (before, after)  # every task replaced
    assert load.ok > 100
    assert load.failures == []


def test_an_app_task_killed_while_listeners_vote_fails_no_vote(swarm):
    wait_for(lambda: swarm.healthy_app_tasks() == 2, 120, "two healthy app tasks", interval=1)
    with Load(swarm) as load:
        time.sleep(2)
        (task, container), _ = swarm.tasks("app")
        docker("kill", "--signal", "KILL", container)
        killed_at = time.monotonic()
        # Swarm starts a replacement; the surviving task serves meanwhile.
        wait_for(lambda: swarm.healthy_app_tasks() == 2
                 and task not in {t for t, _ in swarm.tasks("app")}, 120,
                 "a replacement app task", interval=1)
        replaced = time.monotonic() - killed_at
        time.sleep(2)
    stored = int(swarm.psql(f"SELECT count(*) FROM votes WHERE song_id = '{load.sid}'"))
    print(f"\napp task killed: replaced in {replaced:.1f} s; {load.ok} requests succeeded "
          f"({load.votes} votes), {len(load.failures)} failed: {load.failures[:5]}")
    assert load.votes > 20
    assert load.failures == []
    assert stored == load.threads  # one vote per listener, whatever it was changed to
