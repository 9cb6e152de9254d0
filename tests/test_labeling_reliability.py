"""Reliability of labeling with real Celery workers, Redis and PostgreSQL.

- A worker killed with SIGKILL in the middle of a batch: after a restart every clause has
  exactly one suggestion.
- Redis FLUSHALL during a run: the reconciler completes every clause.
- The same task delivered twice: one suggestion.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from reviewapp.fake_llm.server import FakeLLMConfig, FakeLLMServer
from reviewapp.models import Clause, LabelingJob, LabelingState, Suggestion
from reviewapp.services.labeling import labeling_enqueue, labeling_reconcile
from reviewapp.services.plan_import import plans_import
from workers import app
from workers.tasks import label_jobs

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
BATCH = 200


@pytest.fixture
def broker() -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    app.conf.task_always_eager = False  # this test process sends real messages
    try:
        yield client
    finally:
        app.conf.task_always_eager = True
        client.flushdb()


@pytest.fixture
def slow_llm(settings) -> Iterator[FakeLLMServer]:  # type: ignore[no-untyped-def]
    server = FakeLLMServer(FakeLLMConfig(latency_ms=100)).start()
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_MODEL = "fake-rules"
    settings.LLM_API_KEY = "fake"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_worker(slow_llm, tmp_path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:  # type: ignore[no-untyped-def]
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "LLM_BASE_URL": slow_llm.base_url,
        "LLM_MODEL": "fake-rules",
        "LLM_API_KEY": "fake",
        # A killed worker's unacknowledged messages come back after the visibility timeout.
        "CELERY_VISIBILITY_TIMEOUT": "10",
        "LABEL_TASK_SOFT_TIME_LIMIT": "4",
        "LABEL_TASK_TIME_LIMIT": "5",
    }
    workers: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel=INFO",
             "--concurrency=4", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        workers.append(process)
        deadline = time.monotonic() + 60
        while b"ready." not in log.read_bytes():
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.2)
        return process

    try:
        yield start
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def batch(seed_bytes) -> list[int]:  # type: ignore[no-untyped-def]
    plans_import(files=[(f"{k}.txt", v) for k, v in seed_bytes.items()])
    return list(Clause.objects.order_by("id").values_list("id", flat=True)[:BATCH])


def _wait_until(
    condition: Callable[[], bool], *, timeout: float, every: Callable[[], object] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        if every:
            every()
        time.sleep(0.5)


def _done() -> int:
    return LabelingJob.objects.filter(state=LabelingState.DONE).count()


def _assert_exactly_one_suggestion_each(clause_ids: list[int]) -> None:
    counts = dict(
        Suggestion.objects.filter(clause_id__in=clause_ids, labeler="llm")
        .values_list("clause_id")
        .annotate(n=Count("id"))
    )
    assert len(counts) == len(clause_ids)
    assert set(counts.values()) == {1}


def test_a_worker_killed_mid_batch_leaves_exactly_one_suggestion_per_clause(
    broker, start_worker, batch
) -> None:  # type: ignore[no-untyped-def]
    first = start_worker("first")
    labeling_enqueue(clause_ids=batch, labeler_name="llm")
    _wait_until(lambda: _done() >= 30, timeout=60)
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool processes, mid-task
    first.wait(timeout=10)
    assert _done() < BATCH
    start_worker("second")
    # Beat's reconciler, run here with a short timeout: jobs left running by the dead worker
    # come back; redelivered messages are skipped or finish them.
    _wait_until(
        lambda: _done() == BATCH,
        timeout=120,
        every=lambda: labeling_reconcile(stuck_after_seconds=8),
    )
    _assert_exactly_one_suggestion_each(batch)


def test_a_redis_flushall_during_a_run_is_recovered_by_the_reconciler(
    broker, start_worker, batch
) -> None:  # type: ignore[no-untyped-def]
    start_worker("flush")
    labeling_enqueue(clause_ids=batch, labeler_name="llm")
    _wait_until(lambda: _done() >= 30, timeout=60)
    broker.flushall()  # every queued message is gone
    _wait_until(
        lambda: _done() == BATCH,
        timeout=120,
        every=lambda: labeling_reconcile(stuck_after_seconds=3),
    )
    _assert_exactly_one_suggestion_each(batch)


def test_the_same_task_delivered_twice_to_real_workers_stores_one_suggestion(
    broker, start_worker, batch, slow_llm
) -> None:  # type: ignore[no-untyped-def]
    start_worker("twice")
    clause_id = batch[0]
    labeling_enqueue(clause_ids=[clause_id], labeler_name="llm")
    job = LabelingJob.objects.get(clause_id=clause_id)
    label_jobs.apply_async(args=[[job.id]])  # the same message, a second time
    label_jobs.apply_async(args=[[job.id]])  # and a third
    _wait_until(lambda: _done() == 1, timeout=60)
    time.sleep(2)  # let the duplicates arrive and be skipped
    _assert_exactly_one_suggestion_each([clause_id])
    assert slow_llm.fake.stats()["requests"] == 1
