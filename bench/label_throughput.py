"""Labeling throughput benchmark: real Celery workers, Redis, PostgreSQL and the fake LLM server.

Run from the project root (PostgreSQL and Redis must be running)::

    python bench/label_throughput.py [--clauses N] [--fault-clauses N] [--workers N]
        [--pool threads|prefork|solo] [--concurrency N] [--batch-size N]
        [--llm-concurrency N] [--keep-db]

What it does
------------
1. Creates a throw-away PostgreSQL database ``label_bench_<pid>`` (through the ``postgres``
   maintenance database; dropped at the end) and migrates it; picks an empty Redis database
   number (or ``--redis-db``), flushed before and after.
2. Imports the five seed plans and generated variants of them (``bench/import_bench.py``'s
   generator: other region names, shifted dates, perturbed quantities) through ``plans_import``
   until there are enough clauses with distinct texts; labels only clauses whose texts are
   distinct, so the response cache (keyed by the clause text) can never hit.
3. Starts the fake OpenAI-compatible server (``manage.py fake_llm_server``, a subprocess, so its
   threads do not share a GIL with the workers or this script) with 200 ms latency and a limit of
   32 requests in flight, and a real Celery worker: by default one worker with a prefork pool of
   4 processes, each keeping LLM_CONCURRENCY=8 requests in flight (4 x 8 = the server's 32),
   tasks of LABEL_BATCH_SIZE=64 jobs (the product defaults).
4. The workers import openai and instructor before their pool starts, and a warm-up of one batch
   per pool process (not timed) opens their database and broker connections: the timed run
   measures the steady state. Then the timed run: ``labeling_enqueue`` of N clauses, until every job is
   finished. Wall time = from just before ``labeling_enqueue`` to the latest
   ``LabelingJob.updated_at`` (written by the worker as it finishes the job).
5. The fault run: the fake server gets 10% faults (4% HTTP 500, 3% 429 with Retry-After,
   3% hallucinated values that fail validation and are re-asked); the same clauses are labeled
   again (their jobs, suggestions and attempts deleted first, the response cache cleared).

Measurements
------------
- Throughput: N / wall, against the limit C / L = 32 / 0.2 s = 160 clauses/s. Target >= 90%.
- Celery overhead per task. The workers run this file (``_worker`` mode): it connects to Celery's
  ``task_prerun`` / ``task_postrun`` signals and writes, per task run, its start, end, duration
  and how many jobs it labeled, and the time spent inside ``LLMLabeler.label`` by the batch's
  labeling threads. Per pool process (a slot: it runs one task at a time), the gap between the
  end of one task and the start of the next is what Celery costs the slot (ack, result, fetch,
  dispatch). Reported:
    Celery overhead = gaps / (task runtimes + gaps)        <- the target, <= 5%
    in-flight idle  = 1 - sum(HTTP) / (in-flight limit x wall), where HTTP is the sum of
                      ``LabelAttempt.latency_ms`` (the app's own measure, from the moment a
                      request holds an in-flight permit to its whole answer read): everything
                      that is not the model's time (our CPU, the database, Celery, start-up
                      and drain), the reason throughput falls short of C/L.
- Input tokens per clause: the mean ``Suggestion.prompt_tokens`` of the timed run.
- Token amplification at 10% faults: the prompt + completion tokens of every ``LabelAttempt`` of
  the fault run (failed ones included; a 500 or 429 carries no usage, so counts 0) divided by the
  same for the fault-free run on the same clauses. Target <= 1.1. The fake server's own token
  counters are shown as a cross-check.
- Where the two cores go: CPU seconds per process group from /proc, sampled about once a second
  (workers with their pool processes, the fake server, Redis, this script, and PostgreSQL: the
  postmaster, its auxiliary processes and the benchmark database's backends only); the workers'
  CPU split by the threads' own CPU clock (``time.thread_time``) into LLMLabeler.label (the
  labeling threads), the task thread (Django ORM, psycopg) and the rest (Celery); the CPU-bound ceiling
  = cores / CPU ms per clause. CPU used by other processes is shown, with a warning: the machine
  may be shared.

Exits 0 when every target passes, 1 when one fails, 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this file's folder (bench/) is first on sys.path.
from _common import (
    ROOT,
    SEEDS_DIR,
    BenchError,
    bench_env,
    default_pg_url,
    host_cpu_seconds,
    postgres_database,
    proc_table,
    run_main,
)

LATENCY_MS = 200
SERVER_CONCURRENCY = 32
LIMIT_PER_SECOND = SERVER_CONCURRENCY / (LATENCY_MS / 1000)
THROUGHPUT_TARGET = 0.9  # of LIMIT_PER_SECOND
OVERHEAD_TARGET = 0.05  # of a task's time
AMPLIFICATION_TARGET = 1.1
FAULTS = {"server_error": 0.04, "rate_limit_retry_after": 0.03, "hallucinated_value": 0.03}
FAULT_SEED = 1
WARMUP_TASKS_PER_SLOT = 1  # each pool process labels a batch before the timed run
MODEL = "fake-rules"
TIMINGS_ENV = "LABEL_BENCH_TIMINGS_DIR"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"


def default_redis_url() -> str:
    """The server of ``REDIS_URL``, without its database number."""
    from urllib.parse import urlsplit, urlunsplit

    url = urlsplit(os.environ.get("REDIS_URL", ""))
    if url.scheme in ("redis", "rediss") and url.netloc:
        return urlunsplit((url.scheme, url.netloc, "", "", ""))
    return DEFAULT_REDIS_URL


# --- worker mode: this file runs the Celery worker, with timing hooks ------------------------


def worker_main(celery_args: list[str]) -> None:
    """``python bench/label_throughput.py _worker -A workers worker …``: a Celery worker that
    writes one JSON line per task run to ``$LABEL_BENCH_TIMINGS_DIR/tasks-<pid>.jsonl``."""
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
    import django

    django.setup()
    # Imported here, before the pool starts, rather than on each pool process's (or thread's)
    # first task: the timed run measures the steady state, not a cold start.
    import instructor  # noqa: F401
    import openai  # noqa: F401
    from celery import signals

    from reviewapp.labeling import llm

    timings_dir = Path(os.environ[TIMINGS_ENV])
    local = threading.local()
    lock = threading.Lock()
    files: dict[int, Any] = {}
    # Time inside LLMLabeler.label, summed over the threads that label a batch's clauses (they
    # are not the task's thread). A prefork pool process runs one task at a time, so the change
    # between a task's prerun and postrun is that task's.
    labeler_totals = {"wall": 0.0, "cpu": 0.0}

    original_label = llm.LLMLabeler.label

    def label(self: Any, clause: Any) -> Any:
        started, started_cpu = time.perf_counter(), time.thread_time()
        try:
            return original_label(self, clause)
        finally:
            with lock:
                labeler_totals["wall"] += time.perf_counter() - started
                labeler_totals["cpu"] += time.thread_time() - started_cpu

    llm.LLMLabeler.label = label  # type: ignore[method-assign]

    def on_prerun(**_: Any) -> None:
        local.labeler, local.labeler_cpu = labeler_totals["wall"], labeler_totals["cpu"]
        local.start_wall = time.time()
        local.start = time.perf_counter()
        local.start_cpu = time.thread_time()  # CPU of the task's own thread: ORM and Celery

    def on_postrun(
        task_id: str = "",
        task: Any = None,
        args: Any = (),
        state: str = "",
        retval: Any = None,
        **_: Any,
    ) -> None:
        runtime = time.perf_counter() - local.start
        cpu = time.thread_time() - local.start_cpu
        record = {
            "jobs": list(args[0]) if args and isinstance(args[0], list) else [],
            # Jobs the task labeled: its own and the ones it topped up with, not the skipped.
            "labeled": (retval.get("done", 0) + retval.get("failed", 0))
            if isinstance(retval, dict)
            else 0,
            "task": task_id,
            "pid": os.getpid(),
            "thread": threading.get_ident(),
            "start": local.start_wall,
            "end": local.start_wall + runtime,
            "runtime": runtime,
            "labeler": labeler_totals["wall"] - local.labeler,
            "cpu": cpu,
            "labeler_cpu": labeler_totals["cpu"] - local.labeler_cpu,
            "state": state,
            "retries": getattr(getattr(task, "request", None), "retries", 0),
        }
        line = json.dumps(record) + "\n"
        with lock:
            pid = os.getpid()
            if pid not in files:
                files[pid] = (timings_dir / f"tasks-{pid}.jsonl").open("a", buffering=1)
            files[pid].write(line)

    def on_ready(**_: Any) -> None:
        (timings_dir / f"ready-{os.getpid()}").touch()

    signals.task_prerun.connect(on_prerun, weak=False)
    signals.task_postrun.connect(on_postrun, weak=False)
    signals.worker_ready.connect(on_ready, weak=False)

    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", *celery_args]
    sys.exit(celery_main())


# --- processes ---------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the benchmark dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(
    command: list[str], env: dict[str, str], log: Path, **kwargs: Any
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=kwargs.pop("stdout", out),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the benchmark; it stops the children
            preexec_fn=_die_with_parent,
            **kwargs,
        )


def stop(
    process: subprocess.Popen[bytes], first: int = signal.SIGTERM, grace: float = 20.0
) -> None:
    """Stop a child and its process group (prefork pool processes included)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, first)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # pool processes left behind, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class FakeServer:
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.root + path,
            data=data,
            method="GET" if data is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        return self.call("/_stats")

    def reset(self) -> None:
        self.call("/_reset", {})

    def configure(self, **changes: Any) -> None:
        self.call("/_control", changes)


