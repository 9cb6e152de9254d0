"""Hostile and broken files, each with the message the importer must give."""

from __future__ import annotations

import io
import os
import zipfile

from reviewapp.importing import errors
from tests.conftest import SEED_FILES
from tests.documents import make_docx, make_pdf, text_lines


def _zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _garbage(size: int = 4096) -> bytes:
    return bytes(range(256)) * (size // 256)  # every byte value: not text in any encoding


def _truncated_docx() -> bytes:
    data = make_docx(["一、总体要求", "现将方案印发给你们。"])
    return data[: len(data) // 2]


def _corrupt_pdf() -> bytes:
    data = make_pdf(["一、总体要求", "现将方案印发给你们。"])
    return data[:200] + os.urandom(64) + data[260:400]


def _encrypted_pdf() -> bytes:
    return make_pdf(["一、总体要求", "现将方案印发给你们。"], encrypt_password="secret")


def _zip_bomb() -> bytes:
    # 150 MB of zeros compress to ~150 KB: a ratio far above any real document.
    return _zip({"bomb.txt": b"\0" * (150 * 1024 * 1024)})


def _gbk_truncated() -> bytes:
    return "一、总体要求\n到2025年".encode("gbk") + "年".encode("gbk")[:1]


def _no_clauses() -> bytes:
    # A cover page: a title, an issuer and a date, no sentence. (Prose without headings is a plan
    # of paragraph clauses, not a rejection.)
    return "关于印发碳达峰实施方案的通知\n某某市人民政府\n2022年1月5日\n".encode()


# name -> (file name, bytes factory, expected message prefix)
BAD_INPUTS = {
    "empty file": ("empty.txt", lambda: b"", errors.EMPTY_FILE),
    "binary garbage named .txt": ("plan.txt", _garbage, errors.NOT_TEXT.split("{")[0]),
    "gbk with a truncated character": ("plan.txt", _gbk_truncated, errors.NOT_TEXT.split("{")[0]),
    "truncated docx": ("plan.docx", _truncated_docx, errors.DOCX_CORRUPT.split("{")[0]),
    "encrypted pdf": ("plan.pdf", _encrypted_pdf, errors.PDF_ENCRYPTED),
    "corrupt pdf": ("plan.pdf", _corrupt_pdf, errors.PDF_CORRUPT.split("{")[0]),
    "zip with ../evil.txt": (
        "evil.zip",
        lambda: _zip({"../evil.txt": SEED_FILES["haidian"].read_bytes()}),
        errors.ZIP_UNSAFE_PATH.split("{")[0],
    ),
    "zip bomb": ("bomb.zip", _zip_bomb, "The archive declares"),
    "no sentence at all": ("cover.txt", _no_clauses, errors.NO_CLAUSES),
}


def oversize(limit: int) -> bytes:
    return ("一、总体要求\n" + "现将方案印发给你们。" * (limit // 10)).encode()[: limit + 100]


__all__ = ["BAD_INPUTS", "make_docx", "oversize", "text_lines"]
