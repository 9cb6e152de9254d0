"""Accuracy per labeler configuration, the evaluate command and the accuracy page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from reviewapp.labels.schema import ClauseLabels
from reviewapp.models import Clause, EvaluationPrediction, EvaluationRun, ReviewItem, Suggestion
from reviewapp.services.accuracy import accuracy_by_config, inter_reviewer_agreement
from reviewapp.services.plan_import import plans_import
from reviewapp.services.review import review_submit
from tests.factories import UserFactory, admin_user, reviewer_user

pytestmark = pytest.mark.django_db(transaction=True)


def _review(user, clause: Clause, labels: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    ReviewItem.objects.filter(pk=clause.pk).update(
        claimed_by=user, claim_expires_at=timezone.now() + timedelta(minutes=5)
    )
    item = ReviewItem.objects.get(pk=clause.pk)
    if labels is None:
        review_submit(user=user, clause_id=clause.pk, decision="accepted", version=item.version)
    else:
        review_submit(
            user=user,
            clause_id=clause.pk,
            decision="fixed",
            version=item.version,
            labels=ClauseLabels.model_validate(labels),
        )


@pytest.fixture
def reviewed(seed_bytes) -> list[Clause]:  # type: ignore[no-untyped-def]
    """Yangpu labeled by rules; 10 clauses reviewed: 8 accepted, 2 with the sector fixed."""
    plans_import(files=[("yangpu.txt", seed_bytes["yangpu"])])
    call_command("label", "--all", "--no-progress")
    user = UserFactory(username="expert")
    clauses = list(Clause.objects.order_by("ordinal")[:10])
    for index, clause in enumerate(clauses):
        labels = Suggestion.objects.get(clause=clause).labels
        _review(
            user,
            clause,
            {**labels, "sector": "governance"}
            if index in (2, 5) and labels["sector"] != "governance"
            else None,
        )
    return clauses


def test_each_configuration_is_measured_against_the_reviewed_labels(reviewed) -> None:  # type: ignore[no-untyped-def]
    (config,) = accuracy_by_config()
    assert config.labeler == "rules"
    report = config.report
    assert report.n == 10
    assert report.sector_accuracy.n == 10 and report.sector_accuracy.value == pytest.approx(0.8)
    assert report.accepted_unchanged_share.value == pytest.approx(0.8)
    assert report.kind_accuracy.value == 1.0
    assert 0 < report.sector_accuracy.low < 0.8 < report.sector_accuracy.high <= 1
    assert set(config.by_region) == {"上海市杨浦区"}
    assert config.over_time[-1][1].n == 10


def test_the_accuracy_command_prints_rates_with_intervals_and_json(reviewed, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("accuracy")
    text = capsys.readouterr().out
    assert "sector accuracy" in text and "0.800 [" in text and "n=10" in text
    call_command("accuracy", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["configurations"][0]["report"]["sector_accuracy"]["value"] == pytest.approx(0.8)


def test_accuracy_without_reviews_says_so() -> None:
    with pytest.raises(CommandError, match="No reviewed clauses yet"):
        call_command("accuracy")


def test_evaluate_runs_a_labeler_over_the_reviewed_clauses_and_stores_the_run(
    reviewed, capsys
) -> None:  # type: ignore[no-untyped-def]
    call_command("evaluate", "--labeler", "rules", "--no-progress")
    run = EvaluationRun.objects.get()
    assert (run.labeler, run.clauses, run.failed) == ("rules", 10, 0)
    assert run.report["sector_accuracy"]["value"] == pytest.approx(0.8)
    assert EvaluationPrediction.objects.filter(run=run).count() == 10
    assert "Evaluation run #" in capsys.readouterr().out


def test_evaluate_a_new_prompt_with_the_llm(reviewed, fake_llm, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command(
        "evaluate",
        "--labeler",
        "llm",
        "--prompt",
        "label-clause-v1",
        "--no-progress",
        "--workers",
        "2",
    )
    run = EvaluationRun.objects.get()
    assert run.labeler == "llm" and run.prompt_version.startswith("label-clause-v1@")
    assert fake_llm.fake.stats()["requests"] == 10
    assert not Suggestion.objects.filter(labeler="llm").exists()  # the queue is untouched


def test_evaluate_with_an_unknown_prompt_says_which_file_is_missing(reviewed, fake_llm) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="No prompt named 'nope'"):
        call_command("evaluate", "--labeler", "llm", "--prompt", "nope")


def test_inter_reviewer_agreement_gives_cohens_kappa_on_sector(reviewed, settings) -> None:  # type: ignore[no-untyped-def]
    settings.REVIEWS_REQUIRED = 2
    second = UserFactory(username="second")
    for clause in reviewed[:4]:
        ReviewItem.objects.filter(pk=clause.pk).update(status="open")
        _review(second, clause)
    agreement = inter_reviewer_agreement()
    assert agreement["clauses"] == 4
    assert agreement["sector_kappa"] is not None
    assert agreement["exact_match"]["kind"]["value"] == 1.0


def test_the_accuracy_page_shows_charts_for_admins_only(reviewed, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reviewer_user())
    assert client.get("/accuracy/").status_code == 403
    client.force_login(admin_user())
    html = client.get("/accuracy/").content.decode()
    assert "<svg" in html and 'class="whisker"' in html and 'class="confusion"' in html
    assert "<polyline" in html
    assert "n=10" in html
