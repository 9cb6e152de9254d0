"""Each seed segments into the expected clauses (label-schema.md, "What a clause is")."""

from __future__ import annotations

import pytest

from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import parse_plan
from tests.conftest import SEED_FILES

EXPECTED_COUNTS = {"haidian": 37, "suzhou": 62, "changping": 36, "nankai": 52, "yangpu": 42}

# (ordinal, text start, text end, heading path, lead agencies, responsible agencies)
EXPECTED_CLAUSES = {
    "haidian": [
        (1, "现将《北京市海淀区碳达峰实施", "印发给你们,请认真贯彻执行。", [], [], []),
        (4, "“十四五”期间,绿色技术创新", "数据继续保持在碳达峰平台期。", ["二、发展目标"], [], []),
        (
            17,
            "落实全市供热发展建设规划,推",
            "委、区发展改革委、相关街镇)",
            ["五、实施能源体系绿色低碳发展行动", "(三)推动低碳智慧供热体系建设"],
            ["区城市管理委"],
            ["区城市管理委", "区发展改革委", "相关街镇"],
        ),
        (
            36,
            "将碳达峰、碳中和相关指标与区",
            "(主要责任单位:各相关单位)",
            ["十、组织实施", "(三)严格目标责任管理考核"],
            ["各相关单位"],
            ["各相关单位"],
        ),
    ],
    "suzhou": [
        (
            11,
            "1.强化各类规划低碳发展导向",
            "区〕人民政府落实,不再列出)",
            [
                "二、实施路径和主要任务",
                "(一)加快构建绿色低碳全面发展新机制",
                "1.强化各类规划低碳发展导向",
            ],
            ["市发改委"],
            [
                "市发改委",
                "市有关部门",
                "各县级市(区)人民政府",
            ],  # 〔〕 unified to (), label-schema.md,
        ),
        (
            17,
            "7.建立健全绿色低碳产业体系",
            "监管局等部门按职责分工负责)",
            [
                "二、实施路径和主要任务",
                "(二)着力践行产业绿色低碳转型新路径",
                "7.建立健全绿色低碳产业体系",
            ],
            ["市发改委", "市工信局"],
            ["市发改委", "市工信局", "市科技局", "市生态环境局", "市农业农村局", "市市场监管局"],
        ),
        (
            19,
            "9.加强能耗和碳排放控制。完",
            "统计局等部门按职责分工负责)",
            [
                "二、实施路径和主要任务",
                "(三)积极构建能源结构清洁低碳新格局",
                "9.加强能耗和碳排放控制",
            ],
            ["市工信局", "市发改委", "市生态环境局"],
            ["市工信局", "市发改委", "市生态环境局", "市统计局"],
        ),
        (
            44,
            "重点领域专项实施方案 | 1",
            "峰实施方案 | 市发改委 |",
            ["附件", "碳达峰碳中和政策体系与任务分工"],
            ["市发改委"],
            ["市发改委"],
        ),
        (
            62,
            "注:根据国家和省的部署,不断",
            "部署,不断完善专项方案体系。",
            ["附件", "碳达峰碳中和政策体系与任务分工"],
            [],
            [],
        ),
    ],
    "changping": [
        (
            14,
            "推动绿色金融创新实践。发挥在",
            "管委会（生命科学园管委会）]",
            [
                "三、重点任务",
                "（一）推动经济社会全面绿色转型",
                "3.未来科学城打造综合能源先行示范区",
            ],
            ["区金融办"],
            ["区金融办", "未来科学城管委会(生命科学园管委会)"],
        ),
        (
            24,
            "推动园区开展绿色低碳循环化改",
            "、区园林绿化局、区农服中心)",
            ["三、重点任务", "（三）加快重点领域节能低碳发展", "3.大力推动循环经济发展"],
            ["区发展改革委"],
            [
                "区发展改革委",
                "区城市管理委",
                "区经济信息化局",
                "区生态环境局",
                "区园林绿化局",
                "区农服中心",
            ],
        ),
        (
            31,
            "执行国家和北京市碳排放统计核",
            "学园管委会）、区园林绿化局]",
            ["三、重点任务", "（五）健全政策体系与管理能力", "2.提升统计监测能力"],
            ["区统计局"],
            [
                "区统计局",
                "区市场监管局",
                "区发展改革委",
                "区生态环境局",
                "区经济信息化局",
                "未来科学城管委会(生命科学园管委会)",
                "区园林绿化局",
            ],
        ),
        (
            35,
            "将碳达峰、碳中和相关指标纳入",
            "达峰碳中和工作领导小组报告。",
            ["四、保障机制", "（二）加强监督考核"],
            [],
            [],
        ),
    ],
    "nankai": [
        (1, "现将《天津市南开区碳达峰实施", "案》印发给你们,望遵照执行。", [], [], []),
        (9, "“十四五”期间,产业结构和能", ",为实现碳达峰奠定坚实基础。", ["二、主要目标"], [], []),
        (
            12,
            "1.推动产业结构优化升级。充",
            "、区文化和旅游局、区科技局)",
            ["三、重点任务", "(一)产业绿色转型行动", "1.推动产业结构优化升级"],
            ["区发展改革委"],
            ["区发展改革委", "区商务局", "区文化和旅游局", "区科技局"],
        ),
        (
            41,
            "1.组织开展绿色公共机构试点",
            "务中心牵头,各相关部门配合)",
            ["三、重点任务", "(八)试点有序推动碳达峰行动", "1.组织开展绿色公共机构试点"],
            ["区机关事务服务中心"],
            ["区机关事务服务中心", "各相关部门"],
        ),
    ],
    "yangpu": [
        (
            12,
            "2.因地制宜发展各类可再生能",
            "委、区规划资源局、区滨江办)",
            ["三、重点任务", "(一)绿色能源行动", "2.因地制宜发展各类可再生能源"],
            ["区发展改革委"],
            [
                "区发展改革委",
                "区建设管理委",
                "区住房保障房屋管理局",
                "区商务委",
                "区规划资源局",
                "区滨江办",
            ],
        ),
        (
            35,
            "2.引领公共机构低碳先行示范",
            "、区卫生健康委、江浦路街道)",
            ["三、重点任务", "(八)绿色示范行动", "2.引领公共机构低碳先行示范"],
            ["区机管局"],
            ["区机管局", "区建设管理委", "区教育局", "区卫生健康委", "江浦路街道"],
        ),
        (
            40,
            "严格监督考核。逐步完善能耗双",
            "考核办、各有关部门、各街道)",
            ["四、保障措施"],
            ["区委组织部"],
            ["区委组织部", "区发展改革委", "区考核办", "各有关部门", "各街道"],
        ),
    ],
}


