"""Cleaning: from the raw lines of a file to the plan's paragraphs.

Web pages bring breadcrumbs, ``来源:``/``时间:``/``热度:`` lines, ``图片`` placeholders, news lead-ins
that repeat the plan before the official notice, and page footers. PDF extracts bring page
numbers and lines broken in the middle of a sentence. The source's own punctuation is kept.
"""

from __future__ import annotations

import re

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
_PAGE_NUMBER_RES = [
    re.compile(r"^[-—–－]?\s*\d{1,3}\s*[-—–－]?$"),
    re.compile(r"^第\s*\d{1,3}\s*页(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?$"),
    re.compile(r"^\d{1,3}\s*/\s*\d{1,3}$"),
]
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
    for pattern in _ARTEFACT_SPACE_RES:
        line = pattern.sub("", line)
    return line


def is_boilerplate(line: str) -> bool:
    return any(p.match(line) for p in _BOILERPLATE_RES) or any(
        p.match(line) for p in _PAGE_NUMBER_RES
    )


def clean_paragraphs(raw_lines: list[str]) -> list[str]:
    """The plan's paragraphs, in order: boilerplate dropped, broken lines rejoined."""
    kept = [line for line in (normalize_line(raw) for raw in raw_lines) if line]
    kept = [line for line in kept if not is_boilerplate(line)]
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
    """Index of the first line of the official document; what comes before is a web lead-in."""
    for index, paragraph in enumerate(paragraphs):
        if L.is_title_line(paragraph) or L.is_doc_number_line(paragraph):
            return index
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
        ):
            break
        end -= 1
    return paragraphs[:end]


def is_formula(paragraph: str) -> bool:
    """Set phrases of a notice that carry nothing (``特此通知。``)."""
    return paragraph in _FORMULA_LINES
