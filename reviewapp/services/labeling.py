"""Labeling: which clauses still need labels (jobs), running a labeler on one, storing the result.

Celery tasks (``workers/tasks.py``) are thin adapters around ``job_run`` and
``labeling_reconcile``; the CLI (``manage.py label``) and admin actions call
``labeling_enqueue``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
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
from reviewapp.services.review import review_item_refresh

UNKNOWN_LABELER = "Unknown labeler {name!r}: use 'rules' or 'llm'."
JOB_SKIPPED = "skipped"


@dataclass(frozen=True)
class RunOutcome:
    state: str  # done | failed | skipped
    reason: str = ""


# --- labelers ---------------------------------------------------------------------------------


def labeler_build(*, name: str) -> Labeler:
    if name == LABELER_RULES:
        return _rule_labeler()
    if name == LABELER_LLM:
        return LLMLabeler(llm_config(), load_prompt(settings.LLM_PROMPT), limiter=_rate_limiter())
    raise ValueError(UNKNOWN_LABELER.format(name=name))


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
    )


# --- enqueue ----------------------------------------------------------------------------------


def labeling_enqueue(
    *, clause_ids: Iterable[int], labeler_name: str, relabel: bool = False
) -> list[int]:
    """Create jobs for these clauses and queue the ones not done yet (all of them with
    ``relabel``). Tasks are sent after the transaction commits. Returns the queued job ids."""
    from workers.tasks import label_clause

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
        for job_id in job_ids:
            label_clause.delay_on_commit(job_id)
    return job_ids


def labeling_reconcile(*, stuck_after_seconds: int | None = None) -> int:
    """Queue again the jobs whose message was lost (Redis restart, FLUSHALL, a killed worker):
    queued or running for too long, or pending and never queued. Returns how many."""
    from workers.tasks import label_clause

    stuck_after = stuck_after_seconds or settings.LABEL_STUCK_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stuck_after)
    _declare_queues()
    stale = Q(updated_at__lt=cutoff) & Q(
        state__in=[LabelingState.QUEUED, LabelingState.RUNNING, LabelingState.PENDING]
    )
    requeued = 0
    with transaction.atomic():
        for job_id, state in LabelingJob.objects.filter(stale).values_list("id", "state"):
            claimed = LabelingJob.objects.filter(
                id=job_id, state=state, updated_at__lt=cutoff
            ).update(state=LabelingState.QUEUED, updated_at=timezone.now())
            if claimed == 1:
                label_clause.delay_on_commit(job_id)
                requeued += 1
    return requeued


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


# --- run one job ------------------------------------------------------------------------------


def job_claim(*, job_id: int) -> bool:
    """Take a queued job (or one left running by a dead worker) for this worker."""
    stale = timezone.now() - timedelta(seconds=settings.LABEL_STUCK_AFTER_SECONDS)
    return (
        LabelingJob.objects.filter(
            Q(state=LabelingState.QUEUED) | Q(state=LabelingState.RUNNING, updated_at__lt=stale),
            id=job_id,
        ).update(state=LabelingState.RUNNING, attempts=F("attempts") + 1, updated_at=timezone.now())
        == 1
    )


def job_run(*, job_id: int) -> RunOutcome:
    """Run the job's labeler on its clause and store the suggestion. Raises TransientLLMError
    when the endpoint could not answer (the task decides whether to retry)."""
    if not job_claim(job_id=job_id):
        return RunOutcome(JOB_SKIPPED)  # a duplicate delivery, or already done
    job = LabelingJob.objects.select_related("clause").get(id=job_id)
    if Suggestion.objects.filter(
        clause_id=job.clause_id,
        labeler=job.labeler,
        model=job.model,
        prompt_version=job.prompt_version,
    ).exists():
        return _finish(job, LabelingState.DONE, "")  # stored before a crash; nothing to redo
    labeler = labeler_build(name=job.labeler)
    clause = clause_input(job.clause)
    cache_key = _cache_key(labeler, clause.text) if job.labeler == LABELER_LLM else None
    result = _from_cache(cache_key, clause.text) if cache_key else None
    if result is None:
        try:
            result = labeler.label(clause)
        except (TransientLLMError, RateLimitWaitTooLong) as exc:
            _record_attempts(job, getattr(exc, "attempts", []))
            raise TransientLLMError(
                str(exc), getattr(exc, "retry_after", None) or getattr(exc, "seconds", None)
            ) from exc
    return suggestion_store(job=job, result=result, cache_key=cache_key)


def job_fail(*, job_id: int, reason: str) -> None:
    LabelingJob.objects.filter(id=job_id).update(
        state=LabelingState.FAILED, reason=reason[:4000], updated_at=timezone.now()
    )


def job_requeue(*, job_id: int, reason: str) -> None:
    LabelingJob.objects.filter(id=job_id, state=LabelingState.RUNNING).update(
        state=LabelingState.QUEUED, reason=reason[:4000], updated_at=timezone.now()
    )


def retry_countdown(*, retries: int, retry_after: float | None) -> float:
    """Honour the server's Retry-After; otherwise exponential backoff with full jitter."""
    if retry_after:
        return retry_after
    return random.uniform(0, min(60.0, 2.0 * 2**retries))


