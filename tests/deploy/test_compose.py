"""The compose files: schema-valid for docker-compose (v1, Debian's), and the production
one has what the issue asks of every service."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import require
from tests.deploy.topology import DEPLOY

COMPOSE_FILES = ("docker-compose.yml", "docker-compose.prod.yml")


@pytest.fixture(scope="module")
def deploy_copy(tmp_path_factory):
    """deploy/ with .env made from .env.example (fresh secrets), as an operator would."""
    target = tmp_path_factory.mktemp("deploy") / "deploy"
    shutil.copytree(DEPLOY, target, ignore=shutil.ignore_patterns("certs", ".env"))
    subprocess.run([str(target / "make-env.sh")], check=True, capture_output=True, timeout=30)
    (target.parent / "src").mkdir()
    return target


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_passes_docker_compose_config(deploy_copy, name):
    binary = shutil.which("docker-compose")
    require(binary is not None, "docker-compose (Debian package) is not installed")
    result = subprocess.run(
        [binary, "-f", name, "--env-file", ".env", "config", "-q"],
        cwd=deploy_copy, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def _prod() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())


def test_production_services_network_and_volumes():
    compose = _prod()
    assert set(compose["services"]) >= {"nginx", "app", "db", "station", "redis"}
    assert "radio-boluoba-network" in compose["networks"]
    assert "pgdata" in compose["volumes"]
    # Our own image of Debian's PostgreSQL 15 (deploy/images/postgres), named for it.
    assert re.match(r"^(?:[\w.-]+[/-])?postgres:15\b", compose["services"]["db"]["image"])
    assert "pg_isready" in " ".join(compose["services"]["db"]["healthcheck"]["test"])
    assert compose["services"]["station"]["command"][:2] == ["radiocalico", "station"]
    assert "/srv/stream" in compose["services"]["station"]["command"]
    nginx_mounts = compose["services"]["nginx"]["volumes"]
    assert "stream:/srv/stream:ro" in nginx_mounts
    assert {p.split(":")[-1] for p in compose["services"]["nginx"]["ports"]} == {"8080", "8443"}


@pytest.mark.parametrize("service", ["nginx", "app", "db", "station", "redis"])
def test_every_production_service_is_hardened(service):
    spec = _prod()["services"][service]
    assert spec.get("user") and not str(spec["user"]).startswith(("0", "root")), "non-root"
    assert spec["healthcheck"]["test"]
    assert spec["restart"] in ("unless-stopped", "always")
    limits = spec["deploy"]["resources"]["limits"]
    assert limits["cpus"] and limits["memory"]
    assert spec["networks"] == ["radio-boluoba-network"]


def test_env_example_documents_every_variable_compose_reads():
    text = "\n".join((DEPLOY / name).read_text() for name in COMPOSE_FILES)
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (DEPLOY / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert used <= documented, used - documented
    for name in documented:  # every variable has a comment above it or its group
        assert re.search(rf"#.*\n(?:[A-Z_0-9]+=.*\n)*{name}=", example), name


def test_nginx_service_sets_every_template_variable():
    templates = "\n".join(p.read_text() for p in (DEPLOY / "nginx").glob("*.template"))
    needed = set(re.findall(r"\$\{(NGINX_[A-Z0-9_]+)\}", templates))
    given = set(_prod()["services"]["nginx"]["environment"])
    assert needed <= given, needed - given


def test_dockerfile_has_dev_and_prod_targets_and_a_node_stage():
    text = (DEPLOY / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\w+)", text, re.M))
    assert {"node", "dev", "prod"} <= stages
    assert "npm ci" in text and "python -m radiocalico.web.vendor" in text
    prod = text.split("AS prod", 1)[1]
    assert re.search(r"^USER radiocalico", prod, re.M)


def _dev_web() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]["web"]


def test_dev_server_is_published_on_loopback_only():
    """Finding 7: the dev compose file published the dev server on every host address."""
    for port in _dev_web()["ports"]:
        assert str(port).startswith("127.0.0.1:"), port


def assert_no_debugger_console(url: str) -> None:
    """The Werkzeug debugger answers `/console` (an interactive Python prompt) and its
    resources under `?__debugger__=yes`; `/console` is now the operator console's page, so
    what must not be there is the debugger's."""
    import requests

    page = requests.get(url + "/console", headers={"Host": "localhost"}, timeout=5)
    assert "Werkzeug" not in page.text and "__debugger__" not in page.text
    resource = requests.get(url + "/console", params={"__debugger__": "yes", "cmd": "resource",
                                                      "f": "debugger.js"},
                            headers={"Host": "localhost"}, timeout=5)
    assert "javascript" not in resource.headers.get("Content-Type", "")
    assert "Werkzeug" not in resource.text and "__debugger__" not in resource.text


def test_dev_server_command_never_answers_the_debugger_console(tmp_path):
    """Finding 7: `flask run --debug` served the Werkzeug console (PIN in the log). Runs the
    dev compose command itself, on a free port, and asks for the console."""
    import os
    import sys
    import time

    import requests

    from tests.deploy.topology import free_port, spawn, wait_for

    command = _dev_web()["command"][-1]
    port = free_port()
    command = command.replace("--host 0.0.0.0", "--host 127.0.0.1").replace(
        "--port 3000", f"--port {port}")
    # STATION_MODE as the dev compose sets it: the dev server needs no SECRET_KEY.
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
               INSTANCE_PATH=str(tmp_path / "instance"), STATION_MODE="embedded",
               FLASK_DEBUG="")
    proc = spawn("dev", ["sh", "-c", command], tmp_path / "dev.log", env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: requests.get(url + "/health", timeout=2).ok, 60, "the dev server")
        assert_no_debugger_console(url)
        time.sleep(0.2)
        assert "Debugger PIN" not in proc.tail()
    finally:
        proc.stop()


def test_the_dev_images_default_command_never_answers_the_debugger_console(tmp_path):
    """Issue 21: the dev image's default command (`radiocalico serve` with FLASK_DEBUG=1 in
    its environment) served the Werkzeug console. Runs that command with the image's ENV
    (and FLASK_DEBUG=1 besides), without the station, and asks for the console."""
    import os
    import re
    import shlex
    import sys
    import time

    import requests

    from tests.deploy.topology import free_port, spawn, wait_for

    dockerfile = (DEPLOY / "Dockerfile").read_text()
    dev = dockerfile[dockerfile.index("AS dev"):dockerfile.index("AS prod")]
    image_env = dict(item.split("=", 1) for line in re.findall(r"^ENV (.+)$", dev, re.M)
                     for item in shlex.split(line))
    command = json.loads(re.search(r"^CMD (\[.+\])$", dev, re.M).group(1))
    assert "FLASK_DEBUG" not in image_env
    port = free_port()
    env = {**os.environ, **image_env, "HOST": "127.0.0.1", "PORT": str(port), "FLASK_DEBUG": "1",
           "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
           "INSTANCE_PATH": str(tmp_path / "instance"), "STATION_MODE": "embedded"}
    proc = spawn("dev-image", [*command, "--no-station"], tmp_path / "dev.log", env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: requests.get(url + "/health", timeout=2).ok, 60, "the dev server")
        assert_no_debugger_console(url)
        time.sleep(0.2)
        assert "Debugger PIN" not in proc.tail() and "Debug mode: on" not in proc.tail()
    finally:
        proc.stop()
