"""Reading a file's bytes into raw lines, whatever its format.

The format is detected from the bytes (magic numbers), not trusted from the file name: a .txt that
is really a zip, or binary garbage named .txt, must be recognised as such.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from reviewapp.importing import errors, pdf
from reviewapp.importing.errors import ImportRejected

FORMAT_TEXT = "txt"
FORMAT_HTML = "html"
FORMAT_DOCX = "docx"
FORMAT_PDF = "pdf"
FORMAT_ZIP = "zip"

SUPPORTED_SUFFIXES = {".txt", ".text", ".html", ".htm", ".docx", ".pdf", ".zip"}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01
_HTML_SNIFF_RE = re.compile(rb"^\s*(?:<!doctype html|<html|<head|<body|<meta|<div|<p[ >])", re.I)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_pdf_pages: int = 300
    max_zip_total_bytes: int = 200 * 1024 * 1024
    max_zip_ratio: int = 100
    max_zip_entries: int = 2000


@dataclass(frozen=True)
class ArchiveEntry:
    name: str
    data: bytes | None  # None when the entry was refused; see ``message``
    message: str = ""


def detect_format(name: str, data: bytes) -> str:
    if pdf.is_pdf(data):
        return FORMAT_PDF
    suffix = PurePosixPath(name).suffix.lower()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        # A damaged .docx cannot be opened to look inside: then its name decides the message.
        return FORMAT_DOCX if suffix == ".docx" or _is_docx(data) else FORMAT_ZIP
    head = _strip_bom(data[:2048])
    if suffix in {".html", ".htm"} or _HTML_SNIFF_RE.match(head):
        return FORMAT_HTML
    if suffix in {".docx", ".pdf", ".zip"}:
        # It claims a binary format but has none of its magic bytes.
        detail = f"the file is named {suffix} but is not a {suffix[1:].upper()} file"
        message = {
            ".docx": errors.DOCX_CORRUPT.format(detail=detail),
            ".pdf": errors.PDF_NOT_A_PDF,
            ".zip": errors.ZIP_CORRUPT.format(detail=detail),
        }[suffix]
        raise ImportRejected(message)
    if suffix not in SUPPORTED_SUFFIXES and suffix != "":
        raise ImportRejected(errors.UNSUPPORTED_FORMAT.format(name=name))
    return FORMAT_TEXT


def check_size(data: bytes, limits: Limits) -> None:
    if not data:
        raise ImportRejected(errors.EMPTY_FILE)
    if len(data) > limits.max_file_bytes:
        raise ImportRejected(
            errors.FILE_TOO_LARGE.format(size=len(data), limit=limits.max_file_bytes)
        )


def read_lines(fmt: str, data: bytes, limits: Limits) -> list[str]:
    """The file's text as raw lines (still noisy: the cleaner takes it from here)."""
    if fmt == FORMAT_TEXT:
        return decode_text(data).splitlines()
    if fmt == FORMAT_HTML:
        return html_lines(decode_text(data))
    if fmt == FORMAT_DOCX:
        return docx_lines(data, limits)
    if fmt == FORMAT_PDF:
        return pdf_lines(data, limits)
    raise ImportRejected(errors.UNSUPPORTED_FORMAT.format(name=fmt))


# --- text -------------------------------------------------------------------------------------


