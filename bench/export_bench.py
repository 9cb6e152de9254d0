"""Export benchmark: N reviewed clauses in PostgreSQL exported to JSONL and to Parquet.

Run from the project root (PostgreSQL must be running)::

    python bench/export_bench.py [--clauses N] [--runs N] [--keep-db] [--pg-url URL] [--profile]

What it does
------------
1. Creates a throw-away PostgreSQL database ``export_bench_<pid>`` (through the maintenance
   database of ``--pg-url``, default ``DATABASE_URL`` when it is PostgreSQL; dropped at the end
   unless ``--keep-db``) and migrates it.
2. Generates the data with COPY (timed on its own, not part of the measurement):

   - Template clauses from the five seeds (``seeds/*.txt``, parsed by the importer's own
     ``parse_plan``): seed clauses of 300-600 characters as they are, shorter neighbours of the
     same section joined until they reach 300, longer ones cut at a sentence end. Each template
     is labeled once by the rule labeler (validated against its text; templates whose labels do
     not validate are dropped), and gets a "fixed" variant of its labels (another primary sector,
     the last target dropped when there are several), validated too.
   - ``--clauses`` clauses in plans of 200 (500 plans for 100,000), each a random template.
   - Per clause one valid rules suggestion, a ReviewItem and one Review by one of 50 reviewers:
     77% accepted (final labels = the suggestion's), 20% fixed (final labels = the fixed
     variant), 3% not a clause (status ``not_a_clause``, no final labels, a ``not_a_clause``
     review). Every clause is reviewed, so every clause is exported.

   Then ``VACUUM (ANALYZE)`` (what autovacuum would do after a bulk load).
3. Measures, each in a fresh child process (``python -c``: ``django.setup()``, then
   ``export_dataset(fmt=..., out_dir=..., filters=...)``), so the peak RSS is the export's own:

   - a baseline child that only does ``django.setup()`` (and opens the DB connection);
   - JSONL and Parquet, all rows and a quarter of them (the first quarter of the plans, through
     ``ExportFilters(plan_ids=...)``), ``--runs`` times each.

   Seconds are the wall time of the ``export_dataset`` call (the child's start-up is shown
   apart), with the CPU seconds of the child and of its PostgreSQL backend in it, and the cores
   other processes used meanwhile (a busy host inflates wall time). Peak memory is the child's
   ``VmHWM`` (/proc/self/status: the peak RSS of its own memory since exec). Not ``ru_maxrss``:
   Linux carries the parent's peak RSS into the child's ``ru_maxrss`` at exec (subprocess uses
   vfork), so it would read at least this benchmark process's size (the figure is printed for
   comparison). The child also samples its current RSS every 10% of the rows (through
   ``on_row``), to show the curve. The output is checked by the child after the peak is taken:
   rows in the JSONL file / Parquet metadata.
   ``--profile`` adds a cProfile run of each format (full size, not timed against the targets).

Targets: for each format, the export of all rows in under 10 s and a peak RSS under 300 MB
(the worst run counts); and flat memory: the export's own growth (peak minus the baseline child)
at all rows at most 1.5x (+16 MB) its growth at a quarter of the rows (a linear growth would be
4x); no verdict when the quarter is under 4 export chunks (small --clauses). Exits 0 when
everything passes, 1 when a target fails, 2 when the benchmark could not run.

"Other load" counts every process but the child and its PostgreSQL backend, so it also counts
the PostgreSQL parallel workers that the export's own queries may start.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import pstats
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEEDS_DIR = ROOT / "seeds"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
RANDOM_SEED = 20240612
CLAUSES_PER_PLAN = 200
REVIEWERS = 50
MIN_CHARS, MAX_CHARS = 300, 600
FIXED_SHARE = 0.20
NOT_A_CLAUSE_SHARE = 0.03
FORMATS = ("jsonl", "parquet")
TARGET_SECONDS = 10.0
TARGET_PEAK_MB = 300.0
FLAT_RATIO, FLAT_SLACK_MB = 1.5, 16.0
RSS_SAMPLES = 10  # current RSS sampled every 1/RSS_SAMPLES of the rows
CORES = os.cpu_count() or 1

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


class BenchError(Exception):
    """The benchmark could not run: exit 2."""


# --- database --------------------------------------------------------------------------------


def default_pg_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_PG_URL


def database_url(pg_url: str, name: str) -> str:
    parts = urlsplit(pg_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(maintenance_url: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(maintenance_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(f"cannot create {name} through {maintenance_url}: {exc}") from exc


def drop_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_env(db_url: str) -> dict[str, str]:
    """The environment of this process and of the export children: DEBUG off, a random key."""
    return {
        "DATABASE_URL": db_url,
        "DEBUG": "0",  # no query logging
        "SECRET_KEY": "export-bench-" + secrets.token_hex(24),
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
    }


# --- template clauses from the seeds ---------------------------------------------------------


@dataclass(frozen=True)
class Template:
    text: str
    heading_path: list[str]
    note: str
    lead: list[str]
    responsible: list[str]
    kind_hint: str
    labels: dict[str, Any]
    labels_json: str
    fixed_json: str  # a reviewer's correction: valid, different
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


def _fixed_labels(labels: dict[str, Any], text: str) -> str:
    """What a reviewer's fix looks like: another primary sector, and the last target dropped
    when there are several. Validated against the clause."""
    from reviewapp.labels.schema import Sector, labels_validate

    sectors = list(Sector)
    other = sectors[(sectors.index(Sector(labels["sector"])) + 3) % len(sectors)]
    fixed = {
        **labels,
        "sector": other.value,
        "secondary_sectors": [s for s in labels["secondary_sectors"] if s != other.value],
    }
    if len(fixed["targets"]) > 1:
        fixed["targets"] = fixed["targets"][:-1]
    return labels_validate(fixed, clause_text=text).model_dump_json()


def build_templates() -> list[Template]:
    from reviewapp.labeling.base import ClauseInput
    from reviewapp.labeling.rules import RuleLabeler

    labeler = RuleLabeler()
    templates: list[Template] = []
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
            Template(
                text=part.text,
                heading_path=list(part.heading_path),
                note=part.note,
                lead=part.lead,
                responsible=part.responsible,
                kind_hint=part.kind_hint or "measure",
                labels=labels,
                labels_json=json.dumps(labels, ensure_ascii=False),
                fixed_json=_fixed_labels(labels, part.text),
                confidence=result.confidence,
                raw_output=result.raw_output,
            )
        )
    if not templates:
        raise BenchError("no template clause could be built from seeds/*.txt")
    return templates


# --- generating the data ---------------------------------------------------------------------


def _copy(cursor: Any, model: Any, fields: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    columns = ", ".join(f'"{model._meta.get_field(f).column}"' for f in fields)
    count = 0
    with cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def generate(*, clauses: int, templates: list[Template], rng: random.Random) -> dict[str, int]:
    """COPY plans, clauses, suggestions, review items and reviews. Returns the row counts."""
    from django.contrib.auth.models import Group, User
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from reviewapp.labeling.rules import rules_version
    from reviewapp.models import Clause, Plan, Review, ReviewItem, Suggestion
    from reviewapp.roles import REVIEWER_GROUP
    from reviewapp.services.review import LOW_CONFIDENCE

    now = timezone.now()
    group = Group.objects.get(name=REVIEWER_GROUP)
    users = User.objects.bulk_create(
        [User(username=f"reviewer{i:02d}", password="!", is_active=True) for i in range(REVIEWERS)]
    )
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users]
    )
    reviewer_ids = [u.pk for u in users]

    n_plans = math.ceil(clauses / CLAUSES_PER_PLAN)
    plan_sizes = [min(CLAUSES_PER_PLAN, clauses - p * CLAUSES_PER_PLAN) for p in range(n_plans)]
    # Per plan: the template index of each clause.
    generated = [[rng.randrange(len(templates)) for _ in range(size)] for size in plan_sizes]

    def plan_rows() -> Iterator[tuple[Any, ...]]:
        for p, plan in enumerate(generated):
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
                hashlib.sha256(f"export-bench-plan-{p + 1}".encode()).hexdigest(),
                "\n".join(templates[t].text for t in plan),
                now,
            )

    def all_clauses() -> Iterator[tuple[int, int, int, Template]]:
        clause_id = 0
        for p, plan in enumerate(generated):
            for ordinal, t in enumerate(plan, start=1):
                clause_id += 1
                yield clause_id, p + 1, ordinal, templates[t]

    def clause_rows() -> Iterator[tuple[Any, ...]]:
        offset, current_plan = 0, 0
        for clause_id, plan_id, ordinal, t in all_clauses():
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
            offset += len(t.text) + 1

    rules_prompt = rules_version()

    def suggestion_rows() -> Iterator[tuple[Any, ...]]:
        # Suggestion id = clause id.
        for clause_id, _plan, _ordinal, t in all_clauses():
            yield (
                clause_id, clause_id, "rules", "", rules_prompt, "1", "valid", t.labels_json,
                json.dumps(t.confidence), "", t.raw_output, 0, 0, Decimal(0), 0, False, now,
            )  # fmt: skip

    reviews: list[tuple[Any, ...]] = []

    def item_rows() -> Iterator[tuple[Any, ...]]:
        for clause_id, plan_id, ordinal, t in all_clauses():
            draw = rng.random()
            if draw < NOT_A_CLAUSE_SHARE:
                decision, status, final = "not_a_clause", "not_a_clause", None
            elif draw < NOT_A_CLAUSE_SHARE + FIXED_SHARE:
                decision, status, final = "fixed", "reviewed", t.fixed_json
            else:
                decision, status, final = "accepted", "reviewed", t.labels_json
            at = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 60))
            reviews.append(
                (
                    clause_id,
                    clause_id,
                    rng.choice(reviewer_ids),
                    decision,
                    clause_id,
                    t.labels_json,
                    final,
                    rng.randint(20, 240),
                    at,
                )
            )
            low = min(t.confidence.values()) < LOW_CONFIDENCE
            yield (
                clause_id, plan_id, ordinal, status, 2 if low else 3, t.labels["sector"],
                t.labels["kind"], False, False, low, None, None, 1, 1, final, at,
            )  # fmt: skip

    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        counts["plans"] = _copy(cursor, Plan, PLAN_COLUMNS, plan_rows())
        counts["clauses"] = _copy(cursor, Clause, CLAUSE_COLUMNS, clause_rows())
        counts["suggestions"] = _copy(cursor, Suggestion, SUGGESTION_COLUMNS, suggestion_rows())
        counts["review items"] = _copy(cursor, ReviewItem, ITEM_COLUMNS, item_rows())
        counts["reviews"] = _copy(cursor, Review, REVIEW_COLUMNS, reviews)
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [Plan, Clause, Suggestion, Review]
        ):
            django_cursor.execute(sql)
    counts["reviewers"] = len(reviewer_ids)
    return counts


def check_generated(rng: random.Random, sample: int = 40) -> None:
    """Final labels of a sample of reviewed clauses validate against their clause text."""
    from pydantic import ValidationError

    from reviewapp.labels.schema import labels_validate
    from reviewapp.models import ReviewItem

    ids = list(ReviewItem.objects.filter(status="reviewed").values_list("pk", flat=True))
    for item in (
        ReviewItem.objects.filter(pk__in=rng.sample(ids, min(sample, len(ids))))
        .only("pk", "final_labels", "clause__text")
        .select_related("clause")
    ):
        try:
            labels_validate(item.final_labels, clause_text=item.clause.text)
        except ValidationError as exc:
            raise BenchError(f"final labels of clause {item.pk}: {exc}") from exc


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def data_summary() -> list[str]:
    from django.db import connection
    from django.db.models import Avg, Count
    from django.db.models.functions import Length

    from reviewapp.models import Clause, Review, ReviewItem

    statuses = dict(ReviewItem.objects.values_list("status").annotate(n=Count("pk")))
    decisions = dict(Review.objects.values_list("decision").annotate(n=Count("pk")))
    with_targets = ReviewItem.objects.filter(kind="target").count()
    avg = Clause.objects.aggregate(a=Avg(Length("text")))["a"] or 0
    lines = [
        "  review items: " + ", ".join(f"{s} {n:,}" for s, n in sorted(statuses.items())),
        "  reviews: " + ", ".join(f"{d} {n:,}" for d, n in sorted(decisions.items())),
        f"  clauses whose suggestion has targets (kind=target): {with_targets:,}",
        f"  mean clause length: {avg:.0f} characters",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c "
            "WHERE relname IN ('reviewapp_plan', 'reviewapp_clause', 'reviewapp_suggestion', "
            "'reviewapp_reviewitem', 'reviewapp_review') ORDER BY relname"
        )
        lines.append(
            "  table sizes: " + ", ".join(f"{name} {size}" for name, size in cursor.fetchall())
        )
    return lines


# --- measuring in a fresh child process ------------------------------------------------------

# The child: django.setup(), then (unless baseline) one export_dataset call. Prints one JSON line.
CHILD = r"""
import json, os, resource, sys, time
started = time.perf_counter()
args = json.loads(sys.argv[1])
sys.path.insert(0, args["root"])


