"""How accurate each labeler, model and prompt version is, against the reviewed labels; and how
well reviewers agree with each other. The numbers come from ``reviewapp/labels/accuracy.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from reviewapp.labeling.base import Labeler
from reviewapp.labeling.llm import TransientLLMError
from reviewapp.labels.accuracy import (
    AccuracyReport,
    LabelPair,
    Rate,
    accuracy_report,
    breakdown,
    cohens_kappa,
    exact_match_share,
)
from reviewapp.labels.schema import ClauseLabels
from reviewapp.models import (
    Clause,
    EvaluationPrediction,
    EvaluationRun,
    Review,
    ReviewDecision,
    ReviewItem,
    ReviewStatus,
    Suggestion,
    SuggestionStatus,
)
from reviewapp.services.agencies import agency_canonical
from reviewapp.services.labeling import clause_input

NO_REVIEWED_CLAUSES = "No reviewed clauses yet: the accuracy measure needs reviews."


@dataclass
class ConfigAccuracy:
    labeler: str
    model: str
    prompt_version: str
    report: AccuracyReport
    failed: int
    by_plan: dict[Any, AccuracyReport] = field(default_factory=dict)
    by_sector: dict[Any, AccuracyReport] = field(default_factory=dict)
    by_region: dict[Any, AccuracyReport] = field(default_factory=dict)
    over_time: list[tuple[str, Rate]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return ":".join(p for p in (self.labeler, self.model, self.prompt_version) if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labeler": self.labeler,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "failed_suggestions": self.failed,
            "report": self.report.to_dict(),
            "by_plan": {str(k): v.to_dict() for k, v in self.by_plan.items()},
            "by_sector": {str(k): v.to_dict() for k, v in self.by_sector.items()},
            "by_region": {str(k): v.to_dict() for k, v in self.by_region.items()},
            "over_time": [(day, rate.to_dict()) for day, rate in self.over_time],
        }


def _reviewed() -> dict[int, tuple[ClauseLabels, str, str, str]]:
    """clause id -> (reviewed labels, plan title, region, reviewed on)."""
    rows = ReviewItem.objects.filter(status=ReviewStatus.REVIEWED).values_list(
        "pk", "final_labels", "plan__title", "plan__region", "updated_at"
    )
    return {
        pk: (ClauseLabels.model_validate(labels), title, region, f"{updated:%Y-%m-%d}")
        for pk, labels, title, region, updated in rows.iterator(chunk_size=2000)
    }


def accuracy_by_config(*, plan_ids: Iterable[int] | None = None) -> list[ConfigAccuracy]:
    reviewed = _reviewed()
    if plan_ids is not None:
        keep = set(Clause.objects.filter(plan_id__in=list(plan_ids)).values_list("pk", flat=True))
        reviewed = {k: v for k, v in reviewed.items() if k in keep}
    accepted = set(
        Review.objects.filter(decision=ReviewDecision.ACCEPTED).values_list(
            "suggestion_id", flat=True
        )
    )
    groups: dict[tuple[str, str, str], list[tuple[LabelPair, str]]] = {}
    failed: dict[tuple[str, str, str], int] = {}
    suggestions = Suggestion.objects.filter(clause_id__in=list(reviewed)).values_list(
        "pk", "clause_id", "labeler", "model", "prompt_version", "status", "labels"
    )
    for pk, clause_id, labeler, model, version, status, labels in suggestions.iterator(
        chunk_size=2000
    ):
        key = (labeler, model, version)
        if status != SuggestionStatus.VALID:
            failed[key] = failed.get(key, 0) + 1
            continue
        truth, plan, region, day = reviewed[clause_id]
        pair = LabelPair(
            predicted=ClauseLabels.model_validate(labels),
            reviewed=truth,
            plan=plan,
            region=region,
            accepted_unchanged=pk in accepted,
        )
        groups.setdefault(key, []).append((pair, day))
    results = []
    for key in sorted(set(groups) | set(failed)):
        dated = sorted(groups.get(key, []), key=lambda item: item[1])
        pairs = [pair for pair, _ in dated]
        results.append(
            ConfigAccuracy(
                *key,
                report=accuracy_report(pairs, canonical=agency_canonical),
                failed=failed.get(key, 0),
                by_plan=breakdown(pairs, "plan", canonical=agency_canonical),
                by_sector=breakdown(pairs, "sector", canonical=agency_canonical),
                by_region=breakdown(pairs, "region", canonical=agency_canonical),
                over_time=_over_time(dated),
            )
        )
    return results


def _over_time(dated: list[tuple[LabelPair, str]]) -> list[tuple[str, Rate]]:
    """Sector accuracy as reviews accumulate: the running rate at the end of each day."""
    points: list[tuple[str, Rate]] = []
    correct = total = 0
    for index, (pair, day) in enumerate(dated):
        total += 1
        correct += pair.predicted.sector == pair.reviewed.sector
        if index + 1 == len(dated) or dated[index + 1][1] != day:
            points.append((day, Rate.of(correct, total)))
    return points


def inter_reviewer_agreement() -> dict[str, Any]:
    """With double review: Cohen's kappa on sector, exact match on the other fields, over the
    clauses two reviewers labeled (their first two decisions with labels)."""
    firsts: dict[int, list[ClauseLabels]] = {}
    reviews = (
        Review.objects.filter(
            Q(decision=ReviewDecision.ACCEPTED) | Q(decision=ReviewDecision.FIXED)
        )
        .order_by("clause_id", "created_at")
        .values_list("clause_id", "labels_after")
    )
    for clause_id, labels in reviews.iterator(chunk_size=2000):
        if labels and len(firsts.setdefault(clause_id, [])) < 2:
            firsts[clause_id].append(ClauseLabels.model_validate(labels))
    pairs = [labels for labels in firsts.values() if len(labels) == 2]
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    return {
        "clauses": len(pairs),
        "sector_kappa": cohens_kappa([x.sector.value for x in a], [x.sector.value for x in b]),
        "exact_match": {
            name: exact_match_share(a, b, name, canonical=agency_canonical).to_dict()
            for name in ("kind", "targets", "deadlines", "lead_agencies", "responsible_agencies")
        },
    }


def evaluation_run(
    *,
    labeler: Labeler,
    created_by: str = "",
    workers: int = 1,
    on_clause: Callable[[], None] | None = None,
) -> EvaluationRun:
    """Run ``labeler`` over every reviewed clause (not the queue) and store the measured run."""
    reviewed = _reviewed()
    if not reviewed:
        raise ValueError(NO_REVIEWED_CLAUSES)
    clauses = {c.pk: c for c in Clause.objects.filter(pk__in=list(reviewed))}

    def run_one(clause_id: int) -> tuple[int, ClauseLabels | None, str]:
        try:
            result = labeler.label(clause_input(clauses[clause_id]))
        except TransientLLMError as exc:
            return clause_id, None, str(exc)
        finally:
            if on_clause:
                on_clause()
        return clause_id, result.labels, result.error

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(pool.map(run_one, sorted(reviewed)))
    pairs = [
        LabelPair(
            predicted=labels,
            reviewed=reviewed[cid][0],
            plan=reviewed[cid][1],
            region=reviewed[cid][2],
        )
        for cid, labels, _ in outcomes
        if labels is not None
    ]
    report = accuracy_report(pairs, canonical=agency_canonical)
    run = EvaluationRun.objects.create(
        labeler=labeler.name,
        model=labeler.model,
        prompt_version=labeler.prompt_version,
        clauses=len(outcomes),
        failed=sum(1 for _, labels, _ in outcomes if labels is None),
        report=report.to_dict(),
        created_by=created_by,
    )
    EvaluationPrediction.objects.bulk_create(
        [
            EvaluationPrediction(
                run=run,
                clause_id=cid,
                labels=labels.model_dump(mode="json") if labels else None,
                error=error[:4000],
            )
            for cid, labels, error in outcomes
        ],
        batch_size=1000,
    )
    return run