def _strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (a superset of GBK and GB2312).

    Each is tried strictly: a file that is valid in none of them is rejected with the offset of
    the first bad byte rather than imported with replacement characters.
    """
    if not data:
        raise ImportRejected(errors.EMPTY_FILE)
    if data.startswith(b"\xef\xbb\xbf"):
        text = _strict(data[3:], "utf-8")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _strict(data, "utf-16")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _strict(data, "gb18030")
    control = len(_CONTROL_RE.findall(text))
    if text and control / len(text) > _MAX_CONTROL_SHARE:
        raise ImportRejected(errors.BINARY_CONTENT.format(share=control / len(text)))
    return text


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ImportRejected(errors.NOT_TEXT.format(offset=exc.start)) from None


# --- html -------------------------------------------------------------------------------------

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul", "title",
}  # fmt: skip
_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "object", "svg", "head"]


def html_lines(markup: str) -> list[str]:
    """Visible text of a page, one line per block element; scripts and styles dropped."""
    import lxml.html

    markup = re.sub(r"^\s*<\?xml[^>]*>", "", markup)  # lxml refuses str input with a declaration
    if not markup.strip():
        raise ImportRejected(errors.EMPTY_FILE)
    try:
        root = lxml.html.document_fromstring(markup)
    except Exception as exc:  # lxml raises several types for broken markup
        detail = f"unreadable HTML ({exc})"
        raise ImportRejected(errors.PARSE_CRASHED.format(detail=detail)) from None
    for tag in _DROP_TAGS:
        for element in root.iter(tag):
            element.drop_tree()
    parts: list[str] = []
    _html_walk(root, parts)
    return "".join(parts).splitlines()


def _html_walk(element: object, parts: list[str]) -> None:
    import lxml.html

    assert isinstance(element, lxml.html.HtmlElement)
    tag = element.tag if isinstance(element.tag, str) else ""
    block = tag in _BLOCK_TAGS
    if block:
        parts.append("\n")
    if tag in {"td", "th"}:
        parts.append(" | ")
    if element.text and isinstance(element.tag, str):
        parts.append(element.text)
    for child in element:
        _html_walk(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append("\n")


# --- docx -------------------------------------------------------------------------------------


def docx_lines(data: bytes, limits: Limits) -> list[str]:
    """Paragraphs and table rows (cells joined by `` | ``) in document order."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_archive_sizes(data, limits, corrupt=errors.DOCX_CORRUPT)
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise ImportRejected(errors.DOCX_CORRUPT.format(detail=exc)) from None
    except Exception as exc:  # a damaged part raises lxml or zlib errors
        raise ImportRejected(errors.DOCX_CORRUPT.format(detail=exc)) from None
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append("".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")))
        elif tag == "tbl":
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = [
                        "".join(t.text or "" for t in cell.iter() if t.tag.endswith("}t"))
                        for cell in row.iterchildren()
                        if cell.tag.endswith("}tc")
                    ]
                    lines.append(" | ".join(cells) + " |")
    return lines


# --- pdf --------------------------------------------------------------------------------------


def pdf_lines(data: bytes, limits: Limits) -> list[str]:
    """Paragraphs of a PDF's text layer, read with PDFium (see ``importing/pdf.py``)."""
    return pdf.pdf_lines(data, limits.max_pdf_pages)


def _pdf_visual_lines(data: bytes, limits: Limits) -> list[pdf.PdfLine]:
    """The visual lines before the paragraphs are rebuilt (tests look at how a PDF wraps)."""
    return pdf.visual_lines(data, limits.max_pdf_pages)


# --- zip --------------------------------------------------------------------------------------


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def _check_archive_sizes(
    data: bytes, limits: Limits, corrupt: str = errors.ZIP_CORRUPT
) -> list[zipfile.ZipInfo]:
    """Refuse a decompression bomb from the sizes the archive declares, before extracting."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ImportRejected(corrupt.format(detail=exc)) from None
    declared = sum(info.file_size for info in infos)
    ratio = declared / max(len(data), 1)
    if (
        declared > limits.max_zip_total_bytes
        or ratio > limits.max_zip_ratio
        or len(infos) > limits.max_zip_entries
    ):
        raise ImportRejected(
            errors.ZIP_BOMB.format(
                declared=declared,
                ratio=ratio,
                limit=limits.max_zip_total_bytes,
                max_ratio=limits.max_zip_ratio,
            )
        )
    return infos


def _entry_name(info: zipfile.ZipInfo) -> str:
    """Entry names from Chinese Windows are GBK without the UTF-8 flag; zipfile reads them as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def unsafe_entry_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or bool(re.match(r"^[A-Za-z]:", name))


def zip_entries(data: bytes, limits: Limits) -> list[ArchiveEntry]:
    """The files of an archive, each with its bytes or the reason it was refused."""
    infos = _check_archive_sizes(data, limits)
    entries: list[ArchiveEntry] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in infos:
            info.filename = _entry_name(info)
            if info.is_dir() or PurePosixPath(info.filename).name.startswith((".", "__MACOSX")):
                continue
            if "__MACOSX/" in info.filename:
                continue
            if unsafe_entry_name(info.filename):
                message = errors.ZIP_UNSAFE_PATH.format(entry=info.filename)
                entries.append(ArchiveEntry(info.filename, None, message))
                continue
            if PurePosixPath(info.filename).suffix.lower() == ".zip":
                message = errors.ZIP_NESTED.format(entry=info.filename)
                entries.append(ArchiveEntry(info.filename, None, message))
                continue
            try:
                with archive.open(info) as handle:
                    # Declared sizes can lie: never read more than was declared (or allowed).
                    cap = min(info.file_size, limits.max_file_bytes)
                    content = handle.read(cap + 1)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                message = errors.ZIP_CORRUPT.format(detail=exc)
                entries.append(ArchiveEntry(info.filename, None, message))
                continue
            if len(content) > cap:
                if info.file_size > limits.max_file_bytes:
                    message = errors.FILE_TOO_LARGE.format(
                        size=info.file_size, limit=limits.max_file_bytes
                    )
                else:
                    message = errors.ZIP_ENTRY_LIED.format(entry=info.filename)
                entries.append(ArchiveEntry(info.filename, None, message))
                continue
            entries.append(ArchiveEntry(info.filename, content))
    if not entries:
        raise ImportRejected(errors.ZIP_EMPTY)
    return entries
