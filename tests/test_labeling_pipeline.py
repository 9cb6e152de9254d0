"""The labeling pipeline with the rule labeler: jobs, suggestions, idempotence, reconciliation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from reviewapp.models import Clause, LabelingJob, LabelingState, Plan, Suggestion
from reviewapp.services.labeling import (
    job_run,
    labeling_enqueue,
    labeling_progress,
    labeling_reconcile,
)
from reviewapp.services.plan_import import plans_import
from workers.tasks import label_jobs

# Real commits: tasks are sent on commit (delay_on_commit), as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeds_imported(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    plans_import(files=[(f"{k}.txt", v) for k, v in seed_bytes.items()])


def test_label_all_gives_every_seed_clause_a_valid_rules_suggestion(seeds_imported, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("label", "--all", "--labeler", "rules", "--no-progress")
    assert "229 done, 0 failed" in capsys.readouterr().out
    assert Suggestion.objects.filter(labeler="rules", status="valid").count() == 229
    assert not Clause.objects.exclude(suggestions__labeler="rules").exists()
    suggestion = Suggestion.objects.filter(labels__kind="target").first()
    assert suggestion.prompt_version.startswith("rules-")
    assert suggestion.labels["targets"]


def test_labeling_again_without_relabel_changes_nothing(seeds_imported) -> None:  # type: ignore[no-untyped-def]
    call_command("label", "--all", "--no-progress")
    before = list(Suggestion.objects.values_list("id", flat=True))
    assert (
        labeling_enqueue(
            clause_ids=Clause.objects.values_list("id", flat=True), labeler_name="rules"
        )
        == []
    )
    assert list(Suggestion.objects.values_list("id", flat=True)) == before


def test_relabel_replaces_the_suggestions(seeds_imported) -> None:  # type: ignore[no-untyped-def]
    plan = Plan.objects.get(title="杨浦区碳达峰实施方案")
    call_command("label", "--plan", str(plan.pk), "--no-progress")
    first = set(Suggestion.objects.values_list("id", flat=True))
    call_command("label", "--plan", str(plan.pk), "--relabel", "--no-progress")
    second = set(Suggestion.objects.values_list("id", flat=True))
    assert len(second) == 42 and not first & second


def test_the_same_task_delivered_twice_stores_one_suggestion(seeds_imported) -> None:  # type: ignore[no-untyped-def]
    clause = Clause.objects.first()
    job = LabelingJob.objects.create(
        clause=clause, labeler="rules", prompt_version="x", state=LabelingState.QUEUED
    )
    assert label_jobs.apply(args=[[job.id]]).get()["done"] == 1
    assert label_jobs.apply(args=[[job.id]]).get()["skipped"] == 1
    assert Suggestion.objects.filter(clause=clause).count() == 1


def test_a_job_whose_suggestion_was_stored_before_a_crash_is_not_labeled_again(
    seeds_imported,
) -> None:  # type: ignore[no-untyped-def]
    clause = Clause.objects.first()
    labeling_enqueue(clause_ids=[clause.id], labeler_name="rules")
    job = LabelingJob.objects.get(clause=clause)
    # As if the worker died after writing the suggestion but before marking the job done.
    LabelingJob.objects.filter(id=job.id).update(state=LabelingState.QUEUED)
    assert job_run(job_id=job.id).state == "done"
    assert Suggestion.objects.filter(clause=clause).count() == 1


def test_the_reconciler_requeues_jobs_stuck_in_queued_or_running(
    seeds_imported, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    clauses = list(Clause.objects.values_list("id", flat=True)[:3])
    for clause_id, state in zip(
        clauses, [LabelingState.QUEUED, LabelingState.RUNNING, LabelingState.PENDING], strict=True
    ):
        LabelingJob.objects.create(
            clause_id=clause_id, labeler="rules", prompt_version="rules-test", state=state
        )
    LabelingJob.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    fresh = LabelingJob.objects.create(
        clause_id=Clause.objects.last().id,
        labeler="rules",
        prompt_version="rules-test",
        state=LabelingState.QUEUED,
    )
    assert labeling_reconcile(stuck_after_seconds=600) == 3
    assert LabelingJob.objects.get(id=fresh.id).state == LabelingState.QUEUED  # not stuck yet
    assert LabelingJob.objects.filter(state=LabelingState.DONE).count() == 3


def test_progress_per_plan_counts_jobs_by_state(seeds_imported) -> None:  # type: ignore[no-untyped-def]
    plan = Plan.objects.get(title="杨浦区碳达峰实施方案")
    call_command("label", "--plan", str(plan.pk), "--no-progress")
    progress = labeling_progress()
    assert progress[plan.pk]["done"] == 42
    assert set(progress) == {plan.pk}


def test_label_needs_a_scope_and_known_plans(seeds_imported) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="--plan ID"):
        call_command("label")
    with pytest.raises(CommandError, match="No plan with id 999"):
        call_command("label", "--plan", "999")


def test_the_llm_labeler_without_settings_says_what_is_missing(seeds_imported, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LLM_BASE_URL = None
    with pytest.raises(CommandError, match="LLM_BASE_URL and LLM_MODEL"):
        call_command("label", "--all", "--labeler", "llm")
    assert not LabelingJob.objects.exists()


def test_a_broker_that_cannot_be_reached_leaves_the_clauses_pending_with_a_clear_message(
    seeds_imported, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from kombu.exceptions import OperationalError

    plan = Plan.objects.get(title="杨浦区碳达峰实施方案")

    def unreachable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(label_jobs, "delay", unreachable)
    with pytest.raises(CommandError, match="Could not send the labeling tasks to the broker"):
        call_command("label", "--plan", str(plan.pk), "--no-progress")
    assert set(LabelingJob.objects.values_list("state", flat=True)) == {"pending"}
    monkeypatch.undo()
    call_command("label", "--plan", str(plan.pk), "--no-progress")  # once Redis is back
    assert set(LabelingJob.objects.values_list("state", flat=True)) == {"done"}