def status_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb():
    return status_mb("VmRSS")


def peak_mb():
    # VmHWM: the peak RSS of this process's own memory since exec. ru_maxrss is not used: Linux
    # carries the parent's peak RSS over into the child's ru_maxrss at exec (vfork), so it
    # would be floored at the benchmark process's size.
    return status_mb("VmHWM")


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


TICK = 1 / os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    # User + system CPU seconds of a process, from /proc (the PostgreSQL backend's too).
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK


def host_cpu():
    # (busy, total) CPU seconds of the whole host, summed over cores.
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) * TICK, sum(values) * TICK


import django

django.setup()
from django.db import connection

connection.ensure_connection()
result = {"setup_seconds": time.perf_counter() - started, "setup_peak_mb": peak_mb()}
if args["mode"] == "export":
    from pathlib import Path

    from reviewapp.services.export import ExportFilters, export_dataset

    every = max(1, args["expected"] // args["samples"])
    samples = []
    count = 0

    def on_row():
        global count
        count += 1
        if count % every == 0:
            samples.append(round(rss_mb(), 1))

    call = lambda: export_dataset(
        fmt=args["fmt"],
        out_dir=Path(args["out"]),
        filters=ExportFilters(plan_ids=tuple(args["plan_ids"])),
        on_row=on_row,
    )
    backend = connection.connection.info.backend_pid
    pg0, own0, (busy0, total0) = proc_cpu(backend), proc_cpu("self"), host_cpu()
    cpu, t0 = time.process_time(), time.perf_counter()
    if args.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        path, summary = profiler.runcall(call)
        profiler.dump_stats(args["profile"])
    else:
        path, summary = call()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu
    pg_cpu = proc_cpu(backend) - pg0
    busy1, total1 = host_cpu()
    own = proc_cpu("self") - own0 + pg_cpu
    other_cores = (busy1 - busy0 - own) / (total1 - total0) * os.cpu_count() if total1 > total0 else 0
    result.update(
        seconds=seconds,
        cpu_seconds=cpu,
        pg_cpu_seconds=pg_cpu,
        other_cores=max(0.0, other_cores),
        rows=summary.rows,
        path=str(path),
        bytes=path.stat().st_size,
        rss_samples=samples,
    )
result["peak_mb"] = peak_mb()
result["ru_maxrss_mb"] = maxrss_mb()
result["end_rss_mb"] = rss_mb()
if args["mode"] == "export":  # rows in the written file, counted after the peak is taken
    if args["fmt"] == "parquet":
        import pyarrow.parquet as pq

        result["file_rows"] = pq.read_metadata(path).num_rows
    else:
        with path.open("rb") as handle:
            result["file_rows"] = sum(1 for _ in handle)
        with path.open(encoding="utf-8") as handle:
            result["first_row"] = json.loads(handle.readline())
print(json.dumps(result, ensure_ascii=False))
"""


@dataclass
class Run:
    fmt: str  # "baseline", "jsonl" or "parquet"
    rows: int
    seconds: float  # the export_dataset call (0 for the baseline)
    cpu_seconds: float  # the child's CPU during the call
    pg_cpu_seconds: float  # its PostgreSQL backend's CPU during the call
    other_cores: float  # cores used by other processes on the host during the call
    process_seconds: float  # the child's whole life, seen from the parent
    setup_seconds: float
    setup_peak_mb: float
    peak_mb: float  # VmHWM
    ru_maxrss_mb: float  # for reference only: includes the parent's peak (see the child)
    bytes: int
    rss_samples: list[float]
    path: str
    file_rows: int
    first_row: dict[str, Any] | None


def run_child(
    env: dict[str, str],
    *,
    mode: str,
    fmt: str = "",
    out: Path | None = None,
    plan_ids: list[int] | None = None,
    expected: int = 0,
    profile: Path | None = None,
) -> Run:
    args = {
        "root": str(ROOT),
        "mode": mode,
        "fmt": fmt,
        "out": str(out or ""),
        "plan_ids": plan_ids or [],
        "expected": expected,
        "samples": RSS_SAMPLES,
        "profile": str(profile or ""),
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    process_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise BenchError(f"export child ({mode} {fmt}) failed:\n{completed.stderr[-3000:]}")
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    return Run(
        fmt=fmt or "baseline",
        rows=data.get("rows", 0),
        seconds=data.get("seconds", 0.0),
        cpu_seconds=data.get("cpu_seconds", 0.0),
        pg_cpu_seconds=data.get("pg_cpu_seconds", 0.0),
        other_cores=data.get("other_cores", 0.0),
        process_seconds=process_seconds,
        setup_seconds=data["setup_seconds"],
        setup_peak_mb=data["setup_peak_mb"],
        peak_mb=data["peak_mb"],
        ru_maxrss_mb=data["ru_maxrss_mb"],
        bytes=data.get("bytes", 0),
        rss_samples=data.get("rss_samples", []),
        path=data.get("path", ""),
        file_rows=data.get("file_rows", 0),
        first_row=data.get("first_row"),
    )


def check_output(run: Run, expected: int) -> None:
    """The export reported, and the file holds (counted by the child), every row."""
    if run.rows != expected or run.file_rows != expected:
        raise BenchError(
            f"{run.fmt}: expected {expected:,} rows, export reported {run.rows:,}, "
            f"the file has {run.file_rows:,}"
        )
    if run.fmt == "jsonl":
        row = run.first_row or {}
        missing = {"clause_id", "plan", "split", "text", "labels", "decision", "suggestions"}
        missing -= row.keys()
        if missing or not row["suggestions"] or not row["reviews"]:
            raise BenchError(f"jsonl: first row incomplete (missing {missing}): {row}")


def print_profile(path: Path, fmt: str, run: Run) -> None:
    print(
        f"\n== cProfile of the {fmt} export ({run.rows:,} rows; {run.seconds:.1f} s under the "
        "profiler)"
    )
    for sort in ("tottime", "cumulative"):
        print(f"  -- top 18 by {sort}")
        stream = _Lines()
        stats = pstats.Stats(str(path), stream=stream)  # type: ignore[arg-type]
        stats.strip_dirs().sort_stats(sort).print_stats(18)
        body = [line for line in stream.lines if line.strip()]
        start = next((i for i, line in enumerate(body) if "ncalls" in line), 0)
        for line in body[start:]:
            print("  " + line[:150])


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._buffer = ""

    def write(self, text: str) -> None:
        self._buffer += text
        *done, self._buffer = self._buffer.split("\n")
        self.lines += done


def own_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clauses", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2, help="runs of each export (worst counts)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--pg-url", default=default_pg_url(), help="maintenance database URL")
    parser.add_argument(
        "--profile", action="store_true", help="also profile each format (cProfile, full size)"
    )
    args = parser.parse_args(argv)
    if args.clauses < 4 * CLAUSES_PER_PLAN or args.runs < 1:
        parser.error(f"--clauses must be >= {4 * CLAUSES_PER_PLAN} and --runs >= 1")

    name = f"export_bench_{os.getpid()}"
    create_database(args.pg_url, name)
    print(f"database: {name} (PostgreSQL, {args.pg_url.rsplit('@', 1)[-1].split('/')[0]})")
    out_root = Path(tempfile.mkdtemp(prefix="export_bench_"))
    try:
        return run(args, database_url(args.pg_url, name), out_root)
    finally:
        shutil.rmtree(out_root, ignore_errors=True)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.keep_db:
            print(f"kept database {name}")
        else:
            drop_database(args.pg_url, name)


def run(args: argparse.Namespace, db_url: str, out_root: Path) -> int:
    env = django_env(db_url)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from reviewapp.models import Plan, ReviewItem
    from reviewapp.services.export import CHUNK, ExportFilters, exported_items

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")

    print(f"\n== Generating {args.clauses:,} reviewed clauses (not part of the measurement)")
    rng = random.Random(RANDOM_SEED)
    started = time.perf_counter()
    templates = build_templates()
    lengths = sorted(len(t.text) for t in templates)
    with_targets = sum(1 for t in templates if t.labels["targets"])
    print(
        f"  {len(templates)} template clauses from the seeds, rule-labeled ({with_targets} with "
        f"targets): {lengths[0]}-{lengths[-1]} characters (median {lengths[len(lengths) // 2]}), "
        f"{time.perf_counter() - started:.1f} s"
    )
    started_copy = time.perf_counter()
    counts = generate(clauses=args.clauses, templates=templates, rng=rng)
    print("  COPY: " + ", ".join(f"{n:,} {what}" for what, n in counts.items()))
    print(f"  COPY time: {time.perf_counter() - started_copy:.1f} s")
    check_generated(rng)
    started_vacuum = time.perf_counter()
    vacuum_analyze()
    print(f"  VACUUM (ANALYZE): {time.perf_counter() - started_vacuum:.1f} s")
    print(f"  generation total: {time.perf_counter() - started:.1f} s")
    for line in data_summary():
        print(line)

    plan_ids = list(Plan.objects.order_by("id").values_list("id", flat=True))
    quarter_plans = plan_ids[: len(plan_ids) // 4]
    full_rows = exported_items(filters=ExportFilters()).count()
    quarter_rows = exported_items(filters=ExportFilters(plan_ids=tuple(quarter_plans))).count()
    if full_rows != ReviewItem.objects.count():
        raise BenchError(f"only {full_rows:,} of the clauses would be exported")
    from django.db import connections

    connections.close_all()  # the children have the database to themselves

    print(
        f"\n== Measuring: each export in a fresh child process (python -c: django.setup(), "
        f"export_dataset()), {args.runs} run(s) each"
    )
    print(
        "  seconds = wall time of the export_dataset call; cpu s = the child's + its PostgreSQL "
        "backend's CPU in it; peak = the child's VmHWM (its own peak RSS since exec, read from "
        "/proc/self/status after the call)"
    )
    baselines = [run_child(env, mode="baseline") for _ in range(max(2, args.runs))]
    baseline_mb = statistics.median(b.peak_mb for b in baselines)
    print(
        "  baseline child (django.setup() + DB connection only): peak "
        + ", ".join(f"{b.peak_mb:.1f}" for b in baselines)
        + f" MB (median {baseline_mb:.1f}); start-up "
        + ", ".join(f"{b.setup_seconds:.2f}" for b in baselines)
        + " s"
    )
    print(
        f"  (not ru_maxrss: the children's read {baselines[0].ru_maxrss_mb:.1f} MB, this "
        f"process's own peak ({own_peak_mb():.1f} MB), because Linux carries the parent's peak "
        "RSS into a vfork-ed child's ru_maxrss at exec)"
    )

    results: dict[tuple[str, int], list[Run]] = {}
    for rows, ids in ((quarter_rows, quarter_plans), (full_rows, [])):
        for fmt in FORMATS:
            for i in range(args.runs):
                out = out_root / f"{fmt}-{rows}-{i}"
                result = run_child(
                    env, mode="export", fmt=fmt, out=out, plan_ids=ids, expected=rows
                )
                check_output(result, rows)
                results.setdefault((fmt, rows), []).append(result)
                curve = " ".join(f"{mb:.0f}" for mb in result.rss_samples)
                print(
                    f"  {fmt:<8}{rows:>8,} rows  run {i + 1}: {result.seconds:6.2f} s "
                    f"(cpu: python {result.cpu_seconds:5.2f} s, postgres "
                    f"{result.pg_cpu_seconds:5.2f} s; other load {result.other_cores:4.1f} "
                    f"cores; child total {result.process_seconds:5.2f} s)  peak "
                    f"{result.peak_mb:6.1f} MB  file {result.bytes / 1e6:6.1f} MB"
                )
                print(f"  {'':<8}{'':>8}       RSS MB every 10% of the rows: {curve}")
                shutil.rmtree(out, ignore_errors=True)

    failures: list[str] = []
    print(
        f"\n== Results ({full_rows:,} reviewed clauses; worst of {args.runs} run(s); "
        f"baseline child peak {baseline_mb:.1f} MB)"
    )
    print(
        f"{'format':<9}{'rows':>9}{'seconds':>9}{'cpu s':>8}{'rows/s':>9}{'peak MB':>9}"
        f"{'growth MB':>11}"
        f"   < {TARGET_SECONDS:.0f} s   < {TARGET_PEAK_MB:.0f} MB"
    )
    for fmt in FORMATS:
        for rows in (quarter_rows, full_rows):
            runs = results[(fmt, rows)]
            slowest = max(runs, key=lambda r: r.seconds)
            seconds, cpu = slowest.seconds, slowest.cpu_seconds + slowest.pg_cpu_seconds
            peak = max(r.peak_mb for r in runs)
            line = (
                f"{fmt:<9}{rows:>9,}{seconds:>9.2f}{cpu:>8.2f}{rows / seconds:>9,.0f}{peak:>9.1f}"
                f"{peak - baseline_mb:>11.1f}"
            )
            if rows == full_rows:
                time_ok, mem_ok = seconds < TARGET_SECONDS, peak < TARGET_PEAK_MB
                line += f"   {'PASS' if time_ok else 'FAIL':<8}   {'PASS' if mem_ok else 'FAIL'}"
                if not time_ok:
                    failures.append(f"{fmt} took {seconds:.2f} s")
                if not mem_ok:
                    failures.append(f"{fmt} peaked at {peak:.1f} MB")
            print(line)

    print(
        f"\n== Flatness: the export's growth over the baseline child, {quarter_rows:,} vs "
        f"{full_rows:,} rows (flat: <= {FLAT_RATIO}x + {FLAT_SLACK_MB:.0f} MB; linear: "
        f"{full_rows / quarter_rows:.0f}x)"
    )
    for fmt in FORMATS:
        small = max(r.peak_mb for r in results[(fmt, quarter_rows)]) - baseline_mb
        large = max(r.peak_mb for r in results[(fmt, full_rows)]) - baseline_mb
        ok = large <= FLAT_RATIO * small + FLAT_SLACK_MB
        ratio = large / small if small > 0 else float("inf")
        verdict = "PASS" if ok else "FAIL"
        if quarter_rows < 4 * CHUNK:  # the small export is not even a few chunks: no verdict
            verdict = f"INFO (fewer than {4 * CHUNK:,} rows in the small export; no verdict)"
        elif not ok:
            failures.append(f"{fmt} memory grows with rows ({ratio:.1f}x)")
        print(f"  {fmt:<8} growth {small:6.1f} MB -> {large:6.1f} MB ({ratio:.2f}x)   {verdict}")
    busy = [r for runs in results.values() for r in runs if r.other_cores > 0.25 * CORES]
    if busy:
        print(
            f"\n  WARNING: other processes kept {max(r.other_cores for r in busy):.1f} of {CORES} "
            f"cores busy during {len(busy)} of the exports: their wall seconds include waiting "
            "for a CPU (compare the python + postgres CPU seconds); rerun on an idle host for a "
            "clean figure"
        )

    if args.profile:
        for fmt in FORMATS:
            stats_path = out_root / f"{fmt}.prof"
            out = out_root / f"{fmt}-profile"
            result = run_child(
                env, mode="export", fmt=fmt, out=out, expected=full_rows, profile=stats_path
            )
            print_profile(stats_path, fmt, result)
            shutil.rmtree(out, ignore_errors=True)

    print()
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print(
        f"PASS: JSONL and Parquet of {full_rows:,} clauses each in < {TARGET_SECONDS:.0f} s "
        f"with peak < {TARGET_PEAK_MB:.0f} MB; memory flat (or too few rows to tell)"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        sys.exit(2)
