"""What every labeler takes and gives: one interface for the rule labeler and the LLM labeler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reviewapp.labels.schema import ClauseLabels

LABELER_RULES = "rules"
LABELER_LLM = "llm"


@dataclass(frozen=True)
class ClauseInput:
    """What a labeler sees of a clause: its text, where it sits, and its parsed note."""

    text: str
    heading_path: list[str] = field(default_factory=list)
    lead_agencies: list[str] = field(default_factory=list)
    responsible_agencies: list[str] = field(default_factory=list)
    kind_hint: str = ""
    plan_year: int | None = None  # an annual plan's year (label-schema.md: time limits)


@dataclass
class Attempt:
    """One call to a model: what it cost and how it ended."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    status: str = "ok"  # ok | invalid | http_error | timeout | rate_limited
    error: str = ""


@dataclass
class LabelResult:
    """A labeler's answer for one clause: valid labels, or the last error and raw output."""

    labels: ClauseLabels | None
    confidence: dict[str, float] = field(default_factory=dict)
    error: str = ""
    raw_output: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.labels is not None


class Labeler(Protocol):
    name: str  # "rules" or "llm"
    model: str  # "" for rules; the model id for the LLM
    prompt_version: str  # rules version for rules; prompt name+hash for the LLM

    def label(self, clause: ClauseInput) -> LabelResult: ...
