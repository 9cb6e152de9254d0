"""Responsibility notes: the "who does it" that ends a task paragraph (label-schema.md, "Labels of
a clause" and "Responsibility notes in real plans").

A note is read from its grammar, never from names seen in one plan:

- units are separated by ``、`` inside a comma-group and groups by ``,`` ``，`` ``;`` ``；``;
- a group ending in ``牵头`` names the leads; other verbs (``负责``, ``配合``, ``按职责分工负责``,
  ``具体落实``) and ``等``/``等部门``/``等单位`` only close a group and are dropped;
- a label (``责任单位:``, ``主要责任单位:``, ``牵头单位:``, ``配合单位:``, ``责任部门:``,
  ``责任处室:``) opens a group; ``完成时限:``/``完成期限:`` opens the time limit, which is not a unit;
- with no ``牵头`` the first unit leads, or, under a stated convention (``排在第一为牵头单位``),
  the first unit of each ``；``-part;
- a piece that is only a place or a level (``市、区机管局``, ``广州、深圳市政府``) shares the organ
  name of the piece that follows it.

Brackets are matched as one family, because PDF extracts mix widths (``（责任单位：…)``) and names
nest brackets (``未来科学城管委会（生命科学园管委会）``, ``各县级市〔区〕``). Spaces inside a note
are layout (``责 任 单 位：市 交 通 运 输 局``): the grammar is matched on the text without them.

Each note gives two readings of its names:

- ``lead``/``responsible``: the spec's names: a shared-suffix run expanded (``各市、州、县人民政府``
  → ``各市人民政府``, ``各州人民政府``, ``各县人民政府``), ``（）`` and ``〔〕`` unified to ``()``.
  Layout spaces inside a name are kept as the text has them (``市 交 通 运 输 局``): the schema
  looks each name up in the clause text (AGENCY_NOT_IN_CLAUSE), and every comparison of names
  (normalize_agency_name, the accuracy measure) ignores whitespace anyway.
- ``lead_as_written``/``responsible_as_written``: every name a slice of the paragraph (only
  ``（）`` unified, as the schema does), a shared-suffix run kept whole: names that always pass the
  schema's check, for a caller that must not lose a name the spec's form would not find.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from reviewapp.text import unify_brackets

OPENERS = "(（[【〔"
CLOSERS = ")）]】〕"
_TRAILING_PUNCT = "。；;，, \t\n"
_SPACES = " \t\n\r\u3000\u00a0"

# Labels that open a group of units: (主要/具体)责任单位, 牵头单位, 配合单位, 责任部门, 责任处室 …
_LABEL_RE = re.compile(
    r"(?:主要|具体)?(?P<role>责任|牵头|配合|协办|参与)(?:单位|部门|处室|科室)[:：]"
)
# Labels that open the time limit of the task: not a unit.
_TIME_LABEL_RE = re.compile(r"(?:完成|办结)?(?:时限|期限|时间节点|完成时间)[:：]")
_YEAR_RE = re.compile(r"((?:19|20)\d\d)\s*年")
_SENTENCE_RE = re.compile(r"。")
_GROUP_RE = re.compile(r"[，,；;]")
_PART_RE = re.compile(r"[；;]")
# Units inside a group. ``和`` only before ``各`` (``各有关部门和各县级市〔区〕``), because it is
# part of many names (``区文化和旅游局``).
_UNIT_RE = re.compile(r"、|和(?=各)")
# The words that close a group: a verb, optionally after 等(相关)部门/单位. 牵头 marks the leads.
_LEAD_VERB_RE = re.compile(r"(?:等(?:相关|有关)?(?:部门|单位)?)?牵头(?:负责|实施|推进)?$")
_OTHER_VERB_RE = re.compile(
    r"(?:等(?:相关|有关)?(?:部门|单位)?)?"
    r"(?:按照?(?:各自)?职责(?:分工)?(?:负责|落实|推进|实施)?|分工负责|负责落实|具体落实|具体负责|"
    r"共同推进|落实|负责|配合|协助|参与)$"
)
_ETC_RE = re.compile(r"等(?:相关|有关)?(?:部门|单位)?$")
# What a unit's name ends with: tells a bare agency list from an ordinary parenthetical.
_ORGAN_SUFFIX = (
    r"(?:委员会|管委会|委|局|办|厅|部|处|科|中心|政府|办事处|街道|街镇|镇|乡|单位|部门|集团|公司|"
    r"分局|支局|联|社|党校|团区委|团市委|小组|办公室|海关|中支|支行|分行|银行|协会|研究院|院|所|站|队|"
    r"总社|分公司|管理处|园区|科学城|会|段|监会|总局|署|法院|检察院|机关|学校|大学)"
)
_AGENCY_SUFFIX_RE = re.compile(_ORGAN_SUFFIX + r"(?:[(（〔][^()（）〔〕]*[)）〕])?$")
_MAX_AGENCY_LEN = 30
# A collective unit named by a level: ``各县级市〔区〕``, ``各地级以上市``, ``有关县区``.
_COLLECTIVE_UNIT_RE = re.compile(
    r"^(?:各|有关|相关|沿线)+.{0,8}?(?:[省市州县区盟旗镇乡]|地区|地方)(?:[(（〔][^()（）〔〕]*[)）〕])?$"
)
# Words of a remark inside a note rather than units: "以下均需…落实,不再列出", "下同".
_COMMENTARY_RE = re.compile(r"以下|下同|同上|不再列出|均需|注[:：]|为牵头")
# A remark after a name, not part of it: ``市发改委(各部门按职责分工负责、下同)``.
_REMARK_RE = re.compile(r"[(（〔][^()（）〔〕]*(?:负责|下同|配合|牵头|同上)[^()（）〔〕]*[)）〕]")
# A stated convention on who leads: ``排在第一为牵头单位``, ``两省市列首位的为牵头单位``,
# ``排名第一的为牵头部门``, ``第一个单位为牵头单位``.
_CONVENTION_RE = re.compile(
    r"(?:排在?|列|位)(?:在)?(?:第一|首位|首|最前|前面)(?:位|个|名)?(?:的)?(?:单位|部门)?(?:为|是)"
    r"(?:牵头|主要负责|主责)(?:单位|部门)?"
    r"|(?:第一|首个|首位)(?:个)?(?:单位|部门)(?:为|是)牵头(?:单位|部门)?"
)
# A level of government, and the prefix of a collective unit (各市, 有关县).
_LEVELS = "省市州县区盟旗镇乡"
_COLLECTIVE_RE = re.compile(r"^(?:各|有关|相关|全|所属|沿线)+")
_LEVEL_TOKEN_RE = re.compile(rf"^(.*?[{_LEVELS}](?:\([^()]*\))?)(?![{_LEVELS}(])(.+)$")
_BARE_LEVEL_RE = re.compile(rf"^(?:[{_LEVELS}]+|县级市)(?:\([^()]*\))?$")
# A page number a PDF left inside a note (``国家发展改革委、\n17\n科技部``, ``四川―4―省能源局``).
_PAGE_MARK_RE = re.compile(r"[-‐‑‒–—―－]?\d{1,3}[-‐‑‒–—―－]?")
_DASHED_PAGE_MARK_RE = re.compile(r"[-‐‑‒–—―－]\d{1,3}[-‐‑‒–—―－]")
_MAX_PLACE_LEN = 8


@dataclass(frozen=True)
class ResponsibilityNote:
    """A parsed note: where it is in the paragraph, its raw text and the agencies it names."""

    start: int  # offset of the note (its opening bracket or label) within the paragraph
    raw: str  # the note as written, brackets included
    lead: list[str] = field(default_factory=list)  # the spec's names, see the module doc
    responsible: list[str] = field(default_factory=list)
    lead_as_written: list[str] = field(default_factory=list)  # slices of the paragraph
    responsible_as_written: list[str] = field(default_factory=list)
    # ``完成时限:2022年2月底前`` exactly as written in the paragraph (a dated target's quote), its
    # offset in the paragraph (-1 without one) and the year it names, if any.
    time_limit: str = ""
    time_limit_start: int = -1
    time_limit_year: int | None = None
    states_convention: bool = False  # the note itself states who leads (排在第一为牵头单位)


@dataclass
class _Reading:
    """What one note says, before it becomes a ResponsibilityNote."""

    lead: list[str] = field(default_factory=list)
    responsible: list[str] = field(default_factory=list)
    lead_as_written: list[str] = field(default_factory=list)
    responsible_as_written: list[str] = field(default_factory=list)
    time_limit: tuple[int, int] | None = None  # span in the note's inner text
    convention: bool = False


def normalize_agency_name(name: str) -> str:
    """Agency names as written, with full-width and half-width brackets and ``〔〕`` unified to
    ``()`` and layout spaces removed: the form names are compared and counted in."""
    name = unify_brackets(name.strip().strip("。.；;:："))
    return "".join(c for c in name if c not in _SPACES)


def _as_written(name: str) -> str:
    """A name as it occurs in the clause, with only what the schema unifies unified (``（）``)."""
    return name.strip(_SPACES + "。.；;:：").replace("（", "(").replace("）", ")")


def looks_like_agency(name: str) -> bool:
    name = _ETC_RE.sub("", normalize_agency_name(name))
    if ":" in name or "：" in name:
        return False  # a label left in (主办单位:…): not a name
    return 1 < len(name) <= _MAX_AGENCY_LEN and bool(
        _AGENCY_SUFFIX_RE.search(name) or _COLLECTIVE_UNIT_RE.match(name)
    )


def states_lead_convention(text: str) -> bool:
    """Whether ``text`` (a note or a sentence near the top of a plan) states that the first unit
    of a note, or of each ``；``-part of it, leads: ``(排在第一为牵头单位,下同)``,
    ``两省市列首位的为牵头单位``. Such a statement holds for the notes after it."""
    return bool(_CONVENTION_RE.search(_compact(text)[0]))


def find_trailing_note(
    paragraph: str, *, first_of_each_part_leads: bool = False
) -> ResponsibilityNote | None:
    """The responsibility note that ends ``paragraph``, or None if it does not end with one.

    A note is a bracketed group at the end, or a label (``责任单位:``) opening the paragraph's
    last line or sentence (``…。\\n责任单位:市发展改革委\\n完成时限:2022年2月底前``).
    ``first_of_each_part_leads``: a convention stated earlier in the plan (states_lead_convention).
    """
    body = paragraph.rstrip(_TRAILING_PUNCT)
    if not body:
        return None
    if body[-1] in CLOSERS:
        start = matching_opener(body)
        if start is None:
            return None
        inner_start, inner_end = start + 1, len(body) - 1
    else:
        start = _unbracketed_label_start(body)
        if start is None:
            return None
        inner_start, inner_end = start, len(body)
    reading = _read(body[inner_start:inner_end], first_of_each_part_leads)
    if reading is None:
        return None
    time_limit, time_start, year = "", -1, None
    if reading.time_limit is not None:
        time_start = inner_start + reading.time_limit[0]
        time_limit = paragraph[time_start : inner_start + reading.time_limit[1]]
        year_match = _YEAR_RE.search(time_limit)
        year = int(year_match.group(1)) if year_match else None
    return ResponsibilityNote(
        start=start,
        raw=paragraph[start : len(body)],
        lead=reading.lead,
        responsible=reading.responsible,
        lead_as_written=reading.lead_as_written,
        responsible_as_written=reading.responsible_as_written,
        time_limit=time_limit,
        time_limit_start=time_start,
        time_limit_year=year,
        states_convention=reading.convention,
    )


def parse_note(
    inner: str, *, first_of_each_part_leads: bool = False
) -> tuple[list[str], list[str]] | None:
    """(lead, responsible) for the text inside a note's brackets, or None if it is not a note."""
    reading = _read(inner, first_of_each_part_leads)
    if reading is None:
        return None
    return reading.lead, reading.responsible


