"""Exporting the curated dataset: one row per reviewed clause.

Rows are streamed from the database (on PostgreSQL by one query, elsewhere in chunks), so memory
stays flat however many rows there are, and they come from one snapshot. Each plan is assigned
to train/dev/test from a hash of its own bytes' sha256, so no plan is in two splits and adding
plans never moves an existing one. A dataset card (README.md) is written next to the data.

Where each part lives:

- ``filters``: which review items are exported (``ExportFilters``, ``exported_items``);
- ``rows``: ``export_rows``, the transaction and the choice of source; the sources
  ``rows_postgres`` (one streamed query) and ``rows_chunked`` (SQLite and others, in chunks),
  both building rows with ``row_shape`` (fields, split, decision);
- ``writers``: one writer a format (JSONL, CSV, Parquet); ``label_studio``: the Label Studio
  tasks and config;
- ``summary`` and ``card``: the counts and the dataset card, a template
  (``templates/reviewapp/export/dataset_card.md``);
- ``gc_pause``: the collector paused while an export runs, only when no other thread shares it;
- ``service``: ``export_dataset``, which puts them together.
"""

from reviewapp.services.export.card import dataset_card
from reviewapp.services.export.filters import ExportFilters, exported_items
from reviewapp.services.export.label_studio import (
    LABEL_STUDIO_CONFIG,
    label_studio_result,
    label_studio_task,
)
from reviewapp.services.export.row_shape import CHUNK, plan_split
from reviewapp.services.export.rows import export_rows
from reviewapp.services.export.rows_postgres import QUERY_WHILE_STREAMING
from reviewapp.services.export.service import NOTHING_TO_EXPORT, export_dataset
from reviewapp.services.export.summary import ExportSummary
from reviewapp.services.export.writers import FILE_NAMES, FORMATS, csv_row, parquet_schema

__all__ = [
    "CHUNK",
    "FILE_NAMES",
    "FORMATS",
    "LABEL_STUDIO_CONFIG",
    "NOTHING_TO_EXPORT",
    "QUERY_WHILE_STREAMING",
    "ExportFilters",
    "ExportSummary",
    "csv_row",
    "dataset_card",
    "export_dataset",
    "export_rows",
    "exported_items",
    "label_studio_result",
    "label_studio_task",
    "parquet_schema",
    "plan_split",
]
