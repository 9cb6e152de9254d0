"""One file's bytes to a parsed plan: the pipeline detect → read → clean → metadata → segment."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from reviewapp.importing import errors, formats
from reviewapp.importing.cleaning import clean_paragraphs
from reviewapp.importing.errors import ImportRejected
from reviewapp.importing.metadata import extract_metadata
from reviewapp.importing.segmentation import ParsedClause, segment


@dataclass(frozen=True)
class ParsedPlan:
    source_name: str
    source_format: str
    sha256: str
    title: str
    region: str
    issuing_body: str
    document_number: str
    issue_date: dt.date | None
    cleaned_text: str
    clauses: list[ParsedClause] = field(default_factory=list)
    plan_year: int | None = None

    def metadata(self) -> dict[str, str | int | None]:
        return {
            "title": self.title,
            "region": self.region,
            "issuing_body": self.issuing_body,
            "document_number": self.document_number,
            "issue_date": self.issue_date.isoformat() if self.issue_date else None,
            "plan_year": self.plan_year,
            "source_name": self.source_name,
            "sha256": self.sha256,
        }


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_plan(name: str, data: bytes, limits: formats.Limits) -> ParsedPlan:
    """Parse a single plan file (not an archive). Raises ImportRejected with a user message."""
    formats.check_size(data, limits)
    fmt = formats.detect_format(name, data)
    if fmt == formats.FORMAT_ZIP:
        raise ImportRejected(errors.ZIP_NESTED.format(entry=name))
    raw_lines = formats.read_lines(fmt, data, limits)
    if not any(line.strip() for line in raw_lines):
        raise ImportRejected(errors.EMPTY_FILE)
    paragraphs = clean_paragraphs(raw_lines)
    cleaned_text, clauses = segment(paragraphs)
    # Prose without headings is segmented into paragraphs; only a text with no running
    # sentence at all (a cover page, a bare table) has nothing to import.
    if not clauses:
        raise ImportRejected(errors.NO_CLAUSES)
    meta = extract_metadata(paragraphs)
    return ParsedPlan(
        source_name=name,
        source_format=fmt,
        sha256=sha256_of(data),
        title=meta.title or name,
        region=meta.region,
        issuing_body=meta.issuing_body,
        document_number=meta.document_number,
        issue_date=meta.issue_date,
        plan_year=meta.plan_year,
        cleaned_text=cleaned_text,
        clauses=clauses,
    )
