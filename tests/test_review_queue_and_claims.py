"""The queue: order, filters, counts, and atomic claims that expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reviewapp.models import ClauseAgreement, ReviewItem
from reviewapp.services.review import QueueFilters, review_claim_next, review_item_refresh
from tests.concurrency import run_at_once
from tests.factories import UserFactory, reviewer_user
from tests.review_fixtures import suggest

pytestmark = pytest.mark.django_db


def test_disagreements_come_first_then_document_order(queued) -> None:  # type: ignore[no-untyped-def]
    ClauseAgreement.objects.create(clause=queued[2], fields={"sector": False}, disagreements=1)
    review_item_refresh(clause_id=queued[2].id)
    user = reviewer_user()
    assert review_claim_next(user=user, filters=QueueFilters()).clause_id == queued[2].id


def test_a_claim_is_exclusive_and_next_releases_the_previous_one(queued) -> None:  # type: ignore[no-untyped-def]
    first, second = UserFactory(username="r1"), UserFactory(username="r2")
    a = review_claim_next(user=first, filters=QueueFilters())
    b = review_claim_next(user=second, filters=QueueFilters())
    assert a.pk != b.pk
    again = review_claim_next(user=first, filters=QueueFilters())
    assert again.pk != b.pk
    assert ReviewItem.objects.filter(claimed_by=first).count() == 1


def test_an_expired_claim_returns_the_clause_to_the_queue(queued) -> None:  # type: ignore[no-untyped-def]
    first, second = UserFactory(username="r1"), UserFactory(username="r2")
    ids = {
        review_claim_next(user=UserFactory(username=f"x{i}"), filters=QueueFilters()).pk
        for i in range(3)
    }
    assert review_claim_next(user=first, filters=QueueFilters()) is None  # all three are held
    ReviewItem.objects.filter(pk__in=ids).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert review_claim_next(user=second, filters=QueueFilters()).pk in ids


def test_filters_narrow_the_queue(queued) -> None:  # type: ignore[no-untyped-def]
    user = reviewer_user()
    item = review_claim_next(user=user, filters=QueueFilters(kind="measure"))
    assert item.kind == "measure"
    assert review_claim_next(user=user, filters=QueueFilters(failed=True)) is None


def test_the_queue_page_shows_counts_filters_and_progress(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reviewer_user())
    page = client.get(reverse("queue")).content.decode()
    assert 'id="count-open">3<' in page
    assert "<progress" in page


def test_the_next_button_claims_a_clause_and_opens_it(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reviewer_user())
    response = client.post(reverse("queue_next"), {"query": ""})
    assert response.status_code == 302
    item = ReviewItem.objects.get(claimed_by__username="reviewer-user")
    assert response.url == reverse("review", args=[item.clause_id])


def test_an_empty_queue_says_so(client: Client) -> None:
    client.force_login(reviewer_user())
    response = client.post(reverse("queue_next"), {"query": ""}, follow=True)
    assert (
        "No clause left in the queue" in response.content.decode()
        or "队列中没有" in response.content.decode()
    )


def test_the_queue_page_reads_no_large_text_column(
    client: Client, queued, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(reviewer_user())
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("queue"))
    for query in queries.captured_queries:
        sql = query["sql"]
        if "reviewapp_clause" in sql or "reviewapp_suggestion" in sql:
            assert '"text"' not in sql and "cleaned_text" not in sql and '"labels"' not in sql, sql


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_claiming_at_once_never_get_the_same_clause(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    from reviewapp.models import Clause
    from reviewapp.services.plan_import import plans_import

    plans_import(files=[("yangpu.txt", seed_bytes["yangpu"])])
    for clause in Clause.objects.all():
        suggest(clause)
    users = [UserFactory(username=f"c{i}") for i in range(8)]
    claimed: list[int] = []

    def claim(index: int) -> None:
        for _ in range(4):
            item = review_claim_next(user=users[index], filters=QueueFilters())
            ReviewItem.objects.filter(pk=item.pk).update(status="reviewed")  # keep it
            claimed.append(item.pk)

    run_at_once(claim, threads=len(users))
    assert len(claimed) == 32
    assert len(set(claimed)) == 32


def test_the_kept_counts_always_equal_a_count_of_the_queue(queued, settings) -> None:  # type: ignore[no-untyped-def]
    from django.db.models import Count

    from reviewapp.services.review import queue_counts, review_submit
    from tests.review_fixtures import claim_for

    def real() -> dict[str, int]:
        rows = ReviewItem.objects.values("status").annotate(n=Count("pk"))
        return {r["status"]: r["n"] for r in rows}

    def kept() -> dict[str, int]:
        return {k: v for k, v in queue_counts().items() if k != "claimed" and v}

    assert kept() == real() == {"open": 3}
    first, second = UserFactory(username="a"), UserFactory(username="b")
    item = claim_for(first, queued[0].id)
    review_submit(user=first, clause_id=queued[0].id, decision="accepted", version=item.version)
    item = claim_for(first, queued[1].id)
    review_submit(user=first, clause_id=queued[1].id, decision="not_a_clause", version=item.version)
    item = claim_for(first, queued[2].id)
    review_submit(user=first, clause_id=queued[2].id, decision="skipped", version=item.version)
    assert kept() == real() == {"open": 1, "reviewed": 1, "not_a_clause": 1}
    settings.REVIEWS_REQUIRED = 2
    for user in (first, second):
        item = claim_for(user, queued[2].id)
        review_submit(
            user=user,
            clause_id=queued[2].id,
            decision="accepted" if user is first else "not_a_clause",
            version=item.version,
        )
    assert kept() == real() == {"adjudication": 1, "reviewed": 1, "not_a_clause": 1}
