"""Messages a user sees when a file is rejected. Tests assert these constants."""

from __future__ import annotations


class ImportRejected(Exception):
    """A file cannot be imported; ``str(exc)`` is the message shown to the admin."""


EMPTY_FILE = "The file is empty."
FILE_TOO_LARGE = "The file is {size} bytes; the limit is {limit} bytes (IMPORT_MAX_FILE_BYTES)."
NOT_TEXT = "The file is not UTF-8 or GB18030/GBK text: invalid or truncated byte sequence at byte {offset}."
BINARY_CONTENT = "The file looks like binary data, not text ({share:.0%} control characters)."
UNSUPPORTED_FORMAT = (
    "Unsupported file type: {name}. Supported: .txt, .html/.htm, .docx, .pdf and .zip of these."
)
DOCX_CORRUPT = "The .docx file is damaged or truncated and cannot be opened: {detail}"
PDF_ENCRYPTED = "The PDF is encrypted; remove the password and import it again."
PDF_CORRUPT = "The PDF is damaged and cannot be read: {detail}"
PDF_NO_TEXT = "The PDF has no text layer (a scan?); only PDFs with selectable text can be imported."
PDF_NOT_A_PDF = "The file is named .pdf but is not a PDF: no %PDF- header in its first 1024 bytes."
PDF_TOO_MANY_PAGES = "The PDF has more than {limit} pages (IMPORT_MAX_PDF_PAGES)."
ZIP_CORRUPT = "The .zip archive is damaged and cannot be opened: {detail}"
ZIP_UNSAFE_PATH = (
    "Archive entry {entry!r} has an unsafe path ('..' or absolute); it was not extracted."
)
ZIP_BOMB = (
    "The archive declares {declared} bytes uncompressed ({ratio:.0f}x its size); limits are "
    "{limit} bytes and {max_ratio}x (possible decompression bomb)."
)
ZIP_ENTRY_LIED = "Archive entry {entry!r} expands beyond its declared size; extraction stopped."
ZIP_NESTED = "Archive entry {entry!r} is itself an archive; nested archives are not imported."
ZIP_EMPTY = "The archive contains no importable files."
NO_CLAUSES = (
    "No clauses were found: the text has no sentence to import, only titles, dates or table "
    "fragments."
)
PARSE_TIMEOUT = "Parsing took longer than {seconds} s (IMPORT_PARSE_TIMEOUT) and was stopped."
PARSE_OUT_OF_MEMORY = "Parsing needed more than the allowed memory and was stopped."
PARSE_CRASHED = "The parser failed on this file: {detail}"
