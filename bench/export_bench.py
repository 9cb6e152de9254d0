"""Export benchmark: N reviewed clauses in PostgreSQL exported to JSONL and to Parquet.

Run from the project root (PostgreSQL must be running)::

    python bench/export_bench.py [--clauses N] [--runs N] [--keep-db] [--pg-url URL] [--profile]

What it does
------------
1. Creates a throw-away PostgreSQL database ``export_bench_<pid>`` (through the maintenance
   database of ``--pg-url``, default the ``postgres`` database of the server in ``DATABASE_URL``
   when it is PostgreSQL, else of 127.0.0.1:5432; dropped at the end
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
3. Measures, each in a fresh child process (``bench/_export_child.py``: ``django.setup()``, then
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
import datetime as dt
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script, this file's folder (bench/) is first on sys.path.
from _common import (
    BENCH_DIR,
    CORES,
    ROOT,
    BenchError,
    bench_env,
    default_pg_url,
    migrate,
    pg_server,
    postgres_database,
    ru_maxrss_mb,
    run_main,
    vacuum_analyze,
)
from generate_clauses import (
    CLAUSE_COLUMNS,
    CLAUSES_PER_PLAN,
    ITEM_COLUMNS,
    PLAN_COLUMNS,
    REVIEW_COLUMNS,
    SUGGESTION_COLUMNS,
    SeedTemplate,
    clause_rows,
    copy_tables,
    create_reviewers,
    lengths_summary,
    numbered,
    other_sector,
    plan_rows,
    plan_sizes,
    rules_suggestion_rows,
    seed_templates,
    table_sizes,
)

RANDOM_SEED = 20240612
FIXED_SHARE = 0.20
NOT_A_CLAUSE_SHARE = 0.03
FORMATS = ("jsonl", "parquet")
TARGET_SECONDS = 10.0
TARGET_PEAK_MB = 300.0
FLAT_RATIO, FLAT_SLACK_MB = 1.5, 16.0
RSS_SAMPLES = 10  # current RSS sampled every 1/RSS_SAMPLES of the rows
CHILD = BENCH_DIR / "_export_child.py"
TABLES = ("plan", "clause", "suggestion", "reviewitem", "review")


# --- template clauses from the seeds ---------------------------------------------------------


@dataclass(frozen=True)
class Template(SeedTemplate):
    fixed_json: str  # a reviewer's correction: valid, different


def _fixed_labels(labels: dict[str, Any], text: str) -> str:
    """What a reviewer's fix looks like: another primary sector, and the last target dropped
    when there are several. Validated against the clause."""
    from reviewapp.labels.schema import labels_validate

    fixed = other_sector(labels)
    if len(fixed["targets"]) > 1:
        fixed["targets"] = fixed["targets"][:-1]
    return labels_validate(fixed, clause_text=text).model_dump_json()


def build_templates() -> list[Template]:
    return [
        Template(**vars(seed), fixed_json=_fixed_labels(seed.labels, seed.text))
        for seed in seed_templates()
    ]


# --- generating the data ---------------------------------------------------------------------


def generate(*, clauses: int, templates: list[Template], rng: random.Random) -> dict[str, int]:
    """COPY plans, clauses, suggestions, review items and reviews. Returns the row counts."""
    from django.utils import timezone

    from reviewapp.models import Clause, Plan, Review, ReviewItem, Suggestion
    from reviewapp.services.review import LOW_CONFIDENCE

    now = timezone.now()
    reviewer_ids = create_reviewers()
    # Per plan: the template of each clause.
    plans = [
        [templates[rng.randrange(len(templates))] for _ in range(size)]
        for size in plan_sizes(clauses)
    ]

    reviews: list[tuple[Any, ...]] = []

    def item_rows() -> Iterator[tuple[Any, ...]]:
        for clause_id, plan_id, ordinal, t in numbered(plans):
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

    counts = copy_tables(
        [
            (
                "plans",
                Plan,
                PLAN_COLUMNS,
                plan_rows(plans, sha_prefix="export-bench-plan", now=now),
            ),
            ("clauses", Clause, CLAUSE_COLUMNS, clause_rows(plans)),
            ("suggestions", Suggestion, SUGGESTION_COLUMNS, rules_suggestion_rows(plans, now=now)),
            ("review items", ReviewItem, ITEM_COLUMNS, item_rows()),
            ("reviews", Review, REVIEW_COLUMNS, reviews),
        ],
        reset=[Plan, Clause, Suggestion, Review],
    )
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


def data_summary() -> list[str]:
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
    lines.append(table_sizes([f"reviewapp_{m}" for m in TABLES]))
    return lines


# --- measuring in a fresh child process ------------------------------------------------------


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
        [sys.executable, str(CHILD), json.dumps(args)],
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
    with postgres_database(args.pg_url, name, keep=args.keep_db) as db_url:
        print(f"database: {name} (PostgreSQL, {pg_server(args.pg_url)})")
        out_root = Path(tempfile.mkdtemp(prefix="export_bench_"))
        try:
            return run(args, db_url, out_root)
        finally:
            shutil.rmtree(out_root, ignore_errors=True)


def run(args: argparse.Namespace, db_url: str, out_root: Path) -> int:
    env = bench_env(db_url, "export-bench")
    os.environ.update(env)
    import django

    django.setup()
    from reviewapp.models import Plan, ReviewItem
    from reviewapp.services.export import CHUNK, ExportFilters, exported_items

    migrate()

    print(f"\n== Generating {args.clauses:,} reviewed clauses (not part of the measurement)")
    rng = random.Random(RANDOM_SEED)
    started = time.perf_counter()
    templates = build_templates()
    with_targets = sum(1 for t in templates if t.labels["targets"])
    print(
        f"  {len(templates)} template clauses from the seeds, rule-labeled ({with_targets} with "
        f"targets): {lengths_summary(templates)}, {time.perf_counter() - started:.1f} s"
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
        f"\n== Measuring: each export in a fresh child process (_export_child.py: django.setup(), "
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
        f"process's own peak ({ru_maxrss_mb():.1f} MB), because Linux carries the parent's peak "
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
    run_main(main)
