"""The label schema (label-schema.md, version 1): the one definition of a clause's labels.

The LLM labeler (as instructor's response model), the rule labeler, the review form, the
exporter and the accuracy measure all use these models. Validators that need the clause read it
from the validation context: ``ClauseLabels.model_validate(data, context={"clause_text": text})``.
Without a context only the clause-independent rules are checked.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from reviewapp.text import unify_brackets

SCHEMA_VERSION = "1"
MIN_YEAR = 1949
MAX_YEAR = 2100

# Error messages: the LLM is re-asked with them, the review form shows them, tests assert them.
QUOTE_NOT_IN_CLAUSE = "quote {quote!r} does not occur in the clause text"
VALUE_NOT_IN_QUOTE = "value {value} does not occur in its quote {quote!r}"
YEAR_NOT_IN_CLAUSE = "{field} {year} does not occur in and does not follow from the clause text"
AGENCY_NOT_IN_CLAUSE = "agency {name!r} does not occur in the clause text"
LEAD_NOT_RESPONSIBLE = "lead agency {name!r} must also be listed in responsible_agencies"
KIND_TARGET_NEEDS_TARGETS = "kind is 'target' but no targets are given"
TARGETS_NEED_KIND_TARGET = "targets are given, so kind must be 'target'"
SECONDARY_REPEATS_PRIMARY = "secondary_sectors must not repeat the primary sector"


class Kind(StrEnum):
    TARGET = "target"
    MEASURE = "measure"
    PRINCIPLE = "principle"


class Sector(StrEnum):
    OVERALL = "overall"
    ENERGY = "energy"
    EFFICIENCY = "efficiency"
    INDUSTRY = "industry"
    BUILDINGS = "buildings"
    TRANSPORT = "transport"
    CIRCULAR = "circular"
    TECHNOLOGY = "technology"
    CARBON_SINK = "carbon_sink"
    PUBLIC = "public"
    POLICY = "policy"
    GOVERNANCE = "governance"
    COOPERATION = "cooperation"


# code -> (中文, what it covers); the table of label-schema.md, used by prompts and guidelines.
SECTORS: dict[Sector, tuple[str, str]] = {
    Sector.OVERALL: (
        "总体目标",
        "headline targets of the whole plan, guiding ideology, principles",
    ),
    Sector.ENERGY: (
        "能源绿色低碳转型",
        "renewables, photovoltaics, heat supply, power grid, storage, hydrogen as energy, control of coal/oil/gas",
    ),
    Sector.EFFICIENCY: (
        "节能降碳增效",
        "energy-saving management and audits, key energy-using equipment, data-centre and new-infrastructure efficiency",
    ),
    Sector.INDUSTRY: (
        "工业与产业绿色转型",
        "industrial structure, manufacturing, green factories and parks, control of energy-intensive projects, green and service industries, digital economy",
    ),
    Sector.BUILDINGS: (
        "城乡建设",
        "green and ultra-low-energy buildings, retrofits, urban planning and renewal, prefabricated construction",
    ),
    Sector.TRANSPORT: (
        "交通运输",
        "vehicles and fleets, charging, public transit, logistics, shore power",
    ),
    Sector.CIRCULAR: (
        "循环经济",
        "waste sorting, recycling, resource efficiency, construction waste, packaging",
    ),
    Sector.TECHNOLOGY: (
        "绿色低碳科技创新",
        "research, laboratories, talent, technology transfer, innovation platforms",
    ),
    Sector.CARBON_SINK: (
        "碳汇能力巩固提升",
        "forests, parks and greening, wetlands, ecological restoration, agriculture and rural carbon sinks",
    ),
    Sector.PUBLIC: (
        "绿色低碳全民行动",
        "education and awareness, green lifestyle and consumption, public institutions leading by example",
    ),
    Sector.POLICY: (
        "政策保障",
        "statistics, accounting and monitoring, fiscal, tax, price and finance policy, carbon and energy markets, standards, regulation",
    ),
    Sector.GOVERNANCE: (
        "组织实施",
        "leadership, coordination, assessment, supervision, evaluation",
    ),
    Sector.COOPERATION: ("交流合作", "regional and international cooperation"),
}


class Comparator(StrEnum):
    AT_LEAST = ">="
    AT_MOST = "<="
    EQUAL = "="
    ABOUT = "~"


class Change(StrEnum):
    LEVEL = "level"
    DECREASE = "decrease"
    INCREASE = "increase"


# Five-year plan periods: a deadline that "follows from" the text without the year written.
PERIOD_DEADLINES = {"十四五": 2025, "十五五": 2030, "十六五": 2035}


def _clause_text(info: ValidationInfo) -> str | None:
    context = info.context or {}
    text = context.get("clause_text")
    return text if isinstance(text, str) else None


def _plan_year(info: ValidationInfo) -> int | None:
    """The year of an annual plan the clause belongs to (``2021年度工作计划``): a deadline that
    follows from the plan although the clause writes only a month (``完成期限:6月底``)."""
    year = (info.context or {}).get("plan_year")
    return year if isinstance(year, int) else None


normalize_brackets = unify_brackets  # the name the review screen and the labelers use


def agency_occurs_in(name: str, clause_text: str) -> bool:
    """Whether an agency name comes from the clause: written in it (brackets unified), or read
    from its responsibility note the way label-schema.md reads notes, where a piece that is only
    a place shares the organ name after it (``各市、州、县人民政府`` gives ``各州人民政府``)."""
    name = normalize_brackets(name.strip())
    if name in normalize_brackets(clause_text):
        return True
    from reviewapp.importing.responsibility import find_trailing_note

    # The note that ends the clause, and notes written as lines of their own (责任单位:… then
    # 配合单位:…), each ending its line.
    for part in (clause_text, *clause_text.split("\n")):
        note = find_trailing_note(part)
        if note is not None and name in {normalize_brackets(n) for n in note.responsible}:
            return True
    return False


def years_in(text: str) -> set[int]:
    """Years the text names, written (``2025年``, ``2025 年``) or as a plan period (``十四五``)."""
    years = {int(y) for y in re.findall(r"(?<!\d)((?:19|20|21)\d\d)(?!\d)", text)}
    years |= {year for period, year in PERIOD_DEADLINES.items() if period in text}
    return years


def format_number(value: float) -> str:
    """``10.0`` → ``10``, ``12.5`` → ``12.5``: how a number is written in a plan."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def value_occurs_in(value: float, quote: str) -> bool:
    if "翻一番" in quote and value == 2:
        return True
    if "翻两番" in quote and value == 4:
        return True
    plain = quote.replace(",", "").replace("，", "")
    return any(float(number) == float(value) for number in re.findall(r"\d+(?:\.\d+)?", plain))


