"""``python manage.py import_plans PATH...``: import plan files, folders and .zip archives.

``--dry-run FILE`` parses and segments without writing anything and prints one JSON line per
clause, so an admin can preview what a file will become.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from reviewapp.importing import formats
from reviewapp.importing.errors import ImportRejected
from reviewapp.labeling.preview import clause_preview
from reviewapp.models import ImportOutcome, ImportSource
from reviewapp.services.plan_import import FileOutcome, plans_import, plans_parse

LABELER_NEEDS_DRY_RUN = (
    "--labeler goes with --dry-run; to label imported plans use manage.py label."
)
NO_FILES_FOUND = "No importable files found under: {paths}"
PATH_NOT_FOUND = "No such file or folder: {path}"


class Command(BaseCommand):
    help = (
        "Import Chinese carbon-peak plan files (.txt .html .docx .pdf .zip) as plans and clauses."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths", nargs="+", help="files, folders (searched recursively) or .zip"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="parse and segment only; print one JSON line per clause; write nothing",
        )
        parser.add_argument(
            "--labeler",
            choices=["rules", "llm"],
            help="with --dry-run: add each clause's suggested labels (schema JSON)",
        )
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        files = _collect(options["paths"])
        if options["labeler"] and not options["dry_run"]:
            raise CommandError(LABELER_NEEDS_DRY_RUN)
        if options["dry_run"]:
            self._dry_run(files, options["labeler"])
            return
        bar = tqdm(
            total=len(files),
            unit="file",
            disable=options["no_progress"] or not sys.stderr.isatty(),
            file=sys.stderr,
        )
        done_names: set[str] = set()

        def on_file_done(outcome: FileOutcome) -> None:
            top = _top_level_name(outcome.file_name, files)
            if top not in done_names:
                done_names.add(top)
                bar.update(1)

        batch, outcomes = plans_import(
            files=_read_all(files), source=ImportSource.CLI, on_file_done=on_file_done
        )
        bar.close()
        self._summary(outcomes, batch.pk)
        if any(o.outcome == ImportOutcome.REJECTED for o in outcomes):
            raise CommandError("Some files were rejected (see the table above).", returncode=1)

    def _dry_run(self, files: list[Path], labeler_name: str | None) -> None:
        labeler = None
        if labeler_name:
            from reviewapp.services.labeling import labeler_build

            try:
                labeler = labeler_build(name=labeler_name)
            except (ValueError, FileNotFoundError) as exc:
                raise CommandError(str(exc)) from None
        rejected = 0
        for candidate, parsed in plans_parse(files=_read_all(files)):
            if isinstance(parsed, ImportRejected):
                rejected += 1
                self.stderr.write(f"{candidate.name}: rejected: {parsed}")
                continue
            plan = parsed.metadata()
            for clause in parsed.clauses:
                line = clause_preview(clause, plan, labeler)
                self.stdout.write(json.dumps(line, ensure_ascii=False))
        if rejected:
            raise CommandError(f"{rejected} file(s) rejected.", returncode=1)

    def _summary(self, outcomes: list[FileOutcome], batch_id: int | None) -> None:
        width = min(60, max([len("file")] + [len(o.file_name) for o in outcomes]))
        self.stdout.write(f"{'file':<{width}}  {'outcome':<9}  {'clauses':>7}  message")
        for o in outcomes:
            name = o.file_name if len(o.file_name) <= width else "…" + o.file_name[-width + 1 :]
            clauses = str(o.clause_count) if o.outcome == ImportOutcome.IMPORTED else "-"
            self.stdout.write(f"{name:<{width}}  {o.outcome:<9}  {clauses:>7}  {o.message}")
        counts = Counter(o.outcome for o in outcomes)
        total_clauses = sum(o.clause_count for o in outcomes)
        self.stdout.write(
            f"Import #{batch_id}: {counts[ImportOutcome.IMPORTED]} imported "
            f"({total_clauses} clauses), {counts[ImportOutcome.DUPLICATE]} duplicate, "
            f"{counts[ImportOutcome.REJECTED]} rejected."
        )


def _collect(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not p.name.startswith(".")
                and p.suffix.lower() in formats.SUPPORTED_SUFFIXES
            )
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(PATH_NOT_FOUND.format(path=raw))
    if not found:
        raise CommandError(NO_FILES_FOUND.format(paths=", ".join(paths)))
    return found


def _read_all(files: list[Path]) -> list[tuple[str, bytes]]:
    return [(str(path), path.read_bytes()) for path in files]


def _top_level_name(file_name: str, files: list[Path]) -> str:
    for path in files:
        if file_name == str(path) or file_name.startswith(str(path) + "/"):
            return str(path)
    return file_name
