"""Row source on PostgreSQL: one query streams every row, the database gathering each clause's
suggestions and reviews into JSON, while this process turns the previous rows into dicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from django.conf import settings
from django.db import connection

from reviewapp.models import Clause, Plan, Review, ReviewDecision, Suggestion
from reviewapp.services.export.filters import ExportFilters, exported_items
from reviewapp.services.export.row_shape import PlanInfo, as_text, build_row, parse_json, plan_info

# Rows a message when PostgreSQL streams them: small, so that this process starts on the first
# rows while the server makes the next (2,000 left it waiting on each message: 4.9-5.2 s for a
# Parquet of 100,000 rows against 3.9-4.4 s with 100-500).
STREAM_CHUNK = 100


def can_stream() -> bool:
    """Whether this connection can take the streamed path (else rows_chunked, same rows)."""
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
        "clause_id", "plan_id", "ordinal", "status", labels_text=as_text("final_labels")
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


def streamed_rows(filters: ExportFilters) -> Iterator[dict[str, Any]]:
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
                plan = plan_info(plan_id, title, region, issuing_body, number, date, sha256)
            yield build_row(
                clause_id,
                plan,
                ordinal,
                orjson.loads(heading_path),
                text,
                status,
                parse_json(final_labels),
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