def _parse(seed: str):  # type: ignore[no-untyped-def]
    path = SEED_FILES[seed]
    return parse_plan(path.name, path.read_bytes(), Limits())


@pytest.mark.parametrize("seed", sorted(EXPECTED_COUNTS))
def test_each_seed_has_its_expected_number_of_clauses(seed: str) -> None:
    assert len(_parse(seed).clauses) == EXPECTED_COUNTS[seed]


@pytest.mark.parametrize(
    ("seed", "expected"),
    [(seed, clause) for seed, clauses in EXPECTED_CLAUSES.items() for clause in clauses],
    ids=lambda value: value if isinstance(value, str) else f"clause-{value[0]}",
)
def test_selected_clauses_have_exact_text_headings_and_agencies(seed: str, expected: tuple) -> None:  # type: ignore[type-arg]
    ordinal, start, end, heading_path, lead, responsible = expected
    clause = _parse(seed).clauses[ordinal - 1]
    assert clause.ordinal == ordinal
    assert clause.text.startswith(start)
    assert clause.text.endswith(end)
    assert clause.heading_path == heading_path
    assert clause.lead_agencies == lead
    assert clause.responsible_agencies == responsible


def test_a_note_after_two_paragraphs_makes_them_one_clause() -> None:
    # Changping 2.提升统计监测能力: the first paragraph has no note, the second ends with one.
    clause = _parse("changping").clauses[30]
    first, second = clause.text.split("\n")
    assert first.endswith("能源、碳排放监测计量采集装置。")
    assert second.startswith("配合建立生态系统碳汇监测核算体系")


def test_paragraphs_with_their_own_notes_are_separate_clauses() -> None:
    # Changping 3.未来科学城…: two paragraphs, each ending with its own [责任单位：…].
    clauses = [
        c
        for c in _parse("changping").clauses
        if c.heading_path[-1:] == ["3.未来科学城打造综合能源先行示范区"]
    ]
    assert len(clauses) == 2
    assert all(c.responsibility_note.startswith("[责任单位：") for c in clauses)


def test_a_responsibility_note_split_by_a_page_break_is_rejoined() -> None:
    # Changping: "…（责任单位：" ends one PDF line, the agencies start the next.
    clause = _parse("changping").clauses[23]
    assert "（责任单位：区发展改革委" in clause.text
    assert "\n" not in clause.text


def test_goal_paragraphs_are_target_clauses_and_the_preamble_is_principle() -> None:
    clauses = _parse("changping").clauses
    assert clauses[1].kind_hint == "principle"  # 为深入贯彻…制定本实施方案。
    assert clauses[7].heading_path == ["二、工作目标"]
    assert clauses[7].kind_hint == "target"
    assert "单位地区生产总值能耗比2020年下降14%" in clauses[7].text