class Target(BaseModel):
    """One commitment with a value or a deadline, read from a quote of the clause."""

    model_config = ConfigDict(use_enum_values=False)

    indicator: str = Field(
        description="What is measured, in the clause's words, e.g. 新能源和可再生能源耦合供热面积占比",
        min_length=1,
    )
    value: float | None = Field(
        None,
        description="The number: 10 for 10%以上, 2.9 for 2.9万千瓦, 2 for 翻一番; null for a dated "
        "commitment without a number",
    )
    unit: str = Field(
        "",
        description="As written after the number: %, 万千瓦, 万平方米, 个, 家, 公顷; empty for a bare "
        "ratio such as PUE 1.3; 倍 for 翻一番",
    )
    comparator: Comparator = Field(
        Comparator.EQUAL,
        description="以上/不低于/至少/不少于 → >=; 以下/不高于/不超过 → <=; 左右/约 → ~; 达到 or nothing → =",
    )
    change: Change = Field(
        Change.LEVEL,
        description="level: a level to reach; decrease/increase: a change against a baseline "
        "(比2020年下降14%)",
    )
    baseline_year: int | None = Field(None, description="2020 in 比2020年下降14% / 较2020年降低5%")
    deadline_year: int | None = Field(
        None,
        description="到2025年/2025年前 → 2025; “十四五”期间/时期 → 2025; “十五五”期间 → 2030; null "
        "when no date applies",
    )
    start_year: int | None = Field(None, description="2022年起 → 2022")
    quote: str = Field(
        description="The exact substring of the clause the target was read from", min_length=1
    )

    @field_validator("baseline_year", "deadline_year", "start_year")
    @classmethod
    def _year_in_range(cls, year: int | None) -> int | None:
        if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year {year} is outside {MIN_YEAR}–{MAX_YEAR}")
        return year

    @model_validator(mode="after")
    def _grounded_in_clause(self, info: ValidationInfo) -> Target:
        if self.value is not None and not value_occurs_in(self.value, self.quote):
            raise ValueError(
                VALUE_NOT_IN_QUOTE.format(value=format_number(self.value), quote=self.quote)
            )
        text = _clause_text(info)
        if text is None:
            return self
        if self.quote not in text:
            raise ValueError(QUOTE_NOT_IN_CLAUSE.format(quote=self.quote))
        named = years_in(text)
        plan_year = _plan_year(info)
        for field in ("baseline_year", "deadline_year", "start_year"):
            year = getattr(self, field)
            if field == "deadline_year" and year is not None and year == plan_year:
                continue
            if year is not None and year not in named:
                raise ValueError(YEAR_NOT_IN_CLAUSE.format(field=field, year=year))
        return self


