"""Which clauses an export takes: the reviewed ones, optionally of some plans or since a date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from reviewapp.models import ReviewItem, ReviewStatus


@dataclass(frozen=True)
class ExportFilters:
    plan_ids: tuple[int, ...] = ()
    since: dt.date | None = None


def exported_items(*, filters: ExportFilters) -> QuerySet[ReviewItem]:
    """The review items exported, in plan and clause order: both row sources start from it."""
    items = ReviewItem.objects.filter(status__in=[ReviewStatus.REVIEWED, ReviewStatus.NOT_A_CLAUSE])
    if filters.plan_ids:
        items = items.filter(plan_id__in=filters.plan_ids)
    if filters.since:
        items = items.filter(updated_at__date__gte=filters.since)
    return items.order_by("plan_id", "ordinal")
