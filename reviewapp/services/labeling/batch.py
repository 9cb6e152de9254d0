"""Running a batch of jobs: claim them, label their clauses (the LLM's on threads, topping the
batch up with queued jobs while it has time), store the answers as they come.

The caller (the Celery task) passes a ``Deadline``: how long the batch has, and the exception
by which its time limit interrupts it. The service knows nothing of Celery. The runner's clock
and its wait for the labeling threads are seams, so that tests can bring a time limit about
without patching module names.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings

from reviewapp.labeling.base import LABELER_LLM, Labeler
from reviewapp.labeling.llm import TransientLLMError
from reviewapp.labeling.ratelimit import RateLimitWaitTooLong
from reviewapp.models import LabelingJob, LabelingState
from reviewapp.services.labeling.claims import jobs_claim, jobs_claim_queued, jobs_finish
from reviewapp.services.labeling.labelers import clause_input, labeler_build
from reviewapp.services.labeling.store import (
    Answer,
    already_stored,
    cache_key,
    from_cache_many,
    results_store,
)

NOT_STARTED_IN_TIME = "not started: the batch was near LABEL_TASK_SOFT_TIME_LIMIT"
JOB_SKIPPED = "skipped"

# Results stored per transaction while the other requests of a batch are in flight.
STORE_EVERY = 16
# An LLM batch tops itself up only in the first part of its time limit, and starts no request
# late in it, so that what it has started can still finish within the limit.
TOP_UP_SHARE = 0.25
START_SHARE = 0.75

Pending = set[Future[Answer]]


@dataclass(frozen=True)
class RunOutcome:
    state: str  # done | failed | skipped
    reason: str = ""


@dataclass
class BatchOutcome:
    """What became of each job of a batch. ``transient`` jobs are left running: the caller
    (the Celery task) either queues them again or fails them."""

    claimed: list[int] = field(default_factory=list)  # every job the run took, topped up too
    states: dict[int, str] = field(default_factory=dict)  # job id -> done | failed | skipped
    transient: dict[int, TransientLLMError] = field(default_factory=dict)

    def count(self, state: str) -> int:
        return sum(1 for s in self.states.values() if s == state)

    def record(self, answers: list[Answer]) -> None:
        """Note stored answers: done or failed, or transient for the caller to retry."""
        for job, answer in answers:
            if isinstance(answer, TransientLLMError):
                self.transient[job.id] = answer
            else:
                self.states[job.id] = LabelingState.DONE if answer.ok else LabelingState.FAILED


@dataclass(frozen=True)
class Deadline:
    """The time a batch has, from its caller. ``seconds`` is the caller's soft time limit,
    counted from the start of the run: the batch tops up in its first TOP_UP_SHARE and starts
    no request after START_SHARE of it. ``interrupted_by`` are the exceptions by which the
    caller's time limit cuts the run short (the task passes Celery's SoftTimeLimitExceeded):
    a labeling thread lets them go on rather than fail its job with them, and the answers
    already in are stored before they leave the batch."""

    seconds: float
    interrupted_by: tuple[type[BaseException], ...] = ()

    @classmethod
    def from_settings(cls) -> Deadline:
        """Outside a task (a direct call): the task's limit, and nothing that interrupts."""
        return cls(seconds=settings.LABEL_TASK_SOFT_TIME_LIMIT)


def wait_first(futures: Pending) -> tuple[Pending, Pending]:
    """Block until at least one of the labeling threads' futures is done: (done, not done)."""
    return wait(futures, return_when=FIRST_COMPLETED)


