"""The offline rule labeler: deterministic labels with no API key.

It never invents a number: every target is cut out of the clause text (its quote is a slice of
it), and the result is validated against the clause by the same schema as the LLM's answers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from reviewapp.importing.responsibility import find_trailing_note
from reviewapp.labeling.base import LABELER_RULES, ClauseInput, LabelResult
from reviewapp.labels.schema import (
    PERIOD_DEADLINES,
    Change,
    ClauseLabels,
    Comparator,
    Kind,
    Sector,
    Target,
    labels_validate,
)

_UNITS = [
    "万千瓦时", "亿千瓦时", "万平方米", "万千瓦", "万吨标准煤", "万吨", "万辆", "万亩", "万元", "亿元",
    "平方米", "千瓦", "公顷", "公里", "个", "家", "项", "座", "辆", "处", "所", "条", "台", "套",
    "人", "倍", "吨", "亩", "%", "％",
]  # fmt: skip
_NUMBER = r"\d+(?:\.\d+)?"
_UNIT_RE = "|".join(re.escape(u) for u in _UNITS)
_VALUE_RE = re.compile(rf"(?<![\d.〔\[第])({_NUMBER})\s*({_UNIT_RE})")
_BARE_RATIO_RE = re.compile(
    rf"(不高于|不超过|不低于|低于|高于|控制在|降至|降低至|达到|小于|大于)\s*({_NUMBER})(?![\d.]|\s*(?:{_UNIT_RE}|年|月|日|号|级))"
)
_DOUBLE_RE = re.compile(r"翻一番|翻两番")
_SENTENCE_END = "。；;！？!?"
_SEGMENT_END = "，,：:；;。！？!?"
_DEADLINE_RE = re.compile(
    r"(?:到|至|在)?\s*(20[2-9]\d)\s*年\s*(?:底|末)?\s*(?:前|以前|之前)?(?!\s*(?:起|以来|月|度|的|以后|\d{1,2}\s*月))"
    r"|[“\"]?(十四五|十五五|十六五)[”\"]?(?:期间|时期|末)?"
)
_START_RE = re.compile(r"(20[0-9]\d)\s*年\s*(?:起|开始)")
_BASELINE_RE = re.compile(r"(?:比|较|相比|相较)\s*(20\d\d)\s*年")
_DECREASE_WORDS = ("下降", "降低", "减少", "削减", "降幅")
_INCREASE_WORDS = ("增长", "提高", "提升", "增加", "增幅")
_COMPARATOR_BEFORE = sorted(
    [(w, Comparator.AT_LEAST) for w in ("不低于", "不少于", "至少", "超过", "高于", "大于")]
    + [(w, Comparator.AT_MOST) for w in ("不高于", "不超过", "低于", "控制在", "小于")]
    + [(w, Comparator.ABOUT) for w in ("约", "大约")],
    key=lambda pair: -len(pair[0]),
)
_TITLE_RE = re.compile(r"《[^》]*》")
_INDICATOR_TRIM_RE = re.compile(
    rf"^(?:[“\"]?(?:十四五|十五五)[”\"]?(?:期间|时期)?|20\d\d年起|(?:到|至)?20\d\d年(?:底|末)?(?:前)?|力争|确保|实现|全区|全市|基本)+|"
    rf"(?:(?:分别)?(?:比|较)20\d\d年)?(?:{'|'.join(_DECREASE_WORDS + _INCREASE_WORDS)})?"
    rf"(?:达到|达|为|至|到|保持在|提升至|提高到|不低于|不少于|至少|超过|不高于|不超过|控制在|约)?$"
)

# sector -> keywords; headings weigh more than the body.
_SECTOR_KEYWORDS: dict[Sector, tuple[str, ...]] = {
    Sector.OVERALL: ("指导思想", "原则", "总体要求", "主要目标", "发展目标", "工作目标", "总体目标"),
    Sector.ENERGY: ("光伏", "可再生能源", "供热", "电网", "电力", "储能", "氢能", "天然气", "煤", "化石能源", "能源结构", "新能源", "热泵", "能源体系", "绿电"),
    Sector.EFFICIENCY: ("节能", "能效", "用能", "能耗", "数据中心", "算力", "新型基础设施", "能源利用效率", "节能降碳"),
    Sector.INDUSTRY: ("产业", "工业", "制造", "绿色工厂", "高耗能", "两高", "服务业", "数字经济", "企业"),
    Sector.BUILDINGS: ("建筑", "住宅", "装配式", "城市更新", "老旧小区", "城乡建设", "建材", "海绵城市", "空间布局", "城区建设"),
    Sector.TRANSPORT: ("交通", "车辆", "充电", "公交", "出行", "物流", "运输", "岸电", "燃油车", "新能源车", "船"),
    Sector.CIRCULAR: ("循环", "垃圾", "回收", "废弃物", "废旧", "包装", "资源化", "塑料", "无废"),
    Sector.TECHNOLOGY: ("科技", "技术", "研发", "创新", "实验室", "人才", "成果转化", "科研"),
    Sector.CARBON_SINK: ("碳汇", "森林", "绿化", "湿地", "生态系统", "林业", "公园", "农业", "农田", "土壤", "固碳"),
    Sector.PUBLIC: ("宣传", "教育", "生活方式", "全民", "公共机构", "消费", "社会责任", "绿色家庭", "节约型机关", "培训"),
    Sector.POLICY: ("统计", "核算", "监测", "财政", "税", "价格", "金融", "碳排放权", "交易", "市场化", "标准", "投融资", "基金", "信用", "政策"),
    Sector.GOVERNANCE: ("组织实施", "组织领导", "统筹协调", "考核", "监督", "评估", "督查", "责任落实", "保障机制", "保障措施", "领导小组"),
    Sector.COOPERATION: ("合作", "交流", "协同发展", "京津冀", "长三角", "一带一路", "国际"),
}  # fmt: skip
_PRINCIPLE_HEADINGS = ("指导思想", "原则", "总体思路")


def rules_version() -> str:
    """Name + hash of this module: a changed rule set is a new version in the accuracy figures."""
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:10]
    return f"rules-{digest}"


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


class RuleLabeler:
    name = LABELER_RULES
    model = ""

    def __init__(self) -> None:
        self.prompt_version = rules_version()

    def label(self, clause: ClauseInput) -> LabelResult:
        labels, confidence = rules_label(clause)
        try:
            validated = labels_validate(labels.model_dump(mode="json"), clause_text=clause.text)
        except ValidationError as exc:  # a rule bug, not the clause's fault: keep it visible
            return LabelResult(
                None, confidence, error=str(exc), raw_output=labels.model_dump_json()
            )
        return LabelResult(validated, confidence, raw_output=validated.model_dump_json())


def rules_label(clause: ClauseInput) -> tuple[ClauseLabels, dict[str, float]]:
    principle = clause.kind_hint == "principle" or any(
        h for h in clause.heading_path[-2:] if any(w in h for w in _PRINCIPLE_HEADINGS)
    )
    targets = extract_targets(clause.text, dated_commitments=not principle)
    sector, secondary, sector_confidence = classify_sector(clause.heading_path, clause.text)
    if targets:
        kind = Kind.TARGET
    elif principle:
        kind = Kind.PRINCIPLE
    else:
        kind = Kind.MEASURE
    lead, responsible = clause.lead_agencies, clause.responsible_agencies
    if not responsible:
        note = find_trailing_note(clause.text)
        if note:
            lead, responsible = note.lead, note.responsible
    labels = ClauseLabels.model_construct(
        kind=kind,
        sector=sector,
        secondary_sectors=secondary,
        targets=targets,
        deadlines=sorted({t.deadline_year for t in targets if t.deadline_year}),
        lead_agencies=list(lead),
        responsible_agencies=list(responsible),
    )
    confidence = {
        "kind": 0.9 if targets or principle else 0.7,
        "sector": sector_confidence,
        "targets": 0.8 if targets else 0.7,
        "deadlines": 0.8 if targets else 0.7,
        "lead_agencies": 0.95 if responsible else 0.6,
        "responsible_agencies": 0.95 if responsible else 0.6,
    }
    return labels, confidence


# --- targets ----------------------------------------------------------------------------------


def extract_targets(text: str, *, dated_commitments: bool = True) -> list[Target]:
    """Every commitment with a value or a deadline, in text order."""
    note = find_trailing_note(text)
    body_end = note.start if note else len(text)
    blocked = [_Span(m.start(), m.end()) for m in _TITLE_RE.finditer(text)]
    targets: list[tuple[int, Target]] = []
    for sentence in _sentences(text, body_end):
        deadlines = [
            (m.start(), m.end(), _deadline_year(m))
            for m in _DEADLINE_RE.finditer(text, sentence.start, sentence.end)
            if not _inside(m.start(), blocked) and not _is_baseline(text, m.start())
        ]
        starts = [
            (m.start(), int(m.group(1)))
            for m in _START_RE.finditer(text, sentence.start, sentence.end)
        ]
        values = _value_mentions(text, sentence, blocked)
        for group in _value_lists(text, values):
            first_start = group[0][0]
            deadline = _nearest_before(deadlines, first_start) or (
                deadlines[0][2] if deadlines else None
            )
            start_year = next((y for pos, y in reversed(starts) if pos < first_start), None)
            for target in _numeric_targets(text, sentence, group, deadline, start_year):
                targets.append((first_start, target))
        if dated_commitments:
            for index, (d_start, d_end, year) in enumerate(deadlines):
                part_end = deadlines[index + 1][0] if index + 1 < len(deadlines) else sentence.end
                if any(d_start <= v[0] < part_end for v in values):
                    continue
                quote = text[d_start:part_end].rstrip(_SEGMENT_END + " ")
                indicator = quote[d_end - d_start :].strip("，,：: ") or quote
                if len(indicator) < 2:
                    continue
                targets.append(
                    (
                        d_start,
                        Target(
                            indicator=indicator[:80], value=None, deadline_year=year, quote=quote
                        ),
                    )
                )
    targets.sort(key=lambda pair: pair[0])
    unique: list[Target] = []
    for _, target in targets:
        if target not in unique:
            unique.append(target)
    return unique


def _sentences(text: str, end: int) -> list[_Span]:
    spans, start = [], 0
    for index in range(end):
        if text[index] in _SENTENCE_END:
            if index > start:
                spans.append(_Span(start, index))
            start = index + 1
    if start < end:
        spans.append(_Span(start, end))
    return spans


def _inside(position: int, spans: list[_Span]) -> bool:
    return any(span.start <= position < span.end for span in spans)


def _is_baseline(text: str, position: int) -> bool:
    return bool(re.search(r"(?:比|较|相比|相较)\s*$", text[max(0, position - 3) : position]))


def _deadline_year(match: re.Match[str]) -> int:
    return int(match.group(1)) if match.group(1) else PERIOD_DEADLINES[match.group(2)]


def _nearest_before(deadlines: list[tuple[int, int, int]], position: int) -> int | None:
    before = [year for start, _, year in deadlines if start < position]
    return before[-1] if before else None


def _value_mentions(
    text: str, sentence: _Span, blocked: list[_Span]
) -> list[tuple[int, int, float, str]]:
    found: list[tuple[int, int, float, str]] = []
    for match in _VALUE_RE.finditer(text, sentence.start, sentence.end):
        after = text[match.end() : match.end() + 2]
        if _inside(match.start(), blocked) or after.startswith(("年", "月", "日", "号", "级")):
            continue
        if match.group(2) in {"个", "家", "项"} and text[match.end() : match.end() + 1] in "《“":
            continue  # 1个《实施意见》: counting documents, not a commitment
        found.append(
            (match.start(1), match.end(), float(match.group(1)), match.group(2).replace("％", "%"))
        )
    for match in _BARE_RATIO_RE.finditer(text, sentence.start, sentence.end):
        if not _inside(match.start(), blocked):
            found.append((match.start(2), match.end(2), float(match.group(2)), ""))
    for match in _DOUBLE_RE.finditer(text, sentence.start, sentence.end):
        found.append((match.start(), match.end(), 2.0 if match.group() == "翻一番" else 4.0, "倍"))
    found.sort()
    return found


def _value_lists(
    text: str, values: list[tuple[int, int, float, str]]
) -> list[list[tuple[int, int, float, str]]]:
    """Group values written as one list (``5%、6%、7%和7%``); other values stand alone."""
    groups: list[list[tuple[int, int, float, str]]] = []
    for value in values:
        if groups:
            previous = groups[-1][-1]
            between = text[previous[1] : value[0]]
            if between in {"、", "和", "及", "，"} and previous[3] == value[3] and between != "，":
                groups[-1].append(value)
                continue
        groups.append([value])
    return groups


def _numeric_targets(
    text: str,
    sentence: _Span,
    group: list[tuple[int, int, float, str]],
    deadline: int | None,
    start_year: int | None,
) -> list[Target]:
    first_start = group[0][0]
    segment_start = _segment_start(text, sentence.start, first_start)
    last_end = group[-1][1]
    suffix = re.match(r"(及以上|以上|以下|以内|左右|上下)", text[last_end : last_end + 3])
    quote_end = last_end + (suffix.end() if suffix else 0)
    lead_in = text[segment_start:first_start]
    comparator = _comparator(lead_in, suffix.group(1) if suffix else "")
    change, baseline = _change(lead_in)
    indicator = _indicator(lead_in) or lead_in.strip() or text[first_start:quote_end]
    indicators = [indicator] * len(group)
    if len(group) > 1 and "分别" in lead_in:
        # 单位建筑面积能耗、人均能耗…分别较2020年降低5%、6%…: one indicator per value, in order.
        names = [n for n in re.split(r"[、和及]", indicator.split("分别")[0]) if n]
        if len(names) == len(group):
            indicators = names
    return [
        Target(
            indicator=name,
            value=value,
            unit=unit,
            comparator=comparator,
            change=change,
            baseline_year=baseline,
            deadline_year=deadline,
            start_year=start_year,
            quote=text[segment_start:quote_end],
        )
        for name, (_, _, value, unit) in zip(indicators, group, strict=True)
    ]


def _segment_start(text: str, floor: int, position: int) -> int:
    """Start of the phrase a value belongs to: after the last comma. A ``、`` right after an
    earlier value ends the phrase too (``下降5%、碳排放下降7%``) unless another value follows it
    (``降低5%、6%、7%和7%``); between names (``能耗、水耗分别…``) it does not."""
    index = position
    while index > floor:
        char = text[index - 1]
        if char in _SEGMENT_END:
            break
        if (
            char == "、"
            and not text[index : index + 1].isdigit()
            and re.search(rf"{_NUMBER}\s*(?:{_UNIT_RE})?$", text[floor : index - 1])
        ):
            break
        index -= 1
    return index


def _indicator(lead_in: str) -> str:
    lead_in = re.sub(rf"{_NUMBER}\s*(?:{_UNIT_RE})?(?:[、和]|$)", "", lead_in)  # earlier list items
    previous = None
    while previous != lead_in:
        previous = lead_in
        lead_in = _INDICATOR_TRIM_RE.sub("", lead_in.strip('，,：: “”"')).strip()
    return lead_in


def _comparator(lead_in: str, suffix: str) -> Comparator:
    if suffix in {"以上", "及以上"}:
        return Comparator.AT_LEAST
    if suffix in {"以下", "以内"}:
        return Comparator.AT_MOST
    if suffix in {"左右", "上下"}:
        return Comparator.ABOUT
    tail = lead_in[-6:]
    # Longest phrase first: 不高于 also ends with 高于.
    for word, comparator in _COMPARATOR_BEFORE:
        if tail.endswith(word):
            return comparator
    return Comparator.EQUAL


def _change(lead_in: str) -> tuple[Change, int | None]:
    baseline_match = _BASELINE_RE.search(lead_in)
    baseline = int(baseline_match.group(1)) if baseline_match else None
    tail = lead_in[baseline_match.end() :] if baseline_match else lead_in[-6:]
    if re.search(r"(?:提升|提高|增长|增加|下降|降低|减少)(?:至|到)", tail):
        return Change.LEVEL, baseline  # 提升至80%: a level to reach
    if any(w in tail for w in _DECREASE_WORDS):
        return Change.DECREASE, baseline
    if any(w in tail for w in _INCREASE_WORDS) or (baseline and "翻" in tail):
        return Change.INCREASE, baseline
    if baseline:
        return Change.INCREASE, baseline  # 较2020年翻一番 and the like
    return Change.LEVEL, None


# --- sector -----------------------------------------------------------------------------------


def classify_sector(heading_path: list[str], text: str) -> tuple[Sector, list[Sector], float]:
    """Primary sector, secondary sectors and a confidence, from headings and keywords."""
    scores: dict[Sector, float] = {}
    for sector, words in _SECTOR_KEYWORDS.items():
        score = 0.0
        for depth, heading in enumerate(heading_path):
            weight = 2.0 + depth  # the nearer the heading, the more it says
            if sector == Sector.OVERALL:
                weight *= 3  # a goals or principles section is about the whole plan
            score += weight * sum(1 for w in words if w in heading)
        score += min(4.0, 0.5 * sum(text.count(w) for w in words))
        scores[sector] = score
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], list(Sector).index(pair[0])))
    primary, top = ranked[0]
    if top == 0:
        return Sector.OVERALL, [], 0.3
    secondary = [s for s, score in ranked[1:3] if score >= max(2.0, 0.6 * top)]
    runner_up = ranked[1][1]
    confidence = round(min(0.95, 0.5 + 0.5 * (top - runner_up) / top), 2)
    return primary, secondary, confidence
