"""The offline rule labeler: deterministic labels with no API key.

It never invents a number: every target is cut out of the clause text (its quote is a slice of
it), and the result is validated against the clause by the same schema as the LLM's answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    agency_occurs_in,
    labels_validate,
)

# Units as written after a number: an optional 万/亿 multiplier, then a measure or a classifier.
# Longest first, so that 万千瓦时 is not read as 万千瓦 and 个百分点 not as 个.
_BASE_UNITS = [
    "吨标准煤", "吨二氧化碳", "千瓦时", "平方公里", "平方米", "立方米", "千瓦", "兆瓦", "吉瓦", "公顷",
    "公里", "千米", "人次", "标准煤", "吨", "亩", "元", "辆", "户", "个", "家", "项", "座", "处", "所",
    "条", "台", "套", "种", "艘", "人", "根", "株", "倍",
]  # fmt: skip
_UNITS = sorted(
    ["个百分点", "百分点", "%", "％"]
    + [prefix + unit for prefix in ("万", "亿") for unit in _BASE_UNITS]
    + _BASE_UNITS
    + ["万", "亿"],
    key=len,
    reverse=True,
)
_NUMBER = r"\d+(?:\.\d+)?"
_UNIT_RE = "|".join(re.escape(u) for u in _UNITS)
_VALUE_RE = re.compile(rf"(?<![\d.〔\[第])({_NUMBER})\s*({_UNIT_RE})")
# A bare ratio (PUE 1.3) only stands alone: before a punctuation mark, a bracket or the text's end.
_BARE_RATIO_RE = re.compile(
    rf"(不高于|不超过|不低于|低于|高于|控制在|降至|降低至|达到|小于|大于)\s*({_NUMBER})"
    r"(?=\s*(?:[，,。；;、）)]|以下|以上|以内|左右|$))"
)
_DOUBLE_RE = re.compile(r"翻一番|翻两番")
_SENTENCE_END = "。；;！？!?\n"
_SEGMENT_END = "，,：:；;。！？!?\n"
_DEADLINE_RE = re.compile(
    r"(?:到|至|在)?\s*(20[2-9]\d)\s*年\s*(?:底|末)?\s*(?:前|以前|之前)?(?!\s*(?:起|以来|月|度|的|以后|\d{1,2}\s*月))"
    r"|[“\"]?(十四五|十五五|十六五)[”\"]?(?:期间|时期|末)?"
)
# A plan period that names a plan (“十四五”可再生能源、海上风电等专项规划) dates nothing.
_PERIOD_NAME_RE = re.compile(
    r"[“\"]?(?:十四五|十五五|十六五)[”\"]?(?!期间|时期|末|内)[^，,。；;：:]{0,20}?(?:规划|计划)"
)
_VALIDITY_BEFORE_RE = re.compile(r"(?:有效期|有效期限|施行期|执行期|实施期)(?:为|限)?\s*$")
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
# What makes a number a commitment when no date goes with it: a goal verb or a comparator in the
# phrase before it (达到50%, 培育50家, 不高于1.3), or a verb of completion right after it
# (100%配备充电设施, 每年10%递增).
_GOAL_BEFORE_RE = re.compile(
    r"达到|达|提高|提升|增长|增加|下降|降低|降至|减少|削减|控制在|不低于|不少于|不超过|不高于|低于|"
    r"高于|至少|超过|保持|稳定在|培育|创建|建成|新建|新增|打造|形成|累计|完成|实现|力争|确保|争取|"
    r"突破|累积|翻|将$|超$"
)
_GOAL_AFTER_RE = re.compile(r"(?:以上|以下|左右)?(?:配备|预留|覆盖|达标|达到|实现|完成|递增|递减)")
# A number that sets the terms of an award or a subsidy (给予最高500万元补贴, 按费用的50%给予补贴,
# 退还60%) is an instrument of the policy, not a result it commits to.
_AWARD_RE = re.compile(
    r"补贴|补助|奖励|资助|奖补|贴息|给予|扶持|配套|退还|退回|最高|最多|上限|封顶"
)
# A measured quantity that qualifies a noun sets a threshold of scope or eligibility, not a
# commitment: 年综合能耗5000吨标准煤以上的企业, 10万平方米(含)以上大型商场, 30万千瓦及以上热电联产
# 机组, 50%以上会员. A commitment ends its phrase there (达到10%以上。 / 360万平方米以上,), or its
# noun is what reaches the goal (40%以上的面积达到…要求). A count is not a threshold: 10座以上加氢站 is
# "ten stations or more", a quantity to build.
_THRESHOLD_AFTER_RE = re.compile(
    r"(?:标准煤|标煤|二氧化碳当量|二氧化碳|当量)?[(（]?含?[)）]?(?:及|或)?(?:以上|以下)"
    r"(?![，,。；;、）)\]】\s]|水平|目标|$)"
)
_AWARD_SENTENCE_RE = re.compile(r"给予|补贴|补助|奖励|资助|奖补")
_COUNT_UNITS = frozenset("个家项座处所条台套种艘辆户株根人")
# Spans, not amounts: 30个工作日, 半径30公里范围内; items of a text: 十个方面25项举措, 以下3个方面.
_NOT_AMOUNT_AFTER_RE = re.compile(
    r"(?:工作日|月|小时|季度|星期|周|范围|方面|举措|措施|部分|章|节|款|条意见|要点|维度|板块|/)"
)
_NOT_AMOUNT_BEFORE_RE = re.compile(r"(?:半径|以下|如下|共计?|包括|第)$")
_MONTH_OR_QUARTER_RE = re.compile(r"\d{1,2}\s*月|[一二三四1-4]\s*季度|年底|年末|上半年|下半年")
# A time limit in a responsibility note: 完成期限：2021年四季度 / 完成时限:2022年2月底前.
_TIME_LIMIT_RE = re.compile(
    r"完成(?:时限|期限|时间)\s*[:：]\s*([^，,。；;）)\]】\n]*?)\s*(?=[，,。；;）)\]】\n]|$)"
)
_NOTE_LABEL_RE = re.compile(r"(?:主要)?(?:责任单位|牵头单位|责任部门|责任处室)\s*[:：]")
_TITLE_RE = re.compile(r"《[^》]*》")
_INDICATOR_TRIM_RE = re.compile(
    rf"^(?:[“\"]?(?:十四五|十五五)[”\"]?(?:期间|时期)?|20\d\d年起|(?:到|至)?20\d\d年(?:底|末)?(?:前)?|力争|确保|实现|全区|全市|基本)+|"
    rf"(?:(?:分别)?(?:比|较)20\d\d年)?(?:{'|'.join(_DECREASE_WORDS + _INCREASE_WORDS)})?"
    rf"(?:达到|达|为|至|到|保持在|提升至|提高到|不低于|不少于|至少|超过|不高于|不超过|控制在|约)?$"
)

# sector -> keywords; headings weigh more than the body.
_SECTOR_KEYWORDS: dict[Sector, tuple[str, ...]] = {
    Sector.OVERALL: ("指导思想", "原则", "总体要求", "主要目标", "发展目标", "工作目标", "总体目标"),
    Sector.ENERGY: ("光伏", "可再生能源", "供热", "电网", "电力", "储能", "氢能", "天然气", "煤", "化石能源", "能源结构", "新能源", "热泵", "能源体系", "绿电", "用能结构", "电气化", "散煤", "风电", "抽水蓄能"),
    Sector.EFFICIENCY: ("节能", "能效", "用能", "能耗", "数据中心", "算力", "新型基础设施", "能源利用效率", "节能降碳"),
    Sector.INDUSTRY: ("产业", "工业", "制造", "绿色工厂", "高耗能", "两高", "服务业", "数字经济", "企业", "钢铁", "有色金属", "石化", "化工", "水泥", "玻璃", "纺织", "造纸", "消费品", "电子", "行业", "供应链"),
    Sector.BUILDINGS: ("建筑", "住宅", "装配式", "城市更新", "老旧小区", "城乡建设", "建材", "海绵城市", "空间布局", "城区建设"),
    Sector.TRANSPORT: ("交通", "车辆", "充电", "公交", "出行", "物流", "运输", "岸电", "燃油车", "新能源车", "船"),
    Sector.CIRCULAR: ("循环", "垃圾", "回收", "废弃物", "废旧", "包装", "资源化", "塑料", "无废", "再制造", "固废", "再生资源", "综合利用"),
    Sector.TECHNOLOGY: ("科技", "技术", "研发", "创新", "实验室", "人才", "成果转化", "科研"),
    Sector.CARBON_SINK: ("碳汇", "森林", "绿化", "湿地", "生态系统", "林业", "公园", "农业", "农田", "土壤", "固碳"),
    Sector.PUBLIC: ("宣传", "教育", "生活方式", "全民", "公共机构", "消费", "社会责任", "绿色家庭", "节约型机关", "培训"),
    Sector.POLICY: ("统计", "核算", "监测", "财政", "税", "价格", "金融", "碳排放权", "交易", "市场化", "标准", "投融资", "基金", "信用", "政策", "法规", "立法", "执法", "环评", "信贷", "贷款", "债券", "保险", "融资", "资金", "清单", "核查"),
    Sector.GOVERNANCE: ("组织实施", "组织领导", "统筹协调", "考核", "监督", "评估", "督查", "责任落实", "保障机制", "保障措施", "领导小组", "规划引领", "规划衔接"),
    Sector.COOPERATION: ("合作", "交流", "协同发展", "京津冀", "长三角", "一带一路", "国际", "粤港澳", "大湾区", "互认", "贸易"),
}  # fmt: skip
_PRINCIPLE_HEADINGS = ("指导思想", "原则", "总体思路")


# The rule labeler's version, stored on every suggestion: accuracy is measured per version.
# Bump it whenever the labels of any clause change (imports, notes and schema included), and only
# then: a reformat is no new labeler. tests/test_rule_labeler_version.py fails when the seeds'
# rule labels change and this does not.
RULES_VERSION = "rules-2"


def rules_version() -> str:
    return RULES_VERSION


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
            validated = labels_validate(
                labels.model_dump(mode="json"), clause_text=clause.text, plan_year=clause.plan_year
            )
        except ValidationError as exc:  # a rule bug, not the clause's fault: keep it visible
            return LabelResult(
                None, confidence, error=str(exc), raw_output=labels.model_dump_json()
            )
        return LabelResult(validated, confidence, raw_output=validated.model_dump_json())


def rules_label(clause: ClauseInput) -> tuple[ClauseLabels, dict[str, float]]:
    principle = clause.kind_hint == "principle" or any(
        h for h in clause.heading_path[-2:] if any(w in h for w in _PRINCIPLE_HEADINGS)
    )
    goal_section = any("目标" in h for h in clause.heading_path[-2:])
    targets = extract_targets(
        clause.text,
        dated_commitments=not principle,
        goal_section=goal_section,
        plan_year=clause.plan_year,
    )
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
    # A name the note parser read across a PDF's spacing or a label (``责任单位：市财政局``) is not in
    # the clause as written; dropping it keeps the rest of the labels instead of failing them all.
    responsible = [a for a in responsible if agency_occurs_in(a, clause.text)]
    lead = [a for a in lead if a in responsible]
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


def extract_targets(
    text: str,
    *,
    dated_commitments: bool = True,
    goal_section: bool = False,
    plan_year: int | None = None,
) -> list[Target]:
    """Every commitment with a value or a deadline, in text order. In a goal section
    (主要目标, 目标要求) every amount the text dates, even from an earlier sentence, is a goal.
    ``plan_year``, an annual plan's year, dates a time limit that names only a month."""
    note = find_trailing_note(text)
    body_end = note.start if note else len(text)
    blocked = [_Span(m.start(), m.end()) for m in _TITLE_RE.finditer(text)]
    blocked += _note_spans(text)
    time_limits = _time_limits(text, body_end, plan_year)
    # A number with no date of its own takes the task's time limit (gold d02: 完成期限 dates the
    # whole sub-task, 13个设区市 included).
    fallback_deadline = time_limits[0][1].deadline_year if time_limits else None
    targets: list[tuple[int, Target]] = [(position, target) for position, target in time_limits]
    carried: int | None = None  # the goal year of the sentences before (到2025年,…。…提高到62.6%)
    for sentence in _sentences(text, body_end):
        deadlines = [
            (m.start(), m.end(), _deadline_year(m))
            for m in _DEADLINE_RE.finditer(text, sentence.start, sentence.end)
            if not _inside(m.start(), blocked)
            and not _is_baseline(text, m.start())
            and not _names_a_plan(text, m.start())
        ]
        starts = [
            (m.start(), int(m.group(1)))
            for m in _START_RE.finditer(text, sentence.start, sentence.end)
            if not _inside(m.start(), blocked)
        ]
        values = _value_mentions(text, sentence, blocked)
        if not deadlines and _AWARD_SENTENCE_RE.search(text, sentence.start, sentence.end):
            # 对…下降200吨标准煤以上…的，给予补贴: the numbers are the terms of the award.
            values = []
        for group in _value_lists(text, values):
            first_start = group[0][0]
            start_year = next((y for pos, y in reversed(starts) if pos < first_start), None)
            deadline = _nearest_before(deadlines, first_start)
            if deadline is None and start_year is None and deadlines:
                deadline = deadlines[0][2]  # the date written after the number, same sentence
            goal = _is_goal_phrase(text, sentence, group) or (goal_section and carried is not None)
            if deadline is None and start_year is None:
                if not goal:
                    continue  # an undated number without a goal verb: a fact, not a commitment
                deadline = carried or fallback_deadline
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
        if starts:
            carried = None  # 2023年起…: what follows is dated from a start, not to a goal year
        if deadlines:
            carried = deadlines[-1][2]
    targets.sort(key=lambda pair: pair[0])
    unique: list[Target] = []
    for _, target in targets:
        if target not in unique:
            unique.append(target)
    return unique


