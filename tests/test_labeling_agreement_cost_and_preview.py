"""Agreement between the two labelers, cost from the price table, the dry-run preview with
labels, and labeling from the admin."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from reviewapp.models import Clause, ClauseAgreement, Plan, Suggestion
from reviewapp.services.labeling import agreement_update
from reviewapp.services.plan_import import plans_import
from tests.factories import admin_user
from tests.llm_fixtures import TARGET_CLAUSE, llm_job
from workers.tasks import label_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def clause() -> Clause:
    plans_import(files=[("plan.txt", TARGET_CLAUSE.encode())])
    return Clause.objects.get()


def _rules_suggestion(clause: Clause, **changes: object) -> Suggestion:
    from reviewapp.labeling.rules import RuleLabeler
    from reviewapp.services.labeling import clause_input

    labels = RuleLabeler().label(clause_input(clause)).labels.model_dump(mode="json")
    labels.update(changes)
    return Suggestion.objects.create(
        clause=clause,
        labeler="rules",
        prompt_version="rules-x",
        schema_version="1",
        status="valid",
        labels=labels,
    )


def test_agreement_is_stored_field_by_field_when_both_labelers_have_labeled(
    clause, fake_llm
) -> None:  # type: ignore[no-untyped-def]
    _rules_suggestion(clause, sector="buildings")
    label_jobs.apply(args=[[llm_job(clause).id]])
    agreement = ClauseAgreement.objects.get(clause=clause)
    assert agreement.fields["sector"] is False
    assert agreement.fields["targets"] is True
    assert agreement.fields["responsible_agencies"] is True
    assert agreement.disagreements == 1


def test_no_agreement_is_stored_with_one_labeler_only(clause) -> None:  # type: ignore[no-untyped-def]
    _rules_suggestion(clause)
    assert agreement_update(clause_id=clause.id) is None
    assert not ClauseAgreement.objects.exists()


def test_agencies_are_compared_by_canonical_name(clause, fake_llm) -> None:  # type: ignore[no-untyped-def]
    # 区发改委 is an alias of 区发展改革委 (migration 0002): the same agency.
    labels = {
        "lead_agencies": ["区城市管理委"],
        "responsible_agencies": ["区城市管理委", "区发改委", "相关街镇"],
    }
    _rules_suggestion(clause, **labels)
    label_jobs.apply(args=[[llm_job(clause).id]])
    assert ClauseAgreement.objects.get(clause=clause).fields["responsible_agencies"] is True


def test_the_cost_of_a_suggestion_comes_from_the_price_table(clause, fake_llm, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LLM_PRICES = {"fake-rules": {"input": 1.0, "output": 2.0}}  # per million tokens
    label_jobs.apply(args=[[llm_job(clause).id]])
    s = Suggestion.objects.get(labeler="llm")
    expected = (Decimal(s.prompt_tokens) * 1 + Decimal(s.completion_tokens) * 2) / Decimal(
        1_000_000
    )
    assert s.cost == expected.quantize(Decimal("0.000001"))
    assert s.cost > 0


def test_the_dry_run_preview_adds_the_suggested_labels_and_writes_nothing(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.txt"
    path.write_text(TARGET_CLAUSE, encoding="utf-8")
    call_command("import_plans", "--dry-run", "--labeler", "rules", str(path))
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert line["suggestion"]["labeler"] == "rules"
    assert line["suggestion"]["labels"]["deadlines"] == [2025, 2030]
    assert not Plan.objects.exists() and not Suggestion.objects.exists()


def test_the_dry_run_preview_can_ask_the_llm(tmp_path, capsys, fake_llm) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.txt"
    path.write_text(TARGET_CLAUSE, encoding="utf-8")
    call_command("import_plans", "--dry-run", "--labeler", "llm", str(path))
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert line["suggestion"]["model"] == "fake-rules"
    assert line["suggestion"]["labels"]["kind"] == "target"
    assert fake_llm.fake.stats()["requests"] == 1
    assert not Suggestion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_admin_labels_plans_from_the_admin_and_sees_progress(client: Client) -> None:
    plans_import(files=[("plan.txt", TARGET_CLAUSE.encode())])
    plan = Plan.objects.get()
    client.force_login(admin_user())
    response = client.post(
        "/admin/reviewapp/plan/",
        {"action": "label_with_rules", "_selected_action": [plan.pk]},
        follow=True,
    )
    assert "1 clauses queued for the rules labeler." in response.content.decode()
    page = client.get("/admin/reviewapp/plan/").content.decode()
    assert "1 / 0 / 0 / 0" in page  # done / failed / in progress / pending
