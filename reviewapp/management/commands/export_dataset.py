"""``python manage.py export_dataset --format jsonl|csv|parquet|label-studio [--plans 1,2]
[--since 2026-01-01] [--out DIR]``: the reviewed clauses as a dataset, with its card."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from reviewapp.services.export import FORMATS, ExportFilters, export_dataset, exported_items

BAD_DATE = "--since must be a date like 2026-01-31, not {value!r}."
BAD_PLANS = "--plans must be plan ids separated by commas, like 3,4,7; not {value!r}."


class _Progress(tqdm):
    """A progress bar without tqdm's monitor thread: the export pauses the garbage collector
    only when its thread is the process's only one (services/export/gc_pause.py), and the
    monitor, there to catch a bar that stops updating, is not needed for one updated a row."""

    monitor_interval = 0


class Command(BaseCommand):
    help = "Export the reviewed clauses (the curated dataset) with a dataset card."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument("--plans", default="", help="plan ids, comma-separated")
        parser.add_argument("--since", default="", help="only clauses reviewed on or after")
        parser.add_argument("--out", default="export", help="output folder (created)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        filters = ExportFilters(plan_ids=_plans(options["plans"]), since=_date(options["since"]))
        total = exported_items(filters=filters).count()
        bar = _Progress(
            total=total,
            unit="clause",
            disable=options["no_progress"] or not sys.stderr.isatty(),
            file=sys.stderr,
        )
        try:
            path, summary = export_dataset(
                fmt=options["format"],
                out_dir=Path(options["out"]),
                filters=filters,
                on_row=lambda: bar.update(1),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        splits = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_split.items()))
        self.stdout.write(
            f"Wrote {summary.rows} clauses from {len(summary.plans)} plans to {path} ({splits}); "
            f"card: {path.parent / 'README.md'}"
        )


def _date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(BAD_DATE.format(value=value)) from None


def _plans(value: str) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise CommandError(BAD_PLANS.format(value=value)) from None