def parse_note_as_written(
    inner: str, *, first_of_each_part_leads: bool = False
) -> tuple[list[str], list[str]] | None:
    """(lead, responsible) as slices of ``inner`` (see the module doc)."""
    reading = _read(inner, first_of_each_part_leads)
    if reading is None:
        return None
    return reading.lead_as_written, reading.responsible_as_written


# --- reading a note ----------------------------------------------------------------------------


def _compact(text: str) -> tuple[str, list[int]]:
    """``text`` without layout spaces, and for each kept character its offset in ``text``."""
    kept = [(i, c) for i, c in enumerate(text) if c not in _SPACES]
    return "".join(c for _, c in kept), [i for i, _ in kept]


@dataclass
class _Unit:
    written: str  # slice of the note as written
    names: list[str]  # the spec's names (a shared-suffix run gives several)


def _read(inner: str, first_of_each_part_leads: bool) -> _Reading | None:
    compact, where = _compact(inner)

    def written(begin: int, end: int) -> str:
        """The original slice of ``inner`` behind compact[begin:end]."""
        return _as_written(inner[where[begin] : where[end - 1] + 1]) if end > begin else ""

    def on_own_line(begin: int, end: int) -> bool:
        """Whether compact[begin:end] stands on a line of its own in ``inner``."""
        before = inner[: where[begin]].rstrip(" \t\u3000")
        after = inner[where[end - 1] + 1 :].lstrip(" \t\u3000")
        return (not before or before.endswith("\n")) and after.startswith("\n")

    reading = _Reading(convention=bool(_CONVENTION_RE.search(compact)))
    first_each_part = first_of_each_part_leads or reading.convention
    # The time limit (``完成时限:…``) runs to the end of the note; a line break may be all that
    # separates it from the last unit (``责任单位:市经信局\n完成时限:…``), so it is found first.
    time_label = _time_label(compact)
    units_end = len(compact)
    if time_label is not None:
        units_end = time_label
        limit = compact[time_label:].rstrip("。；;，,")
        reading.time_limit = (where[time_label], where[time_label + len(limit) - 1] + 1)
    labelled = False
    leads: list[_Unit] = []
    units: list[_Unit] = []
    pending: list[_Unit] = []  # units since the last verb: the next verb closes them all
    part_firsts: list[_Unit] = []
    all_agencies = True
    # A note may go on with sentences of its own: "…负责。各县级市〔区〕人民政府负责落实。以下均需…".
    for s_index, (s_begin, s_end) in enumerate(_spans(compact, 0, units_end, _SENTENCE_RE)):
        for p_begin, p_end in _spans(compact, s_begin, s_end, _PART_RE):
            part_first: _Unit | None = None
            for g_begin, g_end in _spans(compact, p_begin, p_end, _GROUP_RE):
                group = compact[g_begin:g_end]
                if not group or _COMMENTARY_RE.search(_REMARK_RE.sub("", group)):
                    continue
                label = _LABEL_RE.match(group)
                role = label.group("role") if label else ""
                if label:
                    labelled = True
                    g_begin += label.end()
                    group = compact[g_begin:g_end]
                lead_verb = _LEAD_VERB_RE.search(group)
                other_verb = None if lead_verb else _OTHER_VERB_RE.search(group)
                verb = lead_verb or other_verb
                end = g_begin + (verb.start() if verb else len(group))
                group_units = _units(compact, g_begin, end, written, on_own_line)
                if not group_units:
                    continue
                agencies = all(looks_like_agency(n) for u in group_units for n in u.names)
                if not agencies:
                    if s_index > 0 or (units and not label):
                        continue  # "以下均需…不再列出": commentary, not units
                    all_agencies = all_agencies and bool(label)
                elif s_index > 0 and not verb:
                    continue
                pending.extend(group_units)
                if lead_verb or role == "牵头":
                    leads.extend(pending)
                if verb or label:
                    pending = []
                units.extend(group_units)
                if part_first is None:
                    part_first = group_units[0]
            if part_first is not None:
                part_firsts.append(part_first)
    if not units:
        # a labelled note may give only its time limit (责任单位 empty in a table row)
        return reading if labelled and reading.time_limit else None
    if not (labelled or leads or all_agencies):
        return None
    return _finish(reading, leads, units, part_firsts, first_each_part)


