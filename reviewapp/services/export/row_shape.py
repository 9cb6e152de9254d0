"""The exported row, whichever source reads it: its plan object, split, decision and fields.

Both row sources (``rows_postgres`` and ``rows_chunked``) build their rows here, so they cannot
drift apart; a test compares them on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
from django.db.models import TextField
from django.db.models.functions import Cast

from reviewapp.labels.schema import SCHEMA_VERSION
from reviewapp.models import ReviewDecision, ReviewStatus

SPLIT_SALT = "carbon-peak-dataset-v1"
CHUNK = 2000  # rows a query (the chunked source) and a Parquet row group
# Plain strings: comparing with them is cheaper than with the enum members, once a row.
REVIEWED, NOT_A_CLAUSE = ReviewStatus.REVIEWED.value, ReviewStatus.NOT_A_CLAUSE.value
ACCEPTED = ReviewDecision.ACCEPTED.value

PlanInfo = tuple[dict[str, Any], str]  # the row's "plan" object and its split


def plan_split(plan_sha256: str) -> str:
    """train / dev / test (80/10/10), from the plan's own hash: stable when plans are added."""
    bucket = int(hashlib.sha256(f"{SPLIT_SALT}:{plan_sha256}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


def plan_info(
    pk: int,
    title: str,
    region: str,
    issuing_body: str,
    number: str,
    date: dt.date | None,
    sha256: str,
) -> PlanInfo:
    """Built once a plan (rows come plan by plan) and shared by its rows."""
    meta = {
        "id": pk,
        "title": title,
        "region": region,
        "issuing_body": issuing_body,
        "document_number": number,
        "issue_date": date.isoformat() if date else None,
    }
    return meta, plan_split(sha256)


def build_row(
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
        "decision": row_decision(status, reviews),
        "suggestions": suggestions,
        "reviews": reviews,
    }


def row_decision(status: str, reviews: list[dict[str, Any]]) -> str:
    """accepted_unchanged / fixed / not_a_clause (adjudicated clauses say how they ended)."""
    if status == NOT_A_CLAUSE:
        return "not_a_clause"
    if reviews and all(r["decision"] == ACCEPTED for r in reviews):
        return "accepted_unchanged"
    return "fixed"


def as_text(column: str) -> Cast:
    """A JSON column read as text, to be parsed by orjson: Django's JSONField decoding was the
    largest cost of an export."""
    return Cast(column, output_field=TextField())


def parse_json(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)
