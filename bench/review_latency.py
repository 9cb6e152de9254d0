"""Review-queue latency benchmark: the queue page, claim-next and the review page on PostgreSQL.

Run from the project root (PostgreSQL must be running)::

    python bench/review_latency.py [--clauses N] [--requests N] [--keep-db] [--pg-url URL]
        [--explain]

What it does
------------
1. Creates a throw-away PostgreSQL database ``review_bench_<pid>`` (through the maintenance
   database of ``--pg-url``, default the ``postgres`` database of the server in ``DATABASE_URL``
   when it is PostgreSQL, else of 127.0.0.1:5432; dropped at the end unless ``--keep-db``) and
   migrates it.
2. Generates the data (timed on its own, not part of the measurement), with COPY:

   - Template clauses from the five seeds (``seeds/*.txt``, parsed by the importer's own
     ``parse_plan``): seed clauses of 300-600 characters as they are, shorter neighbours of the
     same section joined until they reach 300, longer ones cut at a sentence end. Each template is
     labeled once by the rule labeler (``RuleLabeler``, validated against its text); templates
     whose labels do not validate are dropped.
   - ``--clauses`` clauses in plans of 200 (500 plans for 100,000), each a random template; a
     plan's ``cleaned_text`` is its clauses joined, so the offsets are true.
   - Per clause one valid rules suggestion (the template's labels, confidence and raw output);
     8% also get a valid LLM suggestion that disagrees on the sector (with its ClauseAgreement
     row), 2% a failed LLM suggestion (no labels, an error and the raw output).
   - Per clause a ReviewItem computed as ``review_item_refresh`` does (priority 0 disagreement,
     1 failed, 2 low confidence, 3 the rest; sector and kind of the primary suggestion); 10% are
     already reviewed, with a Review by one of the 50 reviewers.
   - 50 reviewer users (group ``reviewer``) and the seeds' agencies.

   Then ``review_item_refresh`` is run on a sample and must agree with the generated rows, and
   the database is ``VACUUM (ANALYZE)``-ed (what autovacuum would have done after a bulk load;
   doing it first keeps it from running in the middle of the measurement).
3. Measures. Every reviewer has a ``django.test.Client`` (in-process, ``force_login``, the
   project's real middleware, DB sessions, DEBUG off). Server time is the time spent in
   ``ClientHandler.get_response`` -- the whole middleware chain, the view and template rendering
   -- wrapped with ``time.perf_counter``; the test client's own work (building the WSGI request,
   cookies) is outside it and reported separately. Each round, a reviewer (round-robin over the
   50) does what a reviewer does:

       GET  /                      the queue page                     (timed: "queue")
       GET  /?<filter>             the queue page with a filter       (timed: "queue filtered")
       POST /queue/next/           claim-next, 302 to /review/<id>/   (timed: "claim-next")
       GET  /review/<id>/          the review page of the held clause (timed: "review page")
       review_submit(accepted)     through the service, not timed

   so the queue drains: every claim takes a new clause (checked). The filters rotate through
   sector, kind, the flags, a plan and combinations. Warm-up rounds come first and are not
   counted. Also recorded per request: the CPU time of the Django thread (``thread_time``) and
   of the PostgreSQL backend (``/proc``, 10 ms ticks, meaningful as a mean); and the CPU that
   other processes used meanwhile -- on a shared 2-core host, wall times include waiting for a
   core, and the CPU columns tell cost from contention.
4. Then a sample of each request runs under ``CaptureQueriesContext``: queries per request, the
   slowest statements, and a check that no SQL of the queue page or claim-next names a large
   column (``plan.cleaned_text``, ``clause.text``, ``suggestion.labels``/``raw_output``). What the
   review page reads of them is shown for information (it has to show the text and labels).
   ``--explain`` adds EXPLAIN (ANALYZE, BUFFERS) of each endpoint's slowest statement.

Takes about 5 minutes on 2 cores with the defaults, most of it in the queue page.

Targets: p95 server time <= 50 ms for each timed request; no large column in the SQL of the queue
page and claim-next. Exits 0 when everything passes, 1 when a target fails, 2 when the benchmark
could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import statistics
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Run as a script, this file's folder (bench/) is first on sys.path.
from _common import (
    BenchError,
    OtherLoad,
    backend_pid,
    bench_env,
    default_pg_url,
    migrate,
    pg_server,
    postgres_database,
    process_cpu_seconds,
    run_main,
    vacuum_analyze,
)
from generate_clauses import (
    CLAUSE_COLUMNS,
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

RANDOM_SEED = 20240611
DISAGREEMENT_SHARE = 0.08
FAILED_SHARE = 0.02
REVIEWED_SHARE = 0.10
TARGET_P95_MS = 50.0
WARMUP_ROUNDS = 30
SAMPLE_ROUNDS = 10  # rounds run under CaptureQueriesContext (after the timed ones)
REFRESH_CHECK_SAMPLE = 40
LLM_MODEL = "bench-llm"
LLM_PROMPT = "label-clause-v1"
TABLES = ("plan", "clause", "suggestion", "reviewitem")

QUEUE, FILTERED, CLAIM, REVIEW = "queue", "queue filtered", "claim-next", "review page"
ENDPOINTS = (QUEUE, FILTERED, CLAIM, REVIEW)
# Filters of the queue page (rotated); {plan} is replaced by a plan id.
FILTERS = [
    "sector=energy",
    "kind=target",
    "disagreement=1",
    "plan={plan}",
    "sector=transport&kind=measure",
    "low_confidence=1",
    "failed=1",
    "sector=cooperation",
]
# A quoted column name in SQL: these columns exist only on the large-text tables.
LARGE_COLUMNS = {
    "cleaned_text": "plan.cleaned_text",
    "text": "clause.text",
    "labels": "suggestion.labels",
    "raw_output": "suggestion.raw_output",
}
_LARGE_RE = re.compile(r'\."(cleaned_text|text|labels|raw_output)"|SELECT \*', re.I)
_REVIEW_URL_RE = re.compile(r"^/review/(\d+)/")

# --- database --------------------------------------------------------------------------------


def configure_django(db_url: str) -> None:
    os.environ.update(bench_env(db_url, "review-bench"))
    os.environ["ALLOWED_HOSTS"] = "testserver"
    # WhiteNoise warns that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()


# --- template clauses from the seeds ---------------------------------------------------------


@dataclass(frozen=True)
class Template(SeedTemplate):
    llm_labels: dict[str, Any]  # valid, disagreeing on the sector
    llm_raw: str
    agreement: dict[str, bool]


def build_templates() -> list[Template]:
    from reviewapp.labels.compare import fields_agree
    from reviewapp.labels.schema import ClauseLabels, labels_validate

    templates: list[Template] = []
    for seed in seed_templates():
        labels = seed.labels
        llm_validated = labels_validate(other_sector(labels), clause_text=seed.text)
        templates.append(
            Template(
                **vars(seed),
                llm_labels=llm_validated.model_dump(mode="json"),
                llm_raw=llm_validated.model_dump_json(),
                agreement=fields_agree(
                    ClauseLabels.model_validate(labels), llm_validated, canonical=list
                ),
            )
        )
    return templates


# --- generating the data ---------------------------------------------------------------------


@dataclass
class GeneratedClause:
    template: int
    disagreement: bool
    failed: bool
    reviewed: bool


def generate(
    *, clauses: int, templates: list[Template], rng: random.Random
) -> tuple[dict[str, int], list[int]]:
    """COPY plans, clauses, suggestions, agreements, queue rows and reviews. Returns the row
    counts and the reviewer user ids."""
    from django.utils import timezone

    from reviewapp.labels.schema import QUOTE_NOT_IN_CLAUSE
    from reviewapp.models import (
        Clause,
        ClauseAgreement,
        Plan,
        Review,
        ReviewItem,
        Suggestion,
    )
    from reviewapp.services.agencies import agency_register_names
    from reviewapp.services.review import LOW_CONFIDENCE

    now = timezone.now()
    reviewer_ids = create_reviewers()
    agency_register_names(names=[n for t in templates for n in t.responsible])

    generated: list[list[GeneratedClause]] = []
    for size in plan_sizes(clauses):
        generated.append(
            [
                GeneratedClause(
                    template=rng.randrange(len(templates)),
                    disagreement=rng.random() < DISAGREEMENT_SHARE,
                    failed=rng.random() < FAILED_SHARE,
                    reviewed=rng.random() < REVIEWED_SHARE,
                )
                for _ in range(size)
            ]
        )
    plans = [[templates[c.template] for c in plan] for plan in generated]

    llm_confidence = json.dumps({f: 0.9 for f in templates[0].confidence})
    # Suggestion ids: rules = clause id; LLM ones after them.
    llm_ids: dict[int, int] = {}

    def suggestion_rows() -> Iterator[tuple[Any, ...]]:
        yield from rules_suggestion_rows(plans, now=now)
        next_id = clauses
        for clause_id, _plan, _ordinal, c in numbered(generated):
            t = templates[c.template]
            if c.disagreement:
                next_id += 1
                llm_ids[clause_id] = next_id
                yield (
                    next_id, clause_id, "llm", LLM_MODEL, LLM_PROMPT, "1", "valid",
                    json.dumps(t.llm_labels, ensure_ascii=False), llm_confidence, "", t.llm_raw,
                    1400, 320, Decimal("0.000402"), 1, False, now,
                )  # fmt: skip
            elif c.failed:
                next_id += 1
                bad = {**t.labels, "targets": [{"indicator": "减排", "quote": "减排量100万吨"}]}
                yield (
                    next_id, clause_id, "llm", LLM_MODEL, LLM_PROMPT, "1", "failed", None, "{}",
                    "targets.0: " + QUOTE_NOT_IN_CLAUSE.format(quote="减排量100万吨"),
                    json.dumps(bad, ensure_ascii=False), 2800, 640, Decimal("0.000804"), 2,
                    False, now,
                )  # fmt: skip

    def agreement_rows() -> Iterator[tuple[Any, ...]]:
        agreement_id = 0
        for clause_id, _plan, _ordinal, c in numbered(generated):
            if c.disagreement:
                t = templates[c.template]
                agreement_id += 1
                disagreements = sum(1 for ok in t.agreement.values() if not ok)
                yield agreement_id, clause_id, json.dumps(t.agreement), disagreements, now

    reviews: list[tuple[Any, ...]] = []

    def item_rows() -> Iterator[tuple[Any, ...]]:
        for clause_id, plan_id, ordinal, c in numbered(generated):
            t = templates[c.template]
            if c.disagreement:  # the valid LLM suggestion is the primary one
                labels, confidence, primary = t.llm_labels, 0.9, llm_ids[clause_id]
            else:
                labels, confidence, primary = t.labels, min(t.confidence.values()), clause_id
            low = confidence < LOW_CONFIDENCE
            priority = 0 if c.disagreement else 1 if c.failed else 2 if low else 3
            final = None
            if c.reviewed:
                final = json.dumps(labels, ensure_ascii=False)
                reviews.append(
                    (
                        len(reviews) + 1,
                        clause_id,
                        rng.choice(reviewer_ids),
                        "accepted",
                        primary,
                        final,
                        final,
                        rng.randint(20, 240),
                        now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 14)),
                    )
                )
            yield (
                clause_id, plan_id, ordinal, "reviewed" if c.reviewed else "open", priority,
                labels["sector"], labels["kind"], c.disagreement, c.failed and not c.disagreement,
                low, None, None, 1 if c.reviewed else 0, 1 if c.reviewed else 0, final, now,
            )  # fmt: skip

    counts = copy_tables(
        [
            (
                "plans",
                Plan,
                PLAN_COLUMNS,
                plan_rows(plans, sha_prefix="review-bench-plan", now=now),
            ),
            ("clauses", Clause, CLAUSE_COLUMNS, clause_rows(plans)),
            ("suggestions", Suggestion, SUGGESTION_COLUMNS, suggestion_rows()),
            (
                "agreements",
                ClauseAgreement,
                ["id", "clause", "fields", "disagreements", "updated_at"],
                agreement_rows(),
            ),
            ("review items", ReviewItem, ITEM_COLUMNS, item_rows()),
            ("reviews", Review, REVIEW_COLUMNS, reviews),
        ],
        reset=[Plan, Clause, Suggestion, ClauseAgreement, Review],
    )
    counts["reviewers"] = len(reviewer_ids)
    return counts, reviewer_ids


def check_generated(rng: random.Random) -> None:
    """The generated queue rows are what the app's own ``review_item_refresh`` computes, and
    every generated suggestion validates against its clause."""
    from pydantic import ValidationError

    from reviewapp.labels.schema import labels_validate
    from reviewapp.models import Clause, ReviewItem, Suggestion
    from reviewapp.services.review import review_item_refresh

    fields = ["priority", "sector", "kind", "disagreement", "failed", "low_confidence"]
    ids: list[int] = []
    for priority in range(4):  # a sample of every priority
        pks = list(ReviewItem.objects.filter(priority=priority).values_list("pk", flat=True)[:2000])
        ids += rng.sample(pks, min(len(pks), REFRESH_CHECK_SAMPLE // 4))
    for clause_id in ids:
        before = ReviewItem.objects.filter(pk=clause_id).values(*fields).get()
        after = review_item_refresh(clause_id=clause_id)
        got = {f: getattr(after, f) for f in fields}
        if got != before:
            raise BenchError(f"generated queue row of clause {clause_id}: {before} != {got}")
        text = Clause.objects.values_list("text", flat=True).get(pk=clause_id)
        for labels in Suggestion.objects.filter(clause_id=clause_id, status="valid").values_list(
            "labels", flat=True
        ):
            try:
                labels_validate(labels, clause_text=text)
            except ValidationError as exc:
                raise BenchError(f"generated suggestion of clause {clause_id}: {exc}") from exc


def fill_review_counts() -> None:
    """The kept per-plan status counts (ReviewCount), as the app maintains them, from the
    COPY-loaded queue rows (the same aggregate as migration 0007)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reviewapp_reviewcount (plan_id, status, n) "
            "SELECT plan_id, status, count(*) FROM reviewapp_reviewitem GROUP BY plan_id, status"
        )


