"""The rule labeler on snippets of real plans: which numbers are commitments and which are not.

Each snippet is cut from one of the real documents of the development corpus (or a seed); the
rule it checks is structural, so that plans the labeler has never seen are read the same way.
"""

from __future__ import annotations

import pytest

from reviewapp.labeling.base import ClauseInput
from reviewapp.labeling.rules import RuleLabeler, classify_sector, extract_targets, rules_label
from reviewapp.labels.schema import Target


def _numbers(text: str, **kwargs: bool) -> list[tuple[float | None, str, int | None]]:
    return [(t.value, t.unit, t.deadline_year) for t in extract_targets(text, **kwargs)]


def _label(text: str, heading_path: list[str] | None = None) -> RuleLabeler:
    result = RuleLabeler().label(ClauseInput(text, heading_path or []))
    assert result.ok, result.error
    return result.labels  # type: ignore[return-value]


# --- numbers that are not commitments --------------------------------------------------------


def test_it_does_not_take_a_subsidy_amount_for_a_target() -> None:
    text = "（二）对获评国家级“能效领跑者”的企业，给予一次性补贴30万元。（责任单位：区发展改革局）"
    labels = _label(text)
    assert labels.targets == []
    assert labels.kind == "measure"


def test_it_does_not_take_an_award_cap_or_a_share_of_the_cost_for_a_target() -> None:
    assert _numbers("按照项目实际投资总额的20%给予项目投资方补助，单个项目补助最高200万元。") == []
    assert _numbers("按实际委托费用的50%给予一次性补贴，最高5万元。") == []
    assert _numbers("（1）未满一年退出正常运行的，退还100%；") == []


def test_it_does_not_take_the_conditions_of_an_award_for_targets() -> None:
    text = (
        "对2025年度较2020年度产值未下降而年综合能源消费总量下降200吨标准煤以上，或2025年度较"
        "2020年度产值增长25%以上、万元产值能耗下降10%以上的，按节能量给予500元/吨标准煤补贴，"
        "补贴最高1000万元。"
    )
    assert _numbers(text) == []


def test_it_does_not_take_a_threshold_of_eligibility_for_a_target() -> None:
    text = (
        "督促年综合能源消费量5000吨标准煤以上或排放1.3万吨二氧化碳当量以上企业开展碳排放报告，"
        "建立全省重点耗能企业碳排放情况数据库。"
    )
    assert _numbers(text) == []
    assert (
        _numbers("（一）对服务于本区新能源产业、50%以上会员为区内注册企业的行业协会进行考核。")
        == []
    )


def test_it_does_not_take_the_scope_of_a_task_for_a_target() -> None:
    text = (
        "推进关停整合苏南地区30万千瓦及以上热电联产机组供热半径30公里范围内（其他地区15公里"
        "范围内）燃煤锅炉和落后燃煤机组。"
    )
    assert _numbers(text) == []


def test_a_threshold_with_an_included_mark_is_not_a_target_but_the_goal_after_it_is() -> None:
    text = "到2025年,建筑面积10万平方米(含)以上的大型商场(商业综合体)中,力争绿色商场创建率达到50%以上。"
    assert _numbers(text) == [(50, "%", 2025)]


def test_a_threshold_whose_noun_reaches_another_number_is_not_a_target() -> None:
    text = (
        "“十四五”和“十五五”期间累计完成既有公共建筑节能改造360万平方米以上,"
        "其中平均节能率15%及以上的建筑面积达到40万平方米。"
    )
    assert _numbers(text) == [(360, "万平方米", 2030), (40, "万平方米", 2030)]


def test_it_does_not_take_a_span_of_working_days_for_a_target() -> None:
    assert _numbers("1.申请单位在活动开始前30个工作日提交活动方案及经费预算进行留存。") == []


def test_it_does_not_take_a_count_of_the_texts_own_items_for_a_target() -> None:
    assert _numbers("方案从以下3个方面提出25项举措，到2025年全面落实。") == [(None, "", 2025)]


