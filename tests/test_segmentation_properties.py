"""Property tests: segmentation never loses or duplicates text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewapp.importing import lines as L
from reviewapp.importing.cleaning import clean_paragraphs
from reviewapp.importing.segmentation import segment

_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
_WORDS = st.text(_CJK, min_size=1, max_size=12)
_SENTENCE = st.builds(lambda w, p: w + p, _WORDS, st.sampled_from(["。", "；", "，", "", "："]))
_NOTE = st.lists(_WORDS.map(lambda w: w + "局"), min_size=1, max_size=3).map(
    lambda names: "(责任单位:" + "、".join(names) + ")"
)
_HEADING = st.one_of(
    st.sampled_from("一二三四五六七八九十").map(lambda n: f"{n}、" + "总体要求"),
    st.sampled_from("一二三四五").map(lambda n: f"({n})加快推进"),
    st.integers(1, 20).map(lambda n: f"{n}.推动发展。"),
    st.sampled_from("一二三四五").map(lambda n: f"第{n}章 总则"),
    st.sampled_from("一二三四五六七八九十").map(lambda n: f"第{n}条 为推动发展，制定本办法。"),
    st.sampled_from("①②③").map(lambda n: f"{n}完善标准。"),
)
# Notes written as lines of their own, and a note inside a paragraph.
_NOTE_LINE = st.one_of(
    _WORDS.map(lambda w: "责任单位：" + w + "局"),
    st.sampled_from(["完成时限：2022年2月底前", "完成期限：持续推进"]),
)
_INNER_NOTE = st.builds(lambda a, n, b: a + "。" + n + b, _WORDS, _NOTE, _WORDS)
_PARAGRAPH = st.builds(
    lambda sentences, note: "".join(sentences) + (note or ""),
    st.lists(_SENTENCE, min_size=1, max_size=4),
    st.one_of(st.none(), _NOTE),
)
_LINE = st.one_of(
    _HEADING,
    _PARAGRAPH,
    _NOTE_LINE,
    _INNER_NOTE,
    st.sampled_from(["", "  ", "3", "首页 > 政策", "图片"]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINE, max_size=40))
def test_clause_offsets_point_at_their_text_and_never_overlap(raw_lines: list[str]) -> None:
    paragraphs = clean_paragraphs(raw_lines)
    text, clauses = segment(paragraphs)
    previous_end = -1
    for clause in clauses:
        assert text[clause.start : clause.end] == clause.text
        assert clause.start >= previous_end  # adjacent when a note splits a paragraph
        previous_end = clause.end


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINE, max_size=40))
def test_every_body_paragraph_is_in_exactly_one_clause(raw_lines: list[str]) -> None:
    paragraphs = clean_paragraphs(raw_lines)
    text, clauses = segment(paragraphs)
    covered = [0] * len(text)
    for clause in clauses:
        for i in range(clause.start, clause.end):
            covered[i] += 1
    offset = 0
    seen_heading = False
    for paragraph in paragraphs:
        heading = L.heading_of(paragraph)
        seen_heading = seen_heading or heading is not None
        span = covered[offset : offset + len(paragraph)]
        offset += len(paragraph) + 1
        assert max(span, default=0) <= 1  # never duplicated
        if seen_heading and not (heading and heading.standalone):
            assert min(span) == 1, paragraph  # never lost
