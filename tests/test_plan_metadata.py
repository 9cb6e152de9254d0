"""Title, region, issuing body, document number and issue date are read from each seed."""

from __future__ import annotations

import datetime as dt

import pytest

from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import parse_plan
from tests.conftest import SEED_FILES

EXPECTED = {
    "haidian": (
        "北京市海淀区碳达峰实施方案",
        "北京市海淀区",
        "北京市海淀区人民政府",
        "海政发〔2024〕8号",
        dt.date(2024, 5, 28),
    ),
    "suzhou": (
        "关于加快转变发展方式做好碳达峰碳中和工作的实施意见",
        "苏州市",
        "中共苏州市委 苏州市人民政府",
        "苏委发〔2022〕7号",
        dt.date(2022, 3, 17),
    ),
    "changping": (
        "昌平区碳达峰实施方案",
        "北京市昌平区",
        "北京市昌平区人民政府",
        "昌政发〔2023〕11号",
        dt.date(2023, 10, 17),
    ),
    "nankai": (
        "天津市南开区碳达峰实施方案",
        "天津市南开区",
        "南开区人民政府",
        "南开政发〔2022〕10号",
        dt.date(2022, 12, 14),
    ),
    "yangpu": (
        "杨浦区碳达峰实施方案",
        "上海市杨浦区",
        "上海市杨浦区人民政府",
        "杨府发〔2022〕13号",
        dt.date(2022, 12, 31),
    ),
}


@pytest.mark.parametrize("seed", sorted(EXPECTED))
def test_metadata_is_read_from_the_notice_of_issue(seed: str) -> None:
    path = SEED_FILES[seed]
    plan = parse_plan(path.name, path.read_bytes(), Limits())
    assert (plan.title, plan.region, plan.issuing_body, plan.document_number, plan.issue_date) == (
        EXPECTED[seed]
    )


def test_the_web_page_date_is_not_taken_as_the_issue_date() -> None:
    # Haidian's page says 时间:2024-06-18; the notice is dated 2024年5月28日.
    path = SEED_FILES["haidian"]
    assert parse_plan(path.name, path.read_bytes(), Limits()).issue_date == dt.date(2024, 5, 28)
