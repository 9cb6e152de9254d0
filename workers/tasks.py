"""Celery tasks: thin adapters that take ids, re-fetch rows and call the labeling services.

Each task has an explicit name, soft and hard time limits below the broker's visibility timeout,
late acks with reject-on-worker-lost (a killed worker's message is redelivered), and one bounded
retry policy (LABEL_TASK_RETRIES) that is part of the overall request budget.
"""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from workers.celery import app


@app.task(
    name="labeling.label_clause",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.LABEL_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.LABEL_TASK_TIME_LIMIT,
    max_retries=settings.LABEL_TASK_RETRIES,
)
def label_clause(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    from reviewapp.labeling.llm import TransientLLMError
    from reviewapp.services.labeling import job_fail, job_requeue, job_run, retry_countdown

    try:
        return job_run(job_id=job_id).state
    except TransientLLMError as exc:
        if self.request.retries < self.max_retries:
            job_requeue(job_id=job_id, reason=str(exc))
            countdown = retry_countdown(retries=self.request.retries, retry_after=exc.retry_after)
            raise self.retry(countdown=countdown, exc=exc) from exc
        job_fail(job_id=job_id, reason=f"gave up after {self.request.retries + 1} runs: {exc}")
        return "failed"
    except SoftTimeLimitExceeded:
        job_fail(job_id=job_id, reason="took longer than LABEL_TASK_SOFT_TIME_LIMIT")
        return "failed"


@app.task(name="labeling.reconcile", soft_time_limit=50, time_limit=60)
def reconcile() -> int:
    from reviewapp.services.labeling import labeling_reconcile

    return labeling_reconcile()
