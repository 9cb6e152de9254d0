"""Text forms that every layer compares alike (importer, label schema, review screen, exporter)."""

from __future__ import annotations

# label-schema.md: agency names keep their brackets, with full-width brackets and ``〔〕``
# unified to ``()``. One character for one, so offsets into the result are offsets into the text.
_BRACKETS = str.maketrans({"（": "(", "）": ")", "〔": "(", "〕": ")"})


def unify_brackets(text: str) -> str:
    return text.translate(_BRACKETS)
