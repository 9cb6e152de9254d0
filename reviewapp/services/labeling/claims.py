"""Who holds a job: claiming jobs for a run with conditional updates (raw SQL ``UPDATE …
RETURNING`` where the database has it), and handing them back: done, failed, or queued again
for a retry within the job's budget."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from reviewapp.labeling.llm import TransientLLMError
from reviewapp.models import LabelingJob, LabelingState


def jobs_claim(*, job_ids: Iterable[int]) -> list[int]:
    """Take the queued jobs (and ones left running by a dead worker) among ``job_ids`` for this
    worker. One conditional UPDATE … RETURNING: two workers never get the same job."""
    job_ids = [int(i) for i in job_ids]
    if not job_ids:
        return []
    stale = timezone.now() - timedelta(seconds=settings.LABEL_STUCK_AFTER_SECONDS)
    claimable = Q(state=LabelingState.QUEUED) | Q(state=LabelingState.RUNNING, updated_at__lt=stale)
    if not update_returning():
        return _claim_one_by_one(LabelingJob.objects.filter(claimable, id__in=job_ids), claimable)
    marks = ", ".join(["%s"] * len(job_ids))
    return _claim_returning(
        f"id IN ({marks}) AND (state = %s OR (state = %s AND updated_at < %s))",
        [*job_ids, LabelingState.QUEUED, LabelingState.RUNNING, stale],
    )


def jobs_claim_queued(*, config: tuple[str, str, str], limit: int) -> list[int]:
    """Take up to ``limit`` more queued jobs of one configuration (labeler, model, prompt
    version) that were never tried, oldest first. Their messages, when they arrive, find them
    taken and are skipped: the database, not the broker, says what is left to do. Jobs queued
    again after a failed run wait for their own retry (its backoff and its budget)."""
    never_tried = Q(state=LabelingState.QUEUED, attempts=0)
    if not update_returning():
        candidates = LabelingJob.objects.filter(
            never_tried, labeler=config[0], model=config[1], prompt_version=config[2]
        ).order_by("id")[:limit]
        return _claim_one_by_one(candidates, never_tried)
    table = connection.ops.quote_name(LabelingJob._meta.db_table)
    # Two workers topping up at once take different jobs: SKIP LOCKED on PostgreSQL; SQLite
    # runs one write at a time anyway.
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    return _claim_returning(
        f"state = %s AND id IN (SELECT id FROM {table} WHERE state = %s AND attempts = 0 "
        f"AND labeler = %s AND model = %s AND prompt_version = %s ORDER BY id LIMIT %s{lock})",
        [LabelingState.QUEUED, LabelingState.QUEUED, *config, limit],
    )


def update_returning() -> bool:
    """UPDATE … RETURNING: PostgreSQL, and SQLite from 3.35 (Django 5.1 accepts 3.31). Public
    so that a test can take the path of an older SQLite on a newer one."""
    return connection.vendor != "sqlite" or sqlite3.sqlite_version_info >= (3, 35)


def _claim_returning(where: str, params: list[Any]) -> list[int]:
    table = connection.ops.quote_name(LabelingJob._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, attempts = attempts + 1, updated_at = %s "
            f"WHERE {where} RETURNING id",
            [LabelingState.RUNNING, timezone.now(), *params],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _claim_one_by_one(candidates: QuerySet[LabelingJob], claimable: Q) -> list[int]:
    """A conditional update per job, for databases without UPDATE … RETURNING."""
    return [
        job_id
        for job_id in candidates.values_list("id", flat=True)
        if LabelingJob.objects.filter(claimable, id=job_id).update(
            state=LabelingState.RUNNING, attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        == 1
    ]


# --- handing jobs back ------------------------------------------------------------------------


def jobs_finish(*, job_ids: list[int], state: str, reason: str = "") -> None:
    if job_ids:
        LabelingJob.objects.filter(id__in=job_ids).update(
            state=state, reason=reason[:4000], updated_at=timezone.now()
        )


def jobs_fail(*, job_ids: list[int], reason: str) -> None:
    jobs_finish(job_ids=job_ids, state=LabelingState.FAILED, reason=reason)


def jobs_running(*, job_ids: list[int]) -> list[int]:
    """The jobs of a batch still running (when its time limit ran out)."""
    return sorted(
        LabelingJob.objects.filter(id__in=job_ids, state=LabelingState.RUNNING).values_list(
            "id", flat=True
        )
    )


def jobs_retry_or_fail(
    *, transient: dict[int, TransientLLMError], retry_allowed: bool
) -> list[int]:
    """Jobs the endpoint did not answer: queue again those with a run left in their budget
    (1 + LABEL_TASK_RETRIES runs, counted on the job, wherever it ran), fail the others with
    the reason. Returns the queued ones, for the task to retry after its backoff."""
    runs = dict(LabelingJob.objects.filter(id__in=list(transient)).values_list("id", "attempts"))
    retry = []
    for job_id, exc in sorted(transient.items()):
        if retry_allowed and runs.get(job_id, 0) <= settings.LABEL_TASK_RETRIES:
            jobs_requeue(job_ids=[job_id], reason=str(exc))
            retry.append(job_id)
        else:
            jobs_fail(job_ids=[job_id], reason=f"gave up after {runs.get(job_id, 0)} runs: {exc}")
    return retry


def jobs_requeue(*, job_ids: list[int], reason: str) -> None:
    LabelingJob.objects.filter(id__in=job_ids, state=LabelingState.RUNNING).update(
        state=LabelingState.QUEUED, reason=reason[:4000], updated_at=timezone.now()
    )


def retry_countdown(*, retries: int, retry_after: float | None) -> float:
    """Honour the server's Retry-After; otherwise exponential backoff with full jitter."""
    if retry_after:
        return retry_after
    return random.uniform(0, min(60.0, 2.0 * 2**retries))
