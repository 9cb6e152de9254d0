"""Segmentation: from a plan's cleaned paragraphs to clauses (label-schema.md, "What a clause is").

- A numbered task with its paragraphs and trailing responsibility note is one clause.
- Within a task, a paragraph that ends with its own note closes a clause; paragraphs without one
  are gathered into the next note's clause ("a note that follows several paragraphs applies to
  all of them"). Paragraphs left without a note when the section ends are a clause each.
- Before the first heading (notice of issue, preamble) only running sentences are clauses; the
  title, document number, addressee, signature and date lines are metadata.
- An attachment's table rows are a clause each, with the agencies of their last column.
- A note inside a paragraph (``…。(责任部门:气候处,完成期限:6月底)配合省发展改革委…``) closes the
  clause there; the rest of the paragraph starts the next one.
- A note written as lines of its own (``责任单位:市发展改革委`` then ``完成时限:2022年2月底前``)
  closes the paragraphs before it like a bracketed one.
- Articles (``第三条``) are clauses headed by their number; chapters and sections head them.
- A numbered paragraph whose first sentence is long is a list item, not a task title: it heads no
  later clause, and list items without a note gather into the next note's clause.
- A text with no heading at all (a news summary, a short notice) is still a plan: each running
  paragraph is a clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from reviewapp.importing import lines as L
from reviewapp.importing.cleaning import is_formula
from reviewapp.importing.responsibility import (
    OPENERS,
    bracket_pairs,
    find_trailing_note,
    parse_note,
    states_lead_convention,
)

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
    # The last clause was closed by a note line: a time-limit line that follows belongs to it.
    note_line_closed: bool = False
    # A stated convention (``排在第一为牵头单位,下同``): the first unit of each part leads.
    first_of_each_part_leads: bool = False
    # Inside an article, the first ``intro`` gathered paragraphs introduce its list (``…应当:``).
    intro: int = 0

    def heading_path(self) -> list[str]:
        return [h.title for h in self.headings if h.title]

    def push_heading(self, heading: L.Heading) -> None:
        if not self._continues_gathering(heading):
            self.flush()
        self.headings = [h for h in self.headings if h.level < heading.level]
        self.headings.append(heading)

    def _continues_gathering(self, heading: L.Heading) -> bool:
        """Whether the paragraphs gathered for the next note stay open across ``heading``.

        List items gather (``1.…`` ``2.…(责任单位:…)`` is one clause), and so do the numbered
        parts of a list item (``(三)对建设充电设施项目的,…`` ``(1)充电桩项目。…``). A titled task
        starts a new clause, and a paragraph that introduces a list (``…按以下规定给予扶持:``)
        is a clause of its own before the list's first item.
        """
        if not self.pending:
            return False
        if any(not h.title and h.level < heading.level for h in self.headings):
            return True  # a part of the list item being gathered
        in_article = self._in_article() and heading.level > L.LEVEL_ARTICLE
        last = self.text[self.pending[-1].start : self.pending[-1].end].rstrip()
        if last.endswith(("：", ":")):
            if not in_article:
                return False
            # An article is one clause with its items, unless its items end with notes of
            # their own: then the introduction is a clause before them (see close()).
            self.intro = len(self.pending)
            return True
        if in_article:
            return True
        return not heading.title and not any(
            h.level >= heading.level and h.title for h in self.headings
        )

    def _article_path(self) -> list[str]:
        """Headed by the article, not by whichever of its items came last."""
        return [h.title for h in self.headings if h.title and h.level <= L.LEVEL_ARTICLE]

    def _in_article(self) -> bool:
        return any(h.level == L.LEVEL_ARTICLE for h in self.headings)

    def flush(self) -> None:
        """Paragraphs that no note closed: each is a clause of its own, except in an article,
        which is one clause with its items."""
        if self.pending and self._in_article():
            self.emit(self.pending[0].start, self.pending[-1].end, path=self._article_path())
        else:
            for span in self.pending:
                self.emit(span.start, span.end)
        self.pending = []
        self.intro = 0

    def close(
        self,
        start: int,
        end: int,
        note: str,
        lead: list[str],
        responsible: list[str],
        *,
        in_paragraph: bool,
    ) -> None:
        """A note closes the paragraphs gathered before it: from ``start`` (the note's own
        paragraph, when the note ends one: ``in_paragraph``) back to the first gathered one."""
        spans, self.pending = self.pending, []
        # A note that ends an item leaves the article's introduction a clause of its own; a note
        # line right after the introduction is the introduction's own.
        last_intro = len(spans) if in_paragraph else len(spans) - 1
        if 0 < self.intro <= last_intro:
            self.emit(spans[0].start, spans[self.intro - 1].end, path=self._article_path())
            spans = spans[self.intro :]
        self.intro = 0
        self.emit(spans[0].start if spans else start, end, note, lead, responsible)

    def emit(
        self,
        start: int,
        end: int,
        note: str = "",
        lead: list[str] | None = None,
        responsible: list[str] | None = None,
        path: list[str] | None = None,
    ) -> None:
        text = self.text[start:end]
        self.clauses.append(
            ParsedClause(
                ordinal=len(self.clauses) + 1,
                heading_path=self.heading_path() if path is None else path,
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
        self.first_of_each_part_leads |= states_lead_convention(paragraph)
        if self.note_line_closed and L.TIME_LIMIT_LINE_RE.match(paragraph) and not self.pending:
            self.extend_last(end)
            return
        was_closed, self.note_line_closed = self.note_line_closed, False
        heading = L.heading_of(paragraph)
        if heading is not None and not (self.in_attachment and heading.level >= 3):
            self.in_body = True
            # An attachment lasts until a heading of its level: a notice whose attachment is the
            # plan itself goes on with the plan's own 一、二、 headings, which are not a table.
            self.in_attachment = bool(L.ATTACHMENT_RE.match(paragraph)) or (
                self.in_attachment and heading.level > 1
            )
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
        if L.is_note_line(paragraph):
            self.note_line_closed = was_closed and heading is None
            self.note_line(start, end, paragraph)
            return
        for piece_start, piece_end in _pieces_at_inner_notes(paragraph):
            self.piece(start + piece_start, start + piece_end)

    def piece(self, start: int, end: int) -> None:
        """A paragraph, or the part of one that an inner note closes."""
        note = find_trailing_note(
            self.text[start:end], first_of_each_part_leads=self.first_of_each_part_leads
        )
        if note is None:
            self.pending.append(_Span(start, end))
            return
        self.close(start, end, note.raw, note.lead, note.responsible, in_paragraph=True)

    def note_line(self, start: int, end: int, paragraph: str) -> None:
        """``责任单位:A、B`` on a line of its own closes the paragraphs gathered before it."""
        parsed = parse_note(
            _without_time_limit(paragraph), first_of_each_part_leads=self.first_of_each_part_leads
        )
        if not self.pending or parsed is None:
            if self.note_line_closed and parsed and L.NOTE_LABEL_LINE_RE.match(paragraph):
                # A second note line for the clause just closed (e.g. 配合单位:…).
                self.extend_last(end, parsed)
            else:
                self.pending.append(_Span(start, end))
            return
        lead, responsible = parsed
        self.close(start, end, paragraph, lead, responsible, in_paragraph=False)
        self.note_line_closed = True

    def extend_last(self, end: int, parsed: tuple[list[str], list[str]] | None = None) -> None:
        last = self.clauses[-1]
        lead, responsible = list(last.lead_agencies), list(last.responsible_agencies)
        if parsed:
            lead = lead or parsed[0]
            responsible += [n for n in parsed[1] if n not in responsible]
        added = self.text[last.end : end]
        self.clauses[-1] = replace(
            last,
            text=self.text[last.start : end],
            end=end,
            responsibility_note=(last.responsibility_note + added).strip(),
            lead_agencies=lead,
            responsible_agencies=responsible,
        )
        self.note_line_closed = True

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
    segmenter = _run(_Segmenter(text=text), paragraphs)
    if not segmenter.in_body:
        # No heading anywhere: not a plan of numbered tasks, but still a plan. Every running
        # paragraph is a clause, labelled by what it says rather than as preamble.
        segmenter = _run(_Segmenter(text=text, in_body=True), paragraphs, unstructured=True)
    return text, segmenter.clauses


def _run(segmenter: _Segmenter, paragraphs: list[str], unstructured: bool = False) -> _Segmenter:
    offset = 0
    for paragraph in paragraphs:
        end = offset + len(paragraph)
        if not unstructured:
            segmenter.paragraph(offset, end)
        elif L.is_sentence(paragraph) and not is_formula(paragraph):
            segmenter.flush()
            segmenter.piece(offset, end)
        offset = end + 1
    segmenter.flush()
    return segmenter


_NOTE_OPENS_AFTER = "。；;！？!?"
_TIME_LIMIT_RE = re.compile(r"[,，;；\s]*(?:完成)?(?:时限|期限)\s*[:：].*$")


def _without_time_limit(note: str) -> str:
    """The units of a note line, without its ``完成时限:…`` part."""
    return _TIME_LIMIT_RE.sub("", note)


def _pieces_at_inner_notes(paragraph: str) -> list[tuple[int, int]]:
    """Split a paragraph after every responsibility note that more text follows.

    A note opens a paragraph or follows a sentence (``…。(责任部门:…)``) and parses as a note; a remark
    inside a sentence (``…(含当月)。``) does not open after one, so it never splits.
    """
    pieces: list[tuple[int, int]] = []
    begin = 0
    pairs = bracket_pairs(paragraph)  # once: a scan per bracket would be quadratic
    for index, char in enumerate(paragraph):
        if char not in OPENERS or index < begin:
            continue
        if index > 0 and paragraph[index - 1] not in _NOTE_OPENS_AFTER:
            continue
        close = pairs.get(index)
        if close is None:
            continue
        end = close + 1
        while end < len(paragraph) and paragraph[end] in "。；;，, ":
            end += 1
        if end >= len(paragraph):
            break  # a trailing note: the paragraph's own, found by find_trailing_note
        inner = _without_time_limit(paragraph[index + 1 : close])
        if parse_note(inner) is None:
            continue
        pieces.append((begin, end))
        begin = end
    pieces.append((begin, len(paragraph)))
    return [(a, b) for a, b in pieces if paragraph[a:b].strip()]


def _kind_hint(text: str, heading_path: list[str], in_body: bool) -> str:
    if not in_body or any(_PRINCIPLE_HEADINGS_RE.search(h) for h in heading_path[-2:]):
        return KIND_PRINCIPLE
    if _QUANTITY_RE.search(text):
        return KIND_TARGET
    return KIND_MEASURE