def _time_label(compact: str) -> int | None:
    """Where the time-limit label (``完成时限:``) starts in a note, if it has one."""
    match = _TIME_LABEL_RE.search(compact)
    return match.start() if match else None


def _finish(
    reading: _Reading,
    leads: list[_Unit],
    units: list[_Unit],
    part_firsts: list[_Unit],
    first_each_part: bool,
) -> _Reading:
    chosen = leads or (part_firsts if first_each_part and part_firsts else units[:1])
    for unit in chosen:
        _extend_unique(reading.lead_as_written, [unit.written])
        # the first unit leads; when it is a shared-suffix run, its first expansion does
        _extend_unique(reading.lead, unit.names if leads else unit.names[:1])
    for unit in units:
        _extend_unique(reading.responsible_as_written, [unit.written])
        _extend_unique(reading.responsible, unit.names)
    return reading


def _units(
    compact: str,
    begin: int,
    end: int,
    written: Callable[[int, int], str],
    on_own_line: Callable[[int, int], bool],
) -> list[_Unit]:
    """The units of one comma-group compact[begin:end], shared-suffix runs joined into one."""
    pieces: list[tuple[int, int, str]] = []
    for u_begin, u_end in _spans(compact, begin, end, _UNIT_RE):
        mark = _PAGE_MARK_RE.match(compact, u_begin, u_end)
        if mark and mark.end() < u_end and on_own_line(u_begin, mark.end()):
            u_begin = mark.end()  # a page number on a line of its own, not part of the name
        text = compact[u_begin:u_end]
        remark = _REMARK_RE.search(text)
        if remark:
            text = text[: remark.start()]  # remarks trail the name they qualify
        # only ever cut from the end, so that the name stays a slice of the note as written
        text = _ETC_RE.sub("", _OTHER_VERB_RE.sub("", text))
        if text:
            name = normalize_agency_name(_DASHED_PAGE_MARK_RE.sub("", text))
            pieces.append((u_begin, u_begin + len(text), name))
    units: list[_Unit] = []
    run: list[tuple[int, int, str]] = []
    for index, piece in enumerate(pieces):
        run.append(piece)
        if _is_place_only(piece[2]) and index < len(pieces) - 1:
            continue  # may share the organ name of a later piece
        expanded = _expand_shared_suffix([p[2] for p in run]) if len(run) > 1 else None
        if expanded is None:
            units.extend(_Unit(written(b, e), [_spec_name(written(b, e))]) for b, e, _ in run)
        else:
            units.append(_Unit(written(run[0][0], run[-1][1]), expanded))
        run = []
    return [u for u in units if u.written]


