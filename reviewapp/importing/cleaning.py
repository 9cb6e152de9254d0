"""Cleaning: from the raw lines of a file to the plan's paragraphs.

Web pages bring breadcrumbs, ``来源:``/``时间:``/``热度:`` lines, ``图片`` placeholders, news lead-ins
that repeat the plan before the official notice, and page footers. PDF extracts (and .txt files
made from PDFs) bring page markers (``- 3 -``, ``―3―``, ``第3页``, ``3/12``, also inside a line),
running headers and footers, letter-spaced words and lines broken in the middle of a sentence.
The source's own punctuation is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from reviewapp.importing import lines as L

_BOILERPLATE_RES = [
    re.compile(r"^(?:首页|当前位置|您的位置|你的位置)\s*[:：]?\s*[>＞»›]"),
    re.compile(
        r"^(?:来源|时间|发布时间|发布日期|热度|浏览次数|阅读次数|点击数|作者|编辑|责任编辑)\s*[:：]"
    ),
    re.compile(r"^(?:图片|图|视频|附图)$"),
    re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(
        r"^(?:在线咨询|分享到|分享|打印|关闭|【打印】|【关闭】|打印本页|关闭窗口|返回顶部|扫一扫|Baidu|map)$",
        re.IGNORECASE,
    ),
    re.compile(r"^[\d\-—－()（） ]{7,20}$"),  # a telephone number on its own line
]
# Every dash a page marker is printed with: ASCII and Unicode hyphens, en/em dashes, the
# horizontal bar ``―`` of Chinese government PDFs, full-width hyphen-minus, tildes.
_DASH = "\\-\u2010-\u2015\u2212\uff0d~\uff5e"
_PAGE_NUMBER_RES = [
    re.compile(rf"^[{_DASH}]*\s*\d{{1,3}}\s*[{_DASH}]*$"),
    # Some fonts print the marker's dashes as the CJK ``一`` glyph: only with the number between.
    re.compile(r"^一\s*\d{1,3}\s*一$"),
    re.compile(r"^第\s*\d{1,3}\s*页(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?$"),
    re.compile(r"^共\s*\d{1,3}\s*页\s*[,，]?\s*第\s*\d{1,3}\s*页$"),
    re.compile(r"^\d{1,3}\s*/\s*\d{1,3}$"),
    re.compile(r"^(?:page\s*)?\d{1,3}\s*(?:of|/)\s*\d{1,3}$", re.IGNORECASE),
]
# A page marker that extraction put inside a line (``四川―4―省能源局``, ``财审处、 - 3 - 法规科``):
# dashes around a page number, between CJK text. A range (``2021—2025年``) has no closing dash.
_CJK_TEXT = rf"[{L.CJK}\u3000-\u303f\uff01-\uff0c\uff1a-\uff1f“”‘’《》（）]"
_INLINE_PAGE_MARKER_RE = re.compile(
    rf"(?<={_CJK_TEXT})\s*[{_DASH}]\s?\d{{1,3}}\s?[{_DASH}]\s*(?={_CJK_TEXT}|$)"
    rf"|^\s*[{_DASH}]\s?\d{{1,3}}\s?[{_DASH}]\s*(?={_CJK_TEXT})"
)
# Letter-spaced text (``广 西 壮 族 自 治 区``): CJK words joined by single spaces, three of them in
# a row single characters. Such spaces are layout; ``中共中央 国务院`` has no single-character run.
_CJK_CHAIN_RE = re.compile(rf"[{L.CJK}]+(?: [{L.CJK}]+)+")
_LETTER_SPACED_RE = re.compile(rf"(?:^| )[{L.CJK}](?: [{L.CJK}]){{2}}(?: |$)")
# Running headers in text lines: a short line repeated next to page markers on many pages.
_HEADER_MIN_REPEATS = 3
_HEADER_MAX_CHARS = 60
_HEADER_WORDS_RE = re.compile(rf"[{L.CJK}]{{4,}}|[A-Za-z]{{4,}}")
_SENTENCE_PUNCT_RE = re.compile(r"[。，；：！？,;:!?]")
_HEADER_NEAR_MARKER = 2  # lines between a header and the page marker of its page
_SPACES_RE = re.compile(r"[ \t\u00a0\u2002\u2003\u2009\u3000]+")
# A space next to a CJK character or CJK punctuation is a layout artefact (``到 2025 年``,
# ``7 号``); a space between two CJK characters is kept (``中共中央 国务院``).
_CJK_OR_PUNCT = rf"[{L.CJK}\u3000-\u303f\uff00-\uffef“”‘’《》]"
_ARTEFACT_SPACE_RES = [
    re.compile(rf"(?<={_CJK_OR_PUNCT}) (?=[0-9A-Za-z%.])"),
    re.compile(rf"(?<=[0-9A-Za-z%.]) (?={_CJK_OR_PUNCT})"),
    re.compile(
        r"(?<=[\u3000-\u303f\uff00-\uffef“”‘’《》]) | (?=[\u3000-\u303f\uff00-\uffef“”‘’《》])"
    ),
]
_FOOTER_LINE_MAX = 30
_FORMULA_LINES = {"特此通知。", "特此通知"}


def normalize_line(line: str) -> str:
    line = _SPACES_RE.sub(" ", line.replace("\ufeff", "")).strip()
    line = _CJK_CHAIN_RE.sub(_unspace_letter_spacing, line)
    for pattern in _ARTEFACT_SPACE_RES:
        line = pattern.sub("", line)
    return line


def _unspace_letter_spacing(match: re.Match[str]) -> str:
    chain = match.group(0)
    return chain.replace(" ", "") if _LETTER_SPACED_RE.search(chain) else chain


def is_page_marker(line: str) -> bool:
    line = line.strip()
    return any(p.match(line) for p in _PAGE_NUMBER_RES)


def is_boilerplate(line: str) -> bool:
    return any(p.match(line) for p in _BOILERPLATE_RES) or is_page_marker(line)


def remove_inline_page_markers(line: str) -> str:
    return _INLINE_PAGE_MARKER_RE.sub("", line)


def header_key(line: str) -> str:
    """A line compared loosely: width forms, spaces and digits (page numbers, years) ignored."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", unicodedata.normalize("NFKC", line)))