@dataclass(frozen=True)
class BatchRunner:
    """Runs batches. ``clock`` measures the deadline (monotonic seconds); ``wait`` blocks the
    task's thread until a labeling thread has answered, and is where a time limit strikes in
    a worker (Celery raises it in the thread that waits)."""

    clock: Callable[[], float] = time.monotonic
    wait: Callable[[Pending], tuple[Pending, Pending]] = wait_first

    def run(
        self,
        *,
        job_ids: Iterable[int],
        outcome: BatchOutcome | None = None,
        top_up: bool = True,
        deadline: Deadline | None = None,
    ) -> BatchOutcome:
        """Run a batch of jobs: claim them, label their clauses and store the results.

        The LLM's clauses are labeled by threads, with at most LLM_CONCURRENCY requests in
        flight from this process; results are stored as they come, STORE_EVERY at a time,
        while the threads go on, so the requests in flight never wait for the database.
        Storing a group is a dozen queries, where one clause at a time took two dozen per
        clause. When an LLM batch runs low, it tops itself up with more queued jobs of its
        configuration (see ``_top_up``; not on a retry). No request starts after START_SHARE
        of the deadline; jobs not started by then are left to the caller like jobs the
        endpoint did not answer.

        ``outcome`` is filled as the run goes: a caller interrupted by a time limit still knows
        which jobs the run claimed. Answers already in are stored before the time limit's
        exception goes on.
        """
        started = self.clock()
        deadline = deadline or Deadline.from_settings()
        job_ids = list(job_ids)
        outcome = outcome if outcome is not None else BatchOutcome()
        claimed = jobs_claim(job_ids=job_ids)
        outcome.claimed.extend(claimed)
        for job_id in job_ids:
            if job_id not in claimed:
                outcome.states[job_id] = JOB_SKIPPED  # a duplicate delivery, or already done
        jobs = _jobs_to_label(claimed, outcome)
        start_deadline = started + deadline.seconds * START_SHARE
        for config in sorted({_config_of(job) for job in jobs}):
            labeler = labeler_build(name=config[0])
            cache_keys: dict[int, str] = {}
            group = _answer_from_cache(
                labeler, [job for job in jobs if _config_of(job) == config], cache_keys, outcome
            )
            more = (
                self._top_up(labeler, config, cache_keys, outcome, started, deadline)
                if top_up
                else None
            )
            for answers in self._label_stream(labeler, group, more, start_deadline, deadline):
                try:
                    results_store(answers, cache_keys)
                except deadline.interrupted_by:
                    # The store was cut short and rolled back; the hard limit is further away.
                    results_store(answers, cache_keys)
                    outcome.record(answers)
                    raise
                outcome.record(answers)
        return outcome

    def _top_up(
        self,
        labeler: Labeler,
        config: tuple[str, str, str],
        cache_keys: dict[int, str],
        outcome: BatchOutcome,
        started: float,
        deadline: Deadline,
    ) -> Callable[[int], list[LabelingJob]] | None:
        """For an LLM batch: a way to take more queued jobs of its configuration, during the
        first TOP_UP_SHARE of its deadline. None for the rule labeler, which has no requests
        to keep in flight."""
        if labeler.name != LABELER_LLM:
            return None
        until = started + deadline.seconds * TOP_UP_SHARE

        def top_up(n: int) -> list[LabelingJob]:
            if self.clock() > until:
                return []
            more = jobs_claim_queued(config=config, limit=n)
            outcome.claimed.extend(more)
            return _answer_from_cache(labeler, _jobs_to_label(more, outcome), cache_keys, outcome)

        return top_up

    def _label_stream(
        self,
        labeler: Labeler,
        jobs: list[LabelingJob],
        top_up: Callable[[int], list[LabelingJob]] | None,
        start_deadline: float,
        deadline: Deadline,
    ) -> Iterator[list[Answer]]:
        """Label each job's clause; yield the answers in groups of STORE_EVERY as they come.

        The LLM labeler is thread-safe and its threads never touch the database. When fewer
        jobs are left than threads, ``top_up(n)`` is asked for up to n more (until it has
        none), so the in-flight permits stay busy across what would otherwise be the end of
        one batch and the start of the next. The rule labeler is CPU-bound and fast: in turn,
        in this thread."""

        def label(job: LabelingJob) -> Answer:
            try:
                return job, labeler.label(clause_input(job.clause))
            except TransientLLMError as exc:
                return job, exc
            except RateLimitWaitTooLong as exc:
                return job, TransientLLMError(str(exc), exc.seconds)
            except deadline.interrupted_by:
                raise  # the task's time is up (raised in this thread only for the rule labeler)
            except Exception as exc:  # a bug or a library's edge case: this job, not the batch
                error = TransientLLMError(f"{type(exc).__name__}: {exc}")
                error.attempts = getattr(exc, "attempts", [])  # type: ignore[attr-defined]
                return job, error

        if labeler.name != LABELER_LLM:
            for start in range(0, len(jobs), STORE_EVERY):
                yield [label(job) for job in jobs[start : start + STORE_EVERY]]
            return
        # Twice as many threads as requests may be in flight: while one thread's request is
        # out, another builds its next request or validates its answer, ready for the permit.
        threads = 2 * settings.LLM_CONCURRENCY
        pending = deque(jobs)
        running: Pending = set()
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="llm")
        answers: list[Answer] = []
        try:
            while True:
                if self.clock() > start_deadline:
                    late = TransientLLMError(NOT_STARTED_IN_TIME)
                    answers += [(job, late) for job in pending]
                    pending.clear()
                    top_up = None
                # Top up a thread's worth at a time: each top-up is a few queries.
                if top_up is not None and len(pending) + len(running) < threads:
                    more = top_up(threads)
                    pending.extend(more)
                    if not more:
                        top_up = None  # the queue is empty (or the time is up): drain
                while pending and len(running) < threads:
                    running.add(pool.submit(label, pending.popleft()))
                if not running:
                    break
                try:
                    finished, running = self.wait(running)
                except deadline.interrupted_by:
                    # Keep what has come back: it is stored before the exception goes on.
                    answers += [future.result() for future in running if future.done()]
                    if answers:
                        yield answers
                    raise
                answers += [future.result() for future in finished]
                if len(answers) >= STORE_EVERY:
                    yield answers
                    answers = []
            if answers:
                yield answers
        finally:
            # On a time limit, requests not started are dropped rather than waited for.
            pool.shutdown(wait=False, cancel_futures=True)


