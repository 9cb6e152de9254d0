"""Bulk data for the PostgreSQL benchmarks: plans of clauses built from the seeds, loaded with COPY.

Shared by ``export_bench.py`` and ``review_latency.py``, which each add their own suggestions,
review items and reviews on top. Imported by them as a plain module: a script run as
``python bench/<name>.py`` has ``bench/`` first on ``sys.path``. The throw-away database they
load it into, and ``BenchError``, are ``_common``'s.

- ``seed_templates``: seed clauses of 300-600 characters, each labeled once by the rule labeler.
- ``plan_sizes``, ``plan_rows``, ``clause_rows``, ``rules_suggestion_rows``: the rows of plans
  whose clauses are the given templates, ``create_reviewers``: the reviewer users.
- ``copy_tables``: COPY of generated rows in one transaction, then the id sequences reset.
- ``other_sector``, ``lengths_summary``, ``table_sizes``: a disagreeing variant of labels, and
  the lines the benchmarks print about what they generated.

Nothing here draws a random number: which template each clause is, and everything else left to
chance, is drawn by the benchmark from its own ``random.Random``, so each one generates what it
generated before the code was shared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from _common import SEEDS_DIR, BenchError

CLAUSES_PER_PLAN = 200
REVIEWERS = 50
MIN_CHARS, MAX_CHARS = 300, 600

REGIONS = (
    "东城 西城 朝阳 丰台 石景山 门头沟 房山 通州 顺义 大兴 怀柔 平谷 密云 延庆 黄浦 徐汇 长宁 "
    "静安 普陀 虹口 闵行 宝山 嘉定 金山 松江 青浦 奉贤 崇明 和平 河东 河西 河北 红桥 东丽 西青 "
    "津南 北辰 武清 宝坻 宁河 静海 蓟州 鼓楼 玄武 秦淮 建邺 栖霞 江宁 浦口 六合 溧水 高淳"
).split()

# Columns written by COPY, in the order of the generated rows.
PLAN_COLUMNS = (
    "id title region issuing_body document_number issue_date source_file_name "
    "source_format sha256 cleaned_text created_at"
).split()
CLAUSE_COLUMNS = (
    "id plan ordinal heading_path text start_offset end_offset responsibility_note "
    "lead_agencies responsible_agencies kind_hint"
).split()
SUGGESTION_COLUMNS = (
    "id clause labeler model prompt_version schema_version status labels confidence "
    "error raw_output prompt_tokens completion_tokens cost requests cached created_at"
).split()
ITEM_COLUMNS = (
    "clause plan ordinal status priority sector kind disagreement failed "
    "low_confidence claimed_by claim_expires_at reviews_count version final_labels "
    "updated_at"
).split()
REVIEW_COLUMNS = (
    "id clause reviewer decision suggestion labels_before labels_after seconds_spent created_at"
).split()

T = TypeVar("T")


# --- template clauses from the seeds ---------------------------------------------------------


@dataclass(frozen=True)
class SeedTemplate:
    """A template clause and its rule labels. The benchmarks subclass it with what they add."""

    text: str
    heading_path: list[str]
    note: str
    lead: list[str]
    responsible: list[str]
    kind_hint: str
    labels: dict[str, Any]
    labels_json: str
    confidence: dict[str, float]
    raw_output: str


@dataclass
class _Part:
    text: str
    heading_path: list[str]
    note: str
    lead: list[str]
    responsible: list[str]
    kind_hint: str


def _template_parts() -> Iterator[_Part]:
    """Seed clauses of 300-600 characters: as they are, joined, or cut at a sentence end."""
    from reviewapp.importing.parsing import parse_plan
    from reviewapp.services.plan_import import import_limits

    for path in sorted(SEEDS_DIR.glob("*.txt")):
        parsed = parse_plan(path.name, path.read_bytes(), import_limits())
        pending: list[Any] = []
        for clause in parsed.clauses:
            if pending and pending[0].heading_path[:1] != clause.heading_path[:1]:
                pending = []  # do not join across level-1 sections
            if len(clause.text) > MAX_CHARS:
                cut = max(clause.text.rfind(p, MIN_CHARS, MAX_CHARS) for p in "。；")
                if cut > 0:  # the trailing note is cut off with the rest
                    yield _Part(
                        clause.text[: cut + 1], clause.heading_path, "", [], [], clause.kind_hint
                    )
                continue
            pending.append(clause)
            length = sum(len(c.text) for c in pending)
            if length < MIN_CHARS:
                continue
            if length <= MAX_CHARS:
                first = pending[0]
                yield _Part(
                    "".join(c.text for c in pending),
                    first.heading_path,
                    "".join(c.responsibility_note for c in pending),
                    _unique(n for c in pending for n in c.lead_agencies),
                    _unique(n for c in pending for n in c.responsible_agencies),
                    first.kind_hint,
                )
                pending = []
            else:
                pending = [clause] if len(clause.text) < MIN_CHARS else []


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def seed_templates() -> list[SeedTemplate]:
    """The template clauses, each labeled once by the rule labeler; a template whose labels do
    not validate against its text is dropped."""
    from reviewapp.labeling.base import ClauseInput
    from reviewapp.labeling.rules import RuleLabeler

    labeler = RuleLabeler()
    templates: list[SeedTemplate] = []
    for part in _template_parts():
        result = labeler.label(
            ClauseInput(
                text=part.text,
                heading_path=list(part.heading_path),
                lead_agencies=part.lead,
                responsible_agencies=part.responsible,
                kind_hint=part.kind_hint,
            )
        )
        if result.labels is None:
            continue
        labels = result.labels.model_dump(mode="json")
        templates.append(
            SeedTemplate(
                text=part.text,
                heading_path=list(part.heading_path),
                note=part.note,
                lead=part.lead,
                responsible=part.responsible,
                kind_hint=part.kind_hint or "measure",
                labels=labels,
                labels_json=json.dumps(labels, ensure_ascii=False),
                confidence=result.confidence,
                raw_output=result.raw_output,
            )
        )
    if not templates:
        raise BenchError("no template clause could be built from seeds/*.txt")
    return templates


# --- generated rows --------------------------------------------------------------------------


def create_reviewers() -> list[int]:
    """REVIEWERS active users in the reviewer group. Returns their ids."""
    from django.contrib.auth.models import Group, User

    from reviewapp.roles import REVIEWER_GROUP

    group = Group.objects.get(name=REVIEWER_GROUP)
    users = User.objects.bulk_create(
        [User(username=f"reviewer{i:02d}", password="!", is_active=True) for i in range(REVIEWERS)]
    )
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users]
    )
    return [u.pk for u in users]


def plan_sizes(clauses: int) -> list[int]:
    """Clauses per plan: plans of CLAUSES_PER_PLAN, the last one the rest."""
    n_plans = math.ceil(clauses / CLAUSES_PER_PLAN)
    return [min(CLAUSES_PER_PLAN, clauses - p * CLAUSES_PER_PLAN) for p in range(n_plans)]


def numbered(plans: Sequence[Sequence[T]]) -> Iterator[tuple[int, int, int, T]]:
    """(clause id, plan id, ordinal, item) for every clause: ids count from 1 in plan order, as
    the COPY-ed rows number them."""
    clause_id = 0
    for p, plan in enumerate(plans):
        for ordinal, item in enumerate(plan, start=1):
            clause_id += 1
            yield clause_id, p + 1, ordinal, item


def plan_rows(
    plans: Sequence[Sequence[SeedTemplate]], *, sha_prefix: str, now: dt.datetime
) -> Iterator[tuple[Any, ...]]:
    """A plan per list of templates; its ``cleaned_text`` is its clauses joined, so the clause
    offsets are true. ``sha_prefix`` names the benchmark in the (fake) file hash."""
    for p, plan in enumerate(plans):
        region = REGIONS[p % len(REGIONS)]
        year = 2021 + p % 4
        yield (
            p + 1,
            f"{region}区碳达峰实施方案（{p + 1}）",
            f"{region}区",
            f"{region}区人民政府",
            f"{region}政发〔{year}〕{p % 40 + 1}号",
            dt.date(year, 1 + p % 12, 1 + p % 28),
            f"plan-{p + 1}.txt",
            "txt",
            hashlib.sha256(f"{sha_prefix}-{p + 1}".encode()).hexdigest(),
            "\n".join(t.text for t in plan),
            now,
        )


def clause_rows(plans: Sequence[Sequence[SeedTemplate]]) -> Iterator[tuple[Any, ...]]:
    offset, current_plan = 0, 0
    for clause_id, plan_id, ordinal, t in numbered(plans):
        if plan_id != current_plan:
            offset, current_plan = 0, plan_id
        yield (
            clause_id,
            plan_id,
            ordinal,
            json.dumps(t.heading_path, ensure_ascii=False),
            t.text,
            offset,
            offset + len(t.text),
            t.note,
            json.dumps(t.lead, ensure_ascii=False),
            json.dumps(t.responsible, ensure_ascii=False),
            t.kind_hint,
        )
        offset += len(t.text) + 1  # the newline between clauses in cleaned_text


def rules_suggestion_rows(
    plans: Sequence[Sequence[SeedTemplate]], *, now: dt.datetime
) -> Iterator[tuple[Any, ...]]:
    """One valid rules suggestion per clause, its id the clause id (other suggestions get ids
    after the last clause's)."""
    from reviewapp.labeling.rules import rules_version

    rules_prompt = rules_version()
    for clause_id, _plan, _ordinal, t in numbered(plans):
        yield (
            clause_id, clause_id, "rules", "", rules_prompt, "1", "valid", t.labels_json,
            json.dumps(t.confidence), "", t.raw_output, 0, 0, Decimal(0), 0, False, now,
        )  # fmt: skip


def copy_tables(
    tables: Iterable[tuple[str, Any, list[str], Iterable[tuple[Any, ...]]]], *, reset: list[Any]
) -> dict[str, int]:
    """COPY each (name, model, columns, rows) in order, in one transaction, then reset the id
    sequences of the ``reset`` models (COPY sets ids without them). Returns the row count per
    name. In order, because a later table's rows may be collected while an earlier one's are
    generated (the reviews, while the review items are)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        for name, model, fields, rows in tables:
            columns = ", ".join(f'"{model._meta.get_field(f).column}"' for f in fields)
            count = 0
            with cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            counts[name] = count
        for sql in connection.ops.sequence_reset_sql(no_style(), reset):
            django_cursor.execute(sql)
    return counts


# --- what the benchmarks vary and print ------------------------------------------------------


def other_sector(labels: dict[str, Any]) -> dict[str, Any]:
    """The labels with another primary sector (three further in ``Sector``), dropped from the
    secondary sectors: a reviewer's fix, or an LLM that disagrees."""
    from reviewapp.labels.schema import Sector

    sectors = list(Sector)
    other = sectors[(sectors.index(Sector(labels["sector"])) + 3) % len(sectors)]
    return {
        **labels,
        "sector": other.value,
        "secondary_sectors": [s for s in labels["secondary_sectors"] if s != other.value],
    }


def lengths_summary(templates: Sequence[SeedTemplate]) -> str:
    lengths = sorted(len(t.text) for t in templates)
    return f"{lengths[0]}-{lengths[-1]} characters (median {lengths[len(lengths) // 2]})"


def table_sizes(tables: Sequence[str]) -> str:
    """The printed line of the tables' total sizes (indexes and TOAST included)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c "
            "WHERE relname = ANY(%s) ORDER BY relname",
            [list(tables)],
        )
        return "  table sizes: " + ", ".join(f"{name} {size}" for name, size in cursor.fetchall())
