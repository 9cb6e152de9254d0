"""What a single line of a plan is: a heading, a title, a document number, a date, a table row…

Shared by the cleaner (which must not glue a heading onto the line before it) and the segmenter
(which builds heading paths from them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CJK = r"\u3400-\u9fff\uf900-\ufaff"
_NUM_ZH = "一二三四五六七八九十百"

HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^[{_NUM_ZH}]{{1,3}}、")),
    (2, re.compile(rf"^[(（][{_NUM_ZH}]{{1,3}}[)）]")),
    (3, re.compile(r"^\d{1,2}\s*[.．、](?!\d)")),
    (4, re.compile(r"^[(（]\d{1,2}[)）]")),
]
ATTACHMENT_RE = re.compile(r"^附件\s*\d*\s*[:：]?")
STANDALONE_HEADING_MAX = 40

DOC_NUMBER_RE = re.compile(
    rf"[{CJK}]{{1,10}}\s*[〔\[［(（【]\s*\d{{4}}\s*[〕\]］)）】]\s*\d{{1,4}}\s*号"
)
DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DATE_LINE_RE = re.compile(
    r"^[(（]?\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*[)）]?$"
    r"|^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_DOC_NUMBER_LINE_RE = re.compile(rf"^{DOC_NUMBER_RE.pattern}$")
# Titles: a notice of issue, an opinion or a plan on its own line. Web headlines in 【】 are not.
NOTICE_TITLE_RE = re.compile(r"^(?![【\[]).{0,60}?关于印发.{1,80}?的通知$")
_OPINION_TITLE_RE = re.compile(
    r"^(?![【\[]).{0,40}关于.{2,80}?(?:实施意见|实施方案|行动方案|的意见)$"
)
PLAN_TITLE_RE = re.compile(
    rf"^[{CJK}《》“”]{{2,40}}(?:碳达峰实施方案|碳达峰行动方案|实施方案|实施意见)$"
)
TERMINAL_PUNCT = "。！？；：!?;:"
CLOSING_QUOTES = "”’」』\"'"
OPENING_BRACKETS = "(（[【〔"
CLOSING_BRACKETS = ")）]】〕"


@dataclass(frozen=True)
class Heading:
    level: int  # 1 一、 / 2 (一) / 3 1. / 4 (1); attachments are level 1
    title: str  # the heading as written, without an inline body
    standalone: bool  # True: the line is only a heading; False: a task paragraph starting with one


def heading_of(line: str) -> Heading | None:
    """The heading a line starts with, or None."""
    if "|" in line:
        return None
    for level, pattern in HEADING_PATTERNS:
        if pattern.match(line):
            return _heading(level, line)
    if ATTACHMENT_RE.match(line) and len(line) <= STANDALONE_HEADING_MAX:
        return Heading(level=1, title=line, standalone=True)
    return None


def _heading(level: int, line: str) -> Heading:
    stop = line.find("。")
    if stop == -1 and len(line) <= STANDALONE_HEADING_MAX:
        return Heading(level=level, title=line, standalone=True)
    title = line[:stop] if stop != -1 else line[:STANDALONE_HEADING_MAX]
    return Heading(level=level, title=title, standalone=False)


def is_table_row(line: str) -> bool:
    return line.count("|") >= 2


def is_date_line(line: str) -> bool:
    return bool(_DATE_LINE_RE.match(line))


def is_doc_number_line(line: str) -> bool:
    return bool(_DOC_NUMBER_LINE_RE.match(line))


def is_title_line(line: str) -> bool:
    return bool(
        NOTICE_TITLE_RE.match(line) or _OPINION_TITLE_RE.match(line) or PLAN_TITLE_RE.match(line)
    )


def ends_sentence(line: str) -> bool:
    """True if the line ends a sentence or a bracketed note, so a following line starts anew.

    A line with a bracket still open does not: ``…（责任单位：`` goes on after a PDF line break.
    """
    stripped = line.rstrip(CLOSING_QUOTES + " ")
    if not stripped or _open_brackets(stripped) > 0:
        return False
    return stripped[-1] in TERMINAL_PUNCT or stripped[-1] in CLOSING_BRACKETS


def _open_brackets(line: str) -> int:
    depth = 0
    for char in line:
        if char in OPENING_BRACKETS:
            depth += 1
        elif char in CLOSING_BRACKETS and depth > 0:
            depth -= 1
    return depth


def is_sentence(line: str) -> bool:
    """A paragraph of running text (not a title, signature or date line)."""
    stripped = line.rstrip(CLOSING_QUOTES + " ")
    if len(stripped) < 8:
        return False
    return stripped[-1] in "。！？；!?;" or (stripped[-1] in CLOSING_BRACKETS and "。" in stripped)
