"""Labeling: which clauses still need labels (jobs), running a labeler on a batch of them,
storing the results.

Celery tasks (``workers/tasks.py``) are thin adapters around ``jobs_run``,
``jobs_retry_or_fail`` and ``labeling_reconcile``; the CLI (``manage.py label``) and admin
actions call ``labeling_enqueue``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone
from pydantic import ValidationError

from reviewapp.labeling.base import LABELER_LLM, LABELER_RULES, ClauseInput, Labeler, LabelResult
from reviewapp.labeling.llm import LLMConfig, LLMLabeler, TransientLLMError
from reviewapp.labeling.prompts import load_prompt
from reviewapp.labeling.ratelimit import RateLimiter, RateLimitWaitTooLong
from reviewapp.labeling.rules import RuleLabeler
from reviewapp.labels.compare import fields_agree
from reviewapp.labels.schema import SCHEMA_VERSION, ClauseLabels, labels_validate
from reviewapp.models import (
    Clause,
    ClauseAgreement,
    LabelAttempt,
    LabelerName,
    LabelingJob,
    LabelingState,
    LLMResponseCache,
    Suggestion,
    SuggestionStatus,
)
from reviewapp.services.agencies import agency_canonical_names
from reviewapp.services.review import review_items_refresh

UNKNOWN_LABELER = "Unknown labeler {name!r}: use 'rules' or 'llm'."
BROKER_UNREACHABLE = (
    "Could not send the labeling tasks to the broker (REDIS_URL): {error}. {n} clauses were "
    "left pending: run the same command again once Redis is reachable."
)
NOT_STARTED_IN_TIME = "not started: the batch was near LABEL_TASK_SOFT_TIME_LIMIT"
JOB_SKIPPED = "skipped"


class BrokerUnreachable(Exception):
    """The jobs are committed but their messages could not be sent; they were left pending."""


@dataclass(frozen=True)
class RunOutcome:
    state: str  # done | failed | skipped
    reason: str = ""


# --- labelers ---------------------------------------------------------------------------------


def labeler_build(*, name: str) -> Labeler:
    if name == LABELER_RULES:
        return _rule_labeler()
    if name == LABELER_LLM:
        return _llm_labeler(
            llm_config(),
            settings.LLM_PROMPT,
            settings.LLM_REQUESTS_PER_MINUTE,
            settings.LLM_TOKENS_PER_MINUTE,
            settings.REDIS_URL,
            settings.LLM_CONCURRENCY,
        )
    raise ValueError(UNKNOWN_LABELER.format(name=name))


@lru_cache(maxsize=4)
def _llm_labeler(
    config: LLMConfig, prompt: str, rpm: int, tpm: int, redis_url: str | None, in_flight: int
) -> LLMLabeler:
    """One LLM labeler (and so one connection pool) per process and configuration: building
    the HTTP client costs more CPU than a whole request to the model."""
    limiter = RateLimiter(requests_per_minute=rpm, tokens_per_minute=tpm, redis_url=redis_url)
    return LLMLabeler(config, load_prompt(prompt), limiter=limiter, max_in_flight=in_flight)


@lru_cache(maxsize=1)
def _rule_labeler() -> RuleLabeler:
    return RuleLabeler()


def llm_config() -> LLMConfig:
    return LLMConfig(
        base_url=settings.LLM_BASE_URL or "",
        api_key=settings.LLM_API_KEY,
        model=settings.LLM_MODEL,
        mode=settings.LLM_MODE,
        temperature=settings.LLM_TEMPERATURE,
        timeout=settings.LLM_TIMEOUT,
        http_retries=settings.LLM_HTTP_RETRIES,
        validation_attempts=settings.LLM_VALIDATION_ATTEMPTS,
    )


def _rate_limiter() -> RateLimiter:
    return RateLimiter(
        requests_per_minute=settings.LLM_REQUESTS_PER_MINUTE,
        tokens_per_minute=settings.LLM_TOKENS_PER_MINUTE,
        redis_url=settings.REDIS_URL,
    )


def clause_input(clause: Clause) -> ClauseInput:
    return ClauseInput(
        text=clause.text,
        heading_path=list(clause.heading_path),
        lead_agencies=list(clause.lead_agencies),
        responsible_agencies=list(clause.responsible_agencies),
        kind_hint=clause.kind_hint,
        plan_year=clause.plan.plan_year,
    )


# --- enqueue ----------------------------------------------------------------------------------


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
    from kombu.exceptions import OperationalError

    from workers.tasks import label_jobs

    sent = 0
    try:
        for batch in _batches(job_ids):
            label_jobs.delay(batch)
            sent += len(batch)
    except OperationalError as exc:
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
    from workers.tasks import label_jobs

    stuck_after = stuck_after_seconds or settings.LABEL_STUCK_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stuck_after)
    _declare_queues()
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
            label_jobs.delay_on_commit(batch)
    return len(requeued)


def _declare_queues() -> None:
    """Declare the task queues on the broker again. After a Redis restart or FLUSHALL the
    exchange-to-queue bindings are gone too, and messages sent without them are dropped."""
    from workers.celery import app

    if app.conf.task_always_eager:
        return
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue(channel).declare()


# --- run a batch of jobs ----------------------------------------------------------------------


@dataclass
class BatchOutcome:
    """What became of each job of a batch. ``transient`` jobs are left running: the caller
    (the Celery task) either queues them again or fails them."""

    claimed: list[int] = field(default_factory=list)  # every job the run took, topped up too
    states: dict[int, str] = field(default_factory=dict)  # job id -> done | failed | skipped
    transient: dict[int, TransientLLMError] = field(default_factory=dict)

    def count(self, state: str) -> int:
        return sum(1 for s in self.states.values() if s == state)


def jobs_claim(*, job_ids: Iterable[int]) -> list[int]:
    """Take the queued jobs (and ones left running by a dead worker) among ``job_ids`` for this
    worker. One conditional UPDATE … RETURNING: two workers never get the same job."""
    job_ids = [int(i) for i in job_ids]
    if not job_ids:
        return []
    stale = timezone.now() - timedelta(seconds=settings.LABEL_STUCK_AFTER_SECONDS)
    claimable = Q(state=LabelingState.QUEUED) | Q(state=LabelingState.RUNNING, updated_at__lt=stale)
    if not _update_returning():
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
    if not _update_returning():
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


def _claim_returning(where: str, params: list[object]) -> list[int]:
    table = connection.ops.quote_name(LabelingJob._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, attempts = attempts + 1, updated_at = %s "
            f"WHERE {where} RETURNING id",
            [LabelingState.RUNNING, timezone.now(), *params],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _update_returning() -> bool:
    """UPDATE … RETURNING: PostgreSQL, and SQLite from 3.35 (Django 5.1 accepts 3.31)."""
    return connection.vendor != "sqlite" or sqlite3.sqlite_version_info >= (3, 35)


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


def job_run(*, job_id: int) -> RunOutcome:
    """Run one job (see ``jobs_run``). Raises TransientLLMError when the endpoint could not
    answer (the task decides whether to retry)."""
    outcome = jobs_run(job_ids=[job_id], top_up=False)
    if job_id in outcome.transient:
        raise outcome.transient[job_id]
    return RunOutcome(outcome.states.get(job_id, JOB_SKIPPED))


def jobs_run(
    *, job_ids: Iterable[int], outcome: BatchOutcome | None = None, top_up: bool = True
) -> BatchOutcome:
    """Run a batch of jobs: claim them, label their clauses and store the results.

    The LLM's clauses are labeled by threads, with at most LLM_CONCURRENCY requests in flight
    from this process; results are stored as they come, STORE_EVERY at a time, while the
    threads go on, so the requests in flight never wait for the database. Storing a group is a
    dozen queries, where one clause at a time took two dozen per clause. When an LLM batch runs
    low, it tops itself up with more queued jobs of its configuration (see ``_top_up``; not on
    a retry). No request starts after START_SHARE of the soft time limit; jobs not started by
    then are left to the caller like jobs the endpoint did not answer.

    ``outcome`` is filled as the run goes: a caller interrupted by a time limit still knows
    which jobs the run claimed. Answers already in are stored before the time limit's
    exception goes on.
    """
    started = time.monotonic()
    job_ids = list(job_ids)
    outcome = outcome if outcome is not None else BatchOutcome()
    claimed = jobs_claim(job_ids=job_ids)
    outcome.claimed.extend(claimed)
    for job_id in job_ids:
        if job_id not in claimed:
            outcome.states[job_id] = JOB_SKIPPED  # a duplicate delivery, or already done
    jobs = _jobs_to_label(claimed, outcome)
    start_deadline = started + settings.LABEL_TASK_SOFT_TIME_LIMIT * START_SHARE
    for config in sorted({_config_of(job) for job in jobs}):
        labeler = labeler_build(name=config[0])
        cache_keys: dict[int, str] = {}
        group = _answer_from_cache(
            labeler, [job for job in jobs if _config_of(job) == config], cache_keys, outcome
        )
        more = _top_up(labeler, config, cache_keys, outcome, started) if top_up else None
        for answers in _label_stream(labeler, group, more, start_deadline):
            try:
                _results_store(answers, cache_keys, outcome)
            except SoftTimeLimitExceeded:
                # The store was cut short and rolled back; the hard limit is further away.
                _results_store(answers, cache_keys, outcome)
                raise
    return outcome


# Results stored per transaction while the other requests of a batch are in flight.
STORE_EVERY = 16
# An LLM batch tops itself up only in the first part of its time limit, and starts no request
# late in it, so that what it has started can still finish within the limit.
TOP_UP_SHARE = 0.25
START_SHARE = 0.75


def _top_up(
    labeler: Labeler,
    config: tuple[str, str, str],
    cache_keys: dict[int, str],
    outcome: BatchOutcome,
    started: float,
) -> Callable[[int], list[LabelingJob]] | None:
    """For an LLM batch: a way to take more queued jobs of its configuration, during the first
    TOP_UP_SHARE of its time limit. None for the rule labeler, which has no requests to keep
    in flight."""
    if labeler.name != LABELER_LLM:
        return None
    deadline = started + settings.LABEL_TASK_SOFT_TIME_LIMIT * TOP_UP_SHARE

    def top_up(n: int) -> list[LabelingJob]:
        if time.monotonic() > deadline:
            return []
        more = jobs_claim_queued(config=config, limit=n)
        outcome.claimed.extend(more)
        return _answer_from_cache(labeler, _jobs_to_label(more, outcome), cache_keys, outcome)

    return top_up


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
    stored = _already_stored(jobs)
    if stored:
        _finish_many(sorted(stored), LabelingState.DONE, "")
        outcome.states.update({job_id: LabelingState.DONE for job_id in stored})
    return [job for job in jobs if job.id not in stored]


def _answer_from_cache(
    labeler: Labeler, jobs: list[LabelingJob], cache_keys: dict[int, str], outcome: BatchOutcome
) -> list[LabelingJob]:
    """Store the LLM jobs answered by the response cache; return the jobs still to label."""
    if labeler.name != LABELER_LLM or not jobs:
        return jobs
    keys = {job.id: _cache_key(labeler, job.clause.text) for job in jobs}
    cache_keys.update(keys)
    cached = _from_cache_many(jobs, keys)
    if cached:
        _results_store(
            [(job, cached[job.id]) for job in jobs if job.id in cached], cache_keys, outcome
        )
    return [job for job in jobs if job.id not in cached]


def _label_stream(
    labeler: Labeler,
    jobs: list[LabelingJob],
    top_up: Callable[[int], list[LabelingJob]] | None = None,
    start_deadline: float = math.inf,
) -> Iterator[list[tuple[LabelingJob, LabelResult | TransientLLMError]]]:
    """Label each job's clause; yield the answers in groups of STORE_EVERY as they come.

    The LLM labeler is thread-safe and its threads never touch the database. When fewer jobs
    are left than threads, ``top_up(n)`` is asked for up to n more (until it has none), so the
    in-flight permits stay busy across what would otherwise be the end of one batch and the
    start of the next. The rule labeler is CPU-bound and fast: in turn, in this thread."""

    def label(job: LabelingJob) -> tuple[LabelingJob, LabelResult | TransientLLMError]:
        try:
            return job, labeler.label(clause_input(job.clause))
        except TransientLLMError as exc:
            return job, exc
        except RateLimitWaitTooLong as exc:
            return job, TransientLLMError(str(exc), exc.seconds)
        except SoftTimeLimitExceeded:
            raise  # the task's time is up (raised in this thread only for the rule labeler)
        except Exception as exc:  # a bug or a library's edge case: this job, not the batch
            error = TransientLLMError(f"{type(exc).__name__}: {exc}")
            error.attempts = getattr(exc, "attempts", [])  # type: ignore[attr-defined]
            return job, error

    if labeler.name != LABELER_LLM:
        for start in range(0, len(jobs), STORE_EVERY):
            yield [label(job) for job in jobs[start : start + STORE_EVERY]]
        return
    # Twice as many threads as requests may be in flight: while one thread's request is out,
    # another builds its next request or validates its answer, ready for the permit.
    threads = 2 * settings.LLM_CONCURRENCY
    pending = deque(jobs)
    running: set[Future[tuple[LabelingJob, LabelResult | TransientLLMError]]] = set()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="llm")
    answers: list[tuple[LabelingJob, LabelResult | TransientLLMError]] = []
    try:
        while True:
            if time.monotonic() > start_deadline:
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
                finished, running = wait(running, return_when=FIRST_COMPLETED)
            except SoftTimeLimitExceeded:
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


def _results_store(
    answers: list[tuple[LabelingJob, LabelResult | TransientLLMError]],
    cache_keys: dict[int, str],
    outcome: BatchOutcome,
) -> None:
    """Store a group of answers in one transaction: every attempt (failed ones too: their
    tokens count), one suggestion per configuration, cache entries, labeler agreement, the
    review queue rows and the jobs' states. Transient failures stay running for the task."""
    results = {job.id: a for job, a in answers if isinstance(a, LabelResult)}
    labeled = [job for job, a in answers if isinstance(a, LabelResult)]
    with transaction.atomic():
        _record_attempts_many(answers)
        _suggestions_store(labeled, results, cache_keys)
        valid = sorted({job.clause_id for job in labeled if results[job.id].ok})
        agreements_update(clause_ids=valid)
        review_items_refresh(clause_ids=[job.clause_id for job in labeled])
        done = [job.id for job in labeled if results[job.id].ok]
        _finish_many(done, LabelingState.DONE, "")
        for job in labeled:
            if not results[job.id].ok:
                reason = f"invalid after retries: {results[job.id].error}"
                _finish_many([job.id], LabelingState.FAILED, reason)
    _agreements_recheck(valid)
    for job, answer in answers:
        if isinstance(answer, TransientLLMError):
            outcome.transient[job.id] = answer
        else:
            outcome.states[job.id] = LabelingState.DONE if answer.ok else LabelingState.FAILED


