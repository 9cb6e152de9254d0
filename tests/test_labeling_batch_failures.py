"""What goes wrong inside a labeling batch stays with the job it happened to: the retry budget is
counted on the job wherever it runs, an unexpected error fails one job rather than the batch, a
time limit keeps what was already answered, two labelers storing at once still get their
agreement, and clause text never becomes template code."""

from __future__ import annotations

import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from reviewapp.labeling.base import ClauseInput
from reviewapp.labeling.llm import LLMLabeler
from reviewapp.labeling.rules import RuleLabeler
from reviewapp.models import (
    Clause,
    ClauseAgreement,
    LabelAttempt,
    LabelingJob,
    ReviewCount,
    ReviewItem,
    Suggestion,
)
from reviewapp.services import labeling
from reviewapp.services.labeling import BatchRunner, claims, jobs_retry_or_fail, jobs_run, store
from reviewapp.services.labeling.batch import wait_first
from reviewapp.services.plan_import import plans_import
from tests.concurrency import run_at_once
from tests.llm_fixtures import llm_job
from workers.tasks import label_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def clauses(seed_bytes) -> list[Clause]:  # type: ignore[no-untyped-def]
    plans_import(files=[("changping.txt", seed_bytes["changping"])])
    return list(Clause.objects.order_by("ordinal"))


def test_a_job_queued_again_after_a_failed_run_waits_for_its_own_retry(clauses, fake_llm) -> None:  # type: ignore[no-untyped-def]
    waiting = llm_job(clauses[0])
    fake_llm.fake.update(script=["500", "500"])  # the request and the client's own retry
    outcome = jobs_run(job_ids=[waiting.id])
    assert jobs_retry_or_fail(transient=outcome.transient, retry_allowed=True) == [waiting.id]
    # Another batch runs low and tops up meanwhile: it must not take the job before its backoff.
    other = llm_job(clauses[1])
    label_jobs.apply(args=[[other.id]])
    waiting.refresh_from_db()
    assert (waiting.state, waiting.attempts) == ("queued", 1)


def test_a_retry_run_does_not_top_up(clauses, fake_llm) -> None:  # type: ignore[no-untyped-def]
    retried, fresh = llm_job(clauses[0]), llm_job(clauses[1])
    fake_llm.fake.update(script=["500"] * 2)
    label_jobs.apply(args=[[retried.id]], retries=1)  # the task's last run
    fresh.refresh_from_db()
    assert (fresh.state, fresh.attempts) == ("queued", 0)


def test_a_job_whose_runs_are_used_up_is_failed_wherever_it_ran(clauses, fake_llm) -> None:  # type: ignore[no-untyped-def]
    job = llm_job(clauses[0])
    LabelingJob.objects.filter(id=job.id).update(attempts=1)  # it ran once before (elsewhere)
    fake_llm.fake.update(script=["500", "500"])
    label_jobs.apply(args=[[job.id]])
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.reason.startswith("gave up after 2 runs")
    assert fake_llm.fake.stats()["requests"] == 2 == LabelAttempt.objects.count()


