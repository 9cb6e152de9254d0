"""Which labeler runs a job: the factory, the LLM's configuration from settings, and the input a
labeler gets for a clause."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from reviewapp.labeling.base import LABELER_LLM, LABELER_RULES, ClauseInput, Labeler
from reviewapp.labeling.llm import LLMConfig, LLMLabeler
from reviewapp.labeling.prompts import load_prompt
from reviewapp.labeling.ratelimit import RateLimiter
from reviewapp.labeling.rules import RuleLabeler
from reviewapp.models import Clause

UNKNOWN_LABELER = "Unknown labeler {name!r}: use 'rules' or 'llm'."


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


def rate_limiter() -> RateLimiter:
    """The limiter of the settings, for a labeler built outside ``labeler_build`` (evaluate)."""
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
