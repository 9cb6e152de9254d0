"""The review queue: which clause a reviewer gets next, and what a decision writes.

- Claiming the next clause is atomic: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
  conditional update elsewhere. A claim expires after REVIEW_CLAIM_TTL_SECONDS and the clause
  returns to the queue; two reviewers never hold the same clause at once.
- Saving uses optimistic concurrency: the form carries the item's version, and a save from a
  stale form is refused rather than overwriting someone else's labels.
- With REVIEWS_REQUIRED = 2 a second reviewer labels blind (from the suggestion, not the first
  review); if the two disagree the clause goes to the admins' adjudication queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from reviewapp.labels.compare import fields_agree
from reviewapp.labels.schema import ClauseLabels
from reviewapp.models import (
    Clause,
    ClauseAgreement,
    Plan,
    Review,
    ReviewCount,
    ReviewDecision,
    ReviewItem,
    ReviewStatus,
    Suggestion,
    SuggestionStatus,
)
from reviewapp.services.agencies import agency_canonical

# Marked for translation; the views translate them when they show them.
STALE_FORM = gettext_noop(
    "Someone else saved this clause after you opened it. Your changes were not saved: reload "
    "the clause to see the current labels."
)
NOT_YOUR_CLAIM = gettext_noop(
    "This clause is not assigned to you (your claim may have expired). Take the next one."
)
ALREADY_REVIEWED_BY_YOU = gettext_noop("You have already reviewed this clause.")
LOW_CONFIDENCE = 0.6


@dataclass(frozen=True)
class QueueFilters:
    plan_id: int | None = None
    sector: str = ""
    kind: str = ""
    disagreement: bool = False
    failed: bool = False
    low_confidence: bool = False


class ReviewConflict(Exception):
    """A save lost the race (stale form) or the reviewer does not hold the clause."""


# --- keeping the queue in step with labeling --------------------------------------------------


def review_item_refresh(*, clause_id: int) -> ReviewItem:
    """Create or update a clause's queue row from its suggestions and labeler agreement."""
    review_items_refresh(clause_ids=[clause_id])
    return ReviewItem.objects.get(clause_id=clause_id)


def review_items_refresh(*, clause_ids: Iterable[int]) -> None:
    """Create or update the queue rows of these clauses from their suggestions and labeler
    agreement: a handful of queries for a whole labeling batch. Call inside a transaction."""
    clause_ids = sorted(set(clause_ids))
    if not clause_ids:
        return
    positions = {
        cid: (plan_id, ordinal)
        for cid, plan_id, ordinal in Clause.objects.filter(id__in=clause_ids).values_list(
            "id", "plan_id", "ordinal"
        )
    }
    suggestions: dict[int, list[Suggestion]] = {}
    for suggestion in Suggestion.objects.filter(clause_id__in=clause_ids).only(
        "clause_id", "status", "labels", "confidence", "labeler"
    ):
        suggestions.setdefault(suggestion.clause_id, []).append(suggestion)
    disagreeing = set(
        ClauseAgreement.objects.filter(clause_id__in=clause_ids, disagreements__gt=0).values_list(
            "clause_id", flat=True
        )
    )
    items = {}
    for clause_id, (plan_id, ordinal) in positions.items():
        items[clause_id] = _queue_row(
            clause_id, plan_id, ordinal, suggestions.get(clause_id, []), clause_id in disagreeing
        )
    existing = set(
        ReviewItem.objects.filter(clause_id__in=list(items)).values_list("clause_id", flat=True)
    )
    ReviewItem.objects.bulk_update(
        [items[cid] for cid in existing], fields=list(_QUEUE_ROW_FIELDS), batch_size=500
    )
    new = [items[cid] for cid in items if cid not in existing]
    try:
        with transaction.atomic():
            ReviewItem.objects.bulk_create(new)
    except IntegrityError:
        # Another batch labeling the same clause (the other labeler) created some of them
        # meanwhile: one at a time, so the per-plan counts move exactly once per new row.
        for item in new:
            _review_item_save(item)
        return
    for plan_id, n in Counter(item.plan_id for item in new).items():
        review_count_add(plan_id=plan_id, status=ReviewStatus.OPEN, n=n)


# What labeling decides of a queue row; the rest (status, claims, reviews) is the reviewers'.
_QUEUE_ROW_FIELDS = ("priority", "sector", "kind", "disagreement", "failed", "low_confidence")


def _queue_row(
    clause_id: int, plan_id: int, ordinal: int, suggestions: list[Suggestion], disagreement: bool
) -> ReviewItem:
    primary = suggestion_primary(suggestions)
    failed = any(s.status == SuggestionStatus.FAILED for s in suggestions)
    low = bool(primary and primary.confidence and min(primary.confidence.values()) < LOW_CONFIDENCE)
    labels = (primary.labels if primary else None) or {}
    return ReviewItem(
        clause_id=clause_id,
        plan_id=plan_id,
        ordinal=ordinal,
        priority=0 if disagreement else 1 if failed else 2 if low else 3,
        sector=labels.get("sector", ""),
        kind=labels.get("kind", ""),
        disagreement=disagreement,
        failed=failed,
        low_confidence=low,
    )


