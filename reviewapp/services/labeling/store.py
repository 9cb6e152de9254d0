"""Storing a batch's answers: attempts with their tokens, suggestions with their cost, the
response cache, and what storing them changes (agreement, the review queue, the jobs' states).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from pydantic import ValidationError

from reviewapp.labeling.base import Labeler, LabelResult
from reviewapp.labeling.llm import LLMLabeler, TransientLLMError
from reviewapp.labels.schema import SCHEMA_VERSION, labels_validate
from reviewapp.models import (
    LabelAttempt,
    LabelingJob,
    LabelingState,
    LLMResponseCache,
    Suggestion,
    SuggestionStatus,
)
from reviewapp.services.labeling.agreement import agreements_recheck, agreements_update
from reviewapp.services.labeling.claims import jobs_finish
from reviewapp.services.review import review_items_refresh

# A job and what its labeler answered: labels (valid or not), or an endpoint that did not answer.
Answer = tuple[LabelingJob, LabelResult | TransientLLMError]


def results_store(answers: list[Answer], cache_keys: dict[int, str]) -> None:
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
        jobs_finish(job_ids=done, state=LabelingState.DONE)
        for job in labeled:
            if not results[job.id].ok:
                reason = f"invalid after retries: {results[job.id].error}"
                jobs_finish(job_ids=[job.id], state=LabelingState.FAILED, reason=reason)
    agreements_recheck(valid)


def already_stored(jobs: list[LabelingJob]) -> set[int]:
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


def _record_attempts_many(answers: list[Answer]) -> None:
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


# --- the response cache -----------------------------------------------------------------------


def cache_key(labeler: Labeler, text: str) -> str:
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


def from_cache_many(jobs: list[LabelingJob], cache_keys: dict[int, str]) -> dict[int, LabelResult]:
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
