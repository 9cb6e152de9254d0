"""PDFs are read with PDFium: real files import cleanly, and a PDF is rejected only when it has
no readable text, with a message that says why (damaged, encrypted, a scan, not a PDF)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from reviewapp.importing import errors, pdf
from reviewapp.importing.cleaning import header_key
from reviewapp.importing.errors import ImportRejected
from reviewapp.importing.formats import FORMAT_PDF, Limits, detect_format
from reviewapp.importing.parsing import parse_plan
from tests.documents import make_pdf

FIXTURES = Path(__file__).parent / "fixtures" / "pdfs"
REAL_PDFS = sorted(FIXTURES.glob("*.pdf"))
PAGE_MARKER_RE = re.compile(r"[-‐‑‒–—―－]\s?\d{1,3}\s?[-‐‑‒–—―－]|第\s*\d+\s*页")
PLAN = ["一、总体要求", "现将方案印发给你们，请认真贯彻落实。"]


def _parse(data: bytes, name: str = "plan.pdf") -> list[str]:
    return [clause.text for clause in parse_plan(name, data, Limits()).clauses]


def _rejection(data: bytes, name: str = "plan.pdf") -> str:
    with pytest.raises(ImportRejected) as caught:
        parse_plan(name, data, Limits())
    return str(caught.value)


@pytest.mark.parametrize("path", REAL_PDFS, ids=lambda p: p.stem)
def test_a_real_pdf_imports_with_no_page_marker_or_repeated_line_in_any_clause(
    path: Path,
) -> None:
    data = path.read_bytes()
    texts = _parse(data, path.name)
    headers = pdf.running_headers(pdf.visual_lines(data, 300))
    assert texts
    for text in texts:
        assert not PAGE_MARKER_RE.search(text), text
        assert not any(header in header_key(text) for header in headers), text


def test_the_hunan_notice_rejoins_its_sentences_across_the_page_break() -> None:
    texts = _parse((FIXTURES / "hunan-tech-needs-2022.pdf").read_bytes())
    # The paragraph starts at the foot of page 1 and ends on page 2.
    assert any(
        "征集表（单位）》（详见附件1），汇总后加盖公章于1月30日前报送至省科技厅社发处" in t
        for t in texts
    )


def test_the_tianjin_notice_keeps_its_letterhead_title_once() -> None:
    # The title is printed twice on page 1 only: it is not a running header.
    lines = pdf.visual_lines((FIXTURES / "tianjin-leading-group-2021.pdf").read_bytes(), 300)
    assert pdf.running_headers(lines) == set()


def test_a_pdf_with_bytes_before_its_header_is_read() -> None:
    # A 128-byte MacBinary head, as on the Guangxi data-centre plan of the corpus: readers
    # accept %PDF- anywhere in the first 1024 bytes.
    data = make_pdf(PLAN)
    wrapped = b"1.pdf" + bytes(123) + data
    assert detect_format("plan.pdf", wrapped) == FORMAT_PDF
    assert _parse(wrapped) == _parse(data)


def test_a_file_named_pdf_that_is_not_a_pdf_is_rejected_as_such() -> None:
    assert _rejection("一、总体要求\n现将方案印发给你们。".encode()) == errors.PDF_NOT_A_PDF
    assert _rejection(bytes(1100) + make_pdf(PLAN)) == errors.PDF_NOT_A_PDF


def test_an_encrypted_pdf_is_rejected_as_encrypted() -> None:
    assert _rejection(make_pdf(PLAN, encrypt_password="secret")) == errors.PDF_ENCRYPTED


def test_an_encrypted_pdf_built_with_a_canvas_is_rejected_as_encrypted() -> None:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    encrypt = pdfencrypt.StandardEncryption("user-pw", "owner-pw")
    page = canvas.Canvas(buffer, encrypt=encrypt)
    page.drawString(72, 720, "Plan")
    page.save()
    assert _rejection(buffer.getvalue()) == errors.PDF_ENCRYPTED


def test_a_scan_with_no_text_layer_is_rejected_as_a_scan() -> None:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    for _ in range(2):
        page.rect(72, 72, 400, 600, fill=1)  # the page is a picture: no character at all
        page.showPage()
    page.save()
    assert _rejection(buffer.getvalue()) == errors.PDF_NO_TEXT


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"%PDF-1.7\n" + bytes(range(256)) * 8,
        lambda data: data[:300],
    ],
    ids=["garbage after the header", "cut after the header"],
)
def test_a_damaged_pdf_is_rejected_as_damaged(damage) -> None:  # type: ignore[no-untyped-def]
    message = _rejection(damage(make_pdf(PLAN)))
    assert message.startswith(errors.PDF_CORRUPT.split("{")[0])


def test_a_pdf_over_the_page_limit_is_rejected_before_it_is_read() -> None:
    data = make_pdf(PLAN * 200)
    with pytest.raises(ImportRejected) as caught:
        parse_plan("plan.pdf", data, Limits(max_pdf_pages=2))
    assert str(caught.value) == errors.PDF_TOO_MANY_PAGES.format(limit=2)


def test_visual_lines_carry_their_page_and_box() -> None:
    lines = pdf.visual_lines(make_pdf(PLAN), 300)
    assert [line.text for line in lines][:2] == PLAN
    assert all(line.x1 > line.x0 and line.y1 > line.y0 for line in lines)
    assert {line.page for line in lines} == {0}
