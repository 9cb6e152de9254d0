"""Responsibility notes as real plans write them (label-schema.md, "Responsibility notes in real
plans"): every form of the spec's table, on snippets cut from real plans."""

from __future__ import annotations

import pytest

from reviewapp.importing.responsibility import (
    find_trailing_note,
    normalize_agency_name,
    parse_note,
    parse_note_as_written,
    states_lead_convention,
)
from reviewapp.labels.schema import normalize_brackets


def _read(paragraph: str, **convention: bool) -> tuple[list[str], list[str]]:
    note = find_trailing_note(paragraph, **convention)
    assert note is not None, paragraph
    assert paragraph[note.start :].startswith(note.raw)
    return note.lead, note.responsible


def test_it_reads_the_units_before_qiantou_as_leads_and_all_units_as_responsible() -> None:
    paragraph = "……。(市发改委、市工信局牵头,市生态环境局、市行政审批局等部门按职责分工负责)"
    assert _read(paragraph) == (
        ["市发改委", "市工信局"],
        ["市发改委", "市工信局", "市生态环境局", "市行政审批局"],
    )


def test_it_reads_a_lead_with_supporting_units_that_peihe() -> None:
    assert _read("……。（省地方金融监管局牵头，人民银行广州分行、广东银保监局配合）") == (
        ["省地方金融监管局"],
        ["省地方金融监管局", "人民银行广州分行", "广东银保监局"],
    )
    assert _read("……。（区发展改革委负责，区财政局配合）") == (
        ["区发展改革委"],
        ["区发展改革委", "区财政局"],
    )


def test_it_reads_every_comma_group_before_qiantou_as_leads() -> None:
    paragraph = (
        "……。（广东银保监局、广东证监局，深圳银保监局、深圳证监局牵头，省地方金融监管局，"
        "人民银行广州分行配合）"
    )
    lead, responsible = _read(paragraph)
    assert lead == ["广东银保监局", "广东证监局", "深圳银保监局", "深圳证监局"]
    assert responsible[4:] == ["省地方金融监管局", "人民银行广州分行"]


@pytest.mark.parametrize(
    ("paragraph", "responsible"),
    [
        (
            "……。（省商务厅、省发展改革委、省市场监管局等按职责分工负责）",
            ["省商务厅", "省发展改革委", "省市场监管局"],
        ),
        (
            "……。（国家发展改革委、工业和信息化部、生态环境部等按职责分工负责）",
            ["国家发展改革委", "工业和信息化部", "生态环境部"],
        ),
        (
            "……。（人民银行银川中心支行、宁夏银保监局、自治区地方金融监管局负责）",
            ["人民银行银川中心支行", "宁夏银保监局", "自治区地方金融监管局"],
        ),
        ("……。（市发改委、各有关单位等按职责分工负责）", ["市发改委", "各有关单位"]),
        ("……。（省委宣传部、各有关单位等按职责分工负责）", ["省委宣传部", "各有关单位"]),
        (
            "……。（人民银行广州分行、广东证监局，省地方金融监管局按职责分工落实）",
            ["人民银行广州分行", "广东证监局", "省地方金融监管局"],
        ),
        ("……。（市工信局、发改委按职责分工）", ["市工信局", "发改委"]),
    ],
)
def test_it_reads_a_note_with_no_lead_verb_as_led_by_its_first_unit(
    paragraph: str, responsible: list[str]
) -> None:
    assert _read(paragraph) == (responsible[:1], responsible)


@pytest.mark.parametrize(
    "paragraph",
    [
        "……。（责任单位：市发改委、市林业局）",
        "……。[责任单位:市发改委、市林业局]",
        "……。（主要责任单位：市发改委、市林业局）",
        "……。（责任部门：市发改委、市林业局）",
        "……。（责任处室：市发改委、市林业局）",
        "……。（市发改委、市林业局）",
    ],
)
def test_it_reads_a_labelled_or_bare_list_as_led_by_its_first_unit(paragraph: str) -> None:
    assert _read(paragraph) == (["市发改委"], ["市发改委", "市林业局"])