def _review_item_save(item: ReviewItem) -> None:
    _, created = ReviewItem.objects.update_or_create(
        clause_id=item.clause_id,
        defaults={
            "plan_id": item.plan_id,
            "ordinal": item.ordinal,
            **{name: getattr(item, name) for name in _QUEUE_ROW_FIELDS},
        },
    )
    if created:
        review_count_move(plan_id=item.plan_id, old=None, new=ReviewStatus.OPEN)


def review_count_add(*, plan_id: int, status: str, n: int) -> None:
    """Add ``n`` items to a plan's count of a status (inside the changing transaction)."""
    ReviewCount.objects.bulk_create(
        [ReviewCount(plan_id=plan_id, status=status, n=0)], ignore_conflicts=True
    )
    ReviewCount.objects.filter(plan_id=plan_id, status=status).update(n=F("n") + n)


def review_count_move(*, plan_id: int, old: str | None, new: str | None) -> None:
    """Move one item between status counts of a plan (call inside the changing transaction)."""
    if old == new:
        return
    if old is not None:
        ReviewCount.objects.filter(plan_id=plan_id, status=old).update(n=F("n") - 1)
    if new is not None:
        review_count_add(plan_id=plan_id, status=new, n=1)


def suggestion_primary(suggestions: list[Suggestion]) -> Suggestion | None:
    """The suggestion a review starts from: a valid LLM one, else a valid rules one."""
    valid = [s for s in suggestions if s.status == SuggestionStatus.VALID]
    for labeler in ("llm", "rules"):
        for suggestion in valid:
            if suggestion.labeler == labeler:
                return suggestion
    return None


# --- the queue --------------------------------------------------------------------------------


def queue_items(*, filters: QueueFilters) -> QuerySet[ReviewItem]:
    items = ReviewItem.objects.filter(status=ReviewStatus.OPEN)
    if filters.plan_id:
        items = items.filter(plan_id=filters.plan_id)
    if filters.sector:
        items = items.filter(sector=filters.sector)
    if filters.kind:
        items = items.filter(kind=filters.kind)
    if filters.disagreement:
        items = items.filter(disagreement=True)
    if filters.failed:
        items = items.filter(failed=True)
    if filters.low_confidence:
        items = items.filter(low_confidence=True)
    return items.order_by("priority", "plan_id", "ordinal")


def _claimable(user: Any) -> Q:
    now = timezone.now()
    free = Q(claimed_by__isnull=True) | Q(claim_expires_at__lt=now) | Q(claimed_by=user)
    return free & ~Q(clause__reviews__reviewer=user)


def review_claim_next(*, user: Any, filters: QueueFilters) -> ReviewItem | None:
    """Give the reviewer the next clause of the queue, atomically. Their earlier claim, if any,
    is released first."""
    expires = timezone.now() + timedelta(seconds=settings.REVIEW_CLAIM_TTL_SECONDS)
    with transaction.atomic():
        ReviewItem.objects.filter(claimed_by=user).update(claimed_by=None, claim_expires_at=None)
        candidates = queue_items(filters=filters).filter(_claimable(user))
        if connection.features.has_select_for_update_skip_locked:
            item = candidates.select_for_update(skip_locked=True, of=("self",)).first()
            if item is None:
                return None
            ReviewItem.objects.filter(pk=item.pk).update(claimed_by=user, claim_expires_at=expires)
            item.claimed_by, item.claim_expires_at = user, expires
            return item
        # Without SKIP LOCKED: try candidates in order with a conditional update; losing a race
        # just moves on to the next one.
        for pk in candidates.values_list("pk", flat=True)[:20]:
            if ReviewItem.objects.filter(Q(pk=pk) & _claimable(user)).update(
                claimed_by=user, claim_expires_at=expires
            ):
                return ReviewItem.objects.get(pk=pk)
    return None


def review_release(*, user: Any, clause_id: int) -> None:
    ReviewItem.objects.filter(clause_id=clause_id, claimed_by=user).update(
        claimed_by=None, claim_expires_at=None
    )


def holds_claim(*, user: Any, item: ReviewItem) -> bool:
    return (
        item.claimed_by_id == user.pk
        and item.claim_expires_at is not None
        and item.claim_expires_at > timezone.now()
    )


def queue_counts() -> dict[str, int]:
    """Items by status (from the kept counts, not a scan of the queue) and claimed now."""
    counts = {status.value: 0 for status in ReviewStatus}
    for row in ReviewCount.objects.values("status").annotate(total=Sum("n")):
        counts[row["status"]] = row["total"] or 0
    counts["claimed"] = ReviewItem.objects.filter(
        status=ReviewStatus.OPEN, claim_expires_at__gt=timezone.now()
    ).count()
    return counts


PROGRESS_PLANS = 20