def test_it_does_not_take_an_undated_count_without_a_goal_verb_for_a_target() -> None:
    text = "根据国家碳排放权总量设定与重点行业配额分配方案，组织220家电力企业参加全国碳排放权交易。"
    assert _numbers(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "组团参加联合国气候变化框架公约第26届缔约方大会(COP26)，争取在中国角举办江苏专场活动。",
        "配合省发展改革委制定《江苏省2030年前二氧化碳排放达峰方案》。",
        "组织编制江苏省“十四五”应对气候变化专项规划。",
        "配合省发展改革委制定实施“十四五”可再生能源、海上风电、抽水蓄能等专项规划。",
        "本办法自2022年1月1日起施行，有效期至2025年。",
        "联系电话：020-83133333。",
    ],
)
def test_it_does_not_take_titles_plan_names_ordinals_dates_or_phone_numbers_for_targets(
    text: str,
) -> None:
    assert extract_targets(text) == []


# --- commitments it keeps ----------------------------------------------------------------------


def test_a_count_followed_by_its_noun_is_a_quantity_to_reach() -> None:
    assert _numbers("到2025年，推动10座以上加氢站建设。") == [(10, "座", 2025)]
    assert _numbers("到2025年，推动50家规模以上工业企业进行智能化改造。") == [(50, "家", 2025)]


def test_a_share_whose_noun_reaches_a_goal_is_a_target() -> None:
    assert _numbers("到2025年,建成区40%以上的面积达到海绵城市目标要求。") == [(40, "%", 2025)]
    assert _numbers("到2025年80%的区级及以上党政机关达到节约型机关创建要求。") == [(80, "%", 2025)]


def test_a_goal_year_carries_to_the_next_sentences_of_the_clause() -> None:
    text = (
        "到2025年,新建建筑中绿色建筑面积占比达到100%,星级绿色建筑占比达到30%以上;"
        "新建居住建筑五步节能设计标准执行比例达到100%。"
    )
    assert [t[2] for t in _numbers(text)] == [2025, 2025, 2025]


def test_in_a_goal_section_every_dated_amount_is_a_goal() -> None:
    text = (
        "力争到2025年，与碳达峰相适应的绿色金融服务体系基本建立。全省设立绿色专营机构40家，"
        "信用类绿色债券和绿色金融债发行规模较2020年翻两番。绿色保险累积提供风险保障超3000亿元。"
    )
    labels, _ = rules_label(ClauseInput(text, ["一、总体要求", "（三）目标要求"]))
    numeric = [(t.value, t.unit, t.deadline_year) for t in labels.targets if t.value is not None]
    assert numeric == [(40, "家", 2025), (4, "倍", 2025), (3000, "亿元", 2025)]


def test_a_start_year_keeps_a_later_goal_year_off_the_number_before_it() -> None:
    text = (
        "2023年起,新增、更新公务用车中新能源汽车比例不低于30%,并力争逐年提升,2025年,"
        "力争实现国家机关、事业单位配套公共充电桩全覆盖。"
    )
    first = extract_targets(text)[0]
    assert (first.value, first.start_year, first.deadline_year) == (30, 2023, None)


def test_it_reads_ten_thousand_cubic_metres_and_percentage_points() -> None:
    assert _numbers("到2025年森林蓄积量达到180万立方米。") == [(180, "万立方米", 2025)]
    assert _numbers("到2025年，生活污水集中收集率较2020年提高10个百分点。") == [
        (10, "个百分点", 2025)
    ]


def test_the_second_value_of_a_pair_quotes_its_own_phrase() -> None:
    text = "到2025年，全区畜禽粪污资源化利用率达88%以上、农作物秸杆综合利用率达86%以上。"
    assert [t.quote for t in extract_targets(text)] == [
        "全区畜禽粪污资源化利用率达88%以上",
        "农作物秸杆综合利用率达86%以上",
    ]


# --- time limits of responsibility notes --------------------------------------------------------


