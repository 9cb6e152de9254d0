"""Responsibility notes in every form the seeds use, parsed into lead and responsible agencies."""

from __future__ import annotations

import pytest

from reviewapp.importing.responsibility import find_trailing_note

CASES = [
    (
        "……占比达到12.5%左右。(主要责任单位:区城市管理委、区发展改革委、相关街镇)",
        ["区城市管理委"],
        ["区城市管理委", "区发展改革委", "相关街镇"],
    ),
    (
        "……。(市发改委、市工信局牵头,市生态环境局、市行政审批局等部门按职责分工负责)",
        ["市发改委", "市工信局"],
        ["市发改委", "市工信局", "市生态环境局", "市行政审批局"],
    ),
    (
        "……。[责任单位：区城市管理委、未来科学城管委会（生命科学园管委会）、区农业农村局]",
        ["区城市管理委"],
        ["区城市管理委", "未来科学城管委会(生命科学园管委会)", "区农业农村局"],
    ),
    (
        "……。（责任单位：区发展改革委、区农服中心)",  # mixed bracket widths from a PDF
        ["区发展改革委"],
        ["区发展改革委", "区农服中心"],
    ),
    (
        "……。(区发展改革委,区商务局、区住房建设委,各街道办事处)",  # bare list
        ["区发展改革委"],
        ["区发展改革委", "区商务局", "区住房建设委", "各街道办事处"],
    ),
    (
        "……。(区机关事务服务中心牵头,各相关部门配合)",
        ["区机关事务服务中心"],
        ["区机关事务服务中心", "各相关部门"],
    ),
    (
        "……。(市碳达峰碳中和工作领导小组办公室牵头,各有关部门和各县级市〔区〕负责落实)",
        ["市碳达峰碳中和工作领导小组办公室"],
        ["市碳达峰碳中和工作领导小组办公室", "各有关部门", "各县级市(区)"],
    ),
    (
        "……。(市发改委牵头,市有关部门按职责分工负责。各县级市〔区〕人民政府负责落实。以下均需各县级市〔区〕人民政府落实,不再列出)",
        ["市发改委"],
        ["市发改委", "市有关部门", "各县级市(区)人民政府"],
    ),
    ("……。(区文化和旅游局、区科技局)", ["区文化和旅游局"], ["区文化和旅游局", "区科技局"]),
]


@pytest.mark.parametrize(("paragraph", "lead", "responsible"), CASES)
def test_a_trailing_note_is_parsed_into_lead_and_responsible_agencies(
    paragraph: str, lead: list[str], responsible: list[str]
) -> None:
    note = find_trailing_note(paragraph)
    assert note is not None
    assert (note.lead, note.responsible) == (lead, responsible)
    assert paragraph[note.start :].startswith(note.raw)


@pytest.mark.parametrize(
    "paragraph",
    [
        "将“双碳”纳入中关村论坛和中国国际服务贸易会(海淀展区)",
        "落实《北京市碳达峰实施方案》(见京政发〔2022〕31号)",
        "力争绿色商场创建率达到50%以上(含)",
        "没有括号的段落。",
    ],
)
def test_an_ordinary_parenthetical_is_not_a_note(paragraph: str) -> None:
    assert find_trailing_note(paragraph) is None
