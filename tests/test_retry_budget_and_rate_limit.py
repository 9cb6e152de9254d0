"""One retry budget across layers, and a rate limit shared by all workers through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from reviewapp.labeling.ratelimit import RateLimiter, RateLimitWaitTooLong

ROOT = Path(__file__).resolve().parent.parent


def test_settings_refuse_retry_layers_whose_product_exceeds_the_budget() -> None:
    env = {**os.environ, "DEBUG": "1", "LLM_HTTP_RETRIES": "3", "LLM_VALIDATION_ATTEMPTS": "3"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "more than LLM_REQUEST_BUDGET=8" in result.stderr


def test_the_default_layers_fit_the_budget() -> None:
    worst = (
        (1 + settings.LLM_HTTP_RETRIES)
        * settings.LLM_VALIDATION_ATTEMPTS
        * (1 + settings.LABEL_TASK_RETRIES)
    )
    assert worst <= settings.LLM_REQUEST_BUDGET


def test_an_in_process_limiter_spaces_requests() -> None:
    limiter = RateLimiter(requests_per_minute=600, tokens_per_minute=0)  # 10 per second, burst 600
    for _ in range(600):
        assert limiter.acquire(tokens=1) == 0
    started = time.monotonic()
    limiter.acquire(tokens=1)
    assert 0.05 <= time.monotonic() - started < 0.5


def test_a_wait_longer_than_allowed_is_refused() -> None:
    limiter = RateLimiter(requests_per_minute=0, tokens_per_minute=1000, max_wait_seconds=1)
    limiter.acquire(tokens=1000)
    with pytest.raises(RateLimitWaitTooLong):
        limiter.acquire(tokens=1000)


@pytest.mark.redis
def test_two_workers_share_one_limit_through_redis() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    name = f"test-{os.getpid()}-{time.time_ns()}"
    client.delete(f"ratelimit:{name}:requests", f"ratelimit:{name}:tokens")
    first = RateLimiter(
        requests_per_minute=60, tokens_per_minute=6000, redis_url=settings.REDIS_URL, name=name
    )
    second = RateLimiter(
        requests_per_minute=60, tokens_per_minute=6000, redis_url=settings.REDIS_URL, name=name
    )
    # 6000 tokens per minute: 30 requests of 100 tokens from each "worker" use 6000 together.
    for _ in range(30):
        assert first._try(100) == 0
        assert second._try(100) == 0
    assert first._try(100) > 0  # the shared bucket is empty for both
    assert second._try(100) > 0