def _running_header_keys(lines: list[str]) -> set[str]:
    """Keys of short lines that repeat beside the page markers of several pages.

    In text extracted from a PDF the page markers are the only trace of the pages; a line that
    stands next to them again and again is the page's header or footer, whatever its words.
    """
    markers = [i for i, line in enumerate(lines) if is_page_marker(line)]
    if len(markers) < _HEADER_MIN_REPEATS:
        return set()
    near: Counter[str] = Counter()
    for i in markers:
        window = range(
            max(0, i - _HEADER_NEAR_MARKER), min(len(lines), i + _HEADER_NEAR_MARKER + 1)
        )
        near.update(
            {header_key(lines[j]) for j in window if j != i and not is_page_marker(lines[j])}
        )
    return {key for key, n in near.items() if n >= _HEADER_MIN_REPEATS and could_be_header(key)}


def could_be_header(key: str) -> bool:
    """A repeated line that can be a running header: a name, a series or a title (four letters
    or more, within a line's length), not a sentence, a form field, a heading, or the end of a
    bracketed note that pages happen to break alike (``市工信局)``): a header's brackets balance."""
    return (
        len(key) <= _HEADER_MAX_CHARS
        and bool(_HEADER_WORDS_RE.search(key))
        and not _SENTENCE_PUNCT_RE.search(key)
        and L.heading_of(key) is None
        and _brackets_balance(key)
        and not L.is_note_line(key)
    )


def _brackets_balance(text: str) -> bool:
    depth = 0
    for char in text:
        if char in L.OPENING_BRACKETS:
            depth += 1
        elif char in L.CLOSING_BRACKETS:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _header_pattern(key: str) -> str:
    """The regex of a header key in raw text: any spaces between its characters, any number
    where it has ``#``."""
    parts = [r"\d+" if char == "#" else re.escape(char) for char in key]
    return r"\s*".join(parts)


