"""Row source everywhere but PostgreSQL (SQLite, the zero-setup default): CHUNK clauses at a
time, a few plain queries a chunk, joined here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from reviewapp.models import Clause, Plan, Review, ReviewDecision, ReviewItem, Suggestion
from reviewapp.services.export.filters import ExportFilters, exported_items
from reviewapp.services.export.row_shape import CHUNK, as_text, build_row, parse_json, plan_info


def chunked_rows(filters: ExportFilters) -> Iterator[dict[str, Any]]:
    ids = exported_items(filters=filters).values_list("pk", flat=True)
    chunk: list[int] = []
    for clause_id in ids.iterator(chunk_size=CHUNK):
        chunk.append(clause_id)
        if len(chunk) == CHUNK:
            yield from _chunk_rows(chunk)
            chunk = []
    if chunk:
        yield from _chunk_rows(chunk)


def _chunk_rows(clause_ids: list[int]) -> Iterator[dict[str, Any]]:
    # Plain tuples, not model instances: building four models per row was most of the time.
    # JSON columns come as text and are parsed with orjson: Django's JSONField decoding was
    # the largest cost of an export.
    items = {
        pk: (status, parse_json(labels))
        for pk, status, labels in ReviewItem.objects.filter(pk__in=clause_ids).values_list(
            "pk", "status", as_text("final_labels")
        )
    }
    clauses = {
        pk: (plan_id, ordinal, orjson.loads(heading_path), text)
        for pk, plan_id, ordinal, heading_path, text in Clause.objects.filter(
            pk__in=clause_ids
        ).values_list("pk", "plan_id", "ordinal", as_text("heading_path"), "text")
    }
    plan_ids = {plan_id for plan_id, *_ in clauses.values()}
    plans = {
        pk: plan_info(pk, *columns)
        for pk, *columns in Plan.objects.filter(pk__in=plan_ids).values_list(
            "pk", "title", "region", "issuing_body", "document_number", "issue_date", "sha256"
        )
    }
    suggestions: dict[int, list[dict[str, Any]]] = {}
    for clause_id, labeler, model, version, status, labels in (
        Suggestion.objects.filter(clause_id__in=clause_ids)
        .order_by("pk")
        .values_list("clause_id", "labeler", "model", "prompt_version", "status", as_text("labels"))
    ):
        suggestions.setdefault(clause_id, []).append(
            {
                "labeler": labeler,
                "model": model,
                "prompt_version": version,
                "status": status,
                "labels": parse_json(labels),
            }
        )
    reviews: dict[int, list[dict[str, Any]]] = {}
    for clause_id, reviewer, decision, created, seconds in (
        Review.objects.filter(clause_id__in=clause_ids)
        .exclude(decision=ReviewDecision.SKIPPED)
        .order_by("created_at", "pk")
        .values_list("clause_id", "reviewer__username", "decision", "created_at", "seconds_spent")
    ):
        reviews.setdefault(clause_id, []).append(
            {
                "reviewer": reviewer,
                "decision": decision,
                "at": created.isoformat(),
                "seconds_spent": seconds,
            }
        )
    for clause_id in clause_ids:
        plan_id, ordinal, heading_path, text = clauses[clause_id]
        status, final_labels = items[clause_id]
        yield build_row(
            clause_id,
            plans[plan_id],
            ordinal,
            heading_path,
            text,
            status,
            final_labels,
            suggestions.get(clause_id, []),
            reviews.get(clause_id, []),
        )