def test_it_reads_a_note_that_goes_on_after_its_units_with_a_remark() -> None:
    paragraph = (
        "……。（自治区工业和信息化厅、发展改革委、生态环境厅负责，各地级市人民政府、"
        "宁东管委会具体落实，以下任务不再列出）"
    )
    assert _read(paragraph) == (
        ["自治区工业和信息化厅"],
        ["自治区工业和信息化厅", "发展改革委", "生态环境厅", "各地级市人民政府", "宁东管委会"],
    )


def test_it_keeps_the_bracketed_part_of_a_name_with_its_brackets_unified() -> None:
    paragraph = (
        "……。（自治区交通运输厅〔铁建办〕、发展改革委〔能源局〕、住房城乡建设厅，"
        "广西机场管理集团、中国铁路南宁局集团按职责分工负责）"
    )
    assert _read(paragraph) == (
        ["自治区交通运输厅(铁建办)"],
        [
            "自治区交通运输厅(铁建办)",
            "发展改革委(能源局)",
            "住房城乡建设厅",
            "广西机场管理集团",
            "中国铁路南宁局集团",
        ],
    )


def test_it_keeps_names_written_with_an_implicit_shared_prefix_as_written() -> None:
    responsible = _read("……。（自治区交通运输厅〔铁建办〕、发展改革委、工业和信息化厅）")[1]
    assert responsible[1:] == ["发展改革委", "工业和信息化厅"]


@pytest.mark.parametrize(
    ("paragraph", "responsible"),
    [
        ("……。（市、区机管局）", ["市机管局", "区机管局"]),
        (
            "……。（有关市、县（区）人民政府负责）",
            ["有关市人民政府", "有关县(区)人民政府"],
        ),
        (
            "……。（省地方金融监管局牵头，广州、深圳市政府配合）",
            ["省地方金融监管局", "广州市政府", "深圳市政府"],
        ),
        (
            "……。（责任单位：省经信厅、省发改委，各市、州、县人民政府）",
            ["省经信厅", "省发改委", "各市人民政府", "各州人民政府", "各县人民政府"],
        ),
        (
            "……。（市发改委、彭州市、金堂县政府按职责分工负责）",
            ["市发改委", "彭州市政府", "金堂县政府"],
        ),
    ],
)
def test_a_place_or_level_shares_the_organ_name_that_follows_it(
    paragraph: str, responsible: list[str]
) -> None:
    assert _read(paragraph)[1] == responsible


def test_a_collective_unit_before_a_named_organ_is_a_unit_of_its_own() -> None:
    paragraph = "……。（责任单位：市工业和信息化局、各县区、辽源高新区管委会）"
    assert _read(paragraph)[1] == ["市工业和信息化局", "各县区", "辽源高新区管委会"]


def test_the_as_written_reading_keeps_a_shared_suffix_run_whole_so_it_is_in_the_text() -> None:
    paragraph = "……。（责任单位：省经信厅，各市、州、县人民政府）"
    note = find_trailing_note(paragraph)
    assert note is not None
    assert note.responsible_as_written == ["省经信厅", "各市、州、县人民政府"]
    assert parse_note_as_written("省经信厅，各市、州、县人民政府") == (
        ["省经信厅"],
        ["省经信厅", "各市、州、县人民政府"],
    )