def _note_spans(text: str) -> list[_Span]:
    """Responsibility notes written without brackets (``责任单位：A完成时限：2022年2月底前``):
    their years and numbers are the note's, not the task's."""
    spans = []
    for match in _NOTE_LABEL_RE.finditer(text):
        end = match.end()
        while end < len(text) and text[end] not in "。）)]】\n":
            end += 1
        spans.append(_Span(match.start(), end))
    for match in _TIME_LIMIT_RE.finditer(text):
        spans.append(_Span(match.start(), match.end()))
    return spans


def _time_limits(text: str, body_end: int, plan_year: int | None) -> list[tuple[int, Target]]:
    """A note's time limit with a year (``完成期限：2021年四季度``) is a dated target quoting the
    phrase. One with only a month or a quarter (``完成期限：12月底``) falls in the year of its
    annual plan, where the plan has one; otherwise, and for ``持续推进``, it gives none: the year
    would be a guess."""
    found = []
    task = _task_phrase(text, body_end)
    for match in _TIME_LIMIT_RE.finditer(text):
        year = re.search(r"(20\d\d)\s*年", match.group(1))
        if year:
            deadline = int(year.group(1))
        elif plan_year and _MONTH_OR_QUARTER_RE.search(match.group(1)):
            deadline = plan_year
        else:
            continue
        quote = text[match.start() : match.end(1)]
        found.append(
            (
                match.start(),
                Target(
                    indicator=task or quote,
                    value=None,
                    deadline_year=deadline,
                    quote=quote,
                ),
            )
        )
    return found


