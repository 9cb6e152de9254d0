"""The export benchmark's child process: ``django.setup()``, then (unless baseline) one
``export_dataset`` call. Prints one JSON line of measurements.

Run by ``export_bench.py`` as ``python bench/_export_child.py '<json arguments>'``, a fresh
process per measurement, so that its peak RSS (``VmHWM``) is the export's own. Arguments: ``mode``
(``baseline`` or ``export``), ``fmt``, ``out``, ``plan_ids``, ``expected`` (rows, for the RSS
samples), ``samples`` (RSS samples over the rows), ``profile`` (a path: run under cProfile).
"""

import time

STARTED = time.perf_counter()  # the child's start-up (django.setup()) is reported apart

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

# Run by path, this file's folder (bench/) is first on sys.path; _common adds the project root.
from _common import (  # noqa: E402
    OtherLoad,
    backend_pid,
    peak_mb,
    process_cpu_seconds,
    rss_mb,
    ru_maxrss_mb,
)


def export(args: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """One timed ``export_dataset`` call; the current RSS sampled every 1/samples of the rows."""
    from reviewapp.services.export import ExportFilters, export_dataset

    every = max(1, args["expected"] // args["samples"])
    samples: list[float] = []
    count = 0

    def on_row() -> None:
        nonlocal count
        count += 1
        if count % every == 0:
            samples.append(round(rss_mb(), 1))

    def call() -> Any:
        return export_dataset(
            fmt=args["fmt"],
            out_dir=Path(args["out"]),
            filters=ExportFilters(plan_ids=tuple(args["plan_ids"])),
            on_row=on_row,
        )

    backend = backend_pid()
    pg0 = process_cpu_seconds(backend)
    load = OtherLoad(["self", backend])
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
    pg_cpu = process_cpu_seconds(backend) - pg0
    other_cores = load.cores()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "pg_cpu_seconds": pg_cpu,
        "other_cores": other_cores,
        "rows": summary.rows,
        "path": str(path),
        "bytes": path.stat().st_size,
        "rss_samples": samples,
    }, path


def file_rows(fmt: str, path: Path) -> dict[str, Any]:
    """Rows in the written file (and the first JSONL row), counted after the peak is taken."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return {"file_rows": pq.read_metadata(path).num_rows}
    with path.open("rb") as handle:
        rows = sum(1 for _ in handle)
    with path.open(encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    return {"file_rows": rows, "first_row": first}


def main() -> None:
    args = json.loads(sys.argv[1])
    import django

    django.setup()
    backend_pid()  # the DB connection is part of the baseline
    result: dict[str, Any] = {
        "setup_seconds": time.perf_counter() - STARTED,
        "setup_peak_mb": peak_mb(),
    }
    path = None
    if args["mode"] == "export":
        measured, path = export(args)
        result.update(measured)
    result["peak_mb"] = peak_mb()
    result["ru_maxrss_mb"] = ru_maxrss_mb()
    result["end_rss_mb"] = rss_mb()
    if path is not None:
        result.update(file_rows(args["fmt"], path))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
