"""Fixtures for the production topology (see topology.py). Everything here drives real
processes: with CI=true a missing nginx, PostgreSQL or Redis fails instead of skipping."""

from __future__ import annotations

import os
import shutil

import pytest
import redis

from tests.conftest import POSTGRES_URL, require
from tests.deploy.topology import NGINX, PG_BIN, Topology, drop_schema, schema_url

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    require(_redis_available(), f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    require(shutil.which(NGINX) is not None or os.path.exists(NGINX), "nginx is not installed")
    return NGINX


@pytest.fixture(scope="session")
def pg_binaries() -> None:
    require((PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists(),
            f"PostgreSQL 15 server binaries are not in {PG_BIN}")


@pytest.fixture(scope="session")
def deploy_schema_url(postgres_available):
    require(postgres_available, f"PostgreSQL is not reachable at {POSTGRES_URL}")
    url, schema = schema_url(POSTGRES_URL)
    yield url
    drop_schema(POSTGRES_URL, schema)


@pytest.fixture(scope="session")
def topology(tmp_path_factory, nginx_binary, deploy_schema_url, redis_url):
    """nginx + 2 app-server replicas (2 workers each) + the station + PostgreSQL + Redis."""
    topo = Topology(
        tmp_path_factory.mktemp("topology"),
        deploy_schema_url,
        redis_url,
        replicas=2,
        workers=2,
        app_env={
            # Sign-in attempts: the app's limit is what the X-Forwarded-For test observes.
            "RATELIMIT_AUTH": "5/minute",
            # Votes: nginx's zone answers bursts first (the app's limits stay on).
            "RATELIMIT_VOTES": "1000/minute",
            "RATELIMIT_VOTES_PER_IP": "10000/minute",
            # Listener tokens count at once and are plentiful (bench/stuffing measures them).
            "LISTENER_TOKEN_MIN_AGE": "0",
            "RATELIMIT_LISTENER_TOKENS": "100000/hour",
        },
        nginx_values={
            "NGINX_VOTE_RATE": "5r/s",
            "NGINX_VOTE_BURST": "10",
            "NGINX_AUTH_RATE": "20r/s",
            "NGINX_AUTH_BURST": "40",
        },
    ).start()
    yield topo
    topo.stop()


@pytest.fixture
def https(topology):
    with topology.session() as session:
        yield session
