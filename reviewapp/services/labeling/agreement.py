"""Where the two labelers agree on a clause, stored once both have valid labels for it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from reviewapp.labels.compare import fields_agree
from reviewapp.labels.schema import ClauseLabels
from reviewapp.models import ClauseAgreement, LabelerName, Suggestion, SuggestionStatus
from reviewapp.services.agencies import agency_canonical
from reviewapp.services.review import review_items_refresh


def agreement_update(*, clause_id: int) -> ClauseAgreement | None:
    """When both labelers have valid labels for a clause, store where they agree."""
    agreements_update(clause_ids=[clause_id])
    return ClauseAgreement.objects.filter(clause_id=clause_id).first()


def agreements_update(*, clause_ids: Iterable[int]) -> None:
    """For each clause that both labelers have valid labels for, store where they agree."""
    latest: dict[int, dict[str, dict[str, Any]]] = {}
    for clause_id, labeler, labels in (
        Suggestion.objects.filter(clause_id__in=list(clause_ids), status=SuggestionStatus.VALID)
        .order_by("created_at", "id")
        .values_list("clause_id", "labeler", "labels")
    ):
        if labels is not None:  # a valid suggestion always has labels; typed as nullable
            latest.setdefault(clause_id, {})[labeler] = labels
    # Validated only where there is something to compare: most batches have one labeler.
    both = {
        clause_id: {
            name: ClauseLabels.model_validate(labels) for name, labels in by_labeler.items()
        }
        for clause_id, by_labeler in latest.items()
        if LabelerName.RULES in by_labeler and LabelerName.LLM in by_labeler
    }
    if not both:
        return

    rows = []
    for clause_id, by_labeler in both.items():
        agree = fields_agree(
            by_labeler[LabelerName.RULES], by_labeler[LabelerName.LLM], canonical=agency_canonical
        )
        rows.append(
            ClauseAgreement(
                clause_id=clause_id,
                fields=agree,
                disagreements=sum(1 for ok in agree.values() if not ok),
                updated_at=timezone.now(),
            )
        )
    ClauseAgreement.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["clause"],
        update_fields=["fields", "disagreements", "updated_at"],
    )


def agreements_recheck(clause_ids: list[int]) -> None:
    """Two batches storing the two labelers' answers for a clause at the same moment each see
    only their own suggestion (READ COMMITTED), so neither stores the agreement. Once this
    batch has committed, store it for clauses that have both labelers' valid suggestions and no
    agreement as new as the newest of them (one query when there are none)."""
    if not clause_ids:
        return
    both = {
        row["clause_id"]: row["newest"]
        for row in Suggestion.objects.filter(
            clause_id__in=clause_ids, status=SuggestionStatus.VALID
        )
        .values("clause_id")
        .annotate(labelers=Count("labeler", distinct=True), newest=Max("created_at"))
        .filter(labelers__gte=2)
    }
    if not both:
        return
    agreed = dict(
        ClauseAgreement.objects.filter(clause_id__in=list(both)).values_list(
            "clause_id", "updated_at"
        )
    )
    stale = [cid for cid, newest in both.items() if cid not in agreed or agreed[cid] < newest]
    if stale:
        with transaction.atomic():
            agreements_update(clause_ids=stale)
            review_items_refresh(clause_ids=stale)