class ClauseLabels(BaseModel):
    """The labels of one clause. ``deadlines`` is derived from the targets."""

    kind: Kind = Field(
        description="target: states at least one quantified or dated commitment; measure: a task "
        "without one; principle: ideology, principles, preamble, organisation text"
    )
    sector: Sector = Field(description="The primary sector of the clause (one code)")
    secondary_sectors: list[Sector] = Field(
        default_factory=list, description="Other sectors the clause substantially covers"
    )
    targets: list[Target] = Field(
        default_factory=list,
        description="Every commitment with a value or a deadline, in text order",
    )
    deadlines: list[int] = Field(
        default_factory=list,
        description="The distinct deadline years of the targets, sorted (filled in automatically)",
    )
    lead_agencies: list[str] = Field(
        default_factory=list,
        description="Who leads: the agencies before 牵头; where the note only lists units, the first",
    )
    responsible_agencies: list[str] = Field(
        default_factory=list,
        description="Every unit named in the responsibility note, in order, leads included",
    )

    @field_validator("lead_agencies", "responsible_agencies")
    @classmethod
    def _unify_brackets(cls, names: list[str]) -> list[str]:
        cleaned: list[str] = []
        for name in names:
            name = normalize_brackets(name.strip())
            if name and name not in cleaned:
                cleaned.append(name)
        return cleaned

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> ClauseLabels:
        self.deadlines = sorted({t.deadline_year for t in self.targets if t.deadline_year})
        if self.kind == Kind.TARGET and not self.targets:
            raise ValueError(KIND_TARGET_NEEDS_TARGETS)
        if self.targets and self.kind != Kind.TARGET:
            raise ValueError(TARGETS_NEED_KIND_TARGET)
        if self.sector in self.secondary_sectors:
            raise ValueError(SECONDARY_REPEATS_PRIMARY)
        for name in self.lead_agencies:
            if name not in self.responsible_agencies:
                raise ValueError(LEAD_NOT_RESPONSIBLE.format(name=name))
        text = _clause_text(info)
        if text is not None:
            for name in self.responsible_agencies:
                if not agency_occurs_in(name, text):
                    raise ValueError(AGENCY_NOT_IN_CLAUSE.format(name=name))
        return self


def labels_validate(
    data: dict[str, Any] | str, *, clause_text: str, plan_year: int | None = None
) -> ClauseLabels:
    """Validate labels against a clause (raises pydantic.ValidationError); ``plan_year`` is the
    year of the clause's annual plan, where it has one."""
    context: dict[str, Any] = {"clause_text": clause_text, "plan_year": plan_year}
    if isinstance(data, str):
        return ClauseLabels.model_validate_json(data, context=context)
    return ClauseLabels.model_validate(data, context=context)
