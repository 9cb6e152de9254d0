"""A PDF's text layer as paragraphs, read with PDFium (pypdfium2).

PDFium gives each character with its box, in content-stream order, and marks where it thinks a
line ends. Visual lines are rebuilt from those boxes; then the page furniture goes (page numbers,
and running headers and footers: lines that repeat at the top or bottom of many pages); then the
layout decides which lines belong to one paragraph (``_continues``), also across page breaks.

Per-character calls go straight to the raw ctypes functions: the object wrappers cost several
times more a character, and a page has ~1,500 of them.
"""

from __future__ import annotations

import ctypes
import itertools
from collections import Counter
from dataclasses import dataclass

from reviewapp.importing import errors
from reviewapp.importing.errors import ImportRejected

# The PDF spec lets a reader accept ``%PDF-`` anywhere in the first 1024 bytes (files wrapped by
# mail gateways or old Mac tools carry a preamble; one corpus file has a 128-byte MacBinary head).
PDF_MAGIC = b"%PDF-"
PDF_MAGIC_WINDOW = 1024

_LINE_BREAKS = "\r\n"
_SPACES = " \t\u00a0\u3000"
# A header or footer stands on a third of the pages, and on at least three (two pages can share
# a line by chance: a heading continued, a table header).
_HEADER_MIN_PAGES = 3
_HEADER_MIN_SHARE = 1 / 3
_HEADER_ZONE = 2  # lines from the top and from the bottom of a page where headers stand


def is_pdf(data: bytes) -> bool:
    return PDF_MAGIC in data[:PDF_MAGIC_WINDOW]


@dataclass(frozen=True)
class PdfLine:
    """One visual line: its text and box in PDF points (y grows upwards)."""

    text: str
    page: int
    x0: float
    x1: float
    y0: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def pdf_lines(data: bytes, max_pages: int) -> list[str]:
    """Paragraphs of a PDF's text layer, page furniture removed.

    A line continues onto the next one when it reaches the right edge of the text column and the
    next line is neither indented, nor set apart by a paragraph gap, nor a heading (also across a
    page break).
    """
    visual = visual_lines(data, max_pages)
    return rebuild_paragraphs(drop_page_furniture(visual))


def rebuild_paragraphs(visual: list[PdfLine]) -> list[str]:
    if not visual:
        return []
    left = min(line.x0 for line in visual)
    right = max(line.x1 for line in visual)
    pitch = _typical_pitch(visual)
    paragraphs: list[str] = []
    current = ""
    for line, following in zip(visual, [*visual[1:], None], strict=True):
        current += line.text
        if following is None or not _continues(line, following, left, right, pitch):
            paragraphs.append(current)
            current = ""
    return paragraphs


def _continues(line: PdfLine, following: PdfLine, left: float, right: float, pitch: float) -> bool:
    from reviewapp.importing.lines import ends_sentence, heading_of

    char = max(line.height, 1.0)
    # CJK line breaking keeps 》，。 off a line's start, so a full line can stop ~2 chars short.
    if line.x1 < right - 2.5 * char:
        return False
    if following.x0 > left + 1.0 * char:
        return False  # an indented first line starts a paragraph
    if following.page == line.page and pitch and (line.y0 - following.y0) > 1.3 * pitch:
        return False  # a paragraph gap
    return not (ends_sentence(line.text) and heading_of(following.text) is not None)


