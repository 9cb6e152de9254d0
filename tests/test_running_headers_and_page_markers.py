"""Page furniture never reaches clause text: page markers in every form, running headers and
footers wherever extraction put them, letter-spacing; lines cut by a page break are rejoined.

The snippets are real plan text (Sichuan, Guangxi, Wuhan, Jiangsu plans of the corpus).
"""

from __future__ import annotations

import io

import pytest

from reviewapp.importing import pdf
from reviewapp.importing.cleaning import (
    clean_paragraphs,
    is_page_marker,
    normalize_line,
    remove_inline_page_markers,
)
from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import parse_plan

HEADER = "四川省人民政府办公厅"
PAGE_MARKERS = [
    "- 3 -",
    "―3―",
    "— 8 —",
    "-3-",
    "－12－",
    "– 7 –",
    "第3页",
    "第 3 页 共 12 页",
    "3/12",
]


@pytest.mark.parametrize("marker", PAGE_MARKERS)
def test_it_recognises_every_page_marker_form(marker: str) -> None:
    assert is_page_marker(marker)


@pytest.mark.parametrize("marker", PAGE_MARKERS)
def test_it_removes_a_page_marker_on_a_line_of_its_own(marker: str) -> None:
    raw = ["（一）大力发展新能源。到2025年，全省新能源装机", marker, "达到3000万千瓦。"]
    assert clean_paragraphs(raw) == [
        "（一）大力发展新能源。到2025年，全省新能源装机达到3000万千瓦。"
    ]


@pytest.mark.parametrize("marker", ["―4―", "- 4 -", "—4—", "-4-", "－4－"])
def test_it_removes_a_page_marker_inside_a_responsibility_note(marker: str) -> None:
    line = f"（责任单位：四川{marker}省能源局、省发展改革委）"
    assert remove_inline_page_markers(line) == "（责任单位：四川省能源局、省发展改革委）"


def test_it_keeps_year_ranges_and_numbers_that_are_not_page_markers() -> None:
    for line in ["（2021—2025年）", "到2025年，PUE值降至1.3以下", "GB/T 2589-2020", "每年3-5个"]:
        assert remove_inline_page_markers(normalize_line(line)) == normalize_line(line)


def test_it_removes_a_running_header_that_lands_mid_sentence() -> None:
    raw = [
        "一、重点任务",
        "（一）推动产业结构优化升级。加快淘汰落后产能，推动",
        HEADER,
        "- 3 -",
        "传统产业转型升级。（责任单位：省经济和信息化厅）",
        "（二）推进节能降碳。严格能耗双控，",
        "- 4 -",
        HEADER,
        "推动重点用能单位节能改造。（责任单位：省发展改革委）",
        "（三）推进建筑领域低碳发展。",
        "- 5 -",
        HEADER,
    ]
    assert clean_paragraphs(raw) == [
        "一、重点任务",
        "（一）推动产业结构优化升级。加快淘汰落后产能，推动传统产业转型升级。（责任单位：省经济和信息化厅）",
        "（二）推进节能降碳。严格能耗双控，推动重点用能单位节能改造。（责任单位：省发展改革委）",
        "（三）推进建筑领域低碳发展。",
    ]


def test_it_removes_a_running_header_glued_to_a_page_marker_mid_word() -> None:
    raw = [
        "一、重点任务",
        "- 2 -",
        HEADER,
        "（一）壮大新能源产业。（责任单位：四川―3―四川省人民政府办公厅省能源局）",
        "- 4 -",
        HEADER,
        "- 5 -",
        HEADER,
    ]
    assert clean_paragraphs(raw)[-1] == "（一）壮大新能源产业。（责任单位：四川省能源局）"


def test_a_header_is_compared_loosely_in_spaces_width_and_digits() -> None:
    raw = ["一、重点任务", "（一）推进节能降碳。严格能耗双控，推动", "- 1 -"]
    raw += ["江苏省生态环境厅 2021 年工作计划", "重点用能单位节能改造。", "- 2 -"]
    raw += ["江苏省生态环境厅２０２２年工作计划", "（二）推进建筑领域低碳发展。", "- 3 -"]
    raw += ["江苏省生态环境厅2021年 工作计划"]
    assert clean_paragraphs(raw) == [
        "一、重点任务",
        "（一）推进节能降碳。严格能耗双控，推动重点用能单位节能改造。",
        "（二）推进建筑领域低碳发展。",
    ]


def test_a_line_that_repeats_without_page_markers_is_kept() -> None:
    # Repetition alone is no page structure: form fields and refrains of the body stay.
    raw = ["一、申报要求", "资助经费", "（一）项目一。", "资助经费", "（二）项目二。", "资助经费"]
    raw += ["（三）项目三。"]
    assert clean_paragraphs(raw).count("资助经费") == 3


def test_it_rejoins_a_responsibility_note_cut_by_a_page_break() -> None:
    raw = [
        "（十四）推动应对气候变化重大政策研究。（责任部门：气候处、法规科技处，",
        "- 3 -",
        "完成期限：12月底）",
    ]
    assert clean_paragraphs(raw) == [
        "（十四）推动应对气候变化重大政策研究。（责任部门：气候处、法规科技处，完成期限：12月底）"
    ]


