"""What ``import_plans --dry-run`` prints for a parsed clause: one JSON-able record.

Shared by the command and ``bench/corpus_quality.py`` so that the corpus figures are the figures
of the preview an admin sees.
"""

from __future__ import annotations

from typing import Any

from reviewapp.importing.segmentation import ParsedClause
from reviewapp.labeling.base import ClauseInput, Labeler


def clause_input_of(clause: ParsedClause, plan_year: int | None = None) -> ClauseInput:
    return ClauseInput(
        clause.text,
        clause.heading_path,
        clause.lead_agencies,
        clause.responsible_agencies,
        clause.kind_hint,
        plan_year,
    )


def clause_preview(
    clause: ParsedClause, plan: dict[str, Any], labeler: Labeler | None = None
) -> dict[str, Any]:
    """The preview line of one clause, with the labeler's suggestion when a labeler is given."""
    line: dict[str, Any] = {
        "plan": plan,
        "ordinal": clause.ordinal,
        "heading_path": clause.heading_path,
        "text": clause.text,
        "start": clause.start,
        "end": clause.end,
        "responsibility_note": clause.responsibility_note,
        "lead_agencies": clause.lead_agencies,
        "responsible_agencies": clause.responsible_agencies,
        "kind_hint": clause.kind_hint,
    }
    if labeler is not None:
        year = plan.get("plan_year")
        line["suggestion"] = suggestion_preview(
            labeler, clause, plan_year=year if isinstance(year, int) else None
        )
    return line


def suggestion_preview(
    labeler: Labeler, clause: ParsedClause, *, plan_year: int | None = None
) -> dict[str, Any]:
    """The labeler's suggestion for a parsed clause, as the preview shows it."""
    from reviewapp.labeling.llm import TransientLLMError

    try:
        result = labeler.label(clause_input_of(clause, plan_year))
    except TransientLLMError as exc:
        return {"labeler": labeler.name, "error": str(exc)}
    return {
        "labeler": labeler.name,
        "model": labeler.model,
        "prompt_version": labeler.prompt_version,
        "labels": result.labels.model_dump(mode="json") if result.labels else None,
        "confidence": result.confidence,
        "error": result.error,
    }