def data_summary() -> list[str]:
    from django.db.models import Avg, Count
    from django.db.models.functions import Length

    from reviewapp.models import Clause, ReviewItem

    lines = []
    by_priority = dict(
        ReviewItem.objects.filter(status="open")
        .values_list("priority")
        .annotate(n=Count("pk"))
        .order_by("priority")
    )
    lines.append(
        "  open items by priority: "
        + ", ".join(f"{p}: {n:,}" for p, n in sorted(by_priority.items()))
    )
    sectors = Counter(dict(ReviewItem.objects.values_list("sector").annotate(n=Count("pk"))))
    lines.append(
        f"  sectors: {len(sectors)} ("
        + ", ".join(f"{s} {n:,}" for s, n in sectors.most_common(4))
        + ", ...)"
    )
    avg = Clause.objects.aggregate(a=Avg(Length("text")))["a"] or 0
    lines.append(f"  mean clause length: {avg:.0f} characters")
    lines.append(table_sizes([f"reviewapp_{m}" for m in TABLES]))
    return lines


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Sample:
    server: float  # ms in get_response (wall)
    total: float  # ms in the test client call (wall)
    cpu: float  # ms of this thread's CPU in get_response
    pg_cpu: float  # ms of the PostgreSQL backend's CPU during the call (10 ms ticks)


