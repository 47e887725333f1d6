"""The counter under the stream listener counts: distinct digests over a sliding window."""

from __future__ import annotations

import random

import pytest
import redis

from radiocalico.listeners import ListenerCounter
from tests.conftest import require

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_memory_counts_distinct_listeners_and_forgets_old_ones():
    counter = ListenerCounter("", window=120)
    for n in range(5000):
        counter.see(f"listener-{n % 3000}", now=1000.0)
    assert counter.count(now=1000.0) == 3000
    counter.see("late-listener", now=1200.0)
    assert counter.count(now=1200.0) == 1


@pytest.fixture
def redis_counter():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        require(False, f"Redis is not reachable at {REDIS_URL}")
    return ListenerCounter(REDIS_URL, window=120)


def test_redis_counts_each_listener_once_across_polls(redis_counter):
    # A far-future time of our own: these buckets are used by no other run.
    now = 4e9 + random.randrange(10**6) * 600
    for _ in range(3):
        for n in range(50):
            redis_counter.see(f"listener-{n}", now=now)
    assert redis_counter.count(now=now) == 50
    # A second replica (its own process-local memory) sees the same listeners: still 50.
    other_replica = ListenerCounter(REDIS_URL, window=120)
    for n in range(50):
        other_replica.see(f"listener-{n}", now=now + 1)
    assert other_replica.count(now=now + 1) == 50
    # Past the window, nobody is left.
    assert redis_counter.count(now=now + 600) == 0
