"""Responsibility notes: the bracketed "who does it" that ends a task paragraph.

The seeds use every one of these forms (label-schema.md, "lead_agencies"):

- ``(主要责任单位:A、B、C)`` / ``（责任单位：A、B）`` / ``[责任单位：A、B（C）]``: lead = first unit;
- ``(A、B牵头,C、D等部门按职责分工负责)``: lead = the units before 牵头;
- a bare ``(A、B、C)`` agency list ending a paragraph: lead = first unit.

Brackets are matched as one family, because PDF extracts mix widths (``（责任单位：…)``) and names
nest brackets (``未来科学城管委会（生命科学园管委会）``, ``各县级市〔区〕``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OPENERS = "(（[【〔"
CLOSERS = ")）]】〕"
_TRAILING_PUNCT = "。；;，, \t"

_LABEL_RE = re.compile(r"^(?:主要)?(?:责任单位|牵头单位|责任部门)\s*[:：]\s*")
_SENTENCE_RE = re.compile(r"。")
# Comma-groups: ``A、B牵头`` , ``C、D等部门按职责分工负责``. 牵头 applies to its whole group.
_GROUP_RE = re.compile(r"[，,；;]")
# Units inside a group. ``和`` only before ``各`` (``各有关部门和各县级市〔区〕``), because it is
# part of many names (``区文化和旅游局``).
_UNIT_RE = re.compile(r"、|和(?=各)")
_GENERIC_TAIL_RE = re.compile(
    r"(?:等(?:相关|有关)?(?:部门|单位))?(?:按职责分工负责|按职责负责|分工负责|负责落实|负责|配合|参与)$"
)
# What a unit's name ends with. Used to tell a bare agency list from an ordinary parenthetical.
_AGENCY_SUFFIX_RE = re.compile(
    r"(?:委员会|管委会|委|局|办|厅|部|处|中心|政府|办事处|街道|街镇|镇|乡|单位|部门|集团|公司|"
    r"分局|支局|联|党校|团区委|团市委|小组|办公室|海关|中支|分行|银行|协会|研究院|院|所|站|队|社|总社|"
    r"分公司|管理处|园区|科学城)(?:[(（][^()（）]*[)）])?$"
)
_MAX_AGENCY_LEN = 30
# A remark after a name, not part of it: ``市发改委(各部门按职责分工负责、下同)``.
_REMARK_RE = re.compile(r"[(（][^()（）]*(?:负责|下同|配合|牵头|同上)[^()（）]*[)）]")


@dataclass(frozen=True)
class ResponsibilityNote:
    """A parsed note: where it is in the paragraph, its raw text and the agencies it names."""

    start: int  # offset of the opening bracket within the paragraph
    raw: str  # the note as written, brackets included
    lead: list[str] = field(default_factory=list)
    responsible: list[str] = field(default_factory=list)


def normalize_agency_name(name: str) -> str:
    """Agency names as written, with full-width and half-width brackets unified (half-width)."""
    name = name.strip().strip("。.；;:：")
    return name.replace("（", "(").replace("）", ")").replace(" ", "").replace("\u3000", "")


def looks_like_agency(name: str) -> bool:
    name = normalize_agency_name(name)
    return 1 < len(name) <= _MAX_AGENCY_LEN and bool(_AGENCY_SUFFIX_RE.search(name))


def find_trailing_note(paragraph: str) -> ResponsibilityNote | None:
    """The responsibility note that ends ``paragraph``, or None if it does not end with one."""
    body = paragraph.rstrip(_TRAILING_PUNCT)
    if not body or body[-1] not in CLOSERS:
        return None
    start = matching_opener(body)
    if start is None:
        return None
    inner = body[start + 1 : -1].strip()
    parsed = parse_note(inner)
    if parsed is None:
        return None
    lead, responsible = parsed
    return ResponsibilityNote(
        start=start, raw=paragraph[start : len(body)], lead=lead, responsible=responsible
    )


def parse_note(inner: str) -> tuple[list[str], list[str]] | None:
    """(lead, responsible) for the text inside a note's brackets, or None if it is not a note."""
    labelled = _LABEL_RE.match(inner)
    text = inner[labelled.end() :] if labelled else inner
    # A note may go on with sentences of its own: "…负责。各县级市〔区〕人民政府负责落实。以下均需…不再列出".
    sentences = [s.strip() for s in _split_outside_brackets(text, _SENTENCE_RE) if s.strip()]
    if not sentences:
        return None
    lead: list[str] = []
    responsible: list[str] = []
    for index, sentence in enumerate(sentences):
        if index > 0 and not _GENERIC_TAIL_RE.search(sentence):
            continue  # "以下均需…不再列出" and the like: commentary, not units
        for group in _split_outside_brackets(sentence, _GROUP_RE):
            group = group.strip()
            is_lead = group.endswith("牵头")
            names = _unit_names(group[:-2] if is_lead else group)
            if is_lead:
                _extend_unique(lead, names)
            _extend_unique(responsible, names)
    if not responsible:
        return None
    is_note = bool(labelled) or bool(lead) or all(looks_like_agency(n) for n in responsible)
    if not is_note:
        return None
    return (lead or [responsible[0]]), responsible


def _unit_names(group: str) -> list[str]:
    """Agency names in one comma-group such as ``市生态环境局、市行政审批局等部门按职责分工负责``."""
    names = []
    for part in _split_outside_brackets(group, _UNIT_RE):
        core = _REMARK_RE.sub("", part.strip())
        core = _GENERIC_TAIL_RE.sub("", core).strip()
        core = re.sub(r"等(?:相关|有关)?(?:部门|单位)$", "", core)
        name = normalize_agency_name(core)
        if name:
            names.append(name)
    return names


def _split_outside_brackets(text: str, separator: re.Pattern[str]) -> list[str]:
    """Split ``text`` on ``separator`` except inside brackets (``各县级市〔区〕``, ``A（B、C）``)."""
    parts: list[str] = []
    depth = 0
    begin = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth = max(0, depth - 1)
        elif depth == 0:
            match = separator.match(text, position)
            if match and match.end() > position:
                parts.append(text[begin:position])
                begin = position = match.end()
                continue
        position += 1
    parts.append(text[begin:])
    return parts


def _extend_unique(target: list[str], names: list[str]) -> None:
    for name in names:
        if name and name not in target:
            target.append(name)


def matching_opener(body: str) -> int | None:
    depth = 0
    for index in range(len(body) - 1, -1, -1):
        char = body[index]
        if char in CLOSERS:
            depth += 1
        elif char in OPENERS:
            depth -= 1
            if depth == 0:
                return index
    return None
