"""Which clauses still need labels: creating jobs, sending them to the workers, queueing again
the ones whose message was lost, and progress by plan.

The service knows jobs, not tasks: it sends batches of job ids through a ``TaskQueue`` that
``workers/`` provides, named by the LABELING_TASK_QUEUE setting (as Django names its backends),
so that nothing here imports Celery or the tasks, and the import graph goes one way:
``workers`` → ``reviewapp``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from functools import partial
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from reviewapp.models import LabelingJob, LabelingState, Suggestion
from reviewapp.services.labeling.labelers import labeler_build

BROKER_UNREACHABLE = (
    "Could not send the labeling tasks to the broker (REDIS_URL): {error}. {n} clauses were "
    "left pending: run the same command again once Redis is reachable."
)


class BrokerUnreachable(Exception):
    """The jobs are committed but their messages could not be sent; they were left pending."""


class TaskQueue(Protocol):
    """Where batches of jobs go to be run (``workers.tasks.labeling_queue``)."""

    # What ``send`` raises when the broker cannot be reached.
    unreachable: tuple[type[Exception], ...]

    def send(self, job_ids: list[int]) -> None:
        """Send one batch of job ids to be run (``jobs_run``) now."""

    def declare(self) -> None:
        """Declare the queues on the broker again (after a Redis restart or FLUSHALL)."""


def task_queue() -> TaskQueue:
    queue: TaskQueue = import_string(settings.LABELING_TASK_QUEUE)
    return queue


def labeling_enqueue(
    *, clause_ids: Iterable[int], labeler_name: str, relabel: bool = False
) -> list[int]:
    """Create jobs for these clauses and queue the ones not done yet (all of them with
    ``relabel``). Tasks are sent after the transaction commits. Returns the queued job ids."""
    labeler = labeler_build(name=labeler_name)
    clause_ids = list(clause_ids)
    config = {
        "labeler": labeler.name,
        "model": labeler.model,
        "prompt_version": labeler.prompt_version,
    }
    with transaction.atomic():
        LabelingJob.objects.bulk_create(
            [LabelingJob(clause_id=cid, **config) for cid in clause_ids],
            ignore_conflicts=True,
            batch_size=1000,
        )
        jobs = LabelingJob.objects.filter(clause_id__in=clause_ids, **config)
        if relabel:
            Suggestion.objects.filter(clause_id__in=clause_ids, **config).delete()
            jobs.exclude(state=LabelingState.RUNNING).update(
                state=LabelingState.PENDING, reason="", attempts=0
            )
        wanted = [LabelingState.PENDING, LabelingState.FAILED]
        job_ids = list(jobs.filter(state__in=wanted).values_list("id", flat=True))
        # Claim with a conditional update, so two enqueuers never queue a job twice.
        LabelingJob.objects.filter(id__in=job_ids, state__in=wanted).update(
            state=LabelingState.QUEUED, reason="", updated_at=timezone.now()
        )
        # Sent once the jobs are committed (what delay_on_commit does), so that a broker that
        # cannot be reached leaves them pending rather than queued without a message.
        transaction.on_commit(partial(_send_batches, job_ids))
    return job_ids


def _send_batches(job_ids: list[int]) -> None:
    queue = task_queue()
    sent = 0
    try:
        for batch in _batches(job_ids):
            queue.send(batch)
            sent += len(batch)
    except queue.unreachable as exc:
        unsent = job_ids[sent:]
        LabelingJob.objects.filter(id__in=unsent, state=LabelingState.QUEUED).update(
            state=LabelingState.PENDING, updated_at=timezone.now()
        )
        raise BrokerUnreachable(
            BROKER_UNREACHABLE.format(error=str(exc).rstrip("."), n=len(unsent))
        ) from exc


def _batches(job_ids: list[int]) -> Iterator[list[int]]:
    size = settings.LABEL_BATCH_SIZE
    for start in range(0, len(job_ids), size):
        yield job_ids[start : start + size]


def labeling_reconcile(*, stuck_after_seconds: int | None = None) -> int:
    """Queue again the jobs whose message was lost (Redis restart, FLUSHALL, a killed worker):
    queued or running for too long, or pending and never queued. Returns how many."""
    queue = task_queue()
    stuck_after = stuck_after_seconds or settings.LABEL_STUCK_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stuck_after)
    # After a Redis restart or FLUSHALL the exchange-to-queue bindings are gone too, and
    # messages sent without them are dropped.
    queue.declare()
    stale = Q(updated_at__lt=cutoff) & Q(
        state__in=[LabelingState.QUEUED, LabelingState.RUNNING, LabelingState.PENDING]
    )
    requeued: list[int] = []
    with transaction.atomic():
        for job_id, state in LabelingJob.objects.filter(stale).values_list("id", "state"):
            claimed = LabelingJob.objects.filter(
                id=job_id, state=state, updated_at__lt=cutoff
            ).update(state=LabelingState.QUEUED, updated_at=timezone.now())
            if claimed == 1:
                requeued.append(job_id)
        for batch in _batches(requeued):
            transaction.on_commit(partial(queue.send, batch))
    return len(requeued)


def labeling_progress(*, plan_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    """Per plan: jobs by state (done / failed / queued / running / pending)."""
    jobs = LabelingJob.objects.all()
    if plan_ids is not None:
        jobs = jobs.filter(clause__plan_id__in=list(plan_ids))
    progress: dict[int, dict[str, int]] = {}
    for row in jobs.values("clause__plan_id", "state").annotate(n=Count("id")):
        plan = progress.setdefault(row["clause__plan_id"], {s.value: 0 for s in LabelingState})
        plan[row["state"]] = row["n"]
    return progress
