"""What an export wrote, counted row by row as the rows go to the writer: the command's report
and the dataset card's tables."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExportSummary:
    rows: int = 0
    by_split: Counter[str] = field(default_factory=Counter)
    by_sector: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_region: Counter[str] = field(default_factory=Counter)
    by_decision: Counter[str] = field(default_factory=Counter)
    plans: set[int] = field(default_factory=set)

    def add(self, row: dict[str, Any]) -> None:
        self.rows += 1
        self.plans.add(row["plan"]["id"])
        self.by_split[row["split"]] += 1
        self.by_region[row["plan"]["region"] or "—"] += 1
        self.by_decision[row["decision"]] += 1
        labels = row["labels"] or {}
        self.by_sector[labels.get("sector", "not_a_clause")] += 1
        self.by_kind[labels.get("kind", "not_a_clause")] += 1
