"""Comparing two label sets field by field: labeler agreement, double review and the accuracy measure."""

from __future__ import annotations

from collections.abc import Callable

from reviewapp.labels.schema import ClauseLabels

AGREEMENT_FIELDS = (
    "kind",
    "sector",
    "deadlines",
    "targets",
    "lead_agencies",
    "responsible_agencies",
)


def target_key(value: float | None, unit: str, deadline_year: int | None) -> tuple[object, ...]:
    """Targets match when value, unit and deadline agree, with 万/亿 and % normalised."""
    multiplier = 1.0
    unit = unit.replace("％", "%").strip()
    if unit.startswith("万") and len(unit) > 1:
        multiplier, unit = 1e4, unit[1:]
    elif unit.startswith("亿") and len(unit) > 1:
        multiplier, unit = 1e8, unit[1:]
    normalized = None if value is None else round(value * multiplier, 6)
    return (normalized, unit, deadline_year)


def fields_agree(
    a: ClauseLabels, b: ClauseLabels, *, canonical: Callable[[list[str]], list[str]] = list
) -> dict[str, bool]:
    return {
        "kind": a.kind == b.kind,
        "sector": a.sector == b.sector,
        "deadlines": a.deadlines == b.deadlines,
        "targets": sorted(
            map(str, (target_key(t.value, t.unit, t.deadline_year) for t in a.targets))
        )
        == sorted(map(str, (target_key(t.value, t.unit, t.deadline_year) for t in b.targets))),
        "lead_agencies": set(canonical(a.lead_agencies)) == set(canonical(b.lead_agencies)),
        "responsible_agencies": set(canonical(a.responsible_agencies))
        == set(canonical(b.responsible_agencies)),
    }
