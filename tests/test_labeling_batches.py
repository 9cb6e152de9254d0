"""Labeling in batches: a task labels many jobs with few queries, keeps at most LLM_CONCURRENCY
requests in flight per process, tops itself up with queued jobs when it runs low, retries only
the jobs the endpoint did not answer, and keeps what it stored when its time limit cuts it
short."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviewapp.labeling.rules import RuleLabeler
from reviewapp.models import (
    Clause,
    LabelAttempt,
    LabelingJob,
    LabelingState,
    ReviewCount,
    ReviewItem,
    Suggestion,
)
from reviewapp.services import labeling
from reviewapp.services.labeling import jobs_claim, jobs_claim_queued, labeler_build
from reviewapp.services.plan_import import plans_import
from tests.concurrency import run_at_once
from tests.llm_fixtures import llm_job
from workers.tasks import TOOK_TOO_LONG, label_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_clauses(seed_bytes) -> list[Clause]:  # type: ignore[no-untyped-def]
    plans_import(files=[("changping.txt", seed_bytes["changping"])])
    return list(Clause.objects.order_by("ordinal"))


def _rules_jobs(clauses: list[Clause]) -> list[int]:
    labeler = labeler_build(name="rules")
    return [
        LabelingJob.objects.create(
            clause=clause,
            labeler="rules",
            prompt_version=labeler.prompt_version,
            state=LabelingState.QUEUED,
        ).id
        for clause in clauses
    ]


def test_a_batch_costs_about_the_same_queries_whatever_its_size(seed_clauses) -> None:  # type: ignore[no-untyped-def]
    small, large = _rules_jobs(seed_clauses[:8]), _rules_jobs(seed_clauses[8:])
    assert len(large) == 28 and labeling.STORE_EVERY <= 16
    with CaptureQueriesContext(connection) as eight:
        label_jobs.apply(args=[small])
    with CaptureQueriesContext(connection) as many:
        label_jobs.apply(args=[large])
    assert Suggestion.objects.filter(status="valid").count() == 36
    # More stores of up to STORE_EVERY answers: a dozen queries more each, not two dozen per
    # clause (one clause at a time took 24).
    assert len(many) <= len(eight) + 3 * 15, (len(eight), len(many))
    assert len(many) / len(large) < 2.5


def test_a_batch_fills_the_review_queue_and_its_counts(seed_clauses) -> None:  # type: ignore[no-untyped-def]
    label_jobs.apply(args=[_rules_jobs(seed_clauses)])
    assert ReviewItem.objects.count() == len(seed_clauses)
    assert ReviewCount.objects.get(status="open").n == len(seed_clauses)
    assert not ReviewItem.objects.filter(kind="").exists()


def test_two_claims_of_the_same_jobs_never_both_get_one(seed_clauses) -> None:  # type: ignore[no-untyped-def]
    job_ids = _rules_jobs(seed_clauses[:6])
    first = jobs_claim(job_ids=job_ids[:4])
    second = jobs_claim(job_ids=job_ids)
    assert first == job_ids[:4]
    assert second == job_ids[4:]


def test_only_the_jobs_the_endpoint_did_not_answer_are_retried(seed_clauses, fake_llm) -> None:  # type: ignore[no-untyped-def]
    jobs = [llm_job(clause) for clause in seed_clauses[:3]]
    # One clause gets a 500 and the client's retry a 500 again: that job is retried by Celery.
    fake_llm.fake.update(script=["500", "500"])
    result = label_jobs.apply(args=[[job.id for job in jobs]])
    assert result.successful()
    assert set(LabelingJob.objects.values_list("state", flat=True)) == {"done"}
    assert Suggestion.objects.filter(labeler="llm", status="valid").count() == 3
    assert fake_llm.fake.stats()["requests"] == 5 == LabelAttempt.objects.count()
    assert sorted(LabelAttempt.objects.values_list("status", flat=True)) == [
        "http_error",
        "http_error",
        "ok",
        "ok",
        "ok",
    ]


def test_a_process_never_has_more_requests_in_flight_than_llm_concurrency(
    seed_clauses, fake_llm, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.LLM_CONCURRENCY = 2
    fake_llm.fake.update(latency_ms=100)
    jobs = [llm_job(clause) for clause in seed_clauses[:8]]
    label_jobs.apply(args=[[job.id for job in jobs]])
    assert Suggestion.objects.filter(labeler="llm", status="valid").count() == 8
    assert fake_llm.fake.stats()["max_in_flight"] == 2


def test_the_llm_labeler_shares_its_permits_between_threads(
    seed_clauses, fake_llm, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.LLM_CONCURRENCY = 3
    fake_llm.fake.update(latency_ms=200)
    labeler = labeler_build(name="llm")
    with ThreadPoolExecutor(max_workers=9) as pool:
        results = list(pool.map(labeler.label, map(labeling.clause_input, seed_clauses[:9])))
    assert all(result.ok for result in results)
    assert fake_llm.fake.stats()["max_in_flight"] == 3
    # Latency is the HTTP exchange only, not the wait for a permit (up to 400 ms here).
    assert all(200 <= result.attempts[0].latency_ms < 380 for result in results)


def test_a_batch_cut_short_by_its_time_limit_keeps_what_it_stored_and_retries_the_rest(
    seed_clauses, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    job_ids = _rules_jobs(seed_clauses[: labeling.STORE_EVERY + 4])
    original = RuleLabeler.label
    calls = {"n": 0}

    def label_then_time_out(self, clause):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == labeling.STORE_EVERY + 2:  # the first run only, in its second group
            raise SoftTimeLimitExceeded()
        return original(self, clause)

    monkeypatch.setattr(RuleLabeler, "label", label_then_time_out)
    label_jobs.apply(args=[job_ids])
    # The first group was stored by the first run; the retry labeled the rest.
    assert Suggestion.objects.count() == labeling.STORE_EVERY + 4
    assert set(LabelingJob.objects.values_list("state", flat=True)) == {"done"}
    attempts = dict(LabelingJob.objects.values_list("id", "attempts"))
    assert [attempts[i] for i in job_ids] == [1] * labeling.STORE_EVERY + [2] * 4
    assert TOOK_TOO_LONG not in "".join(LabelingJob.objects.values_list("reason", flat=True))


def test_a_batch_still_unfinished_after_its_retries_fails_with_the_reason(
    seed_clauses, monkeypatch, settings
) -> None:  # type: ignore[no-untyped-def]
    job_ids = _rules_jobs(seed_clauses[:3])

    def always_too_slow(self, clause):  # type: ignore[no-untyped-def]
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(RuleLabeler, "label", always_too_slow)
    label_jobs.apply(args=[job_ids])
    jobs = LabelingJob.objects.filter(id__in=job_ids)
    assert set(jobs.values_list("state", flat=True)) == {"failed"}
    assert all(TOOK_TOO_LONG in reason for reason in jobs.values_list("reason", flat=True))
    assert not Suggestion.objects.exists()


def test_an_llm_batch_that_runs_low_tops_itself_up_with_queued_jobs_of_its_configuration(
    seed_clauses, fake_llm
) -> None:  # type: ignore[no-untyped-def]
    batch = [llm_job(clause) for clause in seed_clauses[:2]]
    queued = [llm_job(clause) for clause in seed_clauses[2:10]]  # their messages not yet run
    other = LabelingJob.objects.create(
        clause=seed_clauses[10], labeler="llm", model="another-model", prompt_version="x",
        state=LabelingState.QUEUED,
    )  # fmt: skip
    counts = label_jobs.apply(args=[[job.id for job in batch]]).get()
    assert counts["done"] == 10
    assert set(LabelingJob.objects.exclude(id=other.id).values_list("state", flat=True)) == {"done"}
    assert LabelingJob.objects.get(id=other.id).state == "queued"  # another configuration
    # When the topped-up jobs' own message arrives, they are skipped.
    late = label_jobs.apply(args=[[job.id for job in queued]]).get()
    assert late == {"done": 0, "failed": 0, "skipped": 8}
    assert Suggestion.objects.filter(labeler="llm").count() == 10
    assert fake_llm.fake.stats()["requests"] == 10


def test_a_rules_batch_labels_only_its_own_jobs(seed_clauses) -> None:  # type: ignore[no-untyped-def]
    batch, queued = _rules_jobs(seed_clauses[:3]), _rules_jobs(seed_clauses[3:6])
    label_jobs.apply(args=[batch])
    assert set(LabelingJob.objects.filter(id__in=queued).values_list("state", flat=True)) == {
        "queued"
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_topping_up_at_once_never_take_the_same_job(seed_clauses) -> None:  # type: ignore[no-untyped-def]
    config = ("llm", "fake-rules", "label-clause-v1@x")
    LabelingJob.objects.bulk_create(
        [
            LabelingJob(
                clause=clause, labeler=config[0], model=config[1], prompt_version=config[2],
                state=LabelingState.QUEUED,
            )
            for clause in seed_clauses[:32]
        ]
    )  # fmt: skip
    taken: list[int] = []

    def take(_: int) -> None:
        for _ in range(2):
            taken.extend(jobs_claim_queued(config=config, limit=2))

    run_at_once(take, threads=8)
    assert len(taken) == 32 == len(set(taken))
    assert set(LabelingJob.objects.values_list("state", flat=True)) == {"running"}