def test_an_unexpected_error_fails_only_its_own_job(clauses, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    jobs = [llm_job(clause) for clause in clauses[:6]]
    original = LLMLabeler.label
    broken = clauses[3].text

    def label(self, clause):  # type: ignore[no-untyped-def]
        if clause.text == broken:
            raise KeyError("an edge case nobody foresaw")
        return original(self, clause)

    monkeypatch.setattr(LLMLabeler, "label", label)
    label_jobs.apply(args=[[job.id for job in jobs]])
    states = dict(LabelingJob.objects.values_list("clause_id", "state"))
    assert states.pop(clauses[3].id) == "failed"
    assert set(states.values()) == {"done"}
    reason = LabelingJob.objects.get(clause=clauses[3]).reason
    assert reason.startswith("gave up after 2 runs") and "KeyError" in reason
    assert Suggestion.objects.filter(status="valid").count() == 5
    assert LabelAttempt.objects.count() == fake_llm.fake.stats()["requests"] == 5


def test_a_time_limit_keeps_the_answers_already_in_and_the_retry_labels_the_rest(
    clauses, fake_llm, monkeypatch, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.LLM_CONCURRENCY = 2
    fake_llm.fake.update(latency_ms=100)
    jobs = [llm_job(clause) for clause in clauses[:12]]
    calls = {"n": 0}

    def wait(futures):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:  # the first run only: where Celery raises its soft time limit
            time.sleep(0.15)  # some answers come back meanwhile
            raise SoftTimeLimitExceeded()
        return wait_first(futures)

    monkeypatch.setattr(label_jobs, "runner", BatchRunner(wait=wait))
    label_jobs.apply(args=[[job.id for job in jobs]])
    assert calls["n"] > 5  # the limit struck the first run, and the retry ran with this runner
    assert set(LabelingJob.objects.values_list("state", flat=True)) == {"done"}
    assert Suggestion.objects.count() == 12
    # Answers that were in when the limit struck were stored by the first run, not asked again.
    first_run = LabelingJob.objects.filter(attempts=1).count()
    assert first_run >= 4, first_run


def test_a_batch_near_its_time_limit_starts_no_new_request(clauses, fake_llm, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LABEL_TASK_SOFT_TIME_LIMIT = 1
    settings.LLM_CONCURRENCY = 1
    fake_llm.fake.update(latency_ms=400)
    jobs = [llm_job(clause) for clause in clauses[:6]]
    outcome = jobs_run(job_ids=[job.id for job in jobs], top_up=False)
    late = [job_id for job_id, exc in outcome.transient.items() if "not started" in str(exc)]
    assert late and len(late) + outcome.count("done") == 6
    assert fake_llm.fake.stats()["requests"] == outcome.count("done")


def test_clause_text_reaches_the_model_as_it_is_never_as_template_code(fake_llm) -> None:  # type: ignore[no-untyped-def]
    labeler = labeling.labeler_build(name="llm")
    text = "到2025年,{{ 7*7 }}{% raw %}x{% endraw %}{# note #}占比达到10%以上。"
    labeler.label(ClauseInput(text=text, heading_path=["{{ 1+1 }}"]))
    user = fake_llm.fake.requests()[-1]["messages"][-1]["content"]
    assert text in user and "<heading_path>{{ 1+1 }}</heading_path>" in user
    assert "49" not in user


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_labelers_storing_the_same_clauses_at_once_still_get_their_agreement(
    clauses, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    some = clauses[:20]
    rules = RuleLabeler()
    jobs = {
        name: [
            LabelingJob.objects.create(clause=c, labeler=name, model="m", prompt_version="v")
            for c in some
        ]
        for name in ("rules", "llm")
    }
    refresh = store.review_items_refresh

    def refresh_then_linger(**kwargs):  # type: ignore[no-untyped-def]
        refresh(**kwargs)
        time.sleep(0.3)  # both batches are inside their transaction now

    monkeypatch.setattr(store, "review_items_refresh", refresh_then_linger)

    def store_answers(index: int) -> None:
        name = ("rules", "llm")[index]
        answers = [(job, rules.label(labeling.clause_input(job.clause))) for job in jobs[name]]
        store.results_store(answers, {})

    run_at_once(store_answers, threads=2)
    assert ClauseAgreement.objects.count() == 20
    assert ReviewItem.objects.count() == ReviewCount.objects.get(status="open").n == 20


def test_claims_work_on_a_sqlite_without_update_returning(clauses, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(claims, "update_returning", lambda: False)  # SQLite before 3.35
    labeler = labeling.labeler_build(name="rules")
    jobs = [
        LabelingJob.objects.create(
            clause=c, labeler="rules", prompt_version=labeler.prompt_version, state="queued"
        )
        for c in clauses[:4]
    ]
    config = ("rules", "", labeler.prompt_version)
    assert labeling.jobs_claim_queued(config=config, limit=1) == [jobs[0].id]
    assert labeling.jobs_claim(job_ids=[j.id for j in jobs]) == [j.id for j in jobs[1:]]
    assert labeling.jobs_claim(job_ids=[j.id for j in jobs]) == []


def test_compiled_once_templates_render_exactly_as_instructors_own(fake_llm) -> None:  # type: ignore[no-untyped-def]
    from textwrap import dedent

    from instructor.v2.core import templating
    from jinja2.sandbox import SandboxedEnvironment

    from reviewapp.labeling.prompts import USER_TEMPLATE, load_prompt

    labeling.labeler_build(name="llm")._instructor_client()  # installs the compiled templates
    assert getattr(templating.apply_template, "compiles_once", False)
    context = {
        "clause_text": "到2025年,{{ x }} 占比达到10%以上。\n  (责任单位:区发展改革委)",
        "heading_path": "一",
    }
    for text in (
        load_prompt("label-clause-v1").system,
        USER_TEMPLATE,
        "  indented {{ heading_path }}",
    ):
        instructors_own = dedent(SandboxedEnvironment().from_string(text).render(**context))
        assert templating.apply_template(text, context) == instructors_own