class Reviewer:
    """One reviewer's test client. ``request`` returns the response and a Sample."""

    def __init__(self, user: Any) -> None:
        from django.test import Client

        self.user = user
        self.client = Client()
        self.client.force_login(user)
        self._server = self._cpu = 0.0
        handler = self.client.handler
        inner: Callable[[Any], Any] = handler.get_response

        def timed(request: Any) -> Any:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return inner(request)
            finally:
                self._server = time.perf_counter() - started
                self._cpu = time.thread_time() - cpu

        handler.get_response = timed

    def request(
        self, method: str, path: str, data: dict[str, str] | None = None
    ) -> tuple[Any, Sample]:
        pid = backend_pid()
        pg_before = process_cpu_seconds(pid)
        started = time.perf_counter()
        if method == "GET":
            response = self.client.get(path)
        else:
            response = self.client.post(path, data or {})
        total = time.perf_counter() - started
        pg_cpu = (process_cpu_seconds(pid) - pg_before) * 1000
        return response, Sample(self._server * 1000, total * 1000, self._cpu * 1000, pg_cpu)


@dataclass
class Timings:
    samples: dict[str, list[Sample]]
    by_filter: dict[str, list[float]]  # filter -> server ms
    claimed: list[int]
    other_cores: float = 0.0  # CPU used by other processes on the host while measuring