def _agreements_recheck(clause_ids: list[int]) -> None:
    """Two batches storing the two labelers' answers for a clause at the same moment each see
    only their own suggestion (READ COMMITTED), so neither stores the agreement. Once this
    batch has committed, store it for clauses that have both labelers' valid suggestions and no
    agreement as new as the newest of them (one query when there are none)."""
    if not clause_ids:
        return
    both = {
        row["clause_id"]: row["newest"]
        for row in Suggestion.objects.filter(
            clause_id__in=clause_ids, status=SuggestionStatus.VALID
        )
        .values("clause_id")
        .annotate(labelers=Count("labeler", distinct=True), newest=Max("created_at"))
        .filter(labelers__gte=2)
    }
    if not both:
        return
    agreed = dict(
        ClauseAgreement.objects.filter(clause_id__in=list(both)).values_list(
            "clause_id", "updated_at"
        )
    )
    stale = [cid for cid, newest in both.items() if cid not in agreed or agreed[cid] < newest]
    if stale:
        with transaction.atomic():
            agreements_update(clause_ids=stale)
            review_items_refresh(clause_ids=stale)


def _already_stored(jobs: list[LabelingJob]) -> set[int]:
    """Jobs whose suggestion was stored before a crash."""
    existing = set(
        Suggestion.objects.filter(clause_id__in={job.clause_id for job in jobs}).values_list(
            "clause_id", "labeler", "model", "prompt_version"
        )
    )
    return {
        job.id
        for job in jobs
        if (job.clause_id, job.labeler, job.model, job.prompt_version) in existing
    }