@pytest.mark.parametrize(
    ("paragraph", "responsible", "time_limit", "year"),
    [
        (
            "……。（责任部门：气候处、法规科技处，完成期限：12月底）",
            ["气候处", "法规科技处"],
            "完成期限：12月底",
            None,
        ),
        (
            "鼓励生物天然气开发利用项目建设(责任处室：环评处，完成期限：2021年四季度)。",
            ["环评处"],
            "完成期限：2021年四季度",
            2021,
        ),
        (
            "2．制定能源领域碳达峰专项行动方案。\n责任单位：市发展改革委、市应急局 \n"
            "完成时限：2022 年 2 月底前",
            ["市发展改革委", "市应急局"],
            "完成时限：2022 年 2 月底前",
            2022,
        ),
        (
            "1.研究制定实施意见。责任单位:市发展改革委,完成时限:2022年2月底前",
            ["市发展改革委"],
            "完成时限:2022年2月底前",
            2022,
        ),
    ],
)
def test_a_time_limit_is_not_an_agency_and_is_quoted_as_written(
    paragraph: str, responsible: list[str], time_limit: str, year: int | None
) -> None:
    note = find_trailing_note(paragraph)
    assert note is not None
    assert (note.lead, note.responsible) == (responsible[:1], responsible)
    assert (note.time_limit, note.time_limit_year) == (time_limit, year)
    assert paragraph[note.time_limit_start :].startswith(note.time_limit)


def test_a_note_that_states_the_convention_leads_with_its_first_unit() -> None:
    paragraph = (
        "2．制定能源领域碳达峰专项行动方案。\n责任单位：市发展改革委、市应急局、国家电网达州供电公司"
        "\n（排在第一为牵头单位，下同） \n完成时限：2022 年 2 月底前"
    )
    note = find_trailing_note(paragraph)
    assert note is not None
    assert note.states_convention
    assert note.lead == ["市发展改革委"]
    assert note.responsible == ["市发展改革委", "市应急局", "国家电网达州供电公司"]
    assert note.time_limit_year == 2022


def test_under_a_stated_convention_the_first_unit_of_each_part_leads() -> None:
    assert states_lead_convention("任务分工中，两省市列首位的为牵头单位。")
    assert states_lead_convention("（排在第一为牵头单位，下同）")
    assert not states_lead_convention("牵头单位要加强统筹协调。")
    paragraph = "……。（四川省发展改革委、重庆市发展改革委；四川省能源局、重庆市能源局）"
    assert _read(paragraph)[0] == ["四川省发展改革委"]
    lead, responsible = _read(paragraph, first_of_each_part_leads=True)
    assert lead == ["四川省发展改革委", "四川省能源局"]
    assert len(responsible) == 4
    assert parse_note(
        "四川省发展改革委、重庆市发展改革委；四川省能源局、重庆市能源局",
        first_of_each_part_leads=True,
    ) == (lead, responsible)


def test_a_letter_spaced_note_is_read_and_its_names_are_found_in_the_clause() -> None:
    paragraph = (
        "打造沿三环线、四环线加氢 走 廊。（责 任 单 位：市 交 通 运 输 局、市 发 改 委、"
        "市 经 信局，市公交集团）"
    )
    lead, responsible = _read(paragraph)
    assert [normalize_agency_name(n) for n in responsible] == [
        "市交通运输局",
        "市发改委",
        "市经信局",
        "市公交集团",
    ]
    assert lead == responsible[:1]
    # the schema's AGENCY_NOT_IN_CLAUSE looks each name up in the clause text
    assert all(name in normalize_brackets(paragraph) for name in responsible)


def test_a_page_number_on_its_own_line_inside_a_note_is_not_part_of_a_name() -> None:
    paragraph = "……。（国家发展改革委、\n17\n科技部、工业和信息化部等按职责分工负责）"
    assert _read(paragraph)[1] == ["国家发展改革委", "科技部", "工业和信息化部"]


@pytest.mark.parametrize(
    "paragraph",
    [
        "统计期为1月至当月（含当月）",
        "推进碳达峰碳中和（以下简称“双碳”）",
        "十四五规划（2021—2025年）",
        "印发管理办法（试行）",
        "受专项资金年度总额控制。（申报单位在产业链关键环节提升和公共服务项目同一细分领域最多支持一个项目）",
        "递交纸质材料。（注：网上预审通过后请及时预约到行政服务大厅窗口递交纸质材料）",
    ],
)
def test_a_parenthetical_that_is_not_a_note_is_rejected(paragraph: str) -> None:
    assert find_trailing_note(paragraph) is None
