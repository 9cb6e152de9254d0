"""Writers, one a format: each takes the rows as they stream and writes one file.

A writer is ``(path, rows) -> None``; ``WRITERS`` maps each format to its writer and
``FILE_NAMES`` to the file's name in the export folder.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from reviewapp.services.export.label_studio import write_label_studio
from reviewapp.services.export.row_shape import CHUNK

Writer = Callable[[Path, Iterator[dict[str, Any]]], None]

FILE_NAMES = {
    "jsonl": "clauses.jsonl",
    "csv": "clauses.csv",
    "parquet": "clauses.parquet",
    "label-studio": "label_studio_tasks.json",
}


def write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    # A 1 MiB buffer: a row is a few KB, larger than the default buffer, so each went to disk
    # in a write call of its own.
    with path.open("wb", buffering=1 << 20) as handle:
        for row in rows:
            # UTF-8, Chinese unescaped; the newline appended by orjson, not by a copy.
            handle.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))


CSV_COLUMNS = [
    "clause_id", "split", "plan_id", "plan_title", "region", "issuing_body", "document_number",
    "issue_date", "ordinal", "heading_path", "text", "decision", "kind", "sector",
    "secondary_sectors", "deadlines", "targets", "lead_agencies", "responsible_agencies",
    "target_count", "reviewers", "suggestions", "schema_version", "labels_json",
]  # fmt: skip


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """Nested fields flattened for spreadsheets; ``labels_json`` keeps them whole."""
    labels = row["labels"] or {}
    targets = labels.get("targets", [])
    plan = row["plan"]
    return {
        "clause_id": row["clause_id"],
        "split": row["split"],
        "plan_id": plan["id"],
        "plan_title": plan["title"],
        "region": plan["region"],
        "issuing_body": plan["issuing_body"],
        "document_number": plan["document_number"],
        "issue_date": plan["issue_date"] or "",
        "ordinal": row["ordinal"],
        "heading_path": " / ".join(row["heading_path"]),
        "text": row["text"],
        "decision": row["decision"],
        "kind": labels.get("kind", ""),
        "sector": labels.get("sector", ""),
        "secondary_sectors": ";".join(labels.get("secondary_sectors", [])),
        "deadlines": ";".join(str(y) for y in labels.get("deadlines", [])),
        "targets": " | ".join(_target_text(t) for t in targets),
        "lead_agencies": "、".join(labels.get("lead_agencies", [])),
        "responsible_agencies": "、".join(labels.get("responsible_agencies", [])),
        "target_count": len(targets),
        "reviewers": ";".join(r["reviewer"] for r in row["reviews"]),
        "suggestions": ";".join(
            f"{s['labeler']}:{s['model']}:{s['prompt_version']}:{s['status']}"
            for s in row["suggestions"]
        ),
        "schema_version": row["schema_version"],
        "labels_json": json.dumps(row["labels"], ensure_ascii=False) if row["labels"] else "",
    }


def _target_text(target: dict[str, Any]) -> str:
    value = "" if target.get("value") is None else f"{target['value']:g}"
    parts = [
        target.get("indicator", ""),
        f"{target.get('comparator', '=')}{value}{target.get('unit', '')}",
    ]
    if target.get("change") and target["change"] != "level":
        parts.append(f"{target['change']} vs {target.get('baseline_year')}")
    if target.get("deadline_year"):
        parts.append(f"by {target['deadline_year']}")
    if target.get("start_year"):
        parts.append(f"from {target['start_year']}")
    return " ".join(p for p in parts if p)


def write_csv(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    # UTF-8 with BOM: Excel opens Chinese text correctly only with it.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(csv_row(row))


def parquet_schema() -> Any:
    import pyarrow as pa

    target = pa.struct(
        [
            ("indicator", pa.string()), ("value", pa.float64()), ("unit", pa.string()),
            ("comparator", pa.string()), ("change", pa.string()), ("baseline_year", pa.int32()),
            ("deadline_year", pa.int32()), ("start_year", pa.int32()), ("quote", pa.string()),
        ]
    )  # fmt: skip
    labels = pa.struct(
        [
            ("kind", pa.string()), ("sector", pa.string()),
            ("secondary_sectors", pa.list_(pa.string())), ("targets", pa.list_(target)),
            ("deadlines", pa.list_(pa.int32())), ("lead_agencies", pa.list_(pa.string())),
            ("responsible_agencies", pa.list_(pa.string())),
        ]
    )  # fmt: skip
    plan = pa.struct(
        [
            ("id", pa.int64()), ("title", pa.string()), ("region", pa.string()),
            ("issuing_body", pa.string()), ("document_number", pa.string()),
            ("issue_date", pa.string()),
        ]
    )  # fmt: skip
    suggestion = pa.struct(
        [
            ("labeler", pa.string()), ("model", pa.string()), ("prompt_version", pa.string()),
            ("status", pa.string()), ("labels", labels),
        ]
    )  # fmt: skip
    review = pa.struct(
        [
            ("reviewer", pa.string()),
            ("decision", pa.string()),
            ("at", pa.string()),
            ("seconds_spent", pa.int32()),
        ]
    )
    return pa.schema(
        [
            ("clause_id", pa.int64()), ("plan", plan), ("split", pa.string()), ("ordinal", pa.int32()),
            ("heading_path", pa.list_(pa.string())), ("text", pa.string()),
            ("schema_version", pa.string()), ("labels", labels), ("decision", pa.string()),
            ("suggestions", pa.list_(suggestion)), ("reviews", pa.list_(review)),
        ]
    )  # fmt: skip


def write_parquet(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    import pyarrow.parquet as pq

    schema = parquet_schema()
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == CHUNK:
                writer.write_batch(_record_batch(batch, schema))
                batch = []
        if batch:
            writer.write_batch(_record_batch(batch, schema))


def _record_batch(rows: list[dict[str, Any]], schema: Any) -> Any:
    """A row group: one Arrow array per column, each converted from its Python values at once.
    Table.from_pylist did the same but took a third longer, gathering the columns row by row
    with dict.get()."""
    import pyarrow as pa

    return pa.record_batch(
        [pa.array([row[field.name] for row in rows], type=field.type) for field in schema],
        schema=schema,
    )


# Looked up when an export starts (not bound at import), so tests can replace a writer.
WRITERS: dict[str, Writer] = {
    "jsonl": write_jsonl,
    "csv": write_csv,
    "parquet": write_parquet,
    "label-studio": write_label_studio,
}
FORMATS = tuple(WRITERS)
