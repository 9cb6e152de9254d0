"""An annual plan's time limits: ``完成期限:6月底`` in a 2021 work plan is a target dated 2021.

The year is the plan's (its title says ``2021年度``), not the clause's, so the import reads it
from the plan's title lines, the rule labeler dates the time limit with it, and the schema, the
review form and the labeling service accept it for that plan's clauses only.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from pydantic import ValidationError

from reviewapp.forms.review import LabelsForm, TargetFormSet, labels_from_forms
from reviewapp.importing.formats import Limits
from reviewapp.importing.metadata import extract_metadata
from reviewapp.importing.parsing import parse_plan
from reviewapp.labeling.base import ClauseInput
from reviewapp.labeling.rules import rules_label
from reviewapp.labels.schema import YEAR_NOT_IN_CLAUSE, labels_validate
from reviewapp.models import Plan, Suggestion
from reviewapp.services.plan_import import plans_import

# The opening of a real provincial work plan, as PDF extraction gives it: the plan's year is on
# the title's first line.
WORK_PLAN = """省生态环境厅 2021 年度
推动碳达峰、碳中和工作计划
为切实做好我省应对气候变化工作，结合实际制定本工作计划。
一、加强碳达峰工作顶层设计
（一）推动制订全省碳达峰行动方案。组织编制江苏省“十四五”应对气候变化专项规划。（责任部门：气候处，完成期限：6 月底）
（二）持续推进减污降碳。推动重点行业减污降碳协同增效。（责任部门：大气处，完成期限：持续推进）
"""
TASK = "组织编制江苏省“十四五”应对气候变化专项规划。（责任部门：气候处，完成期限：6 月底）"


@pytest.mark.parametrize(
    ("lines", "year"),
    [
        (["省生态环境厅2021年度", "推动碳达峰、碳中和工作计划"], 2021),
        (["江苏省2022年推动碳达峰碳中和工作计划"], 2022),
        (["上海市2022年碳达峰碳中和及节能减排重点工作安排"], 2022),
        (["关于2021-2023年度推动碳达峰、碳中和工作滚动实施方案"], None),  # a range
        (["北京市2030年前碳达峰行动方案"], None),  # a horizon, not the plan's year
        (["2030年前碳达峰重点工作"], None),
    ],
)
def test_it_reads_the_year_an_annual_plan_is_for_from_its_title_lines(
    lines: list[str], year: int | None
) -> None:
    assert extract_metadata([*lines, "一、总体要求"]).plan_year == year


def test_the_first_title_line_above_the_title_is_kept_not_cut_as_a_web_lead_in() -> None:
    plan = parse_plan("plan.txt", WORK_PLAN.encode(), Limits())
    assert plan.cleaned_text.startswith("省生态环境厅2021年度")
    assert plan.plan_year == 2021


def test_a_time_limit_with_only_a_month_is_dated_with_the_plans_year() -> None:
    labels, _ = rules_label(ClauseInput(TASK, plan_year=2021))
    assert labels.kind == "target"
    assert [(t.value, t.deadline_year, t.quote) for t in labels.targets] == [
        (None, 2021, "完成期限：6 月底")
    ]


def test_without_a_plan_year_a_month_only_time_limit_gives_no_target() -> None:
    labels, _ = rules_label(ClauseInput(TASK))
    assert labels.targets == []
    assert labels.kind == "measure"


def test_an_ongoing_time_limit_gives_no_target_even_in_an_annual_plan() -> None:
    text = "推动重点行业减污降碳协同增效。（责任部门：大气处，完成期限：持续推进）"
    assert rules_label(ClauseInput(text, plan_year=2021))[0].targets == []


def _dated(year: int) -> dict[str, object]:
    target = {"indicator": "专项规划", "deadline_year": year, "quote": "完成期限：6 月底"}
    return {"kind": "target", "sector": "overall", "targets": [target]}


def test_the_schema_accepts_the_plans_year_as_a_deadline_and_no_other_unwritten_year() -> None:
    assert labels_validate(_dated(2021), clause_text=TASK, plan_year=2021).deadlines == [2021]
    with pytest.raises(ValidationError) as refused:
        labels_validate(_dated(2021), clause_text=TASK)
    assert YEAR_NOT_IN_CLAUSE.format(field="deadline_year", year=2021) in str(refused.value)
    with pytest.raises(ValidationError):
        labels_validate(_dated(2022), clause_text=TASK, plan_year=2021)


def test_the_review_form_accepts_the_plans_year_for_that_plans_clause() -> None:
    form = LabelsForm({"kind": "target", "sector": "overall", "version": 1, "started_at": 1})
    rows = {
        "targets-TOTAL_FORMS": "1",
        "targets-INITIAL_FORMS": "0",
        "targets-0-indicator": "专项规划",
        "targets-0-comparator": "=",
        "targets-0-change": "level",
        "targets-0-deadline_year": "2021",
        "targets-0-quote": "完成期限：6 月底",
    }
    targets = TargetFormSet(rows, prefix="targets")
    assert form.is_valid(), form.errors
    assert targets.is_valid(), targets.errors
    labels, errors = labels_from_forms(form, targets, clause_text=TASK, plan_year=2021)
    assert errors == [] and labels is not None
    _, errors = labels_from_forms(form, targets, clause_text=TASK)
    assert errors


@pytest.mark.django_db(transaction=True)  # labeling runs on commit
def test_labeling_an_imported_annual_plan_stores_its_dated_time_limits() -> None:
    plans_import(files=[("plan.txt", WORK_PLAN.encode())])
    assert Plan.objects.get().plan_year == 2021
    call_command("label", "--all", "--labeler", "rules", "--no-progress")
    suggestion = Suggestion.objects.get(clause__text__startswith="（一）推动制订")
    assert suggestion.labels["deadlines"] == [2021]


@pytest.mark.django_db
def test_a_reviewer_saves_the_plans_year_on_the_review_screen(client) -> None:  # type: ignore[no-untyped-def]
    from django.urls import reverse

    from reviewapp.models import Clause, Review
    from tests.factories import reviewer_user
    from tests.review_fixtures import claim_for, suggest

    plans_import(files=[("plan.txt", WORK_PLAN.encode())])
    clause = Clause.objects.get(text__startswith="（一）推动制订")
    suggest(clause)
    user = reviewer_user()
    client.force_login(user)
    item = claim_for(user, clause.id)
    page = client.get(reverse("review", args=[clause.id]))
    row = page.context["targets"].initial[0]
    assert row["deadline_year"] == 2021
    data = {
        "action": "save",
        "version": item.version,
        "started_at": page.context["form"].initial["started_at"],
        "kind": "target",
        "sector": "governance",  # a fix, so the form is validated and stored
        "targets-TOTAL_FORMS": 1,
        "targets-INITIAL_FORMS": 1,
        **{f"targets-0-{k}": v for k, v in row.items() if v is not None},
    }
    response = client.post(reverse("review", args=[clause.id]), data)
    assert response.status_code == 302, response.content.decode()[:1500]
    assert Review.objects.get().labels_after["deadlines"] == [2021]
