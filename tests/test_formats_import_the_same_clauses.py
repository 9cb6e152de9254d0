"""A seed imports to the same clauses whatever format or encoding it arrives in."""

from __future__ import annotations

import pytest

from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import ParsedPlan, parse_plan
from tests.conftest import SEED_FILES
from tests.documents import make_docx, make_html, make_pdf, text_lines


def _clauses(plan: ParsedPlan) -> list[tuple]:  # type: ignore[type-arg]
    return [
        (c.heading_path, c.text, c.lead_agencies, c.responsible_agencies, c.kind_hint)
        for c in plan.clauses
    ]


def _original(seed: str) -> ParsedPlan:
    path = SEED_FILES[seed]
    return parse_plan(path.name, path.read_bytes(), Limits())


def _converted(seed: str, fmt: str) -> tuple[str, bytes]:
    data = SEED_FILES[seed].read_bytes()
    lines = text_lines(data)
    if fmt == "gb18030":
        return "plan.txt", data.decode("utf-8").encode("gb18030")
    if fmt == "utf-8-bom":
        return "plan.txt", b"\xef\xbb\xbf" + data
    if fmt == "docx":
        return "plan.docx", make_docx(lines)
    if fmt == "html":
        return "plan.html", make_html(lines)
    if fmt == "pdf":
        return "plan.pdf", make_pdf(lines)
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["gb18030", "utf-8-bom", "docx", "html", "pdf"])
@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_a_converted_seed_imports_to_the_same_clauses(seed: str, fmt: str) -> None:
    name, data = _converted(seed, fmt)
    converted = parse_plan(name, data, Limits())
    original = _original(seed)
    assert _clauses(converted) == _clauses(original)
    assert converted.metadata() | {"sha256": "", "source_name": ""} == original.metadata() | {
        "sha256": "",
        "source_name": "",
    }


def test_a_strict_gbk_copy_is_detected_without_a_hint_from_the_name() -> None:
    # Suzhou's text is all GBK-encodable; the name says nothing about the encoding.
    data = SEED_FILES["suzhou"].read_bytes().decode("utf-8").encode("gbk")
    assert _clauses(parse_plan("suzhou", data, Limits())) == _clauses(_original("suzhou"))


def test_the_pdf_really_rewraps_lines_so_the_cleaner_has_work_to_do() -> None:
    from reviewapp.importing.formats import _pdf_visual_lines

    lines = _pdf_visual_lines(make_pdf(text_lines(SEED_FILES["haidian"].read_bytes())), Limits())
    longest_seed_paragraph = max(len(p) for p in text_lines(SEED_FILES["haidian"].read_bytes()))
    assert max(len(line.text) for line in lines) < longest_seed_paragraph / 5


def test_html_scripts_and_navigation_do_not_reach_the_clauses() -> None:
    name, data = _converted("haidian", "html")
    plan = parse_plan(name, data, Limits())
    assert "脚本内容" not in plan.cleaned_text
    assert "alert" not in plan.cleaned_text
    assert "不应出现" not in plan.cleaned_text