def _filter_query(index: int, plan_ids: list[int], rng: random.Random) -> str:
    query = FILTERS[index % len(FILTERS)]
    return query.replace("{plan}", str(rng.choice(plan_ids)))


def reviewer_round(
    reviewer: Reviewer,
    round_index: int,
    plan_ids: list[int],
    rng: random.Random,
    record: Callable[[str, Sample, str], None],
) -> int:
    """One reviewer's round: queue, filtered queue, claim-next, review page, then a decision
    through the service (untimed). Returns the claimed clause id."""
    from reviewapp.models import ReviewDecision, ReviewItem
    from reviewapp.services.review import review_submit

    response, sample = reviewer.request("GET", "/")
    _expect(response, 200, QUEUE)
    record(QUEUE, sample, "")

    query = _filter_query(round_index, plan_ids, rng)
    response, sample = reviewer.request("GET", "/?" + query)
    _expect(response, 200, FILTERED)
    record(FILTERED, sample, FILTERS[round_index % len(FILTERS)])

    response, sample = reviewer.request("POST", "/queue/next/")
    _expect(response, 302, CLAIM)
    match = _REVIEW_URL_RE.match(response["Location"])
    if not match:
        raise BenchError(
            f"claim-next redirected to {response['Location']}: the queue is empty "
            "(use more --clauses or fewer --requests)"
        )
    record(CLAIM, sample, "")
    clause_id = int(match.group(1))

    response, sample = reviewer.request("GET", f"/review/{clause_id}/")
    _expect(response, 200, REVIEW)
    record(REVIEW, sample, "")

    version = ReviewItem.objects.values_list("version", flat=True).get(pk=clause_id)
    review_submit(
        user=reviewer.user, clause_id=clause_id, decision=ReviewDecision.ACCEPTED, version=version
    )
    return clause_id