def _spec_name(written: str) -> str:
    """A name as written, with ``〔〕`` unified to ``()`` and a page number (``―4―``) dropped."""
    return _DASHED_PAGE_MARK_RE.sub("", written).replace("〔", "(").replace("〕", ")")


def _is_place_only(name: str) -> bool:
    """A piece with no organ in it: a level (``市``, ``县(区)``) or a short place (``广州``)."""
    return len(name) <= _MAX_PLACE_LEN and not _AGENCY_SUFFIX_RE.search(name)


def _ends_with_level(place: str) -> bool:
    """``武昌区``, ``彭州市``, ``恩施州`` end with their level; ``广州``, ``杭州`` (a two-character
    name ending in 州) are city names with the level left off."""
    return place[-1] in _LEVELS and not (place[-1] == "州" and len(place) == 2)


def _expand_shared_suffix(names: list[str]) -> list[str] | None:
    """``[市, 区机管局]`` → ``[市机管局, 区机管局]``; ``[各市, 州, 县人民政府]`` →
    ``[各市人民政府, 各州人民政府, 各县人民政府]``; ``[广州, 深圳市政府]`` → ``[广州市政府,
    深圳市政府]``. None when the last piece has no organ these pieces could share, or when the
    pieces are not of its kind (``各县区`` before ``辽源高新区管委会`` is a unit of its own)."""
    last = names[-1]
    prefix_match = _COLLECTIVE_RE.match(names[0])
    prefix = prefix_match.group(0) if prefix_match else ""
    last_prefix_match = _COLLECTIVE_RE.match(last)
    last_prefix = last_prefix_match.group(0) if last_prefix_match else prefix
    last_core = last[len(last_prefix_match.group(0)) if last_prefix_match else 0 :]
    token = _LEVEL_TOKEN_RE.match(last_core)
    if not token or not _AGENCY_SUFFIX_RE.search(last):
        return None
    place, organ = token.group(1), token.group(2)
    bare_last = bool(_BARE_LEVEL_RE.match(place))
    expanded: list[str] = []
    for index, name in enumerate(names[:-1]):
        own = _COLLECTIVE_RE.match(name)
        core = name[len(own.group(0)) :] if own else name
        piece_prefix = own.group(0) if own else (prefix if index else "")
        if not core:
            return None
        if bare_last:
            if not _BARE_LEVEL_RE.match(core):
                return None
            expanded.append(piece_prefix + core + organ)
        elif _BARE_LEVEL_RE.match(core) or (core[-1] in _LEVELS and len(core) == 1):
            return None  # a level before a named place: not one run
        elif _ends_with_level(core):
            expanded.append(piece_prefix + core + organ)  # 武昌区、江夏区人民政府
        else:
            expanded.append(piece_prefix + core + place[-1] + organ)  # 广州、深圳市政府
    expanded.append((last_prefix if bare_last else "") + last_core)
    return [normalize_agency_name(n) for n in expanded]