def jobs_run(
    *,
    job_ids: Iterable[int],
    outcome: BatchOutcome | None = None,
    top_up: bool = True,
    deadline: Deadline | None = None,
) -> BatchOutcome:
    """``BatchRunner.run`` with the real clock and wait."""
    return BatchRunner().run(job_ids=job_ids, outcome=outcome, top_up=top_up, deadline=deadline)


def job_run(*, job_id: int) -> RunOutcome:
    """Run one job (see ``BatchRunner.run``). Raises TransientLLMError when the endpoint could
    not answer (the task decides whether to retry)."""
    outcome = jobs_run(job_ids=[job_id], top_up=False)
    if job_id in outcome.transient:
        raise outcome.transient[job_id]
    return RunOutcome(outcome.states.get(job_id, JOB_SKIPPED))


def _config_of(job: LabelingJob) -> tuple[str, str, str]:
    return (job.labeler, job.model, job.prompt_version)


def _jobs_to_label(job_ids: list[int], outcome: BatchOutcome) -> list[LabelingJob]:
    """The claimed jobs with their clauses; those whose suggestion was stored before a crash
    are finished at once (nothing to redo)."""
    if not job_ids:
        return []
    jobs = list(
        LabelingJob.objects.filter(id__in=job_ids)
        .select_related("clause__plan")
        .only(
            "id",
            "clause_id",
            "labeler",
            "model",
            "prompt_version",
            "clause__text",
            "clause__heading_path",
            "clause__lead_agencies",
            "clause__responsible_agencies",
            "clause__kind_hint",
            "clause__plan__plan_year",
        )
        .order_by("id")
    )
    stored = already_stored(jobs)
    if stored:
        jobs_finish(job_ids=sorted(stored), state=LabelingState.DONE)
        outcome.states.update({job_id: LabelingState.DONE for job_id in stored})
    return [job for job in jobs if job.id not in stored]


def _answer_from_cache(
    labeler: Labeler, jobs: list[LabelingJob], cache_keys: dict[int, str], outcome: BatchOutcome
) -> list[LabelingJob]:
    """Store the LLM jobs answered by the response cache; return the jobs still to label."""
    if labeler.name != LABELER_LLM or not jobs:
        return jobs
    keys = {job.id: cache_key(labeler, job.clause.text) for job in jobs}
    cache_keys.update(keys)
    cached = from_cache_many(jobs, keys)
    if cached:
        answers: list[Answer] = [(job, cached[job.id]) for job in jobs if job.id in cached]
        results_store(answers, cache_keys)
        outcome.record(answers)
    return [job for job in jobs if job.id not in cached]
