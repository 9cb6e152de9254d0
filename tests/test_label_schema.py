"""The label schema checks labels against their clause; its errors are what the LLM is re-asked
with and what the review form shows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reviewapp.labels import schema
from reviewapp.labels.schema import labels_validate

CLAUSE = "到2025年,新能源和可再生能源耦合供热面积占比达到10%以上。(主要责任单位:区城市管理委、区发展改革委)"
TARGET = {
    "indicator": "新能源和可再生能源耦合供热面积占比",
    "value": 10,
    "unit": "%",
    "comparator": ">=",
    "deadline_year": 2025,
    "quote": "新能源和可再生能源耦合供热面积占比达到10%以上",
}
LABELS = {
    "kind": "target",
    "sector": "energy",
    "targets": [TARGET],
    "lead_agencies": ["区城市管理委"],
    "responsible_agencies": ["区城市管理委", "区发展改革委"],
}


def _error(data: dict) -> str:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as raised:
        labels_validate(data, clause_text=CLAUSE)
    return str(raised.value)


def test_valid_labels_pass_and_deadlines_are_derived() -> None:
    labels = labels_validate(LABELS, clause_text=CLAUSE)
    assert labels.deadlines == [2025]


def test_a_quote_that_is_not_in_the_clause_is_refused() -> None:
    bad = {**LABELS, "targets": [{**TARGET, "quote": "供热面积占比为10%"}]}
    assert "does not occur in the clause text" in _error(bad)


def test_a_value_that_is_not_in_its_quote_is_refused() -> None:
    bad = {**LABELS, "targets": [{**TARGET, "value": 987.6}]}
    assert schema.VALUE_NOT_IN_QUOTE.format(value="987.6", quote=TARGET["quote"]) in _error(bad)


def test_a_deadline_that_does_not_follow_from_the_clause_is_refused() -> None:
    bad = {**LABELS, "targets": [{**TARGET, "deadline_year": 2035}]}
    assert "deadline_year 2035 does not occur" in _error(bad)


def test_a_five_year_plan_period_gives_its_deadline() -> None:
    clause = "“十四五”期间全区力争新增光伏装机容量2.9万千瓦。"
    target = {
        "indicator": "新增光伏装机容量",
        "value": 2.9,
        "unit": "万千瓦",
        "deadline_year": 2025,
        "quote": "新增光伏装机容量2.9万千瓦",
    }
    labels = labels_validate(
        {"kind": "target", "sector": "energy", "targets": [target]}, clause_text=clause
    )
    assert labels.deadlines == [2025]


def test_an_agency_not_in_the_clause_is_refused() -> None:
    bad = {**LABELS, "responsible_agencies": ["区城市管理委", "区财政局"]}
    assert schema.AGENCY_NOT_IN_CLAUSE.format(name="区财政局") in _error(bad)


def test_a_sector_outside_the_table_is_refused() -> None:
    assert "sector" in _error({**LABELS, "sector": "space"})


def test_a_year_out_of_range_is_refused() -> None:
    bad = {**LABELS, "targets": [{**TARGET, "deadline_year": 3025}]}
    assert "outside 1949–2100" in _error(bad)


def test_kind_and_targets_must_agree() -> None:
    assert schema.TARGETS_NEED_KIND_TARGET in _error({**LABELS, "kind": "measure"})
    assert schema.KIND_TARGET_NEEDS_TARGETS in _error({**LABELS, "targets": []})


def test_a_lead_agency_must_be_responsible_too() -> None:
    bad = {
        **LABELS,
        "lead_agencies": ["区发展改革委", "区城市管理委"],
        "responsible_agencies": ["区城市管理委"],
    }
    assert schema.LEAD_NOT_RESPONSIBLE.format(name="区发展改革委") in _error(bad)


def test_brackets_in_agency_names_are_unified() -> None:
    clause = "推动示范。[责任单位：未来科学城管委会（生命科学园管委会）]"
    labels = labels_validate(
        {
            "kind": "measure",
            "sector": "energy",
            "lead_agencies": ["未来科学城管委会（生命科学园管委会）"],
            "responsible_agencies": ["未来科学城管委会(生命科学园管委会)"],
        },
        clause_text=clause,
    )
    assert labels.lead_agencies == ["未来科学城管委会(生命科学园管委会)"]
