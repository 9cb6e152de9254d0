"""What the benchmarks share: paths, errors and exit codes, throw-away databases, ``/proc`` readers.

Imported as a plain module: a script run as ``python bench/<name>.py`` has ``bench/`` first on
``sys.path``; importing this module puts the project root there too (for ``reviewapp``).

- ``ROOT``, ``BENCH_DIR``, ``SEEDS_DIR``.
- ``BenchError`` and ``run_main``: a benchmark that could not run exits 2 with one line on
  stderr; otherwise its ``main`` returns 0 (every target passes) or 1 (one fails).
- Throw-away databases. ``django_test_database``: Django's test-database machinery beside
  ``DATABASE_URL`` (SQLite or PostgreSQL), or a fresh SQLite file without it.
  ``postgres_database``: a PostgreSQL database created and dropped (``WITH (FORCE)``) through a
  maintenance database, for benchmarks whose child processes connect to it by URL;
  ``default_pg_url`` is that maintenance database (the ``postgres`` database of the server in
  ``DATABASE_URL``). ``bench_env``: the settings environment of a benchmark's Django;
  ``migrate``, ``vacuum_analyze``, ``backend_pid``: on Django's default connection.
- ``/proc`` (Linux): CPU seconds of a process and of the host, every process's CPU, the current
  and peak RSS of this process, and ``OtherLoad``, the cores other processes used meanwhile.

Its top-level imports are the standard library's only, so that the export benchmark's child
process measures Django and the export, not this module.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
SEEDS_DIR = ROOT / "seeds"
if str(ROOT) not in sys.path:  # the reviewapp package, for the imports inside the functions
    sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SETTINGS_MODULE = "reviewapp.settings"


class BenchError(Exception):
    """The benchmark could not run (a service is missing, a process died): exit 2."""


def run_main(main: Callable[[], int]) -> None:
    """``sys.exit(main())``; a ``BenchError`` prints one line on stderr and exits 2."""
    try:
        code = main()
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code)


# --- Django settings -------------------------------------------------------------------------


def bench_env(db_url: str, name: str) -> dict[str, str]:
    """The environment of a benchmark's Django (and of its child processes): the database, DEBUG
    off (no query logging; production templates and settings), a random secret key."""
    return {
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or f"{name}-" + os.urandom(24).hex(),
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
    }


def django_test_database(tmpdir: Path, test_name: str) -> tuple[str, Callable[[], None]]:
    """Set up Django on a throw-away database and migrate it. The database is never the
    project's: without ``DATABASE_URL`` a fresh SQLite file in ``tmpdir``; with it, a test
    database beside the given one (``test_name``; SQLite: a file in ``tmpdir``), created by
    Django's test-database machinery. Returns its description and the function that drops it."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    user_url = os.environ.get("DATABASE_URL", "").strip()
    if not user_url:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmpdir / 'bench.sqlite3'}"

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connections

    connection = connections["default"]
    if not user_url:
        call_command("migrate", verbosity=0, interactive=False)
        return f"SQLite, temporary file {connection.settings_dict['NAME']}", connection.close

    # The user's database: never touched. A test database is created beside it and dropped.
    from django.test.utils import setup_databases, teardown_databases

    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(tmpdir / "bench.sqlite3")
    else:
        test_settings["NAME"] = test_name
    old_config = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    description = f"{connection.vendor}, throw-away database {connection.settings_dict['NAME']}"

    def teardown() -> None:
        teardown_databases(old_config, verbosity=0)

    return description, teardown


# --- PostgreSQL databases created through a maintenance database ------------------------------


def default_pg_url() -> str:
    """The ``postgres`` database of the server in ``DATABASE_URL`` when that is PostgreSQL,
    else ``DEFAULT_PG_URL``."""
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    if url.scheme in ("postgres", "postgresql", "pgsql") and url.netloc:
        return urlunsplit(("postgresql", url.netloc, "/postgres", "", ""))
    return DEFAULT_PG_URL


def pg_server(url: str) -> str:
    """host:port of a PostgreSQL URL, for messages (no user, no password)."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def database_url(pg_url: str, name: str) -> str:
    parts = urlsplit(pg_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(maintenance_url: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(maintenance_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(
            f"cannot create {name} through {maintenance_url} (--pg-url, or set DATABASE_URL to "
            f"a PostgreSQL server): {exc}".strip()
        ) from exc


def drop_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def postgres_database(maintenance_url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A new database ``name``, its URL yielded; at the end this process's Django connections
    are closed and the database is dropped (even with clients left), unless ``keep``."""
    create_database(maintenance_url, name)
    try:
        yield database_url(maintenance_url, name)
    finally:
        with contextlib.suppress(Exception):  # Django may never have been set up
            from django.db import connections

            connections.close_all()
        if keep:
            print(f"kept database {name}")
        else:
            drop_database(maintenance_url, name)


def migrate() -> None:
    """Migrate Django's default database, timed and printed."""
    import time

    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")


def backend_pid() -> int:
    """The pid of the PostgreSQL backend of Django's default connection (opened if needed)."""
    from django.db import connection

    connection.ensure_connection()
    return connection.connection.info.backend_pid


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


# --- /proc -----------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def process_cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process (all its threads), from /proc/<pid>/stat, in
    clock ticks (10 ms); 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def host_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole host since boot, summed over cores (idle and
    iowait are not busy)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    total = sum(values)
    return (total - values[3] - values[4]) / CLOCK_TICKS, total / CLOCK_TICKS


def proc_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (ppid, comm, CPU seconds used so far) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        table[int(entry)] = (
            int(fields[1]),
            comm,
            (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
        )
    return table


def status_mb(field: str) -> float:
    """A memory field of /proc/self/status (``VmRSS``, ``VmHWM``), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    return status_mb("VmRSS")


def peak_mb() -> float:
    """VmHWM: the peak RSS of this process's own memory since exec. Unlike ``ru_maxrss``: Linux
    carries the parent's peak RSS over into a child's ru_maxrss at exec (subprocess uses vfork),
    so a child's ru_maxrss is floored at its parent's size."""
    return status_mb("VmHWM")


def ru_maxrss_mb() -> float:
    """getrusage's peak RSS of this process (KiB on Linux), in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class OtherLoad:
    """The cores that processes other than ``own`` (pids, or ``"self"``) used on the host from
    this object's creation to ``cores()``: on a shared host, wall times include waiting for a
    core."""

    def __init__(self, own: list[int | str]) -> None:
        self.own = own
        self._busy, self._total = host_cpu_seconds()
        self._own = self._own_cpu()

    def _own_cpu(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.own)

    def cores(self) -> float:
        busy, total = host_cpu_seconds()
        if total <= self._total:
            return 0.0
        other = busy - self._busy - (self._own_cpu() - self._own)
        return max(0.0, other / (total - self._total) * CORES)