def _expect(response: Any, status: int, what: str) -> None:
    if response.status_code != status:
        where = response.get("Location", "")
        raise BenchError(f"{what}: HTTP {response.status_code} (expected {status}) {where}")


def measure(reviewers: list[Reviewer], rounds: int, plan_ids: list[int]) -> Timings:
    rng = random.Random(RANDOM_SEED + 1)
    timings = Timings(defaultdict(list), defaultdict(list), [])

    def ignore(*_: Any) -> None:
        pass

    for i in range(WARMUP_ROUNDS):
        reviewer_round(reviewers[i % len(reviewers)], i, plan_ids, rng, ignore)

    def record(endpoint: str, sample: Sample, label: str) -> None:
        timings.samples[endpoint].append(sample)
        if label:
            timings.by_filter[label].append(sample.server)

    load = OtherLoad([os.getpid(), backend_pid()])
    for i in range(rounds):
        timings.claimed.append(
            reviewer_round(reviewers[i % len(reviewers)], i, plan_ids, rng, record)
        )
    timings.other_cores = load.cores()
    return timings


@dataclass
class Captured:
    queries: dict[str, list[int]]
    statements: dict[str, list[tuple[str, float]]]  # endpoint -> (sql, ms)


def capture(reviewers: list[Reviewer], plan_ids: list[int]) -> Captured:
    """Rounds under CaptureQueriesContext, one context per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(RANDOM_SEED + 2)
    captured = Captured(defaultdict(list), defaultdict(list))
    current: list[Any] = []

    def record(endpoint: str, *_: Any) -> None:
        context = current.pop()
        context.__exit__(None, None, None)
        captured.queries[endpoint].append(len(context.captured_queries))
        captured.statements[endpoint] += [
            (q["sql"], float(q["time"]) * 1000) for q in context.captured_queries
        ]
        start_next()

    def start_next() -> None:
        context = CaptureQueriesContext(connection)
        context.__enter__()
        current.append(context)

    # The context is entered before each request and left by ``record``, so the decision made
    # through the service after the review page is captured but never attributed.
    for i in range(SAMPLE_ROUNDS):
        start_next()
        reviewer_round(reviewers[i % len(reviewers)], i, plan_ids, rng, record)
        current.pop().__exit__(None, None, None)
    return captured


def large_columns(sql: str) -> set[str]:
    return {LARGE_COLUMNS.get(m.group(1) or "", "SELECT *") for m in _LARGE_RE.finditer(sql)}


def percentiles(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def explain(sql: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a captured statement, in a transaction rolled back (the
    statement may be an UPDATE or SELECT ... FOR UPDATE)."""
    from django.db import connection, transaction

    lines: list[str] = []
    with contextlib.suppress(_Rollback), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            lines = [row[0] for row in cursor.fetchall()]
        raise _Rollback
    return lines