def _typical_pitch(visual: list[PdfLine]) -> float:
    gaps = sorted(
        round(a.y0 - b.y0, 1)
        for a, b in itertools.pairwise(visual)
        if a.page == b.page and a.y0 > b.y0
    )
    return gaps[len(gaps) // 4] if gaps else 0.0  # a low quantile: the in-paragraph line pitch


# --- page furniture ---------------------------------------------------------------------------


def running_headers(visual: list[PdfLine]) -> set[str]:
    """Keys of the lines that stand at the top or bottom of many pages.

    Found from the document's own repetition, never from a list of known strings: the issuer's
    name, a document series, the title — whatever this document repeats on its pages.
    """
    from reviewapp.importing.cleaning import could_be_header, header_key, is_page_marker

    pages: dict[int, list[PdfLine]] = {}
    for line in visual:
        pages.setdefault(line.page, []).append(line)
    counts: Counter[str] = Counter()
    for lines in pages.values():
        body = [line for line in lines if not is_page_marker(line.text)]
        ends = body[:_HEADER_ZONE] + body[-_HEADER_ZONE:]
        counts.update({header_key(line.text) for line in ends})
    needed = max(_HEADER_MIN_PAGES, len(pages) * _HEADER_MIN_SHARE)
    return {key for key, n in counts.items() if n >= needed and could_be_header(key)}


def drop_page_furniture(visual: list[PdfLine]) -> list[PdfLine]:
    """Visual lines without page numbers, running headers and footers.

    A header line is removed wherever it stands. On the first page the same words can be the
    document's own title or letterhead: there it goes only when it sits where the header sits on
    the other pages.
    """
    from reviewapp.importing.cleaning import header_key, is_boilerplate

    headers = running_headers(visual)
    first_page = visual[0].page if visual else 0
    positions: dict[str, list[float]] = {}
    for line in visual:
        key = header_key(line.text)
        if key in headers and line.page != first_page:
            positions.setdefault(key, []).append(line.y0)
    kept: list[PdfLine] = []
    for line in visual:
        if is_boilerplate(line.text):
            continue
        key = header_key(line.text)
        if key in headers and (
            line.page != first_page or any(abs(line.y0 - y) < 2.0 for y in positions[key])
        ):
            continue
        kept.append(line)
    return kept


# --- reading ----------------------------------------------------------------------------------


def visual_lines(data: bytes, max_pages: int) -> list[PdfLine]:
    """Every visual line of every page, top to bottom; rejects a file with no readable text."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise ImportRejected(_load_error(exc)) from None
    try:
        page_count = len(document)
        if page_count == 0:
            raise ImportRejected(errors.PDF_CORRUPT.format(detail="it has no pages"))
        if page_count > max_pages:
            raise ImportRejected(errors.PDF_TOO_MANY_PAGES.format(limit=max_pages))
        visual: list[PdfLine] = []
        for index in range(page_count):
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    visual.extend(_page_lines(textpage, index, pdfium_c))
                finally:
                    textpage.close()
            finally:
                page.close()
    except pypdfium2.PdfiumError as exc:
        raise ImportRejected(errors.PDF_CORRUPT.format(detail=exc)) from None
    finally:
        document.close()
    if not visual:
        # Pages that load but hold no character: a scan, or text drawn as shapes.
        raise ImportRejected(errors.PDF_NO_TEXT)
    return visual


def _load_error(exc: Exception) -> str:
    import pypdfium2.raw as pdfium_c

    code = getattr(exc, "err_code", None)
    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return errors.PDF_ENCRYPTED
    return errors.PDF_CORRUPT.format(detail=exc)


def _page_lines(textpage: object, page: int, pdfium_c: object) -> list[PdfLine]:
    """The page's visual lines from its characters, in reading order."""
    raw = textpage.raw  # type: ignore[attr-defined]
    count: int = textpage.count_chars()  # type: ignore[attr-defined]
    if count <= 0:
        return []
    text: str = textpage.get_text_range()  # type: ignore[attr-defined]
    if len(text) != count:
        # Characters outside the BMP are two UTF-16 units in the text but one character.
        get_unicode = pdfium_c.FPDFText_GetUnicode  # type: ignore[attr-defined]
        text = "".join(chr(get_unicode(raw, i) or 0xFFFD) for i in range(count))
    rect = pdfium_c.FS_RECTF()  # type: ignore[attr-defined]
    rect_ref = ctypes.byref(rect)
    loose_box = pdfium_c.FPDFText_GetLooseCharBox  # type: ignore[attr-defined]
    segments: list[_Segment] = []
    current: _Segment | None = None
    for index, char in enumerate(text):
        if char in _LINE_BREAKS:
            current = None
            continue
        if char in _SPACES or not loose_box(raw, index, rect_ref):
            if current is not None:
                current.chars.append(" ")
            continue
        x0, x1, y0, y1 = rect.left, rect.right, rect.bottom, rect.top
        if y1 < y0:
            y0, y1 = y1, y0
        if current is None or not current.takes(x0, y0, y1):
            current = _Segment([char], x0, x1, y0, y1)
            segments.append(current)
        else:
            current.add(char, x0, x1, y0, y1)
    lines = [
        PdfLine(text, page, s.x0, s.x1, s.y0, s.y1)
        for s in _merge_same_line(segments)
        if (text := "".join(s.chars).strip())
    ]
    # Reading order: top to bottom, then left to right. Content streams often draw the footer
    # (or a header) first; a line's bottom is quantised so that a mixed-font line keeps its order.
    lines.sort(key=lambda line: (-round(line.y0 / 2), line.x0))
    return lines


class _Segment:
    """Characters that PDFium put on one line, with their joint box."""

    __slots__ = ("chars", "x0", "x1", "y0", "y1")

    def __init__(self, chars: list[str], x0: float, x1: float, y0: float, y1: float) -> None:
        self.chars = chars
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1

    def takes(self, x0: float, y0: float, y1: float) -> bool:
        """Whether a character continues this line: it overlaps it vertically by half and does
        not jump back to the left (a new line PDFium did not mark)."""
        overlap = min(self.y1, y1) - max(self.y0, y0)
        height = min(self.y1 - self.y0, y1 - y0)
        return overlap >= 0.5 * height and x0 >= self.x1 - 2 * max(height, 1.0)

    def add(self, char: str, x0: float, x1: float, y0: float, y1: float) -> None:
        self.chars.append(char)
        self.x0 = min(self.x0, x0)
        self.x1 = max(self.x1, x1)
        self.y0 = min(self.y0, y0)
        self.y1 = max(self.y1, y1)


def _merge_same_line(segments: list[_Segment]) -> list[_Segment]:
    """Join consecutive segments that sit on one visual line (PDFium breaks a line where the font
    or baseline changes: a superscript, a bold run)."""
    merged: list[_Segment] = []
    for segment in segments:
        last = merged[-1] if merged else None
        if last is not None and last.takes(segment.x0, segment.y0, segment.y1):
            gap = segment.x0 - last.x1
            if gap > 0.5 * max(last.y1 - last.y0, 1.0) and last.chars[-1] != " ":
                last.chars.append(" ")
            last.chars.extend(segment.chars)
            last.x0 = min(last.x0, segment.x0)
            last.x1 = max(last.x1, segment.x1)
            last.y0 = min(last.y0, segment.y0)
            last.y1 = max(last.y1, segment.y1)
        else:
            merged.append(segment)
    return merged