def plan_progress(*, limit: int = PROGRESS_PLANS) -> list[dict[str, Any]]:
    """Progress bars for the plans with open items (the first ``limit`` of them), from the kept
    counts: reviewed (or not a clause) out of all."""
    per_plan: dict[int, dict[str, int]] = {}
    for plan_id, status, n in ReviewCount.objects.values_list("plan_id", "status", "n"):
        per_plan.setdefault(plan_id, {})[status] = n
    open_plans = sorted(pid for pid, c in per_plan.items() if c.get(ReviewStatus.OPEN, 0) > 0)[
        :limit
    ]
    titles = dict(Plan.objects.filter(pk__in=open_plans).values_list("pk", "title"))
    rows = []
    for plan_id in open_plans:
        counts = per_plan[plan_id]
        total = sum(counts.values())
        done = total - counts.get(ReviewStatus.OPEN, 0)
        rows.append(
            {
                "plan_id": plan_id,
                "plan__title": titles.get(plan_id, ""),
                "total": total,
                "done": done,
                "percent": round(100 * done / total) if total else 0,
            }
        )
    return rows


# --- decisions --------------------------------------------------------------------------------


def review_submit(
    *,
    user: Any,
    clause_id: int,
    decision: str,
    version: int,
    labels: ClauseLabels | None = None,
    seconds_spent: int = 0,
    adjudicating: bool = False,
) -> Review:
    """Record a decision. ``version`` is the item version the form was made from; a stale form
    raises ReviewConflict and writes nothing."""
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(clause_id=clause_id)
        if not adjudicating and not holds_claim(user=user, item=item):
            raise ReviewConflict(NOT_YOUR_CLAIM)
        if item.version != version:
            raise ReviewConflict(STALE_FORM)
        if (
            not adjudicating
            and Review.objects.filter(clause_id=clause_id, reviewer=user)
            .exclude(decision=ReviewDecision.SKIPPED)
            .exists()
        ):
            raise ReviewConflict(ALREADY_REVIEWED_BY_YOU)
        suggestions = list(Suggestion.objects.filter(clause_id=clause_id))
        primary = suggestion_primary(suggestions)
        before = primary.labels if primary else None
        after = labels.model_dump(mode="json") if labels is not None else None
        if decision == ReviewDecision.ACCEPTED:
            after = before
        elif decision == ReviewDecision.FIXED and after == before:
            # Saved without a change: the suggestion was accepted as it was (the dataset's
            # decision and the accuracy measure's "accepted unchanged" count it so).
            decision = ReviewDecision.ACCEPTED
        if decision in {ReviewDecision.ACCEPTED, ReviewDecision.FIXED} and after is None:
            raise ValueError("a decision that keeps labels needs labels")
        review = Review.objects.create(
            clause_id=clause_id,
            reviewer=user,
            decision=decision,
            suggestion=primary,
            labels_before=before,
            labels_after=after,
            seconds_spent=max(0, min(seconds_spent, 24 * 3600)),
        )
        _apply(item, review, adjudicating=adjudicating)
        return review


def _apply(item: ReviewItem, review: Review, *, adjudicating: bool) -> None:
    old_status = item.status
    item.version += 1
    item.claimed_by = None
    item.claim_expires_at = None
    if review.decision == ReviewDecision.SKIPPED:
        item.save(update_fields=["version", "claimed_by", "claim_expires_at", "updated_at"])
        return
    if adjudicating:
        item.status = (
            ReviewStatus.NOT_A_CLAUSE
            if review.decision == ReviewDecision.NOT_A_CLAUSE
            else ReviewStatus.REVIEWED
        )
        item.final_labels = review.labels_after
    else:
        item.reviews_count += 1
        if item.reviews_count >= settings.REVIEWS_REQUIRED:
            item.status, item.final_labels = _outcome(item.clause_id)
    item.save()
    review_count_move(plan_id=item.plan_id, old=old_status, new=item.status)


def _outcome(clause_id: int) -> tuple[str, dict[str, Any] | None]:
    """Status and final labels once enough reviewers have decided."""
    decided = list(
        Review.objects.filter(clause_id=clause_id)
        .exclude(decision=ReviewDecision.SKIPPED)
        .order_by("-created_at")[: settings.REVIEWS_REQUIRED]
    )
    not_clause = [r.decision == ReviewDecision.NOT_A_CLAUSE for r in decided]
    if all(not_clause):
        return ReviewStatus.NOT_A_CLAUSE, None
    if any(not_clause):
        return ReviewStatus.ADJUDICATION, None
    labels = [ClauseLabels.model_validate(r.labels_after) for r in decided]
    first = labels[0]

    for other in labels[1:]:
        if not all(fields_agree(first, other, canonical=agency_canonical).values()):
            return ReviewStatus.ADJUDICATION, None
    return ReviewStatus.REVIEWED, decided[0].labels_after


def adjudication_items() -> QuerySet[ReviewItem]:
    return ReviewItem.objects.filter(status=ReviewStatus.ADJUDICATION).order_by(
        "plan_id", "ordinal"
    )
