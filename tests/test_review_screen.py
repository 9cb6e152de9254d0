"""The review screen: prefilled form, highlights, the four actions, conflicts, history."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext, override

from reviewapp.models import Review, ReviewItem
from reviewapp.services.review import STALE_FORM, QueueFilters, review_claim_next
from tests.factories import UserFactory, admin_user, reviewer_user
from tests.review_fixtures import suggest

pytestmark = pytest.mark.django_db


def _open(client: Client, user=None):  # type: ignore[no-untyped-def]
    user = user or reviewer_user()
    client.force_login(user)
    item = review_claim_next(user=user, filters=QueueFilters())
    return item, client.get(reverse("review", args=[item.clause_id]))


def _post(client: Client, item, page, action: str, **changes):  # type: ignore[no-untyped-def]
    form = page.context["form"]
    targets = page.context["targets"]
    data = {
        "action": action,
        "version": form.initial["version"],
        "started_at": form.initial["started_at"],
        "kind": form.initial["kind"],
        "sector": form.initial["sector"],
        "secondary_sectors": form.initial["secondary_sectors"],
        "lead_agencies": form.initial["lead_agencies"],
        "responsible_agencies": form.initial["responsible_agencies"],
        "targets-TOTAL_FORMS": len(targets.initial or []),
        "targets-INITIAL_FORMS": len(targets.initial or []),
    }
    for i, row in enumerate(targets.initial or []):
        for key, value in row.items():
            if value is not None:
                data[f"targets-{i}-{key}"] = value
    data.update(changes)
    return client.post(reverse("review", args=[item.clause_id]), data)


def test_the_review_screen_shows_the_clause_with_highlights_and_a_prefilled_form(
    client: Client, queued
) -> None:  # type: ignore[no-untyped-def]
    _item, page = _open(client)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<mark class="hl-quote">新能源和可再生能源耦合供热面积占比达到10%以上</mark>' in html
    assert '<mark class="hl-agency">区城市管理委</mark>' in html
    assert page.context["form"].initial["kind"] == "target"
    assert page.context["targets"].initial[0]["value"] == 10
    assert '<div class="context"' in html
    assert "开展多种形式的宣传活动" in html  # the next clause, shown as context


def test_accept_keeps_the_suggestion_and_loads_the_next_clause(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    item, page = _open(client)
    response = client.post(
        reverse("review", args=[item.clause_id]),
        {
            "action": "accept",
            "version": item.version,
            "started_at": page.context["form"].initial["started_at"],
        },
    )
    assert response.status_code == 302
    review = Review.objects.get()
    assert review.decision == "accepted"
    assert review.labels_after == review.labels_before
    done = ReviewItem.objects.get(pk=item.pk)
    assert done.status == "reviewed" and done.final_labels == review.labels_after
    next_item = ReviewItem.objects.get(claimed_by__username="reviewer-user")
    assert response.url == reverse("review", args=[next_item.clause_id])


def test_save_with_a_fixed_value_stores_the_fix(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    item, page = _open(client)
    assert page.context["targets"].initial[0]["comparator"] == ">="
    changes = {"targets-0-comparator": "~", "sector": "buildings"}
    response = _post(client, item, page, "save", **changes)
    assert response.status_code == 302, response.content.decode()[:2000]
    review = Review.objects.get()
    assert review.decision == "fixed"
    assert review.labels_after["sector"] == "buildings"
    assert review.labels_before["sector"] != "buildings"
    assert review.labels_after["targets"][0]["comparator"] == "~"


def test_saving_without_a_change_counts_as_accepting_the_suggestion(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    item, page = _open(client)
    response = _post(client, item, page, "save")
    assert response.status_code == 302, response.content.decode()[:2000]
    review = Review.objects.get()
    assert review.decision == "accepted"
    assert review.labels_after == review.labels_before


def test_a_quote_not_in_the_clause_is_an_inline_error_and_nothing_is_saved(
    client: Client, queued
) -> None:  # type: ignore[no-untyped-def]
    item, page = _open(client)
    response = _post(client, item, page, "save", **{"targets-0-quote": "占比达到10%左右"})
    assert response.status_code == 200
    assert "does not occur in the clause text" in response.content.decode()
    assert not Review.objects.exists()


def test_not_a_clause_and_skip(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    item, _page = _open(client)
    client.post(
        reverse("review", args=[item.clause_id]),
        {"action": "not_a_clause", "version": item.version},
    )
    assert ReviewItem.objects.get(pk=item.pk).status == "not_a_clause"
    second = ReviewItem.objects.get(claimed_by__username="reviewer-user")
    client.post(
        reverse("review", args=[second.clause_id]), {"action": "skip", "version": second.version}
    )
    assert ReviewItem.objects.get(pk=second.pk).status == "open"
    assert list(Review.objects.values_list("decision", flat=True)) == ["not_a_clause", "skipped"]


def test_a_stale_form_is_refused_with_a_clear_message(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    item, page = _open(client)
    ReviewItem.objects.filter(pk=item.pk).update(
        version=item.version + 1
    )  # someone saved meanwhile
    response = _post(client, item, page, "save")
    assert response.status_code == 200
    with override("zh-hans"):
        expected = gettext(STALE_FORM)
    assert expected != STALE_FORM  # shown in the reviewer's language
    assert expected in response.content.decode()
    assert not Review.objects.exists()


def test_a_reviewer_cannot_open_a_clause_they_do_not_hold(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    other = UserFactory(username="other")
    item = review_claim_next(user=other, filters=QueueFilters())
    client.force_login(reviewer_user())
    response = client.get(reverse("review", args=[item.clause_id]))
    assert response.status_code == 302
    response = client.post(
        reverse("review", args=[item.clause_id]), {"action": "accept", "version": item.version}
    )
    assert not Review.objects.exists()


def test_the_other_labelers_value_is_shown_where_they_disagree(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    suggest(queued[0], labeler="llm", sector="buildings")
    user = reviewer_user()
    client.force_login(user)
    item = review_claim_next(user=user, filters=QueueFilters(kind="target", sector="buildings"))
    assert item.clause_id == queued[0].id
    page = client.get(reverse("review", args=[item.clause_id]))
    html = page.content.decode()
    assert page.context["primary"].labeler == "llm"
    rules_sector = queued[0].suggestions.get(labeler="rules").labels["sector"]
    assert rules_sector != "buildings"
    assert f'<span class="other">rules: {rules_sector}</span>' in html


def test_history_keeps_every_decision(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    item, _page = _open(client)
    client.post(
        reverse("review", args=[item.clause_id]), {"action": "accept", "version": item.version}
    )
    client.force_login(admin_user())
    html = client.get(reverse("clause_history", args=[item.clause_id])).content.decode()
    assert "reviewer-user" in html and "accepted unchanged" in html


def test_the_guidelines_page_lists_every_sector(client: Client) -> None:
    client.force_login(reviewer_user())
    html = client.get(reverse("guidelines")).content.decode()
    assert "carbon_sink" in html and "碳汇能力巩固提升" in html and "翻一番" in html


def test_agency_autocomplete_suggests_canonical_names(client: Client, queued) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reviewer_user())
    html = client.get(
        reverse("agency_suggest"), {"lead_agencies": "区城市管理委、区发展"}
    ).content.decode()
    assert '<option value="区发展改革委">' in html