def jobs_fail(*, job_ids: list[int], reason: str) -> None:
    _finish_many(job_ids, LabelingState.FAILED, reason)


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


def _suggestions_store(
    jobs: list[LabelingJob], results: dict[int, LabelResult], cache_keys: dict[int, str]
) -> None:
    """One suggestion per configuration, whoever writes first (the unique constraint makes a
    duplicate delivery change nothing), and the cache entries of fresh valid answers."""
    suggestions, cache_entries = [], []
    for job in jobs:
        result = results[job.id]
        prompt_tokens = sum(a.prompt_tokens for a in result.attempts)
        completion_tokens = sum(a.completion_tokens for a in result.attempts)
        labels = result.labels.model_dump(mode="json") if result.labels else None
        suggestions.append(
            Suggestion(
                clause_id=job.clause_id,
                labeler=job.labeler,
                model=job.model,
                prompt_version=job.prompt_version,
                schema_version=SCHEMA_VERSION,
                status=SuggestionStatus.VALID if result.ok else SuggestionStatus.FAILED,
                labels=labels,
                confidence=result.confidence,
                error=result.error,
                raw_output=result.raw_output,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost=_cost(job.model, prompt_tokens, completion_tokens),
                requests=len(result.attempts),
                cached=result.cached,
            )
        )
        key = cache_keys.get(job.id)
        if result.ok and key and not result.cached:
            cache_entries.append(
                LLMResponseCache(
                    key=key,
                    labels=labels,
                    raw_output=result.raw_output,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                )
            )
    Suggestion.objects.bulk_create(suggestions, ignore_conflicts=True)
    LLMResponseCache.objects.bulk_create(cache_entries, ignore_conflicts=True)