class _Rollback(Exception):
    pass


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clauses", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per endpoint")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--pg-url", default=default_pg_url(), help="maintenance database URL")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE each endpoint's slowest statement"
    )
    args = parser.parse_args(argv)
    if args.clauses < 1 or args.requests < 2:
        parser.error("--clauses must be >= 1 and --requests >= 2")
    needed = WARMUP_ROUNDS + args.requests + SAMPLE_ROUNDS
    if args.clauses * (1 - REVIEWED_SHARE) * 0.9 < needed:
        parser.error(f"--clauses too small: every round claims a clause ({needed} rounds)")

    name = f"review_bench_{os.getpid()}"
    with postgres_database(args.pg_url, name, keep=args.keep_db) as db_url:
        print(f"database: {name} (PostgreSQL, {pg_server(args.pg_url)})")
        return run(args, db_url)


def run(args: argparse.Namespace, db_url: str) -> int:
    configure_django(db_url)
    from django.contrib.auth.models import User
    from django.db import connection

    from reviewapp.models import Plan

    migrate()

    print(f"\n== Generating {args.clauses:,} clauses (not part of the measurement)")
    rng = random.Random(RANDOM_SEED)
    started = time.perf_counter()
    templates = build_templates()
    print(
        f"  {len(templates)} template clauses from the seeds, rule-labeled: "
        f"{lengths_summary(templates)}, {time.perf_counter() - started:.1f} s"
    )
    started_copy = time.perf_counter()
    counts, _reviewer_ids = generate(clauses=args.clauses, templates=templates, rng=rng)
    copy_seconds = time.perf_counter() - started_copy
    print("  COPY: " + ", ".join(f"{n:,} {what}" for what, n in counts.items()))
    print(f"  COPY time: {copy_seconds:.1f} s")
    started_check = time.perf_counter()
    check_generated(rng)
    print(
        f"  review_item_refresh on {REFRESH_CHECK_SAMPLE} sampled clauses agrees with the "
        f"generated queue rows; their suggestions validate "
        f"({time.perf_counter() - started_check:.1f} s)"
    )
    started_vacuum = time.perf_counter()
    fill_review_counts()
    vacuum_analyze()
    print(f"  VACUUM (ANALYZE): {time.perf_counter() - started_vacuum:.1f} s")
    print(f"  generation total: {time.perf_counter() - started:.1f} s")
    for line in data_summary():
        print(line)

    users = list(User.objects.filter(username__startswith="reviewer").order_by("username"))
    reviewers = [Reviewer(u) for u in users]
    plan_ids = list(Plan.objects.values_list("id", flat=True))

    print(
        f"\n== Measuring: {WARMUP_ROUNDS} warm-up rounds, then {args.requests:,} timed rounds "
        f"by {len(reviewers)} reviewers (round-robin)"
    )
    print(
        "  server time = ClientHandler.get_response (all middleware + view + template), "
        "in-process django.test.Client, perf_counter"
    )
    started = time.perf_counter()
    timings = measure(reviewers, args.requests, plan_ids)
    elapsed = time.perf_counter() - started
    print(f"  {elapsed:.1f} s for {args.requests:,} rounds ({4 * args.requests:,} timed requests)")

    failures: list[str] = []
    distinct = len(set(timings.claimed))
    claims_ok = distinct == len(timings.claimed)
    print(
        f"  claims: {len(timings.claimed):,}, distinct clauses: {distinct:,} "
        f"({'the queue drains' if claims_ok else 'RE-CLAIMS'})"
    )
    if not claims_ok:
        failures.append("claim-next re-claimed clauses")

    print(
        f"\n{'server time (ms)':<16}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
        f"{'mean':>8}   p95 <= {TARGET_P95_MS:.0f} ms"
    )
    for endpoint in ENDPOINTS:
        values = [sample.server for sample in timings.samples[endpoint]]
        stats = percentiles(values)
        ok = stats["p95"] <= TARGET_P95_MS
        if not ok:
            failures.append(f"{endpoint} p95 {stats['p95']:.1f} ms")
        print(
            f"{endpoint:<16}{len(values):>6}"
            + "".join(f"{stats[k]:>8.1f}" for k in ("p50", "p95", "p99", "max", "mean"))
            + f"   {'PASS' if ok else 'FAIL'}"
        )
    print("  queue filtered, by filter (server ms):")
    for label in FILTERS:
        values = timings.by_filter[label]
        if len(values) >= 2:
            stats = percentiles(values)
            print(
                f"    {label:<30} n={len(values):<4} p50 {stats['p50']:6.1f}  "
                f"p95 {stats['p95']:6.1f}  max {stats['max']:6.1f}"
            )
    print(
        "  CPU per request, mean ms (Django thread in get_response; PostgreSQL backend, "
        "/proc ticks) and test-client time outside get_response:"
    )
    for endpoint in ENDPOINTS:
        samples = timings.samples[endpoint]
        cpu = [sample.cpu for sample in samples]
        print(
            f"    {endpoint:<16} django {statistics.fmean(cpu):6.1f} (p95 "
            f"{percentiles(cpu)['p95']:5.1f})   postgres "
            f"{statistics.fmean(s.pg_cpu for s in samples):5.1f}   client "
            f"{statistics.fmean(s.total - s.server for s in samples):5.2f}"
        )
    cores = os.cpu_count() or 1
    print(
        f"  other processes (PostgreSQL's background workers included) used "
        f"{timings.other_cores:.2f} of {cores} cores during the measurement"
    )
    if timings.other_cores > 0.25 * cores:
        print(
            "  WARNING: the host was busy with other work; wall times include waiting for a CPU "
            "(compare with the CPU columns) -- rerun on an idle machine for a clean figure"
        )

    captured = capture(reviewers, plan_ids)
    print(f"\n== Queries ({SAMPLE_ROUNDS} sampled rounds under CaptureQueriesContext)")
    for endpoint in ENDPOINTS:
        per_request = captured.queries[endpoint]
        by_sql: dict[str, list[float]] = defaultdict(list)
        for sql, ms in captured.statements[endpoint]:
            by_sql[_shape(sql)].append(ms)
        print(
            f"  {endpoint}: {min(per_request)}-{max(per_request)} queries per request "
            f"(mean {statistics.fmean(per_request):.1f}); slowest statements (mean ms):"
        )
        slowest = sorted(by_sql.items(), key=lambda kv: -statistics.fmean(kv[1]))[:3]
        for shape, times in slowest:
            print(f"    {statistics.fmean(times):6.2f}  {shape[:150]}")

    print("\n== Large columns (plan.cleaned_text, clause.text, suggestion.labels/raw_output)")
    for endpoint in ENDPOINTS:
        found: Counter[str] = Counter()
        for sql, _ms in captured.statements[endpoint]:
            for column in large_columns(sql):
                found[column] += 1
        names = ", ".join(sorted(found)) or "none"
        if endpoint == REVIEW:
            print(f"  {endpoint:<15} reads: {names}   (INFO: it shows the clause and labels)")
            continue
        ok = not found
        if not ok:
            failures.append(f"{endpoint} SQL reads {names}")
        print(f"  {endpoint:<15} reads: {names}   {'PASS' if ok else 'FAIL'}")

    if args.explain:
        for endpoint in ENDPOINTS:
            statements = [
                (sql, ms)
                for sql, ms in captured.statements[endpoint]
                if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE"))
            ]
            sql, ms = max(statements, key=lambda s: s[1])
            print(f"\n== EXPLAIN ANALYZE, slowest statement of {endpoint} ({ms:.1f} ms):\n{sql}")
            for line in explain(sql):
                print("  " + line)

    connection.close()
    print()
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("PASS: every p95 <= 50 ms; no large column in the queue page's or claim-next's SQL")
    return 0


_LITERAL_RE = re.compile(r"'[^']*'|\b\d+\b")


def _shape(sql: str) -> str:
    """A statement with its literals replaced, to group the same query across requests."""
    return _LITERAL_RE.sub("?", " ".join(sql.split()))


if __name__ == "__main__":
    run_main(main)