def start_fake_server(env: dict[str, str], log: Path) -> FakeServer:
    command = [
        sys.executable, "-u", "manage.py", "fake_llm_server", "--port", "0",
        "--latency-ms", str(LATENCY_MS), "--concurrency", str(SERVER_CONCURRENCY), "--seed", "0",
    ]  # fmt: skip
    process = spawn(command, env, log, stdout=subprocess.PIPE)
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    seen = b""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if selector.select(timeout=0.2):
            chunk = os.read(process.stdout.fileno(), 4096)
            seen += chunk
            for line in seen.decode(errors="replace").splitlines():
                if " serving at " in line:
                    selector.close()
                    return FakeServer(process, line.split(" serving at ", 1)[1].strip())
    stop(process)
    raise BenchError(
        f"the fake LLM server did not start:\n{seen.decode(errors='replace')}{log_tail(log)}"
    )


@dataclass
class Workers:
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    slots: int
    description: str

    def check_alive(self) -> None:
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                raise BenchError(f"a Celery worker exited ({process.returncode}):\n{log_tail(log)}")


def start_workers(
    args: argparse.Namespace, env: dict[str, str], tmpdir: Path, stack: contextlib.ExitStack
) -> Workers:
    processes, logs = [], []
    for index in range(args.workers):
        log = tmpdir / f"worker-{index + 1}.log"
        command = [
            sys.executable, str(Path(__file__).resolve()), "_worker",
            "-A", "workers", "worker", f"--loglevel={args.loglevel}",
            "--pool", args.pool, "--concurrency", str(args.concurrency),
            "-n", f"bench{index + 1}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        process = spawn(command, env, log)
        stack.callback(stop, process)
        processes.append(process)
        logs.append(log)
    workers = Workers(
        processes,
        logs,
        slots=args.workers * (1 if args.pool == "solo" else args.concurrency),
        description=(
            f"{args.workers} process(es) x --pool {args.pool} --concurrency {args.concurrency}"
        ),
    )
    deadline = time.monotonic() + 120
    for process in processes:
        while not (tmpdir / f"ready-{process.pid}").exists():
            workers.check_alive()
            if time.monotonic() > deadline:
                raise BenchError("the Celery workers did not become ready within 120 s")
            time.sleep(0.1)
    return workers


# --- CPU accounting (/proc) --------------------------------------------------------------------

POSTGRES = "PostgreSQL"
WORKERS = "celery workers"


def _foreign_backends() -> set[int]:
    """PostgreSQL backends connected to another database than the benchmark's (someone else's
    tests or benchmarks on the same server)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
            " AND datname IS DISTINCT FROM current_database()"
        )
        return {row[0] for row in cursor.fetchall()}


class CpuTracker:
    """CPU seconds per process group during a run, from /proc, sampled about once a second.

    A group is its root processes and all their descendants (prefork pool processes included);
    PostgreSQL is the postmaster, its auxiliary processes and the backends of the benchmark's
    database only. Each process counts from the first sample that sees it (0 if it was born
    during the run) to the last, so processes that exit during the run still count (up to the
    last sample before they exit)."""

    def __init__(self, roots: dict[str, list[int]]) -> None:
        self.roots = roots
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.group: dict[int, str] = {}
        self.machine_start = self.machine_end = (0.0, 0.0)
        self.sampled = 0.0

    def start(self) -> None:
        self.first, self.last, self.group = {}, {}, {}
        self.machine_start = host_cpu_seconds()
        self._sample(initial=True)

    def sample(self, every: float = 1.0) -> None:
        if time.monotonic() - self.sampled >= every:
            self._sample(initial=False)

    def finish(self) -> dict[str, float]:
        self._sample(initial=False)
        self.machine_end = host_cpu_seconds()
        totals = dict.fromkeys([*self.roots, POSTGRES], 0.0)
        for pid, name in self.group.items():
            totals[name] += self.last[pid] - self.first[pid]
        totals["_machine_busy"] = self.machine_end[0] - self.machine_start[0]
        totals["_machine_total"] = self.machine_end[1] - self.machine_start[1]
        return totals

    def _sample(self, *, initial: bool) -> None:
        self.sampled = time.monotonic()
        table = proc_table()
        foreign = _foreign_backends()
        children: dict[int, list[int]] = defaultdict(list)
        for pid, (ppid, _comm, _cpu) in table.items():
            children[ppid].append(pid)
        roots = {pid for pids in self.roots.values() for pid in pids}
        members: dict[int, str] = {}
        for name, pids in self.roots.items():
            todo = [pid for pid in pids if pid in table]
            while todo:
                pid = todo.pop()
                members[pid] = name
                todo.extend(c for c in children.get(pid, []) if c not in roots)
        for pid, (ppid, comm, _cpu) in table.items():
            if comm == "postgres" and table.get(ppid, (0, ""))[1] != "postgres":  # postmaster
                members[pid] = POSTGRES
                for child in children.get(pid, []):
                    if child not in foreign:
                        members[child] = POSTGRES
        for pid, name in members.items():
            cpu = table[pid][2]
            self.first.setdefault(pid, cpu if initial else 0.0)
            self.last[pid] = cpu
            self.group[pid] = name


# --- database and broker -----------------------------------------------------------------------


def check_services(pg_url: str, redis_url: str) -> None:
    import psycopg
    import redis

    try:
        psycopg.connect(pg_url, connect_timeout=5).close()
    except psycopg.Error as exc:
        raise BenchError(
            f"PostgreSQL is not reachable at {pg_url} (--pg-url, or DATABASE_URL): {exc}".strip()
        ) from exc
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.exceptions.RedisError as exc:
        raise BenchError(
            f"Redis is not reachable at {redis_url} (--redis-url, or REDIS_URL): {exc}"
        ) from exc


def pick_redis_db(redis_url: str, wanted: int | None) -> int:
    import redis

    if wanted is not None:
        return wanted
    count = 16
    with contextlib.suppress(redis.exceptions.ResponseError):
        config = redis.Redis.from_url(redis_url).config_get("databases")
        count = int(config.get("databases", 16))
    for number in range(count - 1, 0, -1):
        if redis.Redis.from_url(f"{redis_url}/{number}").dbsize() == 0:
            return number
    raise BenchError("no empty Redis database to use; pass --redis-db N (it will be flushed)")


def redis_pid(redis_url: str) -> list[int]:
    import redis

    with contextlib.suppress(redis.exceptions.RedisError, KeyError, ValueError):
        return [int(redis.Redis.from_url(redis_url).info("server")["process_id"])]
    return []


# --- clauses -----------------------------------------------------------------------------------


def import_clauses(wanted: int) -> tuple[list[int], int, int]:
    """Import the seeds and generated plans until ``wanted`` clauses have distinct texts.
    Returns those clause ids (first occurrence of each text, in import order), how many plans
    and how many clauses were imported."""
    import hashlib

    import import_bench

    from reviewapp.importing import sandbox
    from reviewapp.models import Clause, Plan
    from reviewapp.services.plan_import import plans_import

    seed_paths = sorted(SEEDS_DIR.glob("*.txt"))
    seed_files = [(p.name, p.read_bytes()) for p in seed_paths]
    taken = {hashlib.sha256(data).hexdigest() for _, data in seed_files}
    try:
        plans_import(files=seed_files)
        seeds = [import_bench.load_seed(p) for p in seed_paths]
        plans = 0
        while True:
            first_ids: dict[str, int] = {}
            for clause_id, text in Clause.objects.order_by("id").values_list("id", "text"):
                first_ids.setdefault(text, clause_id)
            if len(first_ids) >= wanted:
                break
            # About 20 new distinct texts per generated plan; duplicates of earlier (identical
            # bytes) files are skipped by plans_import.
            plans = max(plans * 2, math.ceil((wanted - len(first_ids)) / 15) + 10)
            files, _ = import_bench.generate_plans(seeds, plans, taken)
            plans_import(files=files)
            if plans > 20000:
                raise BenchError(f"could not make {wanted} distinct clause texts")
    finally:
        sandbox._reset_pool()
    return sorted(first_ids.values())[:wanted], Plan.objects.count(), Clause.objects.count()


# --- one labeling run --------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    clause_ids: list[int]
    job_ids: list[int] = field(default_factory=list)
    started: float = 0.0  # time.time() just before labeling_enqueue
    enqueue_seconds: float = 0.0
    finished: float = 0.0  # the latest job's updated_at
    cpu: dict[str, float] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)

    @property
    def wall(self) -> float:
        return self.finished - self.started


def run_labeling(
    name: str,
    clause_ids: list[int],
    workers: Workers,
    server: FakeServer,
    cpu: CpuTracker,
    timeout: float,
) -> Run:
    from reviewapp.models import LabelingJob, LabelingState
    from reviewapp.services.labeling import labeling_enqueue

    terminal = [LabelingState.DONE, LabelingState.FAILED]
    run = Run(name, clause_ids)
    server.reset()
    cpu.start()
    run.started = time.time()
    run.job_ids = labeling_enqueue(clause_ids=clause_ids, labeler_name="llm")
    run.enqueue_seconds = time.time() - run.started
    if len(run.job_ids) != len(clause_ids):
        raise BenchError(f"{name}: {len(run.job_ids)} jobs queued for {len(clause_ids)} clauses")
    jobs = LabelingJob.objects.filter(id__gte=min(run.job_ids), id__lte=max(run.job_ids))
    last_progress, last_done = time.monotonic(), -1
    while True:
        done = jobs.filter(state__in=terminal).count()
        if done >= len(run.job_ids):
            break
        workers.check_alive()
        cpu.sample()
        if done != last_done:
            last_progress, last_done = time.monotonic(), done
        elif time.monotonic() - last_progress > timeout:
            states = dict(Counter(jobs.values_list("state", flat=True)))
            raise BenchError(f"{name}: no progress for {timeout:.0f} s; jobs: {states}")
        time.sleep(0.1)
    run.cpu = cpu.finish()
    run.server = server.stats()
    latest = jobs.order_by("-updated_at").values_list("updated_at", flat=True).first()
    run.finished = latest.timestamp() if latest else time.time()
    return run


def reset_clauses(clause_ids: list[int]) -> None:
    """Forget every label of these clauses (jobs, attempts, suggestions) and the whole response
    cache, so they are labeled from scratch."""
    from reviewapp.models import LabelAttempt, LabelingJob, LLMResponseCache, Suggestion

    LabelAttempt.objects.filter(job__clause_id__in=clause_ids).delete()
    Suggestion.objects.filter(clause_id__in=clause_ids).delete()
    LabelingJob.objects.filter(clause_id__in=clause_ids).delete()
    LLMResponseCache.objects.all().delete()


# --- analysis ----------------------------------------------------------------------------------


def load_task_records(tmpdir: Path, job_ids: set[int]) -> list[dict[str, Any]]:
    records = []
    for path in tmpdir.glob("tasks-*.jsonl"):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if job_ids.intersection(record.get("jobs", [])):
                    records.append(record)
    return records


@dataclass
class Overhead:
    tasks: int
    jobs: int  # jobs the measured tasks labeled (topped-up ones included, skipped ones not)
    runtime: float  # sum of task runtimes (prerun -> postrun)
    http: float  # sum of LabelAttempt.latency_ms (a task's requests overlap)
    labeler: float  # sum of time inside LLMLabeler.label, over a task's labeling threads
    cpu: float  # sum of the CPU time of the task threads (claim, reads, stores: the ORM)
    labeler_cpu: float  # sum of the CPU time of the labeling threads inside LLMLabeler.label
    gaps: float  # sum of idle time on a slot (pool process) between consecutive tasks
    gap_count: int
    first_start: float  # seconds from enqueue to the first task's start
    in_flight_seconds: float  # the in-flight limit x wall

    @property
    def celery(self) -> float:
        """Celery's own share of a slot's time: between tasks (ack, result, fetch, dispatch)."""
        busy = self.runtime + self.gaps
        return self.gaps / busy if busy else math.nan

    @property
    def idle_in_flight(self) -> float:
        """The share of the in-flight limit not used by a request: every cost but the model's
        (start-up and drain included)."""
        return 1 - self.http / self.in_flight_seconds if self.in_flight_seconds else math.nan


def measure_overhead(run: Run, records: list[dict[str, Any]], in_flight: int) -> Overhead:
    from django.db.models import Sum

    from reviewapp.models import LabelAttempt

    http = (
        LabelAttempt.objects.filter(job_id__in=run.job_ids).aggregate(s=Sum("latency_ms"))["s"] or 0
    ) / 1000
    by_slot: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_slot[(record["pid"], record["thread"])].append(record)
    gaps, gap_count = 0.0, 0
    for slot_records in by_slot.values():
        slot_records.sort(key=lambda r: r["start"])
        for previous, current in itertools.pairwise(slot_records):
            gaps += max(0.0, current["start"] - previous["end"])
            gap_count += 1
    first = min((r["start"] for r in records), default=run.started)
    return Overhead(
        tasks=len(records),
        jobs=sum(r.get("labeled", 0) for r in records),
        runtime=sum(r["runtime"] for r in records),
        http=http,
        labeler=sum(r["labeler"] for r in records),
        cpu=sum(r.get("cpu", 0.0) for r in records),
        labeler_cpu=sum(r.get("labeler_cpu", 0.0) for r in records),
        gaps=gaps,
        gap_count=gap_count,
        first_start=first - run.started,
        in_flight_seconds=in_flight * run.wall,
    )


def attempt_tokens(job_ids: list[int]) -> dict[int, int]:
    """clause id -> prompt + completion tokens over every attempt of these jobs."""
    from django.db.models import F, Sum

    from reviewapp.models import LabelAttempt

    rows = (
        LabelAttempt.objects.filter(job_id__in=job_ids)
        .values("job__clause_id")
        .annotate(t=Sum(F("prompt_tokens") + F("completion_tokens")))
    )
    return {row["job__clause_id"]: row["t"] or 0 for row in rows}


# --- report --------------------------------------------------------------------------------------


def pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.1f}%"


def print_cpu(run: Run, clauses: int, overhead: Overhead) -> None:
    machine = run.cpu.get("_machine_busy", 0.0)
    capacity = (run.cpu.get("_machine_total", 0.0)) or 1.0
    print(f"  CPU during the run   machine busy {machine / capacity * 100:.0f}% of {os.cpu_count()}"
          f" cores ({machine:.1f} CPU s over {run.wall:.1f} s wall)")  # fmt: skip
    named = 0.0
    for name, seconds in run.cpu.items():
        if name.startswith("_"):
            continue
        named += seconds
        print(
            f"    {name:<22} {seconds:6.1f} CPU s  {seconds / clauses * 1000:6.2f} ms/clause"
            f"  {seconds / run.wall / (os.cpu_count() or 1) * 100:5.1f}% of the machine"
        )
        if name == WORKERS and overhead.cpu:
            parts = [
                ("in LLMLabeler.label", overhead.labeler_cpu),
                ("task thread (ORM)", overhead.cpu),
                ("the rest (Celery)", seconds - overhead.cpu - overhead.labeler_cpu),
            ]
            for part, value in parts:
                print(f"      {part:<20} {value / clauses * 1000:6.2f} ms/clause")
    other = max(0.0, machine - named)
    print(f"    {'everything else':<22} {other:6.1f} CPU s")
    if named:
        cores = os.cpu_count() or 1
        print(
            f"  CPU-bound ceiling    {cores} cores / {named / clauses * 1000:.1f} CPU ms per clause"
            f" = {cores * clauses / named:.0f} clauses/s (the benchmark's processes alone)"
        )
    if other > 0.05 * capacity:
        print(
            f"  WARNING              other processes used {other / capacity * 100:.0f}% of the"
            " machine during the run: the numbers above are not clean"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clauses", type=int, default=2000, help="clauses to label (2000)")
    parser.add_argument(
        "--fault-clauses",
        type=int,
        default=None,
        help="clauses labeled again with 10%% faults (default: all of --clauses; 0: skip)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Celery worker processes (%(default)s)"
    )
    parser.add_argument(
        "--pool", choices=("threads", "prefork", "solo"), default="prefork", help="(prefork)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help=f"pool size per worker (default: {SERVER_CONCURRENCY} / --llm-concurrency /"
        " --workers, so that the in-flight limit is the server's)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="LABEL_BATCH_SIZE, jobs a task (%(default)s)"
    )
    parser.add_argument(
        "--llm-concurrency",
        type=int,
        default=8,
        help="LLM_CONCURRENCY, requests in flight a pool process (%(default)s)",
    )
    parser.add_argument("--loglevel", default="INFO", help="the workers' log level (INFO)")
    parser.add_argument(
        "--pg-url",
        default=default_pg_url(),
        help="maintenance database (%(default)s; the server of DATABASE_URL if PostgreSQL)",
    )
    parser.add_argument(
        "--redis-url",
        default=default_redis_url(),
        help="Redis server, no database number (%(default)s; the server of REDIS_URL if set)",
    )
    parser.add_argument(
        "--redis-db", type=int, default=None, help="Redis database (default: an empty one)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120, help="fail when no job finishes for this long"
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the database and the logs for debugging"
    )
    args = parser.parse_args(argv)
    if args.clauses < 1 or args.workers < 1:
        parser.error("--clauses and --workers must be at least 1")
    if args.concurrency is None:
        args.concurrency = max(1, SERVER_CONCURRENCY // args.llm_concurrency // args.workers)
    if args.fault_clauses is None:
        args.fault_clauses = args.clauses
    args.fault_clauses = max(0, min(args.fault_clauses, args.clauses))
    args.redis_url = args.redis_url.rstrip("/")

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    stack = contextlib.ExitStack()
    try:
        try:
            return run_benchmark(args, stack)
        finally:
            with no_interrupts():
                stack.close()
    except KeyboardInterrupt:
        print("Interrupted; cleaned up.", file=sys.stderr)
        return 130


@contextlib.contextmanager
def no_interrupts() -> Iterator[None]:
    """Cleanup is not cut short by a second Ctrl-C."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_benchmark(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    check_services(args.pg_url, args.redis_url)
    import redis

    tmpdir = Path(tempfile.mkdtemp(prefix="label-bench-"))
    if args.keep_db:
        stack.callback(lambda: print(f"Kept: logs and timings in {tmpdir}", file=sys.stderr))
    else:
        stack.callback(shutil.rmtree, tmpdir, ignore_errors=True)

    # The database: created here, dropped at the end (after every process using it is gone:
    # the ExitStack runs callbacks last-in first-out).
    db_name = f"label_bench_{os.getpid()}"
    database_url = stack.enter_context(postgres_database(args.pg_url, db_name, keep=args.keep_db))

    redis_db = pick_redis_db(args.redis_url, args.redis_db)
    redis_url = f"{args.redis_url}/{redis_db}"
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    stack.callback(broker.flushdb)

    env = {
        **os.environ,
        **bench_env(database_url, "label-bench"),  # DEBUG off, as in production
        "REDIS_URL": redis_url,
        "LLM_MODEL": MODEL,
        "LLM_API_KEY": "fake",
        "LABEL_BATCH_SIZE": str(args.batch_size),
        "LLM_CONCURRENCY": str(args.llm_concurrency),
        TIMINGS_ENV: str(tmpdir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("LLM_BASE_URL", None)
    server = start_fake_server(env, tmpdir / "fake-llm.log")
    stack.callback(stop, server.process, signal.SIGINT)
    env["LLM_BASE_URL"] = server.base_url
    os.environ.update(env)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    started = time.perf_counter()
    warmup_clauses = WARMUP_TASKS_PER_SLOT * args.workers * args.concurrency * args.batch_size
    ids, plans, clauses = import_clauses(args.clauses + warmup_clauses)
    import_seconds = time.perf_counter() - started
    warmup_ids, clause_ids = ids[:warmup_clauses], ids[warmup_clauses:]

    workers = start_workers(args, env, tmpdir, stack)
    cpu = CpuTracker(
        {
            WORKERS: [p.pid for p in workers.processes],
            "fake LLM server": [server.process.pid],
            "Redis": redis_pid(redis_url),
            "bench (enqueue, poll)": [os.getpid()],
        }
    )
    warmup = run_labeling("warm-up", warmup_ids, workers, server, cpu, args.timeout)
    main_run = run_labeling("fault-free", clause_ids, workers, server, cpu, args.timeout)

    from django.db.models import Avg, Count, Q

    from reviewapp.models import LabelingJob, LabelingState, Suggestion

    suggestions = Suggestion.objects.filter(clause_id__in=clause_ids, labeler="llm")
    summary = suggestions.aggregate(
        n=Count("id"),
        valid=Count("id", filter=Q(status="valid")),
        cached=Count("id", filter=Q(cached=True)),
        prompt=Avg("prompt_tokens"),
        completion=Avg("completion_tokens"),
        requests=Avg("requests"),
    )
    done = LabelingJob.objects.filter(id__in=main_run.job_ids, state=LabelingState.DONE).count()
    time.sleep(0.5)  # the last tasks' postrun lines
    records = load_task_records(tmpdir, set(main_run.job_ids))
    in_flight = workers.slots * args.llm_concurrency
    overhead = measure_overhead(main_run, records, in_flight)
    baseline_tokens = attempt_tokens(main_run.job_ids)

    fault_run = None
    fault_tokens: dict[int, int] = {}
    if args.fault_clauses:
        fault_ids = clause_ids[: args.fault_clauses]
        reset_clauses(fault_ids)
        server.configure(faults=FAULTS, seed=FAULT_SEED)
        fault_run = run_labeling("10% faults", fault_ids, workers, server, cpu, args.timeout)
        server.configure(faults={})
        fault_tokens = attempt_tokens(fault_run.job_ids)

    # --- report ------------------------------------------------------------------------------
    throughput = len(clause_ids) / main_run.wall
    ratio = throughput / LIMIT_PER_SECOND
    width = 78
    print("=" * width)
    print("Labeling throughput: labeling_enqueue -> Celery -> LLMLabeler -> fake LLM server")
    print("=" * width)
    print(f"  database             PostgreSQL, throw-away {db_name}")
    print(f"  broker               Redis database {redis_db} (flushed before and after)")
    print(f"  fake LLM server      subprocess (manage.py fake_llm_server), latency {LATENCY_MS} ms,"
          f" max {SERVER_CONCURRENCY} in flight")  # fmt: skip
    print(f"  Celery workers       {workers.description} = {workers.slots} slots,"
          f" --loglevel={args.loglevel}, prefetch multiplier"
          f" {settings.CELERY_WORKER_PREFETCH_MULTIPLIER}")  # fmt: skip
    print(f"  batches              LABEL_BATCH_SIZE={settings.LABEL_BATCH_SIZE} jobs a task,"
          f" LLM_CONCURRENCY={settings.LLM_CONCURRENCY} requests in flight a pool process:"
          f" {in_flight} in flight at most")  # fmt: skip
    print(f"  retry settings       LLM_HTTP_RETRIES={settings.LLM_HTTP_RETRIES}"
          f" LLM_VALIDATION_ATTEMPTS={settings.LLM_VALIDATION_ATTEMPTS}"
          f" LABEL_TASK_RETRIES={settings.LABEL_TASK_RETRIES}")  # fmt: skip
    print(f"  CPU cores            {os.cpu_count()} (shared by everything above)")
    print(f"  clauses              {plans:,} plans imported ({clauses:,} clauses) in"
          f" {import_seconds:.1f} s; {len(clause_ids):,} with distinct texts labeled"
          f" (+{len(warmup_ids)} warm-up, not timed)")  # fmt: skip
    print()
    print(f"Fault-free run ({len(clause_ids):,} clauses)")
    print(f"  warm-up              {len(warmup_ids)} clauses in {warmup.wall:.2f} s (not counted)")
    print(f"  enqueue              {main_run.enqueue_seconds:.2f} s (jobs + {len(clause_ids):,}"
          " messages, inside the timed wall)")  # fmt: skip
    print(f"  first task started   {overhead.first_start:.2f} s after the enqueue began")
    print(f"  wall                 {main_run.wall:.2f} s (enqueue start -> last job finished)")
    n, valid, cached = summary["n"], summary["valid"], summary["cached"]
    print(f"  jobs done            {done:,}/{len(clause_ids):,}; suggestions"
          f" {n:,} ({valid:,} valid, {cached} from cache)")  # fmt: skip
    srv = main_run.server
    print(f"  fake server          {srv['requests']:,} requests, max in flight"
          f" {srv['max_in_flight']}, turned away (concurrency) "
          f"{srv['outcomes'].get('concurrency_limit', 0)}")  # fmt: skip
    print(f"  throughput           {throughput:.1f} clauses/s")
    print(f"  limit C/L            {SERVER_CONCURRENCY} / {LATENCY_MS / 1000:g} s ="
          f" {LIMIT_PER_SECOND:.0f} clauses/s")  # fmt: skip
    print(f"  ratio                {ratio:.3f} (target >= {THROUGHPUT_TARGET})")
    print()
    per_task = overhead.tasks or 1
    print("Where a worker slot's time goes (fault-free run, per task, means)")
    print(f"  task runs measured   {overhead.tasks:,} (task_prerun/postrun in the workers),"
          f" labeling {overhead.jobs / per_task:.1f} jobs each on average (a batch tops itself"
          " up; a message whose jobs were taken is skipped)")  # fmt: skip
    print(f"  task runtime         {overhead.runtime / per_task * 1000:7.1f} ms")
    print(f"    HTTP, summed       {overhead.http / per_task * 1000:7.1f} ms  (LabelAttempt"
          f".latency_ms; {overhead.http / overhead.runtime if overhead.runtime else 0:.2f}"
          " requests in flight on average)")  # fmt: skip
    print(f"    labeler, not HTTP  {(overhead.labeler - overhead.http) / per_task * 1000:7.1f} ms"
          "  (summed over threads: openai/instructor, validation, waiting for a permit)")  # fmt: skip
    gap_mean = overhead.gaps / overhead.gap_count if overhead.gap_count else math.nan
    print(f"  gap between tasks    {gap_mean * 1000:7.1f} ms  (Celery ack, result, fetch,"
          f" dispatch; {overhead.gap_count:,} gaps)")  # fmt: skip
    print(f"  Celery overhead      {pct(overhead.celery)}  gap / (runtime + gap); target <= 5%")
    print(f"  in-flight idle       {pct(overhead.idle_in_flight)}  1 - HTTP / ({in_flight} in"
          " flight x wall): everything but the model, start-up and drain included")  # fmt: skip
    print_cpu(main_run, len(clause_ids), overhead)
    print()
    print("Tokens")
    print(f"  input per clause     {summary['prompt'] or 0:.1f} prompt tokens (mean"
          f" Suggestion.prompt_tokens); output {summary['completion'] or 0:.1f};"
          f" requests {summary['requests'] or 0:.2f}")  # fmt: skip
    amplification = math.nan
    if fault_run is not None:
        same = [cid for cid in fault_run.clause_ids if cid in baseline_tokens]
        spent = sum(fault_tokens.get(cid, 0) for cid in same)
        clean = sum(baseline_tokens[cid] for cid in same)
        amplification = spent / clean if clean else math.nan
        fault_done = Counter(
            LabelingJob.objects.filter(id__in=fault_run.job_ids).values_list("state", flat=True)
        )
        fault_suggestions = Counter(
            Suggestion.objects.filter(clause_id__in=fault_run.clause_ids).values_list(
                "status", flat=True
            )
        )
        fsrv = fault_run.server
        outcomes = {k: v for k, v in fsrv["outcomes"].items() if v}
        subset = (
            "all clauses of the fault-free run"
            if len(fault_run.clause_ids) == len(clause_ids)
            else f"the first {len(fault_run.clause_ids):,} clauses of the fault-free run"
        )
        print(f"  fault run            {len(fault_run.clause_ids):,} clauses ({subset}), faults"
              f" {FAULTS} (seed {FAULT_SEED})")  # fmt: skip
        print(f"    wall               {fault_run.wall:.2f} s"
              f" ({len(fault_run.clause_ids) / fault_run.wall:.1f} clauses/s)")  # fmt: skip
        print(f"    jobs               {dict(fault_done)}; suggestions {dict(fault_suggestions)}")
        print(f"    server outcomes    {outcomes} ({fsrv['requests']:,} requests,"
              f" {fsrv['requests'] / len(fault_run.clause_ids):.3f} per clause)")  # fmt: skip
        print(f"    tokens (attempts)  {spent:,} with faults / {clean:,} fault-free (every"
              " LabelAttempt; a 500 or 429 has no usage: 0)")  # fmt: skip
        if len(fault_run.clause_ids) == len(clause_ids):
            server_ratio = (fsrv["prompt_tokens"] + fsrv["completion_tokens"]) / max(
                1, srv["prompt_tokens"] + srv["completion_tokens"]
            )
            print(f"    server's counters  {server_ratio:.3f} (fake server's own token totals)")
        print(f"  amplification        {amplification:.3f} (target <= {AMPLIFICATION_TARGET})")
    print()

    checks = [
        (ratio >= THROUGHPUT_TARGET, f"throughput >= {THROUGHPUT_TARGET:.0%} of C/L",
         f"{ratio:.3f}"),
        (
            overhead.celery <= OVERHEAD_TARGET,
            f"Celery overhead <= {OVERHEAD_TARGET:.0%} of task time (gap / (runtime + gap))",
            pct(overhead.celery),
        ),
        (
            done == len(clause_ids) == valid and not cached,
            "every clause labeled once, none from the cache",
            f"{done:,} done, {valid:,} valid, {cached} cached",
        ),
    ]  # fmt: skip
    if fault_run is not None:
        checks.append(
            (
                amplification <= AMPLIFICATION_TARGET,
                f"token amplification at 10% faults <= {AMPLIFICATION_TARGET}",
                f"{amplification:.3f}",
            )
        )
    else:
        print("SKIP  token amplification (--fault-clauses 0)")
    for ok, what, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}: {value}")
    return 0 if all(ok for ok, _, _ in checks) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker_main(sys.argv[2:])
    else:
        run_main(main)
