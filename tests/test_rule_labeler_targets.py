"""The rule labeler reads every target form of the seeds, and no number that is not a target."""

from __future__ import annotations

import pytest

from reviewapp.labeling.base import ClauseInput
from reviewapp.labeling.rules import RuleLabeler, extract_targets


def _one(text: str):  # type: ignore[no-untyped-def]
    targets = extract_targets(text)
    assert len(targets) == 1, targets
    return targets[0]


def test_at_least_ten_percent_by_2025() -> None:
    t = _one("到2025年,新能源和可再生能源耦合供热面积占比达到10%以上。")
    assert (t.value, t.unit, t.comparator, t.change, t.deadline_year) == (
        10,
        "%",
        ">=",
        "level",
        2025,
    )
    assert t.indicator == "新能源和可再生能源耦合供热面积占比"


def test_about_twelve_and_a_half_percent_by_2030() -> None:
    t = _one("到2030年,新能源和可再生能源耦合供热面积占比达到12.5%左右。")
    assert (t.value, t.comparator, t.deadline_year) == (12.5, "~", 2030)


def test_a_decrease_against_a_baseline_year() -> None:
    t = _one("到2025年，单位地区生产总值能耗比2020年下降14%。")
    assert (t.value, t.unit, t.comparator, t.change, t.baseline_year, t.deadline_year) == (
        14, "%", "=", "decrease", 2020, 2025,
    )  # fmt: skip
    assert t.indicator == "单位地区生产总值能耗"


def test_a_list_of_values_is_four_targets_with_their_own_indicators() -> None:
    text = "到2025年,实现单位建筑面积能耗、人均能耗、人均水耗、单位建筑面积碳排放分别较2020年降低5%、6%、7%和7%。"
    targets = extract_targets(text)
    assert [(t.indicator, t.value) for t in targets] == [
        ("单位建筑面积能耗", 5), ("人均能耗", 6), ("人均水耗", 7), ("单位建筑面积碳排放", 7),
    ]  # fmt: skip
    assert {(t.change, t.baseline_year, t.deadline_year) for t in targets} == {
        ("decrease", 2020, 2025)
    }
    assert all(t.quote.endswith("降低5%、6%、7%和7%") for t in targets)


def test_a_bare_ratio_at_most() -> None:
    t = extract_targets("新建数据中心能源利用效率(PUE)不高于1.3,加快既有数据中心升级改造。")[0]
    assert (t.value, t.unit, t.comparator) == (1.3, "", "<=")


def test_doubling_is_two_times_against_the_baseline() -> None:
    t = _one("到2030年,区域数字经济增加值较2020年翻一番。")
    assert (t.value, t.unit, t.change, t.baseline_year, t.deadline_year) == (
        2,
        "倍",
        "increase",
        2020,
        2030,
    )


def test_ten_thousand_kilowatts_in_the_fourteenth_five_year_plan() -> None:
    t = _one("“十四五”期间全区力争新增光伏装机容量2.9万千瓦。")
    assert (t.value, t.unit, t.deadline_year) == (2.9, "万千瓦", 2025)


def test_a_count_of_charging_posts() -> None:
    t = extract_targets("“十四五”期间,新建公共和专用充电标准桩1800个,建设出租车示范站不少于2个。")[
        0
    ]
    assert (t.value, t.unit, t.comparator, t.deadline_year) == (1800, "个", "=", 2025)


def test_a_start_year_is_not_a_deadline() -> None:
    t = _one("2022年起新建政府机关、学校、工业厂房等建筑屋顶安装光伏的面积比例不低于50%。")
    assert (t.value, t.comparator, t.start_year, t.deadline_year) == (50, ">=", 2022, None)
    assert t.indicator.startswith("新建政府机关")


@pytest.mark.parametrize(
    "text",
    [
        "落实《北京市碳达峰实施方案》(见京政发〔2022〕31号)相关要求。",
        "北京市昌平区人民政府2023年10月17日印发。",
        "完成在城市管理部门备案的2000年以前供热小区老旧供热管网更新改造任务。",
        "引导居民优先采购1级能效标识的空调、冰箱、灶具。",
        "编制出台1个《实施意见》、1个《实施方案》。",
    ],
)
def test_numbers_that_are_not_targets_are_ignored(text: str) -> None:
    assert extract_targets(text) == []


def test_a_dated_commitment_without_a_number_has_a_null_value() -> None:
    t = _one("到2030年,城市生活垃圾分类实现全覆盖。")
    assert (t.value, t.deadline_year, t.quote) == (
        None,
        2030,
        "到2030年,城市生活垃圾分类实现全覆盖",
    )


def test_every_quote_is_a_substring_and_the_labels_validate_for_every_seed_clause() -> None:
    from reviewapp.importing.formats import Limits
    from reviewapp.importing.parsing import parse_plan
    from tests.conftest import SEED_FILES

    labeler = RuleLabeler()
    for path in SEED_FILES.values():
        for clause in parse_plan(path.name, path.read_bytes(), Limits()).clauses:
            result = labeler.label(
                ClauseInput(
                    clause.text,
                    clause.heading_path,
                    clause.lead_agencies,
                    clause.responsible_agencies,
                    clause.kind_hint,
                )
            )
            assert result.ok, (path.name, clause.ordinal, result.error)
            for target in result.labels.targets:
                assert target.quote in clause.text


def test_the_rule_labeler_gives_kind_sector_agencies_and_confidences() -> None:
    text = "到2025年,新能源和可再生能源耦合供热面积占比达到10%以上。(主要责任单位:区城市管理委、区发展改革委、相关街镇)"
    result = RuleLabeler().label(
        ClauseInput(text, ["五、实施能源体系绿色低碳发展行动", "(三)推动低碳智慧供热体系建设"])
    )
    labels = result.labels
    assert (labels.kind, labels.sector, labels.deadlines) == ("target", "energy", [2025])
    assert labels.lead_agencies == ["区城市管理委"]
    assert labels.responsible_agencies == ["区城市管理委", "区发展改革委", "相关街镇"]
    assert set(result.confidence) >= {"kind", "sector", "targets", "lead_agencies"}
    assert all(0 <= v <= 1 for v in result.confidence.values())
