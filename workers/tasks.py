"""Celery tasks: thin adapters that take ids, re-fetch rows and call the labeling services.

Each task has an explicit name, soft and hard time limits below the broker's visibility timeout,
late acks with reject-on-worker-lost (a killed worker's message is redelivered), and one bounded
retry policy (LABEL_TASK_RETRIES) that is part of the overall request budget.

Labeling is sent in batches (LABEL_BATCH_SIZE jobs a message): one claim and one read for the
batch, LLM_CONCURRENCY requests in flight, results stored a group at a time. When the soft time
limit cuts a batch short, its unfinished jobs are retried like jobs the endpoint did not answer.
"""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from workers.celery import app

TOOK_TOO_LONG = "the batch took longer than LABEL_TASK_SOFT_TIME_LIMIT"


@app.task(
    name="labeling.label_jobs",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.LABEL_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.LABEL_TASK_TIME_LIMIT,
    max_retries=settings.LABEL_TASK_RETRIES,
)
def label_jobs(self, job_ids: list[int]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Label a batch of jobs. Jobs the endpoint could not answer (rate limit, 5xx, timeout) are
    retried together after a backoff while they have runs left (1 + LABEL_TASK_RETRIES), then
    failed with the reason."""
    from reviewapp.labeling.llm import TransientLLMError
    from reviewapp.services.labeling import (
        BatchOutcome,
        jobs_retry_or_fail,
        jobs_run,
        jobs_running,
        retry_countdown,
    )

    outcome = BatchOutcome()
    try:
        # A retry runs only its own jobs: topping up is for the first run.
        jobs_run(job_ids=job_ids, outcome=outcome, top_up=self.request.retries == 0)
    except SoftTimeLimitExceeded:
        # What was stored is kept; the rest is retried like an endpoint that did not answer.
        late = TransientLLMError(TOOK_TOO_LONG)
        outcome.transient = {job_id: late for job_id in jobs_running(job_ids=outcome.claimed)}
    counts = {state: outcome.count(state) for state in ("done", "failed", "skipped")}
    if not outcome.transient:
        return counts
    retry_ids = jobs_retry_or_fail(
        transient=outcome.transient, retry_allowed=self.request.retries < self.max_retries
    )
    counts["failed"] += len(outcome.transient) - len(retry_ids)
    if not retry_ids:
        return counts
    hints = [
        outcome.transient[i].retry_after for i in retry_ids if outcome.transient[i].retry_after
    ]
    countdown = retry_countdown(retries=self.request.retries, retry_after=max(hints, default=None))
    raise self.retry(args=[retry_ids], countdown=countdown, exc=outcome.transient[retry_ids[0]])


@app.task(name="labeling.reconcile", soft_time_limit=50, time_limit=60)
def reconcile() -> int:
    from reviewapp.services.labeling import labeling_reconcile

    return labeling_reconcile()
