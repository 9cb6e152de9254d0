"""Clauses with suggestions in the review queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewapp.models import Clause, ReviewItem, Suggestion
from reviewapp.services.labeling import clause_input
from reviewapp.services.plan_import import plans_import
from reviewapp.services.review import review_item_refresh

PLAN = (
    "一、总体要求\n"
    "(一)推动低碳智慧供热体系建设\n"
    "落实全市供热发展建设规划。到2025年,新能源和可再生能源耦合供热面积占比达到10%以上。"
    "(主要责任单位:区城市管理委、区发展改革委、相关街镇)\n"
    "(二)加强宣传教育\n"
    "开展多种形式的宣传活动。(责任单位:区委宣传部、区教委)\n"
    "(三)推进光伏建设\n"
    "“十四五”期间全区力争新增光伏装机容量2.9万千瓦。(责任单位:区发展改革委)\n"
)


def claim_for(user, clause_id: int) -> ReviewItem:  # type: ignore[no-untyped-def]
    """Give this clause to the reviewer, as if the queue had (tests choose the clause)."""
    ReviewItem.objects.filter(pk=clause_id).update(
        claimed_by=user, claim_expires_at=timezone.now() + timedelta(minutes=5)
    )
    return ReviewItem.objects.get(pk=clause_id)


def suggest(clause: Clause, labeler: str = "rules", **changes: object) -> Suggestion:
    from reviewapp.labeling.rules import RuleLabeler

    result = RuleLabeler().label(clause_input(clause))
    labels = result.labels.model_dump(mode="json")
    labels.update(changes)
    suggestion = Suggestion.objects.create(
        clause=clause,
        labeler=labeler,
        model="m" if labeler == "llm" else "",
        prompt_version="v",
        schema_version="1",
        status="valid",
        labels=labels,
        confidence=result.confidence,
    )
    review_item_refresh(clause_id=clause.id)
    return suggestion


@pytest.fixture
def queued() -> list[Clause]:
    plans_import(files=[("plan.txt", PLAN.encode())])
    clauses = list(Clause.objects.order_by("ordinal"))
    for clause in clauses:
        suggest(clause)
    return clauses
