"""What a single line of a plan is: a heading, a title, a document number, a date, a table row…

Shared by the cleaner (which must not glue a heading onto the line before it) and the segmenter
(which builds heading paths from them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CJK = r"\u3400-\u9fff\uf900-\ufaff"
_NUM_ZH = "一二三四五六七八九十百"
_NUM_ZH_ARTICLE = "一二三四五六七八九十百零〇两"

# Levels of the numbering grammar, outermost first. Articles (第N章 / 第N节 / 第N条) sit above the
# list numbering because an article's items are numbered (一)、1. inside it; a level compares only
# with levels: a heading closes every open heading of its level or deeper.
LEVEL_CHAPTER = -2
LEVEL_SECTION = -1
LEVEL_ARTICLE = 0
LEVEL_CIRCLED = 5
HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (LEVEL_CHAPTER, re.compile(rf"^第[{_NUM_ZH_ARTICLE}\d]{{1,4}}\s*章(?![程节])")),
    (LEVEL_SECTION, re.compile(rf"^第[{_NUM_ZH_ARTICLE}\d]{{1,4}}\s*节")),
    (LEVEL_ARTICLE, re.compile(rf"^第[{_NUM_ZH_ARTICLE}\d]{{1,4}}\s*条(?![件款例])")),
    # 一、 一． 一. (not 一.5): the Chinese-numeral level of the plan.
    (1, re.compile(rf"^[{_NUM_ZH}]{{1,3}}\s*(?:、|[.．](?![\d０-９]))")),
    (2, re.compile(rf"^[(（][{_NUM_ZH}]{{1,3}}[)）]")),
    # 1. 1． １. 1、 (\d is Unicode: full-width digits too), not 1.5 or 2025.
    (3, re.compile(r"^\d{1,2}\s*[.．、](?!\d)")),
    (4, re.compile(r"^[(（]\d{1,2}[)）]")),
    (LEVEL_CIRCLED, re.compile(r"^[\u2460-\u2473\u3251-\u325f]")),  # ① … ⑳ ㉑ …
]
ATTACHMENT_RE = re.compile(r"^附件\s*\d*\s*[:：]?")
STANDALONE_HEADING_MAX = 40
# A heading's text before its first full stop is a task title (``(三)推进工业绿色升级。…``) when
# it is short; a long first sentence makes the paragraph a list item (``(一)对纳入国家绿色制造
# 示范名单的绿色工厂……给予一次性补贴100万元。``), whose text is no heading of later clauses.
TASK_TITLE_MAX = 30
# ``第三条 【绿色低碳发展扶持】大力发展……``: an article's own title, in brackets after its number.
_ARTICLE_TITLE_RE = re.compile(r"\s*[【\[［]([^】\]］]{1,20})[】\]］]")

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
# A plan's own title on its line: words naming a kind of policy document at the end, with an
# optional bracketed period or status (``(2022—2030年)``, ``(试行)``), and no sentence punctuation.
PLAN_TITLE_RE = re.compile(
    rf"^[{CJK}《》“”、\d—\-－]{{2,50}}"
    r"(?:实施方案|行动方案|工作方案|方案|实施意见|指导意见|意见|办法|细则|规划|计划|清单|措施|条例|规定|指南)"
    r"(?:[(（][^()（）]{1,16}[)）])?$"
)
# A responsibility note written as a line of its own, without brackets:
# ``责任单位：市发展改革委、市应急局`` and its ``完成时限：2022年2月底前``.
NOTE_LABEL_LINE_RE = re.compile(r"^(?:主要)?(?:责任|牵头|配合)(?:单位|部门|处室)\s*[:：]")
TIME_LIMIT_LINE_RE = re.compile(r"^(?:完成)?(?:时限|期限)\s*[:：]")
TERMINAL_PUNCT = "。！？；：!?;:"
CLOSING_QUOTES = "”’」』\"'"
OPENING_BRACKETS = "(（[【〔"
CLOSING_BRACKETS = ")）]】〕"


@dataclass(frozen=True)
class Heading:
    level: int  # LEVEL_CHAPTER … LEVEL_ARTICLE, 1 一、 / 2 (一) / 3 1. / 4 (1) / 5 ①
    title: str  # the heading as written, without an inline body; "" for a list item
    standalone: bool  # True: the line is only a heading; False: a task paragraph starting with one


def heading_of(line: str) -> Heading | None:
    """The heading a line starts with, or None."""
    if "|" in line:
        return None
    for level, pattern in HEADING_PATTERNS:
        match = pattern.match(line)
        if match:
            if level == LEVEL_ARTICLE:
                return _article(line, match.end())
            return _heading(level, line)
    if ATTACHMENT_RE.match(line) and len(line) <= STANDALONE_HEADING_MAX:
        return Heading(level=1, title=line, standalone=True)
    return None


def _heading(level: int, line: str) -> Heading:
    stop = line.find("。")
    ends_clause = line.rstrip(CLOSING_QUOTES + " ")[-1:] in "；;"
    if stop == -1 and len(line) <= STANDALONE_HEADING_MAX and not ends_clause:
        return Heading(level=level, title=line, standalone=True)
    if stop == -1 or stop > TASK_TITLE_MAX + 6:
        return Heading(level=level, title="", standalone=False)
    return Heading(level=level, title=line[:stop], standalone=False)


def _article(line: str, number_end: int) -> Heading:
    """``第三条 【目的】为……``: the article is a clause; its number (and bracketed title) head it."""
    title = _ARTICLE_TITLE_RE.match(line, number_end)
    end = title.end() if title else number_end
    heading = re.sub(r"\s+", "", line[:number_end])
    if title:
        heading += f" 【{title.group(1).strip()}】"
    standalone = not line[end:].strip()
    return Heading(level=LEVEL_ARTICLE, title=heading, standalone=standalone)


def is_note_line(line: str) -> bool:
    """A responsibility note (or its time limit) written as a paragraph of its own."""
    return bool(NOTE_LABEL_LINE_RE.match(line) or TIME_LIMIT_LINE_RE.match(line))


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


def has_open_bracket(line: str) -> bool:
    """``…(责任部门:气候处,``: a note that a line or page break cut goes on in the next line."""
    return _open_brackets(line) > 0


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