def _finish_many(job_ids: list[int], state: str, reason: str) -> None:
    if job_ids:
        LabelingJob.objects.filter(id__in=job_ids).update(
            state=state, reason=reason[:4000], updated_at=timezone.now()
        )


def _record_attempts_many(
    answers: list[tuple[LabelingJob, LabelResult | TransientLLMError]],
) -> None:
    """Every HTTP request of these answers, failed ones included (their tokens count)."""
    LabelAttempt.objects.bulk_create(
        [
            LabelAttempt(
                job_id=job.id,
                status=a.status,
                prompt_tokens=a.prompt_tokens,
                completion_tokens=a.completion_tokens,
                latency_ms=a.latency_ms,
                error=a.error[:4000],
            )
            for job, answer in answers
            for a in getattr(answer, "attempts", [])
        ]
    )


def _cost(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    prices = settings.LLM_PRICES.get(model) if isinstance(settings.LLM_PRICES, dict) else None
    if not prices:
        return Decimal(0)
    cost = (
        prompt_tokens * float(prices.get("input", 0))
        + completion_tokens * float(prices.get("output", 0))
    ) / 1e6
    return Decimal(str(round(cost, 6)))


def _cache_key(labeler: Labeler, text: str) -> str:
    parameters = labeler.config.cache_parameters() if isinstance(labeler, LLMLabeler) else {}
    material = json.dumps(
        [
            hashlib.sha256(text.encode()).hexdigest(),
            labeler.prompt_version,
            labeler.model,
            parameters,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _from_cache_many(jobs: list[LabelingJob], cache_keys: dict[int, str]) -> dict[int, LabelResult]:
    """Cached answers (one query for the batch), validated again against each clause."""
    wanted = {cache_keys[job.id] for job in jobs}
    entries = {
        key: (labels, raw)
        for key, labels, raw in LLMResponseCache.objects.filter(key__in=wanted).values_list(
            "key", "labels", "raw_output"
        )
    }
    results = {}
    for job in jobs:
        entry = entries.get(cache_keys[job.id])
        if entry is None:
            continue
        try:
            labels = labels_validate(
                entry[0], clause_text=job.clause.text, plan_year=job.clause.plan.plan_year
            )
        except ValidationError:
            continue
        results[job.id] = LabelResult(labels=labels, raw_output=entry[1], cached=True)
    return results


# --- agreement and progress -------------------------------------------------------------------


def agreement_update(*, clause_id: int) -> ClauseAgreement | None:
    """When both labelers have valid labels for a clause, store where they agree."""
    agreements_update(clause_ids=[clause_id])
    return ClauseAgreement.objects.filter(clause_id=clause_id).first()


def agreements_update(*, clause_ids: Iterable[int]) -> None:
    """For each clause that both labelers have valid labels for, store where they agree."""
    latest: dict[int, dict[str, dict[str, Any]]] = {}
    for clause_id, labeler, labels in (
        Suggestion.objects.filter(clause_id__in=list(clause_ids), status=SuggestionStatus.VALID)
        .order_by("created_at", "id")
        .values_list("clause_id", "labeler", "labels")
    ):
        latest.setdefault(clause_id, {})[labeler] = labels
    # Validated only where there is something to compare: most batches have one labeler.
    both = {
        clause_id: {
            name: ClauseLabels.model_validate(labels) for name, labels in by_labeler.items()
        }
        for clause_id, by_labeler in latest.items()
        if LabelerName.RULES in by_labeler and LabelerName.LLM in by_labeler
    }
    if not both:
        return

    def canonical(names: list[str]) -> list[str]:
        return agency_canonical_names(names=names)

    rows = []
    for clause_id, by_labeler in both.items():
        agree = fields_agree(
            by_labeler[LabelerName.RULES], by_labeler[LabelerName.LLM], canonical=canonical
        )
        rows.append(
            ClauseAgreement(
                clause_id=clause_id,
                fields=agree,
                disagreements=sum(1 for ok in agree.values() if not ok),
                updated_at=timezone.now(),
            )
        )
    ClauseAgreement.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["clause"],
        update_fields=["fields", "disagreements", "updated_at"],
    )


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