def remove_headers_at_page_markers(line: str, headers: set[str]) -> str:
    """Drop a running header that extraction glued to a page marker inside a line
    (``…财审处、- 3 -XX省生态环境厅法规科…``): the marker shows where the page broke."""
    if not headers or not _INLINE_PAGE_MARKER_RE.search(line):
        return line
    alternatives = "|".join(_header_pattern(key) for key in sorted(headers, key=len, reverse=True))
    marker = rf"\s*[{_DASH}]\s?\d{{1,3}}\s?[{_DASH}]\s*"
    glued = re.compile(rf"(?:{alternatives})(?={marker})|(?<=[{_DASH}])\s*(?:{alternatives})")
    return glued.sub("", line)


def clean_paragraphs(raw_lines: list[str]) -> list[str]:
    """The plan's paragraphs, in order: boilerplate dropped, broken lines rejoined."""
    kept = [line for line in (normalize_line(raw) for raw in raw_lines) if line]
    headers = _running_header_keys(kept)
    kept = [line for line in kept if not is_boilerplate(line) and header_key(line) not in headers]
    kept = [remove_headers_at_page_markers(line, headers) for line in kept]
    kept = [line for line in (remove_inline_page_markers(line) for line in kept) if line]
    paragraphs = _rejoin_broken_lines(kept)
    paragraphs = paragraphs[_official_start(paragraphs) :]
    return _drop_footer(paragraphs)


def _rejoin_broken_lines(lines: list[str]) -> list[str]:
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs and _continues(paragraphs[-1], line):
            paragraphs[-1] += line
        else:
            paragraphs.append(line)
    return paragraphs


def _continues(previous: str, line: str) -> bool:
    """Whether ``line`` is the rest of a sentence that a page or line break cut off."""
    if L.is_note_line(line) and not L.has_open_bracket(previous):
        return False  # 责任单位:… then 配合单位:… or 完成时限:…: one field a line, outside a note
    return not (L.ends_sentence(previous) or _is_complete(previous) or _starts_anew(line))


def _is_complete(line: str) -> bool:
    """Lines that are whole without punctuation: a heading alone, a title, a date…"""
    heading = L.heading_of(line)
    return (
        (heading is not None and heading.standalone)
        or L.is_table_row(line)
        or L.is_date_line(line)
        or L.is_doc_number_line(line)
        or L.is_title_line(line)
    )


def _starts_anew(line: str) -> bool:
    """Lines that always stand alone, whatever comes before or after them."""
    heading = L.heading_of(line)
    return (
        (heading is not None and (heading.standalone or heading.level <= 3))
        or L.is_table_row(line)
        or L.is_date_line(line)
        or L.is_doc_number_line(line)
        or L.is_title_line(line)
        or line.startswith("关于")
    )


def _official_start(paragraphs: list[str]) -> int:
    """Index of the first line of the official document; what comes before is a web lead-in.

    A lead-in is running text (a news summary repeating the plan, a web headline). Short lines
    with no sentence before the title are the title's own first lines (``省生态环境厅2021年度`` over
    ``推动碳达峰、碳中和工作计划``) and stay.
    """
    for index, paragraph in enumerate(paragraphs):
        if L.is_title_line(paragraph) or L.is_doc_number_line(paragraph):
            lead_in = paragraphs[:index]
            if any(L.is_sentence(p) or len(p) > L.STANDALONE_HEADING_MAX for p in lead_in):
                return index
            return 0
        if L.heading_of(paragraph) is not None:
            break  # the plan starts with its own headings: nothing to cut
    return 0


def _drop_footer(paragraphs: list[str]) -> list[str]:
    """Drop the short link and contact lines a web page ends with."""
    end = len(paragraphs)
    while end > 0:
        last = paragraphs[end - 1]
        if (
            len(last) > _FOOTER_LINE_MAX
            or L.ends_sentence(last)
            or L.is_table_row(last)
            or L.heading_of(last) is not None
            or L.is_note_line(last)  # the last task's 责任单位:… / 完成时限:…
        ):
            break
        end -= 1
    return paragraphs[:end]


def is_formula(paragraph: str) -> bool:
    """Set phrases of a notice that carry nothing (``特此通知。``)."""
    return paragraph in _FORMULA_LINES
