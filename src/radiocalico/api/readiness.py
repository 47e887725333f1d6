"""Readiness (`/health/ready`): can this replica take listeners' requests?

- `/health` (api/health.py) is liveness: the process answers and reaches its database.
- `/health/ready` is readiness: the database answers, Redis (the shared rate-limit
  storage, when `REDIS_URL` is set) answers, AND the station is on air, i.e. the
  newest segment in the station output folder is at most `READY_MAX_SEGMENT_AGE` seconds
  old. While Redis is down the limits hold per process in memory (api/limits.py). 503 with the same JSON shape otherwise, so a load balancer takes the replica out.

Not in the OpenAPI document on purpose: it is an operations endpoint whose 503 is its
normal "take me out of rotation" answer, not an API error (api/monitoring.py mounts it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

from flask import jsonify
from pydantic import BaseModel

from radiocalico import __version__, stream_layout
from radiocalico.api.health import database_reachable
from radiocalico.config import Config
from radiocalico.services import services


class CheckOut(BaseModel):
    status: Literal["ok", "failing", "skipped"]
    detail: str | None = None
    segment_age_seconds: float | None = None
    max_age_seconds: float | None = None


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    version: str
    checks: dict[str, CheckOut]


def newest_segment_age(out: Path, now: float | None = None) -> float | None:
    """Seconds since the newest media segment under `out` was written; None if none."""
    newest = None
    try:
        with os.scandir(stream_layout.hls_dir(out)) as entries:
            for entry in entries:
                if entry.name.endswith(stream_layout.SEGMENT_SUFFIX):
                    try:
                        mtime = entry.stat().st_mtime
                    except FileNotFoundError:  # rotated away while we looked
                        continue
                    newest = mtime if newest is None else max(newest, mtime)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    if newest is None:
        return None
    return max(0.0, (time.time() if now is None else now) - newest)


def _station_checked(cfg: Config) -> bool:
    return cfg.station_mode != "upstream" and cfg.ready_max_segment_age > 0


def _database_check() -> CheckOut:
    if not database_reachable():
        return CheckOut(status="failing", detail="The database does not answer.")
    return CheckOut(status="ok")


def _redis_check(cfg: Config) -> CheckOut:
    if not cfg.redis_url:
        return CheckOut(status="skipped")
    import redis

    client = redis.Redis.from_url(cfg.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        return CheckOut(
            status="failing",
            detail="Redis does not answer; rate limits are held per process in memory.",
        )
    finally:
        client.close()
    return CheckOut(status="ok")


def _station_check(cfg: Config) -> CheckOut:
    if not _station_checked(cfg):
        return CheckOut(status="skipped")
    age = newest_segment_age(cfg.resolved_station_out)
    limit = cfg.ready_max_segment_age
    if age is None:
        return CheckOut(status="failing", detail="The station has published no segment.",
                        max_age_seconds=limit)
    rounded = round(age, 3)
    if age > limit:
        return CheckOut(status="failing", detail="The newest segment is too old.",
                        segment_age_seconds=rounded, max_age_seconds=limit)
    return CheckOut(status="ok", segment_age_seconds=rounded, max_age_seconds=limit)


def ready():
    cfg = services().config
    checks = {
        "database": _database_check(),
        "rate_limits": _redis_check(cfg),
        "station": _station_check(cfg),
    }
    ok = all(check.status != "failing" for check in checks.values())
    body = ReadyOut(status="ready" if ok else "unavailable", version=__version__, checks=checks)
    response = jsonify(body.model_dump(mode="json", exclude_none=True))
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
