"""The dataset card (README.md next to the data): how the data was made, its splits, counts and
label schema. The text is a template (reviewapp/export/dataset_card.md), so it can be edited as
text; this module only prepares the figures, as strings, so that the template's output does
not depend on the active language's number or date formats."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.template.loader import render_to_string

from reviewapp.labels.schema import SCHEMA_VERSION, SECTORS
from reviewapp.services.export.filters import ExportFilters
from reviewapp.services.export.summary import ExportSummary
from reviewapp.services.export.writers import FILE_NAMES

CARD_TEMPLATE = "reviewapp/export/dataset_card.md"


def dataset_card(summary: ExportSummary, fmt: str, filters: ExportFilters) -> str:
    context = {
        "exported_at": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        "file_name": FILE_NAMES[fmt],
        "fmt": fmt,
        "schema_version": SCHEMA_VERSION,
        "rows": str(summary.rows),
        "plans": str(len(summary.plans)),
        "plan_filter": ", ".join(map(str, filters.plan_ids)) or "all",
        "since_filter": str(filters.since or "the start"),
        "split_table": _count_table(summary.by_split, "split"),
        "count_tables": [
            _count_table(summary.by_kind, "kind"),
            _count_table(summary.by_sector, "sector"),
            _count_table(summary.by_region, "region"),
            _count_table(summary.by_decision, "decision"),
        ],
        "sectors": [(code.value, zh, covers) for code, (zh, covers) in SECTORS.items()],
    }
    # One newline at the end whether or not the template file ends with one (editors add it).
    return render_to_string(CARD_TEMPLATE, context).rstrip("\n") + "\n"


def _count_table(counter: Counter[str], title: str) -> dict[str, object]:
    """A table's title and rows, the most frequent first (ties by name)."""
    rows = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"title": title, "rows": [(key, str(n)) for key, n in rows]}
