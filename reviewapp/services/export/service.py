"""export_dataset: the rows of ``rows`` through a format's writer into a folder, with the card."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from reviewapp.services.export import writers
from reviewapp.services.export.card import dataset_card
from reviewapp.services.export.filters import ExportFilters
from reviewapp.services.export.gc_pause import gc_paused_if_only_thread
from reviewapp.services.export.label_studio import LABEL_STUDIO_CONFIG
from reviewapp.services.export.rows import export_rows
from reviewapp.services.export.summary import ExportSummary

NOTHING_TO_EXPORT = (
    "No reviewed clauses match: review some clauses first, or widen --plans/--since."
)


def export_dataset(
    *,
    fmt: str,
    out_dir: Path,
    filters: ExportFilters,
    on_row: Callable[[], None] | None = None,
) -> tuple[Path, ExportSummary]:
    """Write the dataset in ``fmt`` and its card into ``out_dir``. Returns the data file."""
    if fmt not in writers.FORMATS:
        raise ValueError(f"format must be one of {', '.join(writers.FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / writers.FILE_NAMES[fmt]
    summary = ExportSummary()

    def rows() -> Iterator[dict[str, Any]]:
        with closing(export_rows(filters=filters)) as source:
            for row in source:
                summary.add(row)
                if on_row:
                    on_row()
                yield row

    writer = writers.WRITERS[fmt]
    # Written next to the data file and moved over it only when complete, so an export that
    # fails or finds nothing leaves the previous export as it was.
    partial = out_dir / f".{writers.FILE_NAMES[fmt]}.{os.getpid()}.partial"
    try:
        # The collector paused only if no other thread shares it (see gc_pause).
        # closing(): if the writer fails, the rows (and on PostgreSQL the connection they
        # stream over) are released at once, not when the traceback is.
        with gc_paused_if_only_thread(), closing(rows()) as all_rows:
            writer(partial, all_rows)
        if summary.rows == 0:
            raise ValueError(NOTHING_TO_EXPORT)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    if fmt == "label-studio":
        (out_dir / "label_studio_config.xml").write_text(LABEL_STUDIO_CONFIG, encoding="utf-8")
    (out_dir / "README.md").write_text(dataset_card(summary, fmt, filters), encoding="utf-8")
    return path, summary