@transaction.atomic
def suggestion_store(
    *, job: LabelingJob, result: LabelResult, cache_key: str | None = None
) -> RunOutcome:
    """Write the suggestion once per configuration (a duplicate run changes nothing), the
    attempts, the cache entry and the job's final state."""
    attempts = _record_attempts(job, result.attempts)
    prompt_tokens = sum(a.prompt_tokens for a in attempts)
    completion_tokens = sum(a.completion_tokens for a in attempts)
    status = SuggestionStatus.VALID if result.ok else SuggestionStatus.FAILED
    _, created = Suggestion.objects.get_or_create(
        clause_id=job.clause_id,
        labeler=job.labeler,
        model=job.model,
        prompt_version=job.prompt_version,
        defaults={
            "schema_version": SCHEMA_VERSION,
            "status": status,
            "labels": result.labels.model_dump(mode="json") if result.labels else None,
            "confidence": result.confidence,
            "error": result.error,
            "raw_output": result.raw_output,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "cost": _cost(job.model, prompt_tokens, completion_tokens),
            "requests": len(attempts),
            "cached": result.cached,
        },
    )
    if created and result.ok and cache_key and not result.cached:
        LLMResponseCache.objects.get_or_create(
            key=cache_key,
            defaults={
                "labels": result.labels.model_dump(mode="json"),  # type: ignore[union-attr]
                "raw_output": result.raw_output,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
            },
        )
    if result.ok:
        agreement_update(clause_id=job.clause_id)
    review_item_refresh(clause_id=job.clause_id)
    if result.ok:
        return _finish(job, LabelingState.DONE, "")
    return _finish(job, LabelingState.FAILED, f"invalid after retries: {result.error}")


def _finish(job: LabelingJob, state: str, reason: str) -> RunOutcome:
    LabelingJob.objects.filter(id=job.id).update(
        state=state, reason=reason[:4000], updated_at=timezone.now()
    )
    return RunOutcome(state, reason)


def _record_attempts(job: LabelingJob, attempts: list) -> list:  # type: ignore[type-arg]
    LabelAttempt.objects.bulk_create(
        [
            LabelAttempt(
                job=job,
                status=a.status,
                prompt_tokens=a.prompt_tokens,
                completion_tokens=a.completion_tokens,
                latency_ms=a.latency_ms,
                error=a.error[:4000],
            )
            for a in attempts
        ]
    )
    return attempts


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


def _from_cache(key: str, clause_text: str) -> LabelResult | None:
    entry = LLMResponseCache.objects.filter(key=key).first()
    if entry is None:
        return None
    try:
        labels = labels_validate(entry.labels, clause_text=clause_text)
    except ValidationError:
        return None
    return LabelResult(labels=labels, raw_output=entry.raw_output, cached=True)


# --- agreement and progress -------------------------------------------------------------------


def agreement_update(*, clause_id: int) -> ClauseAgreement | None:
    """When both labelers have valid labels for a clause, store where they agree."""
    latest: dict[str, ClauseLabels] = {}
    for suggestion in Suggestion.objects.filter(
        clause_id=clause_id, status=SuggestionStatus.VALID
    ).order_by("created_at"):
        latest[suggestion.labeler] = ClauseLabels.model_validate(suggestion.labels)
    if LabelerName.RULES not in latest or LabelerName.LLM not in latest:
        return None

    def canonical(names: list[str]) -> list[str]:
        return agency_canonical_names(names=names)

    agree = fields_agree(latest[LabelerName.RULES], latest[LabelerName.LLM], canonical=canonical)
    agreement, _ = ClauseAgreement.objects.update_or_create(
        clause_id=clause_id,
        defaults={"fields": agree, "disagreements": sum(1 for ok in agree.values() if not ok)},
    )
    return agreement


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