def _spans(text: str, begin: int, end: int, separator: re.Pattern[str]) -> list[tuple[int, int]]:
    """Spans of text[begin:end] split on ``separator`` except inside brackets (``各县级市〔区〕``)."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = position = begin
    while position < end:
        char = text[position]
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth = max(0, depth - 1)
        elif depth == 0:
            match = separator.match(text, position, end)
            if match and match.end() > position:
                spans.append((start, position))
                start = position = match.end()
                continue
        position += 1
    spans.append((start, end))
    return spans


def _unbracketed_label_start(body: str) -> int | None:
    """Where an unbracketed label note (``责任单位:…``) starts: a label that opens the paragraph,
    a line, or a sentence, with no sentence end after it."""
    compact, where = _compact(body)
    for label in reversed(list(_LABEL_RE.finditer(compact))):
        if "。" in compact[label.end() :]:
            return None
        offset = where[label.start()]
        before = body[:offset].rstrip(" \t\u3000")
        if not before or before[-1] in "。；;！？!?\n":
            return offset
    return None


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


def bracket_pairs(text: str) -> dict[int, int]:
    """Every opening bracket's closing bracket (one family of brackets), in one pass."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for index, char in enumerate(text):
        if char in OPENERS:
            stack.append(index)
        elif char in CLOSERS and stack:
            pairs[stack.pop()] = index
    return pairs