@pytest.mark.parametrize(
    ("spaced", "clean"),
    [
        ("广 西 壮 族 自 治 区 发 展 和 改 革 委 员 会", "广西壮族自治区发展和改革委员会"),
        ("（ 责 任 单 位 ： 市交通运输局）", "（责任单位：市交通运输局）"),
        ("打造国内具有 特 色 的 绿 色 环 保 产 业 集 群。", "打造国内具有特色的绿色环保产业集群。"),
        ("加大 财 税 扶 持 力 度。", "加大财税扶持力度。"),
    ],
)
def test_it_removes_letter_spacing_between_single_cjk_characters(spaced: str, clean: str) -> None:
    assert normalize_line(spaced) == clean


def test_it_keeps_the_space_between_two_organ_names() -> None:
    assert normalize_line("中共中央 国务院关于完整准确全面贯彻新发展理念") == (
        "中共中央 国务院关于完整准确全面贯彻新发展理念"
    )
    assert normalize_line("组 长：王魁臣") == "组 长：王魁臣"  # two characters are not a run


# --- in a PDF -----------------------------------------------------------------------------------

_CHARS_A_LINE = 30
_FONT = 12.0


def _pdf_with_running_header(pages: list[list[str]], header: str, footer: str) -> bytes:
    """A PDF whose pages carry ``header`` on top and ``footer`` (a format with ``{n}``) at the
    bottom. The header is drawn last, as many producers do, so stream order puts it mid-page."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    page_canvas = canvas.Canvas(buffer, pagesize=(480, 400))
    for number, lines in enumerate(pages, 1):
        page_canvas.setFont("STSong-Light", 9)
        page_canvas.drawCentredString(240, 20, footer.format(n=number))
        page_canvas.setFont("STSong-Light", _FONT)
        y = 340.0
        for line in lines:
            indent = 2 * _FONT if line.startswith("\t") else 0.0
            page_canvas.drawString(40 + indent, y, line.lstrip("\t"))
            y -= 1.5 * _FONT
        page_canvas.setFont("STSong-Light", 9)
        page_canvas.drawCentredString(240, 375, header)
        page_canvas.showPage()
    page_canvas.save()
    return buffer.getvalue()


def _wrap(paragraph: str) -> list[str]:
    """A paragraph as full lines of 30 characters, its first line indented by two."""
    first = _CHARS_A_LINE - 2
    lines = ["\t" + paragraph[:first]]
    rest = paragraph[first:]
    while rest:
        lines.append(rest[:_CHARS_A_LINE])
        rest = rest[_CHARS_A_LINE:]
    return lines


TASK_1 = (
    "（一）推动产业结构优化升级。坚决遏制高耗能高排放低水平项目盲目发展，加快淘汰落后产能，"
    "推动传统产业转型升级，培育壮大战略性新兴产业，提升产业链供应链现代化水平。"
    "（责任单位：省经济和信息化厅、省发展改革委、省生态环境厅、省能源局）"
)
TASK_2 = (
    "（二）大力发展新能源。坚持集中式与分布式并举，加快建设金沙江上游、雅砻江流域清洁能源基地，"
    "到2025年，全省新能源装机达到3000万千瓦。（责任单位：省能源局、省发展改革委）"
)


def _header_pdf(footer: str) -> bytes:
    lines = ["\t一、重点任务", *_wrap(TASK_1), *_wrap(TASK_2)]
    # Page breaks fall inside sentences and inside both notes.
    pages = [lines[0:3], lines[3:5], lines[5:7], lines[7:]]
    return _pdf_with_running_header(pages, HEADER, footer)


@pytest.mark.parametrize("footer", ["- {n} -", "―{n}―", "第{n}页", "{n}/4"])
def test_a_pdf_header_drawn_mid_page_and_its_page_markers_never_reach_a_clause(
    footer: str,
) -> None:
    plan = parse_plan("plan.pdf", _header_pdf(footer), Limits())
    texts = [clause.text for clause in plan.clauses]
    assert texts[-2:] == [TASK_1, TASK_2]
    assert not any(HEADER in text for text in texts)


def test_pdf_running_headers_are_found_from_the_pages_themselves() -> None:
    lines = pdf.visual_lines(_header_pdf("- {n} -"), 300)
    assert pdf.running_headers(lines) == {HEADER}
    kept = pdf.drop_page_furniture(lines)
    assert not any(HEADER in line.text or "- " in line.text for line in kept)


def test_the_end_of_a_note_that_pages_break_alike_is_not_a_running_header() -> None:
    # Four pages end inside a note the same way; the fifth note ends far from any page break.
    raw: list[str] = ["一、重点任务"]
    for page in range(1, 5):
        raw += [
            f"（{page}）推进第{page}项工作。",
            "(责任单位：市发改委、",
            "市工信局)",
            f"- {page} -",
        ]
    raw += ["（5）推进第5项工作。(责任单位：市发改委、市工信局)"]
    text = "\n".join(clean_paragraphs(raw))
    assert text.count("市工信局") == 5
