"""Exporting the curated dataset: one row per reviewed clause.

Rows are streamed from the database (on PostgreSQL by one query, elsewhere in chunks), so memory
stays flat however many rows there are, and they come from one snapshot. Each plan is assigned
to train/dev/test from a hash of its own bytes' sha256, so no plan is in two splits and adding
plans never moves an existing one. A dataset card (README.md) is written next to the data.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
import io
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from reviewapp.labels.schema import SCHEMA_VERSION, SECTORS, Kind
from reviewapp.models import (
    Clause,
    Plan,
    Review,
    ReviewDecision,
    ReviewItem,
    ReviewStatus,
    Suggestion,
)

FORMATS = ("jsonl", "csv", "parquet", "label-studio")
FILE_NAMES = {
    "jsonl": "clauses.jsonl",
    "csv": "clauses.csv",
    "parquet": "clauses.parquet",
    "label-studio": "label_studio_tasks.json",
}
SPLIT_SALT = "carbon-peak-dataset-v1"
CHUNK = 2000  # rows a query (SQLite) and a Parquet row group
# Rows a message when PostgreSQL streams them: small, so that this process starts on the first
# rows while the server makes the next (2,000 left it waiting on each message: 4.9-5.2 s for a
# Parquet of 100,000 rows against 3.9-4.4 s with 100-500).
STREAM_CHUNK = 100
# Plain strings: comparing with them is cheaper than with the enum members, once a row.
REVIEWED, NOT_A_CLAUSE = ReviewStatus.REVIEWED.value, ReviewStatus.NOT_A_CLAUSE.value
ACCEPTED = ReviewDecision.ACCEPTED.value
NOTHING_TO_EXPORT = (
    "No reviewed clauses match: review some clauses first, or widen --plans/--since."
)


def plan_split(plan_sha256: str) -> str:
    """train / dev / test (80/10/10), from the plan's own hash: stable when plans are added."""
    bucket = int(hashlib.sha256(f"{SPLIT_SALT}:{plan_sha256}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


@dataclass(frozen=True)
class ExportFilters:
    plan_ids: tuple[int, ...] = ()
    since: dt.date | None = None


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


def exported_items(*, filters: ExportFilters) -> QuerySet[ReviewItem]:
    items = ReviewItem.objects.filter(status__in=[ReviewStatus.REVIEWED, ReviewStatus.NOT_A_CLAUSE])
    if filters.plan_ids:
        items = items.filter(plan_id__in=filters.plan_ids)
    if filters.since:
        items = items.filter(updated_at__date__gte=filters.since)
    return items.order_by("plan_id", "ordinal")


def export_rows(*, filters: ExportFilters) -> Iterator[dict[str, Any]]:
    """Rows in plan and clause order, from one consistent snapshot of the database.

    On PostgreSQL one query streams every row over the connection, with each clause's
    suggestions and reviews gathered into JSON by the database; elsewhere (SQLite, the
    zero-setup default) the rows are fetched CHUNK clauses at a time. Both give the same rows.
    On PostgreSQL the connection can run nothing else while the rows stream: query before or
    after iterating (a query in between raises), and close() the iterator if you stop early.
    """
    with transaction.atomic():
        _begin_export_transaction()
        if _can_stream():
            yield from _streamed_rows(filters)
        else:
            yield from _chunked_rows(filters)


def _begin_export_transaction() -> None:
    """On PostgreSQL, in the export's own transaction: REPEATABLE READ, so that the chunked
    path's queries see one snapshot too (the streamed path is one query, a snapshot anyway);
    no JIT compilation (it spent half a second compiling a query that reads rows by index);
    no parallel workers (they would take the core this process needs). All of it ends with the
    transaction; inside someone else's it would change theirs, so it is skipped there. SQLite
    reads one snapshot per transaction already."""
    if connection.vendor != "postgresql":
        return
    if len(connection.atomic_blocks) > 1 or not connection.commit_on_exit:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


PlanInfo = tuple[dict[str, Any], str]  # the row's "plan" object and its split


def _plan_info(
    pk: int,
    title: str,
    region: str,
    issuing_body: str,
    number: str,
    date: dt.date | None,
    sha256: str,
) -> PlanInfo:
    meta = {
        "id": pk,
        "title": title,
        "region": region,
        "issuing_body": issuing_body,
        "document_number": number,
        "issue_date": date.isoformat() if date else None,
    }
    return meta, plan_split(sha256)


def _row(
    clause_id: int,
    plan: PlanInfo,
    ordinal: int,
    heading_path: list[str],
    text: str,
    status: str,
    final_labels: dict[str, Any] | None,
    suggestions: list[dict[str, Any]],
    reviews: list[dict[str, Any]],
) -> dict[str, Any]:
    meta, split = plan
    return {
        "clause_id": clause_id,
        "plan": meta,
        "split": split,
        "ordinal": ordinal,
        "heading_path": heading_path,
        "text": text,
        "schema_version": SCHEMA_VERSION,
        "labels": final_labels if status == REVIEWED else None,
        "decision": _decision(status, reviews),
        "suggestions": suggestions,
        "reviews": reviews,
    }


# --- PostgreSQL: one streamed query -----------------------------------------------------------


def _can_stream() -> bool:
    # The query formats review times as UTC ISO 8601 ("+00:00"), which is what Python's
    # isoformat() gives for the datetimes Django reads only when the connection is in UTC (the
    # default with USE_TZ); any other set-up takes the portable path.
    return (
        connection.vendor == "postgresql"
        and settings.USE_TZ
        and connection.timezone_name == "UTC"
        and hasattr(connection.Database, "capabilities")  # psycopg >= 3.2: stream(size=...)
    )


# The exported items ({items}, Django's SQL, which applies the filters and orders the rows) and,
# for each, its clause, plan, and suggestions and reviews gathered into JSON arrays of the row's
# own objects, as text for orjson. "at" is datetime.isoformat() in UTC: microseconds only when
# not zero. The LATERAL subquery (kept one by OFFSET 0, which stops the planner from merging it
# into a join) makes the database do the costly part row by row after ordering the narrow item
# rows: with plain joins it could instead build every wide row first and sort them on disk,
# sending nothing until then, so this process would wait instead of working alongside.
STREAM_SQL = """
SELECT i.clause_id, i.status, i.labels_text, x.*
FROM ({items}) AS i
CROSS JOIN LATERAL (
    SELECT c.ordinal, c.heading_path::text, c.text,
        p.id, p.title, p.region, p.issuing_body, p.document_number, p.issue_date, p.sha256,
        (SELECT json_agg(json_build_object(
                'labeler', s.labeler, 'model', s.model, 'prompt_version', s.prompt_version,
                'status', s.status, 'labels', s.labels) ORDER BY s.id)
            FROM {suggestion} s WHERE s.clause_id = c.id)::text,
        (SELECT json_agg(json_build_object(
                'reviewer', (SELECT u.username FROM {user} u WHERE u.id = r.reviewer_id),
                'decision', r.decision,
                'at', replace(to_char(r.created_at AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS.US'), '.000000', '') || '+00:00',
                'seconds_spent', r.seconds_spent) ORDER BY r.created_at, r.id)
            FROM {review} r WHERE r.clause_id = c.id AND r.decision <> %s)::text
    FROM {clause} c JOIN {plan} p ON p.id = c.plan_id
    WHERE c.id = i.clause_id
    OFFSET 0
) AS x
ORDER BY i.plan_id, i.ordinal
"""


def _streamed_query(filters: ExportFilters) -> tuple[str, tuple[Any, ...]]:
    items = exported_items(filters=filters).values(
        "clause_id", "plan_id", "ordinal", "status", labels_text=_text("final_labels")
    )
    items_sql, items_params = items.query.sql_with_params()
    sql = STREAM_SQL.format(
        items=items_sql,
        suggestion=Suggestion._meta.db_table,
        user=Review._meta.get_field("reviewer").related_model._meta.db_table,
        review=Review._meta.db_table,
        clause=Clause._meta.db_table,
        plan=Plan._meta.db_table,
    )
    return sql, (*items_params, ReviewDecision.SKIPPED.value)


def _streamed_rows(filters: ExportFilters) -> Iterator[dict[str, Any]]:
    sql, params = _streamed_query(filters)
    current_plan: int | None = None
    plan: PlanInfo = ({}, "")
    # psycopg's stream(): the server sends rows as it makes them, a few a message, while
    # this process turns the previous ones into rows, so the two work side by side and memory
    # holds a few rows. (A server-side cursor would wait for each FETCH.) Django's cursor is
    # used for its connection and error translation; stream() is psycopg's own.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        connection.execute_wrapper(_refuse_queries_while_streaming),
    ):
        for (
            clause_id, status, final_labels, ordinal, heading_path, text, plan_id, title, region,
            issuing_body, number, date, sha256, suggestions, reviews,
        ) in cursor.cursor.stream(sql, params, size=_stream_chunk()):  # fmt: skip
            if plan_id != current_plan:  # rows come plan by plan: one plan object each
                current_plan = plan_id
                plan = _plan_info(plan_id, title, region, issuing_body, number, date, sha256)
            yield _row(
                clause_id,
                plan,
                ordinal,
                orjson.loads(heading_path),
                text,
                status,
                _json(final_labels),
                orjson.loads(suggestions) if suggestions else [],
                orjson.loads(reviews) if reviews else [],
            )


QUERY_WHILE_STREAMING = (
    "The export streams its rows over this database connection: query before or after "
    "iterating export_rows(), not in between."
)


def _refuse_queries_while_streaming(*args: Any) -> Any:
    # psycopg keeps the connection locked while it streams: a query from the same thread would
    # wait for that lock forever. An error says why instead.
    raise RuntimeError(QUERY_WHILE_STREAMING)


def _stream_chunk() -> int:
    # Chunked rows need libpq 17 (the psycopg[binary] wheel has it); older ones stream a row
    # a message, slower but the same rows.
    return STREAM_CHUNK if connection.Database.capabilities.has_stream_chunked() else 1


# --- elsewhere: CHUNK clauses at a time -------------------------------------------------------


def _chunked_rows(filters: ExportFilters) -> Iterator[dict[str, Any]]:
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
        pk: (status, _json(labels))
        for pk, status, labels in ReviewItem.objects.filter(pk__in=clause_ids).values_list(
            "pk", "status", _text("final_labels")
        )
    }
    clauses = {
        pk: (plan_id, ordinal, orjson.loads(heading_path), text)
        for pk, plan_id, ordinal, heading_path, text in Clause.objects.filter(
            pk__in=clause_ids
        ).values_list("pk", "plan_id", "ordinal", _text("heading_path"), "text")
    }
    plan_ids = {plan_id for plan_id, *_ in clauses.values()}
    plans = {
        pk: _plan_info(pk, *columns)
        for pk, *columns in Plan.objects.filter(pk__in=plan_ids).values_list(
            "pk", "title", "region", "issuing_body", "document_number", "issue_date", "sha256"
        )
    }
    suggestions: dict[int, list[dict[str, Any]]] = {}
    for clause_id, labeler, model, version, status, labels in (
        Suggestion.objects.filter(clause_id__in=clause_ids)
        .order_by("pk")
        .values_list("clause_id", "labeler", "model", "prompt_version", "status", _text("labels"))
    ):
        suggestions.setdefault(clause_id, []).append(
            {
                "labeler": labeler,
                "model": model,
                "prompt_version": version,
                "status": status,
                "labels": _json(labels),
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
        yield _row(
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


def _text(column: str) -> Cast:
    return Cast(column, output_field=TextField())


def _json(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def _decision(status: str, reviews: list[dict[str, Any]]) -> str:
    """accepted_unchanged / fixed / not_a_clause (adjudicated clauses say how they ended)."""
    if status == NOT_A_CLAUSE:
        return "not_a_clause"
    if reviews and all(r["decision"] == ACCEPTED for r in reviews):
        return "accepted_unchanged"
    return "fixed"


# --- writers ----------------------------------------------------------------------------------


class _GcPause:
    """Python's cyclic garbage collector off while an export runs, for every thread at once.

    A row is a few dozen small dicts and lists; the collector kept scanning them (and, in full
    collections, the whole Django process) though they hold no reference cycles: refcounting
    frees each row once it is written. In a Parquet export, which keeps CHUNK rows alive at a
    time, the collections run while JSON is parsed more than doubled the parsing time.

    Pausing it is safe: the rows make no garbage that only the collector could free, and an
    export is short; the little cyclic garbage made meanwhile (a few objects a query, or other
    threads of a web worker) is collected as soon as the last export ends. The collector is
    process-wide, so overlapping exports (threads of the dev server) are counted: the first one
    in turns it off, the last one out turns it back on, and only if it was on to start with.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exports = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._exports == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._exports += 1
        try:
            yield
        finally:
            with self._lock:
                self._exports -= 1
                if self._exports == 0 and self._was_enabled:
                    gc.enable()


_cyclic_gc_paused = _GcPause()


def export_dataset(
    *,
    fmt: str,
    out_dir: Path,
    filters: ExportFilters,
    on_row: Callable[[], None] | None = None,
) -> tuple[Path, ExportSummary]:
    """Write the dataset in ``fmt`` and its card into ``out_dir``. Returns the data file."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAMES[fmt]
    summary = ExportSummary()

    def rows() -> Iterator[dict[str, Any]]:
        with closing(export_rows(filters=filters)) as source:
            for row in source:
                summary.add(row)
                if on_row:
                    on_row()
                yield row

    writer = {
        "jsonl": _write_jsonl,
        "csv": _write_csv,
        "parquet": _write_parquet,
        "label-studio": _write_label_studio,
    }[fmt]
    # Written next to the data file and moved over it only when complete, so an export that
    # fails or finds nothing leaves the previous export as it was.
    partial = out_dir / f".{FILE_NAMES[fmt]}.{os.getpid()}.partial"
    try:
        # closing(): if the writer fails, the rows (and on PostgreSQL the connection they
        # stream over) are released at once, not when the traceback is.
        with _cyclic_gc_paused(), closing(rows()) as all_rows:
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


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
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


def _write_csv(path: Path, rows: Iterator[dict[str, Any]]) -> None:
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


def _write_parquet(path: Path, rows: Iterator[dict[str, Any]]) -> None:
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


# --- Label Studio -----------------------------------------------------------------------------

LABEL_STUDIO_CONFIG = (
    """<View>
  <Text name="text" value="$text"/>
  <Labels name="target" toName="text"><Label value="target"/><Label value="agency"/></Labels>
  <Choices name="kind" toName="text" choice="single">
"""
    + "".join(f'    <Choice value="{k.value}"/>\n' for k in Kind)
    + """  </Choices>
  <Choices name="sector" toName="text" choice="single">
"""
    + "".join(f'    <Choice value="{s.value}"/>\n' for s in SECTORS)
    + """  </Choices>
  <TextArea name="labels_json" toName="text" editable="true"/>
</View>
"""
)


def label_studio_result(labels: dict[str, Any] | None, text: str) -> list[dict[str, Any]]:
    """Labels as Label Studio results: kind and sector choices, target quotes and agencies as
    spans of the text, and the whole labels as JSON (nothing is lost)."""
    if not labels:
        return []
    result: list[dict[str, Any]] = [
        {
            "from_name": "kind",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [labels["kind"]]},
        },
        {
            "from_name": "sector",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [labels["sector"]]},
        },
    ]
    for target in labels.get("targets", []):
        start = text.find(target.get("quote", ""))
        if start >= 0:
            result.append(_span(start, target["quote"], "target"))
    for name in labels.get("responsible_agencies", []):
        start = text.replace("（", "(").replace("）", ")").find(name)
        if start >= 0:
            result.append(_span(start, text[start : start + len(name)], "agency"))
    result.append(
        {
            "from_name": "labels_json",
            "to_name": "text",
            "type": "textarea",
            "value": {"text": [json.dumps(labels, ensure_ascii=False)]},
        }
    )
    return result


def _span(start: int, text: str, label: str) -> dict[str, Any]:
    return {
        "from_name": "target",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": start + len(text), "text": text, "labels": [label]},
    }


def label_studio_task(row: dict[str, Any]) -> dict[str, Any]:
    text = row["text"]
    return {
        "data": {
            "text": text,
            "clause_id": row["clause_id"],
            "plan_title": row["plan"]["title"],
            "heading_path": " / ".join(row["heading_path"]),
            "split": row["split"],
        },
        "predictions": [
            {
                "model_version": f"{s['labeler']}:{s['model']}:{s['prompt_version']}",
                "result": label_studio_result(s["labels"], text),
            }
            for s in row["suggestions"]
            if s["labels"]
        ],
        "annotations": [
            {
                "result": label_studio_result(row["labels"], text),
                "was_cancelled": row["labels"] is None,
                "completed_by": ";".join(r["reviewer"] for r in row["reviews"]),
            }
        ],
    }


def _write_label_studio(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        first = True
        for row in rows:
            if not first:
                handle.write(",\n")
            handle.write(json.dumps(label_studio_task(row), ensure_ascii=False))
            first = False
        handle.write("\n]\n")


# --- dataset card -----------------------------------------------------------------------------


def dataset_card(summary: ExportSummary, fmt: str, filters: ExportFilters) -> str:
    def table(counter: Counter[str], title: str) -> str:
        lines = [f"| {title} | clauses |", "|---|---|"]
        lines += [
            f"| {key} | {n} |" for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return "\n".join(lines)

    sectors = "\n".join(
        f"| `{code.value}` | {zh} | {covers} |" for code, (zh, covers) in SECTORS.items()
    )
    buffer = io.StringIO()
    buffer.write(
        f"""# Chinese local carbon-peak plans: reviewed clause labels

Exported {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC as `{FILE_NAMES[fmt]}` ({fmt}).
Label schema version {SCHEMA_VERSION}. {summary.rows} reviewed clauses from {len(summary.plans)} plans.
Filters: plans {", ".join(map(str, filters.plan_ids)) or "all"}; reviewed since {filters.since or "the start"}.

## How it was made

Plans (碳达峰实施方案, 实施意见) were imported from their published files, cleaned of web and PDF
noise and split into clauses (task units with their heading path and responsibility note). Each
clause was labeled by an offline rule labeler and/or an LLM (the `suggestions` of each row name
the labeler, model and prompt version), then reviewed by policy experts, who accepted the
suggestion unchanged, fixed it, or marked the text as not a clause. With double review,
disagreements were adjudicated by an admin. `labels` are the reviewed labels (null for "not a
clause"); `decision` says how they came about.

## Splits

Each plan is in exactly one split, chosen from a hash of the plan file's sha256 (80/10/10), so the
split of a plan never changes when plans are added.

{table(summary.by_split, "split")}

## Counts

{table(summary.by_kind, "kind")}

{table(summary.by_sector, "sector")}

{table(summary.by_region, "region")}

{table(summary.by_decision, "decision")}

## Labels

- `kind`: `target` (states at least one quantified or dated commitment), `measure` (a task
  without one), `principle` (ideology, principles, preamble, organisation text).
- `sector`: the primary sector (table below); `secondary_sectors`: others the clause covers.
- `targets`: every commitment with a value or a deadline: `indicator`, `value` (null for a dated
  commitment without a number), `unit`, `comparator` (`>=`, `<=`, `=`, `~`), `change` (`level`,
  `decrease`, `increase`), `baseline_year`, `deadline_year`, `start_year`, and `quote`, the exact
  substring of the clause it was read from.
- `deadlines`: the distinct deadline years of the targets.
- `lead_agencies`, `responsible_agencies`: as written in the responsibility note.

| code | 中文 | covers |
|---|---|---|
{sectors}
"""
    )
    return buffer.getvalue()