def _task_phrase(text: str, body_end: int) -> str:
    """What a time limit is the limit of: the task's first sentence, without its numbering."""
    label = _NOTE_LABEL_RE.search(text, 0, body_end)
    end = label.start() if label else body_end
    first = re.split(r"[。；;\n]", text[:end].strip(), maxsplit=1)[0]
    first = re.sub(r"^\s*(?:[(（]?[一二三四五六七八九十\d]+[)）、.．]\s*)+", "", first)
    return first.strip("，,：: ")[:80]


def _names_a_plan(text: str, position: int) -> bool:
    """“十四五”…专项规划 names a plan; 有效期至2025年 is how long this one is valid."""
    if _VALIDITY_BEFORE_RE.search(text[max(0, position - 8) : position]):
        return True
    return bool(_PERIOD_NAME_RE.match(text, position))


def _is_goal_phrase(text: str, sentence: _Span, group: list[tuple[int, int, float, str]]) -> bool:
    """Whether a number the text gives no date for is still a commitment (see _GOAL_BEFORE_RE)."""
    first_start, last_end = group[0][0], group[-1][1]
    if group[0][3] == "倍":
        return True  # 翻一番 is a goal in itself
    lead_in = text[_segment_start(text, sentence.start, first_start) : first_start]
    if _GOAL_BEFORE_RE.search(lead_in):
        return True
    return bool(_GOAL_AFTER_RE.match(text, last_end))


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
    """The numbers of a sentence that can be commitments: amounts and ratios, less those that
    set an award, a threshold of eligibility, a span of time or a count of the text's items."""
    found: list[tuple[int, int, float, str]] = []
    for match in _VALUE_RE.finditer(text, sentence.start, sentence.end):
        after = text[match.end() : match.end() + 2]
        if _inside(match.start(), blocked) or after.startswith(("年", "月", "日", "号", "级")):
            continue
        if match.group(2) in {"个", "家", "项"} and text[match.end() : match.end() + 1] in "《“":
            continue  # 1个《实施意见》: counting documents, not a commitment
        if not _is_amount(text, sentence, match.start(1), match.end(), match.group(2)):
            continue
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


