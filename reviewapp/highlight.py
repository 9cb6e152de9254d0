"""Marking a suggestion's target quotes, deadlines and agencies in the clause text.

The clause text is untrusted: every piece is escaped, and only our own ``<mark>`` tags are added.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reviewapp.labels.schema import normalize_brackets

_YEAR_RE = re.compile(r"(?:19|20)\d\d\s*年|十四五|十五五")


def highlight_clause(text: str, labels: dict[str, Any] | None) -> SafeString:
    spans: list[tuple[int, int, str]] = []
    labels = labels or {}
    for target in labels.get("targets", []):
        quote = target.get("quote") or ""
        start = text.find(quote) if quote else -1
        if start >= 0:
            spans.append((start, start + len(quote), "quote"))
    deadlines = {str(y) for y in labels.get("deadlines", [])}
    for match in _YEAR_RE.finditer(text):
        if any(match.group().startswith(y) for y in deadlines) or match.group() in {
            "十四五",
            "十五五",
        }:
            spans.append((match.start(), match.end(), "deadline"))
    normalized = normalize_brackets(text)
    for name in labels.get("responsible_agencies", []):
        for match in re.finditer(re.escape(normalize_brackets(name)), normalized):
            spans.append((match.start(), match.end(), "agency"))
    return _render(text, spans)


def _render(text: str, spans: list[tuple[int, int, str]]) -> SafeString:
    # Quotes first, then longer spans; a span overlapping an earlier one is dropped.
    order = {"quote": 0, "deadline": 1, "agency": 2}
    chosen: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (order[s[2]], s[0] - s[1])):
        if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
            chosen.append(span)
    chosen.sort()
    out: list[str] = []
    position = 0
    for start, end, kind in chosen:
        out.append(escape(text[position:start]))
        out.append(f'<mark class="hl-{kind}">{escape(text[start:end])}</mark>')
        position = end
    out.append(escape(text[position:]))
    return mark_safe("".join(out))
