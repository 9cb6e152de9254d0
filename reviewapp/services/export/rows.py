"""The exported rows: one dict per reviewed clause, in plan and clause order, from one snapshot.

Two sources give the same rows: ``rows_postgres`` (one streamed query) and ``rows_chunked``
(SQLite and any other database); this module picks one and opens the transaction they read in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from reviewapp.services.export import rows_chunked, rows_postgres
from reviewapp.services.export.filters import ExportFilters


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
        # Looked up on the module at each call, so that a test can send PostgreSQL down the
        # portable path and compare the two.
        if rows_postgres.can_stream():
            yield from rows_postgres.streamed_rows(filters)
        else:
            yield from rows_chunked.chunked_rows(filters)


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
