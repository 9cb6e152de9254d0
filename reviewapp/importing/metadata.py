"""Plan metadata from the lines before the plan's first heading: title, region, issuing body,
document number (``海政发〔2024〕8号``) and issue date, each where present."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from reviewapp.importing import lines as L

_ISSUER_SUFFIX_RE = re.compile(r"(?:人民政府|政府|委员会|办公室|办公厅|市委|区委|县委)$")
_REGION_RE = re.compile(
    rf"^((?:[{L.CJK}]{{2,8}}?(?:省|自治区))?(?:[{L.CJK}]{{1,8}}?市)?(?:[{L.CJK}]{{1,8}}?(?:区|县|旗))?)"
)
_REGION_STOP_RE = re.compile(r"人民政府|关于|碳达峰|碳中和|实施方案|实施意见|政府")


# An annual plan names its year: ``2021 年度``, ``2022年推动碳达峰碳中和工作计划``. Not a range
# (``2021-2023年度``) and not a horizon (``2030年前碳达峰行动方案``).
_ANNUAL_YEAR_RE = re.compile(
    r"(?<![\d\-—–~至到])(20\d\d)\s*年\s*(?!前|以前|之前|底|末)"
    r"(?:度|[^，,。；;\d]{0,24}?(?:工作计划|工作要点|重点工作|工作安排))"
)


@dataclass(frozen=True)
class PlanMetadata:
    title: str = ""
    region: str = ""
    issuing_body: str = ""
    document_number: str = ""
    issue_date: dt.date | None = None
    # The year an annual plan is for: a time limit without a year (``完成期限:6月底``) falls in it.
    plan_year: int | None = None


def extract_metadata(paragraphs: list[str]) -> PlanMetadata:
    front = _front_matter(paragraphs)
    return PlanMetadata(
        title=_title(front, paragraphs),
        region=_region(front, paragraphs),
        issuing_body=_issuing_body(front),
        document_number=_document_number(front),
        issue_date=_issue_date(front),
        plan_year=_plan_year(front),
    )


def _front_matter(paragraphs: list[str]) -> list[str]:
    for index, paragraph in enumerate(paragraphs):
        if L.heading_of(paragraph) is not None:
            return paragraphs[:index]
    return paragraphs[:20]


def _document_number(front: list[str]) -> str:
    for paragraph in front:
        match = L.DOC_NUMBER_RE.search(paragraph)
        if match and (L.is_doc_number_line(paragraph) or L.is_title_line(paragraph)):
            return re.sub(r"\s+", "", match.group(0))
    return ""


def _issue_date(front: list[str]) -> dt.date | None:
    for paragraph in front:
        if L.is_date_line(paragraph):
            match = L.DATE_RE.search(paragraph)
            if match:
                try:
                    return dt.date(*(int(g) for g in match.groups()))
                except ValueError:
                    continue
    return None


def _notice_title(front: list[str]) -> str:
    for paragraph in front:
        if L.is_title_line(paragraph):
            return paragraph
    return ""


def _title(front: list[str], paragraphs: list[str]) -> str:
    notice = _notice_title(front)
    inner = re.search(r"关于印发《(.+?)》", notice) or re.search(r"关于印发(.+?)的通知$", notice)
    if inner:
        return inner.group(1)
    for paragraph in front:
        if L.PLAN_TITLE_RE.match(paragraph):
            return paragraph
    if notice:
        return notice
    return next((p for p in paragraphs if len(p) <= 60), "")[:200]


def _issuing_body(front: list[str]) -> str:
    notice = _notice_title(front)
    issuer = re.match(r"^(.+?)关于", notice)
    if issuer and _ISSUER_SUFFIX_RE.search(issuer.group(1)):
        return issuer.group(1)
    for index, paragraph in enumerate(front):
        if L.is_date_line(paragraph) and index > 0:
            signature = front[index - 1]
            if len(signature) <= 40 and _ISSUER_SUFFIX_RE.search(signature):
                return signature
    return issuer.group(1) if issuer else ""


def _region(front: list[str], paragraphs: list[str]) -> str:
    candidates = [_title(front, paragraphs), _issuing_body(front)]
    best = ""
    for candidate in candidates:
        # "中共苏州市委 苏州市人民政府": the government's part names the region
        for part in candidate.split(" "):
            if part.startswith("中共"):
                continue  # the Party committee; the government's name carries the region
            head = _REGION_STOP_RE.split(part)[0]
            match = _REGION_RE.match(head)
            if match and len(match.group(1)) > len(best):
                best = match.group(1)
    return best


def _plan_year(front: list[str]) -> int | None:
    """The year of an annual plan, from its title lines (the front matter before any heading)."""
    for paragraph in front[:8]:
        match = _ANNUAL_YEAR_RE.search(paragraph)
        if match:
            return int(match.group(1))
    return None
