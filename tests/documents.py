"""Build .docx, .html and .pdf versions of a plan's text, the way the tests need them.

The PDF uses reportlab's built-in CID font STSong-Light (no font file needed), wraps paragraphs
at the page width and prints a page number in the footer: the same noise a real PDF extract has.
"""

from __future__ import annotations

import html
import io
from xml.sax.saxutils import escape


def text_lines(data: bytes) -> list[str]:
    return data.decode("utf-8").splitlines()


def make_docx(lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_html(lines: list[str], *, title: str = "通知") -> bytes:
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines if line.strip())
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>p {{ margin: 0 }}</style>
<script>var tracker = "首页 > 不应出现"; document.write("<p>脚本内容</p>");</script>
</head>
<body><nav class="breadcrumb">首页 &gt; 碳中和政策法规</nav>
<div class="content">
{body}
</div>
<footer>来源:测试网站 <script>alert("x")</script></footer>
</body></html>"""
    return page.encode("utf-8")


def make_pdf(lines: list[str], *, encrypt_password: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("zh", fontName="STSong-Light", fontSize=11, leading=16, spaceAfter=8)
    style.wordWrap = "CJK"

    def page_number(canvas, document):  # type: ignore[no-untyped-def]
        canvas.setFont("STSong-Light", 9)
        canvas.drawCentredString(A4[0] / 2, 30, f"- {document.page} -")

    buffer = io.BytesIO()
    kwargs = {}
    if encrypt_password:
        kwargs["encrypt"] = encrypt_password
    document = SimpleDocTemplate(buffer, pagesize=A4, **kwargs)
    story = [Paragraph(escape(line.strip()), style) for line in lines if line.strip()]
    document.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buffer.getvalue()
