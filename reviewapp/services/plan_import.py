"""Importing plan files: the one service behind ``import_plans`` and the upload page.

Each file is parsed in a sandboxed child process, then written in its own transaction: a file is
imported whole (plan + clauses) or rejected with a message, never half-saved. The same bytes
imported twice are reported as a duplicate and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from reviewapp.importing import errors, formats
from reviewapp.importing.errors import ImportRejected
from reviewapp.importing.parsing import ParsedPlan, sha256_of
from reviewapp.importing.sandbox import SandboxLimits, parse_many
from reviewapp.models import (
    Clause,
    ImportBatch,
    ImportFile,
    ImportOutcome,
    ImportSource,
    Plan,
)
from reviewapp.services.agencies import agency_register_names

DUPLICATE_OF = "Same bytes as plan #{plan_id} ({title}); nothing was changed."
DUPLICATE_IN_BATCH = "Same bytes as {other}, earlier in this import; nothing was changed."
_CHUNK = 16  # files parsed per round trip to the sandbox: bounds memory on big imports


@dataclass(frozen=True)
class FileOutcome:
    file_name: str
    size: int
    sha256: str
    outcome: str
    message: str = ""
    plan_id: int | None = None
    clause_count: int = 0


@dataclass(frozen=True)
class _Candidate:
    name: str
    data: bytes | None  # None: refused before parsing, see message
    message: str = ""
    size: int = 0


@dataclass(frozen=True)
class UnreadFile:
    """A file refused before its bytes were read (an upload over the size limit)."""

    name: str
    size: int

    def candidate(self) -> _Candidate:
        limit = settings.IMPORT_MAX_FILE_BYTES
        message = errors.FILE_TOO_LARGE.format(size=self.size, limit=limit)
        return _Candidate(self.name, None, message, self.size)


def import_limits() -> formats.Limits:
    return formats.Limits(
        max_file_bytes=settings.IMPORT_MAX_FILE_BYTES,
        max_pdf_pages=settings.IMPORT_MAX_PDF_PAGES,
        max_zip_total_bytes=settings.IMPORT_MAX_ZIP_TOTAL_BYTES,
        max_zip_ratio=settings.IMPORT_MAX_ZIP_RATIO,
    )


def sandbox_limits() -> SandboxLimits:
    return SandboxLimits(
        timeout_seconds=settings.IMPORT_PARSE_TIMEOUT,
        memory_bytes=settings.IMPORT_PARSE_MEMORY_BYTES,
        processes=settings.IMPORT_PARSE_PROCESSES,
    )


def expand_files(*, files: Iterable[tuple[str, bytes]]) -> Iterator[_Candidate]:
    """Archives become their entries (``archive.zip/entry.txt``); other files pass through."""
    limits = import_limits()
    for name, data in files:
        try:
            formats.check_size(data, limits)
            fmt = formats.detect_format(name, data)
            if fmt != formats.FORMAT_ZIP:
                yield _Candidate(name, data)
                continue
            for entry in formats.zip_entries(data, limits):
                yield _Candidate(f"{name}/{entry.name}", entry.data, entry.message)
        except ImportRejected as exc:
            yield _Candidate(name, None, str(exc), len(data))


def plans_parse(
    *, files: Iterable[tuple[str, bytes]]
) -> Iterator[tuple[_Candidate, ParsedPlan | ImportRejected]]:
    """Parse without writing anything (``import_plans --dry-run``)."""
    candidates = list(expand_files(files=files))
    for chunk in _chunks(candidates):
        parsed = _parse_chunk(chunk)
        yield from zip(chunk, parsed, strict=True)


def plans_import(
    *,
    files: Iterable[tuple[str, bytes]],
    source: str = ImportSource.CLI,
    user: User | AnonymousUser | None = None,
    unread: Iterable[UnreadFile] = (),
    on_file_done: Callable[[FileOutcome], None] | None = None,
) -> tuple[ImportBatch, list[FileOutcome]]:
    """Import every file (archives expanded). Returns the batch and one outcome per file."""
    batch = ImportBatch.objects.create(
        source=source, created_by=user if isinstance(user, User) else None
    )
    outcomes: list[FileOutcome] = []
    seen_in_batch: dict[str, str] = {}
    candidates = list(expand_files(files=files)) + [u.candidate() for u in unread]
    for chunk in _chunks(candidates):
        to_parse: list[_Candidate] = []
        early: dict[int, FileOutcome] = {}
        for index, candidate in enumerate(chunk):
            early_outcome = _outcome_before_parsing(candidate, seen_in_batch)
            if early_outcome is None:
                to_parse.append(candidate)
            else:
                early[index] = early_outcome
            if candidate.data is not None:
                seen_in_batch.setdefault(sha256_of(candidate.data), candidate.name)
        parsed_iter = iter(_parse_chunk(to_parse))
        for index, candidate in enumerate(chunk):
            with transaction.atomic():  # the plan and its log line: one commit per file
                outcome = early.get(index) or _store(candidate, next(parsed_iter), batch)
                ImportFile.objects.create(
                    batch=batch,
                    file_name=outcome.file_name[:500],
                    size=outcome.size,
                    sha256=outcome.sha256,
                    outcome=outcome.outcome,
                    message=outcome.message,
                    plan_id=outcome.plan_id,
                    clause_count=outcome.clause_count,
                )
            outcomes.append(outcome)
            if on_file_done:
                on_file_done(outcome)
    batch.finished_at = timezone.now()
    batch.save(update_fields=["finished_at"])
    return batch, outcomes


def _chunks(candidates: list[_Candidate]) -> Iterator[list[_Candidate]]:
    for start in range(0, len(candidates), _CHUNK):
        yield candidates[start : start + _CHUNK]


def _parse_chunk(chunk: list[_Candidate]) -> list[ParsedPlan | ImportRejected]:
    runnable = [(c.name, c.data) for c in chunk if c.data is not None]
    parsed = iter(parse_many(runnable, import_limits(), sandbox_limits()) if runnable else [])
    return [
        next(parsed) if c.data is not None else ImportRejected(c.message or errors.EMPTY_FILE)
        for c in chunk
    ]


def _outcome_before_parsing(candidate: _Candidate, seen: dict[str, str]) -> FileOutcome | None:
    """Rejections known without parsing, and duplicates (no need to parse what we have)."""
    if candidate.data is None:
        return FileOutcome(
            candidate.name, candidate.size, "", ImportOutcome.REJECTED, candidate.message
        )
    digest = sha256_of(candidate.data)
    size = len(candidate.data)
    existing = Plan.objects.filter(sha256=digest).values("id", "title").first()
    if existing:
        message = DUPLICATE_OF.format(plan_id=existing["id"], title=existing["title"])
        return FileOutcome(
            candidate.name, size, digest, ImportOutcome.DUPLICATE, message, existing["id"]
        )
    if digest in seen:
        message = DUPLICATE_IN_BATCH.format(other=seen[digest])
        return FileOutcome(candidate.name, size, digest, ImportOutcome.DUPLICATE, message)
    return None


def _store(
    candidate: _Candidate, parsed: ParsedPlan | ImportRejected, batch: ImportBatch
) -> FileOutcome:
    assert candidate.data is not None
    size = len(candidate.data)
    digest = sha256_of(candidate.data)
    if isinstance(parsed, ImportRejected):
        return FileOutcome(candidate.name, size, digest, ImportOutcome.REJECTED, str(parsed))
    try:
        plan = plan_create(parsed=parsed, source_name=candidate.name, batch=batch)
    except IntegrityError:
        # Another import stored the same bytes between our check and our insert.
        existing = Plan.objects.filter(sha256=digest).values("id", "title").first()
        if existing is None:
            raise
        message = DUPLICATE_OF.format(plan_id=existing["id"], title=existing["title"])
        return FileOutcome(
            candidate.name, size, digest, ImportOutcome.DUPLICATE, message, existing["id"]
        )
    message = f"{len(parsed.clauses)} clauses"
    return FileOutcome(
        candidate.name, size, digest, ImportOutcome.IMPORTED, message, plan.pk, len(parsed.clauses)
    )


@transaction.atomic
def plan_create(*, parsed: ParsedPlan, source_name: str, batch: ImportBatch | None) -> Plan:
    """Write one parsed plan and its clauses, all or nothing."""
    plan = Plan.objects.create(
        title=parsed.title[:300],
        region=parsed.region[:100],
        issuing_body=parsed.issuing_body[:200],
        document_number=parsed.document_number[:100],
        issue_date=parsed.issue_date,
        plan_year=parsed.plan_year,
        source_file_name=source_name[:500],
        source_format=parsed.source_format,
        sha256=parsed.sha256,
        cleaned_text=parsed.cleaned_text,
        import_batch=batch,
    )
    Clause.objects.bulk_create(
        [
            Clause(
                plan=plan,
                ordinal=c.ordinal,
                heading_path=c.heading_path,
                text=c.text,
                start_offset=c.start,
                end_offset=c.end,
                responsibility_note=c.responsibility_note,
                lead_agencies=c.lead_agencies,
                responsible_agencies=c.responsible_agencies,
                kind_hint=c.kind_hint,
            )
            for c in parsed.clauses
        ],
        batch_size=500,
    )
    agency_register_names(names=[n for c in parsed.clauses for n in c.responsible_agencies])
    return plan