def _is_amount(text: str, sentence: _Span, start: int, end: int, unit: str) -> bool:
    segment_start = _segment_start(text, sentence.start, start)
    segment_end = end
    while segment_end < sentence.end and text[segment_end] not in _SEGMENT_END:
        segment_end += 1
    if _AWARD_RE.search(text, segment_start, segment_end):
        return False
    if _NOT_AMOUNT_AFTER_RE.match(text, end):
        return False
    threshold = _THRESHOLD_AFTER_RE.match(text, end)
    if threshold and unit[-1] not in _COUNT_UNITS:
        rest = text[threshold.end() : segment_end]
        goal = re.search(r"达到|实现|完成", rest)
        if not goal or re.search(_NUMBER, rest[goal.end() :]):
            return False
    return not _NOT_AMOUNT_BEFORE_RE.search(text[max(segment_start, start - 3) : start])


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


# A value that ends right before a ``、``; looked for in a short window only, because a search
# over the whole sentence at every ``、`` made long enumerations quadratic.
_VALUE_BEFORE_RE = re.compile(rf"{_NUMBER}\s*(?:{_UNIT_RE})?(?:及?以上|以下|左右)?$")
_VALUE_WINDOW = 40


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
            and _VALUE_BEFORE_RE.search(text, max(floor, index - 1 - _VALUE_WINDOW), index - 1)
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
    scores: dict[Sector, float] = dict.fromkeys(_SECTOR_KEYWORDS, 0.0)
    for depth, heading in enumerate(heading_path):
        weight = 2.0 + depth  # the nearer the heading, the more it says
        for sector, words in _keyword_hits(heading).items():
            # a goals or principles section is about the whole plan
            scores[sector] += weight * (3 if sector == Sector.OVERALL else 1) * len(set(words))
    for sector, words in _keyword_hits(text).items():
        scores[sector] += min(4.0, 0.5 * len(words))
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], list(Sector).index(pair[0])))
    primary, top = ranked[0]
    if top == 0:
        return Sector.OVERALL, [], 0.3
    secondary = [s for s, score in ranked[1:3] if score >= max(2.0, 0.6 * top)]
    runner_up = ranked[1][1]
    confidence = round(min(0.95, 0.5 + 0.5 * (top - runner_up) / top), 2)
    return primary, secondary, confidence


_KEYWORD_SECTOR = {word: sector for sector, words in _SECTOR_KEYWORDS.items() for word in words}
# Longest keyword first, matched without overlap: 用能结构 is energy, not also 用能 (efficiency);
# 能源利用效率 is efficiency, not also 能源 words.
_KEYWORD_RE = re.compile(
    "|".join(re.escape(w) for w in sorted(_KEYWORD_SECTOR, key=len, reverse=True))
)


def _keyword_hits(text: str) -> dict[Sector, list[str]]:
    hits: dict[Sector, list[str]] = {}
    for match in _KEYWORD_RE.finditer(text):
        hits.setdefault(_KEYWORD_SECTOR[match.group()], []).append(match.group())
    return hits
