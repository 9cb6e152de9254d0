"""Celery tasks: thin adapters that take ids, re-fetch rows and call the labeling services.

Each task has an explicit name, soft and hard time limits below the broker's visibility timeout,
late acks with reject-on-worker-lost (a killed worker's message is redelivered), and one bounded
retry policy (LABEL_TASK_RETRIES) that is part of the overall request budget.

Labeling is sent in batches (LABEL_BATCH_SIZE jobs a message): one claim and one read for the
batch, LLM_CONCURRENCY requests in flight, results stored a group at a time. When the soft time
limit cuts a batch short, its unfinished jobs are retried like jobs the endpoint did not answer.

Celery stays on this side: the task gives the batch a ``Deadline`` carrying its soft time limit
and Celery's ``SoftTimeLimitExceeded``, and ``labeling_queue`` is how the service (which does
not import this module) sends batches here, named by the LABELING_TASK_QUEUE setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from kombu.exceptions import OperationalError

from workers.celery import app

if TYPE_CHECKING:
    from reviewapp.services.labeling import BatchRunner

TOOK_TOO_LONG = "the batch took longer than LABEL_TASK_SOFT_TIME_LIMIT"


@app.task(
    name="labeling.label_jobs",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.LABEL_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.LABEL_TASK_TIME_LIMIT,
    max_retries=settings.LABEL_TASK_RETRIES,
    # The batch runner (its clock and its wait): None is the real one; a test sets its own.
    runner=None,
)
def label_jobs(self, job_ids: list[int]) -> dict[str, int]:
    """Label a batch of jobs. Jobs the endpoint could not answer (rate limit, 5xx, timeout) are
    retried together after a backoff while they have runs left (1 + LABEL_TASK_RETRIES), then
    failed with the reason."""
    from reviewapp.labeling.llm import TransientLLMError
    from reviewapp.services.labeling import (
        BatchOutcome,
        BatchRunner,
        Deadline,
        jobs_retry_or_fail,
        jobs_running,
        retry_countdown,
    )

    runner: BatchRunner = self.runner or BatchRunner()
    # Read when the task runs, like the rest of the settings the batch reads.
    deadline = Deadline(
        seconds=settings.LABEL_TASK_SOFT_TIME_LIMIT, interrupted_by=(SoftTimeLimitExceeded,)
    )
    outcome = BatchOutcome()
    try:
        # A retry runs only its own jobs: topping up is for the first run.
        runner.run(
            job_ids=job_ids, outcome=outcome, top_up=self.request.retries == 0, deadline=deadline
        )
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
        hint for i in retry_ids if (hint := outcome.transient[i].retry_after) is not None and hint
    ]
    countdown = retry_countdown(retries=self.request.retries, retry_after=max(hints, default=None))
    raise self.retry(args=[retry_ids], countdown=countdown, exc=outcome.transient[retry_ids[0]])


@app.task(name="labeling.reconcile", soft_time_limit=50, time_limit=60)
def reconcile() -> int:
    from reviewapp.services.labeling import labeling_reconcile

    return labeling_reconcile()


class LabelingQueue:
    """The labeling service's ``TaskQueue``: batches of job ids go to ``label_jobs``."""

    # kombu raises this when Redis cannot be reached; the service leaves the jobs pending.
    unreachable: tuple[type[Exception], ...] = (OperationalError,)

    def send(self, job_ids: list[int]) -> None:
        label_jobs.delay(job_ids)

    def declare(self) -> None:
        """Declare the task queues on the broker again. After a Redis restart or FLUSHALL the
        exchange-to-queue bindings are gone too, and messages sent without them are dropped."""
        if app.conf.task_always_eager:
            return
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            for queue in app.amqp.queues.values():
                queue(channel).declare()


labeling_queue = LabelingQueue()