def test_a_time_limit_with_a_year_is_a_dated_target_quoting_the_phrase() -> None:
    text = "3．制定工业领域碳达峰专项行动方案。责任单位：市经信局完成时限：2022年2月底前"
    labels = _label(text)
    assert labels.kind == "target"
    assert labels.deadlines == [2022]
    (target,) = labels.targets
    assert (target.value, target.deadline_year) == (None, 2022)
    assert target.quote == "完成时限：2022年2月底前"


def test_a_time_limit_in_a_bracketed_note_is_read_too() -> None:
    text = "组织编制2019年省级温室气体排放清单。（责任部门：气候处，完成期限：2021年四季度）"
    labels = _label(text)
    assert [(t.deadline_year, t.quote) for t in labels.targets] == [
        (2021, "完成期限：2021年四季度")
    ]
    assert labels.responsible_agencies == ["气候处"]


def test_a_time_limit_with_a_spaced_year_keeps_the_phrase_as_written() -> None:
    text = "3．制定工业领域碳达峰专项行动方案。责任单位：市经信局完成时限：2022 年 2 月底前"
    (target,) = _label(text).targets
    assert (target.deadline_year, target.quote) == (2022, "完成时限：2022 年 2 月底前")


@pytest.mark.parametrize(
    "text",
    [
        "组织制订《江苏省温室气体排放监测技术指南》。（责任部门：监测处、省环境监测中心，完成期限：12月底）",
        "建立碳排放统计核算制度。责任单位：市统计局完成时限：持续推进",
    ],
)
def test_a_time_limit_without_a_year_gives_no_target(text: str) -> None:
    labels = _label(text)
    assert labels.targets == []
    assert labels.kind == "measure"


def test_a_time_limit_dates_a_number_that_has_no_date_of_its_own() -> None:
    text = (
        "督促企业完成配额履约和清缴工作，力争首个履约年份我省重点企业履约率不低于95%。"
        "（责任部门：气候处，完成期限：2021年12月底）"
    )
    assert _numbers(text) == [(95, "%", 2021), (None, "", 2021)]


# --- sector and validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading_path", "text", "sector"),
    [
        (["（一）调整优化用能结构", "1.调整优化用能结构"], "重点控制化石能源消费，有序推进钢铁、建材等行业燃料替代。", "energy"),
        (["（三）推动重点行业达峰", "3.石化化工"], "增强天然气、乙烷、丙烷等原料供应能力，提高低碳原料比重。合理控制煤制油气产能规模。", "industry"),
        (["（五）强化粤港澳大湾区绿色金融领域合作", "1.强化绿色金融合作发展"], "推动粤港澳大湾区绿色金融标准和服务互认共认。", "cooperation"),
    ],
)  # fmt: skip
def test_the_nearest_heading_and_the_longest_keyword_set_the_sector(
    heading_path: list[str], text: str, sector: str
) -> None:
    assert classify_sector(heading_path, text)[0] == sector


def test_an_agency_the_note_parser_could_not_find_in_the_text_is_dropped_not_fatal() -> None:
    # A PDF that spaces its characters (武汉市 plan): the parser joins the name, the text does not.
    text = "统 筹 中 央、省、市 相 关 资 金。（责任单位：市财 政 局、市发改委）"
    result = RuleLabeler().label(
        ClauseInput(
            text,
            [],
            lead_agencies=["市财政局"],
            responsible_agencies=["市财政局", "市发改委"],
        )
    )
    assert result.ok, result.error
    assert result.labels is not None
    assert (result.labels.lead_agencies, result.labels.responsible_agencies) == ([], ["市发改委"])


def test_every_target_of_these_snippets_quotes_the_clause() -> None:
    text = (
        "到2025年，废钢铁加工准入企业年加工能力超过1.8亿吨，短流程炼钢占比达15%以上。"
        "（国家发展改革委、工业和信息化部等按职责分工负责）"
    )
    targets: list[Target] = extract_targets(text)
    assert [(t.value, t.unit, t.comparator) for t in targets] == [
        (1.8, "亿吨", ">="),
        (15, "%", ">="),
    ]
    assert all(t.quote in text for t in targets)
