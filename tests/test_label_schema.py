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


NOTE_WITH_SHARED_SUFFIX = (
    "加快推进工业绿色升级。（省经信厅、省发改委，各市、州、县人民政府，自治区交通运输厅〔铁建办〕"
    "按职责分工负责）"
)


@pytest.mark.parametrize("name", ["各州人民政府", "自治区交通运输厅(铁建办)", "省发改委"])
def test_an_agency_the_note_gives_is_accepted_although_not_written_as_such(name: str) -> None:
    # label-schema.md: a place shares the organ name after it, and 〔〕 are unified to ().
    data = {"kind": "measure", "sector": "industry", "responsible_agencies": [name]}
    data["lead_agencies"] = [name]
    labels = labels_validate(data, clause_text=NOTE_WITH_SHARED_SUFFIX)
    assert labels.responsible_agencies == [name]


def test_an_agency_that_neither_the_text_nor_its_note_gives_is_refused() -> None:
    data = {"kind": "measure", "sector": "industry", "responsible_agencies": ["各乡人民政府"]}
    with pytest.raises(ValidationError, match="各乡人民政府"):
        labels_validate(data, clause_text=NOTE_WITH_SHARED_SUFFIX)
