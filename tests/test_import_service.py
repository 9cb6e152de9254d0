"""The import service: whole files or nothing, duplicates change nothing, agencies registered."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from reviewapp.models import Agency, Clause, ImportBatch, ImportFile, Plan
from reviewapp.services.agencies import agency_canonical_names
from reviewapp.services.plan_import import plans_import

pytestmark = pytest.mark.django_db


def test_importing_the_seeds_stores_plans_clauses_and_offsets(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    batch, outcomes = plans_import(files=[(f"{k}.txt", v) for k, v in seed_bytes.items()])
    assert [o.outcome for o in outcomes] == ["imported"] * 5
    assert Plan.objects.count() == 5
    assert Clause.objects.count() == 37 + 62 + 36 + 52 + 42
    for clause in Clause.objects.select_related("plan"):
        assert clause.plan.cleaned_text[clause.start_offset : clause.end_offset] == clause.text
    assert batch.counts() == {"imported": 5, "duplicate": 0, "rejected": 0}


def test_reimporting_the_same_bytes_is_a_duplicate_and_changes_nothing(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    plans_import(files=[("haidian.txt", seed_bytes["haidian"])])
    before = (Plan.objects.count(), Clause.objects.count(), Agency.objects.count())
    _, outcomes = plans_import(files=[("copy-of-haidian.txt", seed_bytes["haidian"])])
    assert outcomes[0].outcome == "duplicate"
    assert outcomes[0].plan_id == Plan.objects.get().pk
    assert (Plan.objects.count(), Clause.objects.count(), Agency.objects.count()) == before


def test_the_same_bytes_twice_in_one_batch_are_imported_once(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    _, outcomes = plans_import(
        files=[("a.txt", seed_bytes["yangpu"]), ("b.txt", seed_bytes["yangpu"])]
    )
    assert [o.outcome for o in outcomes] == ["imported", "duplicate"]
    assert Plan.objects.count() == 1


def test_a_failure_while_writing_clauses_leaves_no_plan(seed_bytes, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(Clause.objects, "bulk_create", explode)
    with pytest.raises(RuntimeError):
        plans_import(files=[("haidian.txt", seed_bytes["haidian"])])
    assert Plan.objects.count() == 0
    assert Clause.objects.count() == 0


def test_agencies_of_the_notes_enter_the_canonical_table_and_aliases_resolve(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    plans_import(files=[("changping.txt", seed_bytes["changping"])])
    names = set(Agency.objects.values_list("name", flat=True))
    assert "区城市管理委" in names
    assert "未来科学城管委会(生命科学园管委会)" in names
    # Changping writes both 区经济信息化局 and 区经济和信息化局: one agency.
    assert "区经济和信息化局" not in names
    assert agency_canonical_names(names=["区经济和信息化局", "区发改委", "区科委"]) == [
        "区经济信息化局",
        "区发展改革委",
        "区科委",
    ]


def test_a_folder_and_a_zip_are_imported_entry_by_entry(tmp_path, seed_bytes, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.bad_inputs import _zip

    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "haidian.txt").write_bytes(seed_bytes["haidian"])
    (tmp_path / "plans" / "bundle.zip").write_bytes(
        _zip({"a/nankai.txt": seed_bytes["nankai"], "b/yangpu.txt": seed_bytes["yangpu"]})
    )
    call_command("import_plans", str(tmp_path / "plans"), "--no-progress")
    output = capsys.readouterr().out
    assert "bundle.zip/a/nankai.txt" in output
    assert "3 imported (131 clauses), 0 duplicate, 0 rejected." in output
    assert Plan.objects.count() == 3


def test_dry_run_prints_one_json_line_per_clause_and_writes_nothing(
    tmp_path, seed_bytes, capsys
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "yangpu.txt"
    path.write_bytes(seed_bytes["yangpu"])
    call_command("import_plans", "--dry-run", str(path))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 42
    assert lines[0]["plan"]["document_number"] == "杨府发〔2022〕13号"
    assert lines[11]["heading_path"] == [
        "三、重点任务",
        "(一)绿色能源行动",
        "2.因地制宜发展各类可再生能源",
    ]
    assert lines[11]["lead_agencies"] == ["区发展改革委"]
    for line in lines:
        assert set(line) >= {"plan", "heading_path", "text", "start", "end", "lead_agencies"}
    assert Plan.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    assert ImportFile.objects.count() == 0


def test_queries_for_a_batch_do_not_grow_with_its_size(
    seed_bytes, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    # One transaction per file with a fixed number of statements, not one per clause.
    files = [(f"{k}.txt", v) for k, v in seed_bytes.items()]
    with django_assert_max_num_queries(5 * 16 + 10):
        plans_import(files=files)
    assert connection.vendor in {"sqlite", "postgresql"}
