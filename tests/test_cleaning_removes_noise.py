"""Web boilerplate, news lead-ins, page numbers and PDF line breaks never reach clause text."""

from __future__ import annotations

import re

import pytest

from reviewapp.importing.cleaning import clean_paragraphs
from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import parse_plan
from tests.conftest import SEED_FILES

BOILERPLATE = ["首页", "来源:", "来源：", "热度", "图片", "丰善环保网", "在线咨询", "Baidu"]


def _plan(seed: str):  # type: ignore[no-untyped-def]
    path = SEED_FILES[seed]
    return parse_plan(path.name, path.read_bytes(), Limits())


@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_no_clause_of_a_seed_contains_web_boilerplate(seed: str) -> None:
    for clause in _plan(seed).clauses:
        for word in BOILERPLATE:
            assert word not in clause.text, (clause.ordinal, word)


@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_no_clause_line_is_a_lone_page_number(seed: str) -> None:
    for clause in _plan(seed).clauses:
        for line in clause.text.split("\n"):
            assert not re.fullmatch(r"\s*[-—]?\s*\d{1,3}\s*[-—]?\s*", line), clause.ordinal


@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_no_clause_has_a_line_break_inside_a_sentence(seed: str) -> None:
    for clause in _plan(seed).clauses:
        for line in clause.text.split("\n")[:-1]:
            assert line.rstrip("”")[-1] in "。；：！？)）]】", (clause.ordinal, line[-20:])


def test_the_nankai_news_lead_in_yields_no_duplicate_clauses() -> None:
    clauses = _plan("nankai").clauses
    texts = [c.text for c in clauses]
    assert len(texts) == len(set(texts))
    goals = [c for c in clauses if c.text.startswith("“十四五”期间,产业结构和能源结构更加优化")]
    assert len(goals) == 1
    assert goals[0].heading_path == ["二、主要目标"]


def test_the_haidian_lead_in_and_breadcrumbs_are_dropped_but_the_notice_is_kept() -> None:
    plan = _plan("haidian")
    assert plan.cleaned_text.startswith(
        "北京市海淀区人民政府关于印发《北京市海淀区碳达峰实施方案》的通知"
    )
    assert plan.cleaned_text.count("现将《北京市海淀区碳达峰实施方案》印发给你们") == 1


def test_a_web_page_footer_is_dropped() -> None:
    plan = _plan("yangpu")
    assert plan.cleaned_text.endswith("区建设管理委、区国资委)")


def test_a_signature_split_across_lines_and_a_page_number_are_repaired() -> None:
    raw = ["北京市昌平区人民政府关于印发《昌平区碳达峰实施方案》的通知"]
    raw += ["现将方案印发给你们，请认真贯彻落实。", "北京市昌平区人", "", "民政府", "", "2", ""]
    raw += ["2023年10月17日", "昌平区碳达峰实施方案", "一、总体要求"]
    assert clean_paragraphs(raw)[2:4] == ["北京市昌平区人民政府", "2023年10月17日"]


def test_a_numbered_task_broken_after_its_title_is_rejoined() -> None:
    raw = ["7. 建立健全绿色低碳产业体系。大力发展电子信息、装备", "制造、先进材料。(市工信局牵头)"]
    assert clean_paragraphs(raw) == [
        "7.建立健全绿色低碳产业体系。大力发展电子信息、装备制造、先进材料。(市工信局牵头)"
    ]


def test_punctuation_of_the_source_is_kept() -> None:
    # Haidian writes half-width commas and colons; Changping full-width. Neither is normalised.
    assert "(主要责任单位:" in _plan("haidian").clauses[6].text
    assert "（责任单位：" in _plan("changping").clauses[9].text


def test_layout_spaces_next_to_numbers_are_removed() -> None:
    assert clean_paragraphs(["提高森林碳汇，到 2025 年森林覆盖率达到 34%。"]) == [
        "提高森林碳汇，到2025年森林覆盖率达到34%。"
    ]
    assert clean_paragraphs(["中共中央 国务院关于完整准确全面贯彻新发展理念的意见。"]) == [
        "中共中央 国务院关于完整准确全面贯彻新发展理念的意见。"
    ]
