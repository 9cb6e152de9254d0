"""With two reviews required, the second reviewer labels blind and disagreements go to admins."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from reviewapp.labels.schema import ClauseLabels
from reviewapp.models import Review, ReviewItem
from reviewapp.services.review import QueueFilters, review_claim_next, review_submit
from tests.factories import UserFactory, admin_user
from tests.review_fixtures import claim_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def double(settings):  # type: ignore[no-untyped-def]
    settings.REVIEWS_REQUIRED = 2


def _accept(user, clause_id: int, **changes) -> None:  # type: ignore[no-untyped-def]
    item = claim_for(user, clause_id)
    if changes:
        from reviewapp.models import Suggestion

        labels = {**Suggestion.objects.get(clause_id=clause_id).labels, **changes}
        review_submit(
            user=user,
            clause_id=clause_id,
            decision="fixed",
            version=item.version,
            labels=ClauseLabels.model_validate(labels),
        )
    else:
        review_submit(user=user, clause_id=clause_id, decision="accepted", version=item.version)


def test_two_agreeing_reviews_finish_the_clause(double, queued) -> None:  # type: ignore[no-untyped-def]
    clause = queued[1]
    _accept(UserFactory(username="a"), clause.id)
    assert ReviewItem.objects.get(pk=clause.id).status == "open"
    _accept(UserFactory(username="b"), clause.id)
    assert ReviewItem.objects.get(pk=clause.id).status == "reviewed"


def test_disagreeing_reviews_go_to_adjudication_and_an_admin_decides(
    double, queued, client: Client
) -> None:  # type: ignore[no-untyped-def]
    clause = queued[1]
    _accept(UserFactory(username="a"), clause.id)
    _accept(UserFactory(username="b"), clause.id, sector="governance")
    item = ReviewItem.objects.get(pk=clause.id)
    assert item.status == "adjudication"
    client.force_login(admin_user())
    assert str(clause.id) in client.get(reverse("adjudication")).content.decode()
    page = client.get(reverse("review", args=[clause.id]))
    assert page.context["adjudicating"] is True
    form = page.context["form"].initial
    data = {"action": "accept", "version": item.version, "kind": form["kind"], "sector": "public",
            "lead_agencies": form["lead_agencies"], "responsible_agencies": form["responsible_agencies"],
            "targets-TOTAL_FORMS": 0, "targets-INITIAL_FORMS": 0}  # fmt: skip
    response = client.post(reverse("review", args=[clause.id]), data)
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "reviewed" and item.final_labels["sector"] == "public"
    assert Review.objects.filter(clause=clause).last().decision == "adjudicated"


def test_the_second_reviewer_does_not_see_the_first_reviewers_labels(
    double, queued, client: Client
) -> None:  # type: ignore[no-untyped-def]
    clause = queued[1]
    _accept(UserFactory(username="a"), clause.id, sector="governance")
    second = UserFactory(username="b")
    client.force_login(second)
    claim_for(second, clause.id)
    page = client.get(reverse("review", args=[clause.id]))
    assert page.context["form"].initial["sector"] != "governance"  # from the suggestion
    assert page.context["history"] == []
    assert "governance" not in page.content.decode().split('id="review-form"')[0]


def test_a_reviewer_never_gets_a_clause_they_already_reviewed(double, queued) -> None:  # type: ignore[no-untyped-def]
    user = UserFactory(username="a")
    for clause in queued:
        _accept(user, clause.id)
    assert review_claim_next(user=user, filters=QueueFilters()) is None
    assert review_claim_next(user=UserFactory(username="b"), filters=QueueFilters()) is not None
