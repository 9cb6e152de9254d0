"""Segmentation: from a plan's cleaned paragraphs to clauses (label-schema.md, "What a clause is").

- A numbered task with its paragraphs and trailing responsibility note is one clause.
- Within a task, a paragraph that ends with its own note closes a clause; paragraphs without one
  are gathered into the next note's clause ("a note that follows several paragraphs applies to
  all of them"). Paragraphs left without a note when the section ends are a clause each.
- Before the first heading (notice of issue, preamble) only running sentences are clauses; the
  title, document number, addressee, signature and date lines are metadata.
- An attachment's table rows are a clause each, with the agencies of their last column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reviewapp.importing import lines as L
from reviewapp.importing.cleaning import is_formula
from reviewapp.importing.responsibility import find_trailing_note, parse_note

KIND_TARGET = "target"
KIND_MEASURE = "measure"
KIND_PRINCIPLE = "principle"

_PRINCIPLE_HEADINGS_RE = re.compile(r"指导思想|基本原则|工作原则|实施原则|总体思路")
_QUANTITY_RE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|％|万|亿|个|家|项|处|座|辆|台|套|公顷|亩|平方米|千瓦|吨|倍|条|所|人)"
    r"|翻一番|翻两番|全覆盖|(?:到|至)\s*20\d\d\s*年|20\d\d\s*年(?:底)?前"
)


@dataclass(frozen=True)
class ParsedClause:
    ordinal: int
    heading_path: list[str]
    text: str
    start: int
    end: int
    responsibility_note: str = ""
    lead_agencies: list[str] = field(default_factory=list)
    responsible_agencies: list[str] = field(default_factory=list)
    kind_hint: str = KIND_MEASURE


@dataclass
class _Span:
    start: int
    end: int


@dataclass
class _Segmenter:
    text: str
    clauses: list[ParsedClause] = field(default_factory=list)
    headings: list[L.Heading] = field(default_factory=list)
    pending: list[_Span] = field(default_factory=list)
    in_body: bool = False
    in_attachment: bool = False
    table_header_seen: bool = False

    def heading_path(self) -> list[str]:
        return [h.title for h in self.headings]

    def push_heading(self, heading: L.Heading) -> None:
        self.flush()
        self.headings = [h for h in self.headings if h.level < heading.level]
        self.headings.append(heading)

    def flush(self) -> None:
        """Paragraphs that no note closed: each is a clause of its own."""
        for span in self.pending:
            self.emit(span.start, span.end)
        self.pending = []

    def emit(
        self,
        start: int,
        end: int,
        note: str = "",
        lead: list[str] | None = None,
        responsible: list[str] | None = None,
    ) -> None:
        text = self.text[start:end]
        self.clauses.append(
            ParsedClause(
                ordinal=len(self.clauses) + 1,
                heading_path=self.heading_path(),
                text=text,
                start=start,
                end=end,
                responsibility_note=note,
                lead_agencies=lead or [],
                responsible_agencies=responsible or [],
                kind_hint=_kind_hint(text, self.heading_path(), self.in_body),
            )
        )

    def paragraph(self, start: int, end: int) -> None:
        paragraph = self.text[start:end]
        heading = L.heading_of(paragraph)
        if heading is not None and not (self.in_attachment and heading.level >= 3):
            self.in_body = True
            self.in_attachment = self.in_attachment or bool(L.ATTACHMENT_RE.match(paragraph))
            self.table_header_seen = False
            self.push_heading(heading)
            if heading.standalone:
                return
        if not self.in_body:
            if L.is_sentence(paragraph) and not is_formula(paragraph):
                self.emit(start, end)
            return
        if self.in_attachment:
            self.attachment_paragraph(start, end, paragraph)
            return
        note = find_trailing_note(paragraph)
        if note is None:
            self.pending.append(_Span(start, end))
            return
        first = self.pending[0].start if self.pending else start
        self.pending = []
        self.emit(first, end, note.raw, note.lead, note.responsible)

    def attachment_paragraph(self, start: int, end: int, paragraph: str) -> None:
        if L.is_table_row(paragraph):
            if not self.table_header_seen:
                self.table_header_seen = True  # the header row names the columns
                return
            cells = [c.strip() for c in paragraph.split("|") if c.strip()]
            parsed = parse_note(cells[-1]) if len(cells) > 1 else None
            lead, responsible = parsed if parsed else ([], [])
            self.emit(start, end, cells[-1] if parsed else "", lead, responsible)
        elif not L.ends_sentence(paragraph) and len(paragraph) <= L.STANDALONE_HEADING_MAX:
            # the attachment's own title lines, before its table
            self.push_heading(L.Heading(level=2, title=paragraph, standalone=True))
        else:
            self.emit(start, end)


def segment(paragraphs: list[str]) -> tuple[str, list[ParsedClause]]:
    """The plan's cleaned text (paragraphs joined by newlines) and its clauses."""
    text = "\n".join(paragraphs)
    segmenter = _Segmenter(text=text)
    offset = 0
    for paragraph in paragraphs:
        segmenter.paragraph(offset, offset + len(paragraph))
        offset += len(paragraph) + 1
    segmenter.flush()
    return text, segmenter.clauses


def _kind_hint(text: str, heading_path: list[str], in_body: bool) -> str:
    if not in_body or any(_PRINCIPLE_HEADINGS_RE.search(h) for h in heading_path[-2:]):
        return KIND_PRINCIPLE
    if _QUANTITY_RE.search(text):
        return KIND_TARGET
    return KIND_MEASURE
