"""The curated dataset export: every format round-trips the labels, splits are by plan."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
import threading

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client

from reviewapp.labels.schema import ClauseLabels
from reviewapp.models import Clause, Plan, Review, Suggestion
from reviewapp.services.export import (
    ExportFilters,
    export_dataset,
    export_rows,
    gc_pause,
    plan_split,
    rows_postgres,
    writers,
)
from reviewapp.services.plan_import import plans_import
from reviewapp.services.review import review_submit
from tests.factories import UserFactory, admin_user
from tests.review_fixtures import claim_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reviewed(seed_bytes) -> dict[int, dict | None]:  # type: ignore[no-untyped-def]
    """Yangpu and Nankai labeled by rules; 12 clauses reviewed: accepted, fixed, not a clause."""
    plans_import(files=[("yangpu.txt", seed_bytes["yangpu"]), ("nankai.txt", seed_bytes["nankai"])])
    call_command("label", "--all", "--no-progress")
    user = UserFactory(username="expert")
    expected: dict[int, dict | None] = {}
    clauses = list(Clause.objects.order_by("plan_id", "ordinal"))
    with_targets = [c for c in clauses if Suggestion.objects.get(clause=c).labels["targets"]]
    chosen = with_targets[:2] + clauses[:4] + with_targets[-2:] + clauses[-4:]
    assert len({c.id for c in chosen}) == 12
    for index, clause in enumerate(chosen):
        item = claim_for(user, clause.id)
        labels = Suggestion.objects.get(clause=clause).labels
        if index % 4 == 1:
            fixed = {
                **labels,
                "sector": "governance" if labels["sector"] != "governance" else "policy",
            }
            review_submit(
                user=user,
                clause_id=clause.id,
                decision="fixed",
                version=item.version,
                labels=ClauseLabels.model_validate(fixed),
            )
            expected[clause.id] = ClauseLabels.model_validate(fixed).model_dump(mode="json")
        elif index % 4 == 3:
            review_submit(
                user=user, clause_id=clause.id, decision="not_a_clause", version=item.version
            )
            expected[clause.id] = None
        else:
            review_submit(user=user, clause_id=clause.id, decision="accepted", version=item.version)
            expected[clause.id] = labels
    return expected


def test_jsonl_round_trips_the_labels(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, summary = export_dataset(fmt="jsonl", out_dir=tmp_path, filters=ExportFilters())
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {r["clause_id"]: r["labels"] for r in rows} == reviewed
    assert summary.rows == 12
    assert {r["decision"] for r in rows} == {"accepted_unchanged", "fixed", "not_a_clause"}
    assert all(r["schema_version"] == "1" and r["suggestions"] and r["reviews"] for r in rows)


def test_csv_is_excel_friendly_and_round_trips_the_labels(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, _ = export_dataset(fmt="csv", out_dir=tmp_path, filters=ExportFilters())
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {
        int(r["clause_id"]): (json.loads(r["labels_json"]) if r["labels_json"] else None)
        for r in rows
    } == reviewed
    target_row = next(r for r in rows if r["target_count"] not in ("", "0"))
    assert " | " in target_row["targets"] or target_row["target_count"] == "1"
    assert "、" in next(
        r["responsible_agencies"] for r in rows if r["responsible_agencies"].count("区") > 1
    )


def test_parquet_keeps_nested_fields_structured_and_round_trips(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    path, _ = export_dataset(fmt="parquet", out_dir=tmp_path, filters=ExportFilters())
    table = pq.read_table(path)
    assert str(table.schema.field("labels").type).startswith("struct<kind: string")
    rows = table.to_pylist()
    for row in rows:
        want = reviewed[row["clause_id"]]
        if want is None:
            assert row["labels"] is None
        else:
            assert ClauseLabels.model_validate(row["labels"]) == ClauseLabels.model_validate(want)


def test_label_studio_tasks_load_as_json_with_the_expected_keys(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, _ = export_dataset(fmt="label-studio", out_dir=tmp_path, filters=ExportFilters())
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert len(tasks) == 12
    for task in tasks:
        assert set(task) == {"data", "predictions", "annotations"}
        assert task["data"]["text"]
        for result in task["annotations"][0]["result"]:
            assert {"from_name", "to_name", "type", "value"} <= set(result)
            if result["type"] == "labels":
                value = result["value"]
                assert task["data"]["text"][value["start"] : value["end"]] == value["text"]
    assert (tmp_path / "label_studio_config.xml").read_text().startswith("<View>")
    annotated = [t for t in tasks if t["annotations"][0]["result"]]
    stored = json.loads(
        next(
            r for r in annotated[0]["annotations"][0]["result"] if r["from_name"] == "labels_json"
        )["value"]["text"][0]
    )
    assert stored == reviewed[annotated[0]["data"]["clause_id"]]


def test_no_plan_is_in_two_splits_and_splits_do_not_move_when_plans_are_added(
    reviewed, seed_bytes
) -> None:  # type: ignore[no-untyped-def]
    rows = list(export_rows(filters=ExportFilters()))
    by_plan: dict[int, set[str]] = {}
    for row in rows:
        by_plan.setdefault(row["plan"]["id"], set()).add(row["split"])
    assert all(len(splits) == 1 for splits in by_plan.values())
    before = {row["plan"]["id"]: row["split"] for row in rows}
    plans_import(files=[("haidian.txt", seed_bytes["haidian"])])
    after = {row["plan"]["id"]: row["split"] for row in export_rows(filters=ExportFilters())}
    assert after == before
    assert {plan_split(f"{i:064x}") for i in range(200)} == {"train", "dev", "test"}


def test_the_dataset_card_counts_by_sector_kind_split_and_region(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    export_dataset(fmt="jsonl", out_dir=tmp_path, filters=ExportFilters())
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "12 reviewed clauses from 2 plans" in card
    for heading in ("| split |", "| kind |", "| sector |", "| region |", "Label schema version 1"):
        assert heading in card
    assert "上海市杨浦区" in card and "carbon_sink" in card


def test_the_command_filters_by_plan_and_reports_bad_arguments(reviewed, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    plan_id = Clause.objects.get(pk=next(iter(reviewed))).plan_id
    call_command(
        "export_dataset",
        "--format",
        "jsonl",
        "--plans",
        str(plan_id),
        "--out",
        str(tmp_path),
        "--no-progress",
    )
    expected = sum(1 for cid in reviewed if Clause.objects.get(pk=cid).plan_id == plan_id)
    assert f"Wrote {expected} clauses from 1 plans" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--since must be a date"):
        call_command("export_dataset", "--since", "yesterday", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="--plans must be plan ids"):
        call_command("export_dataset", "--plans", "a,b", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="No reviewed clauses match"):
        call_command("export_dataset", "--plans", "99999", "--out", str(tmp_path / "none"))


def test_an_admin_downloads_the_dataset_as_a_zip_with_its_card(reviewed, client: Client) -> None:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    client.force_login(admin_user())
    response = client.post("/export/", {"format": "csv"})
    assert response.status_code == 200
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert set(bundle.namelist()) == {"clauses.csv", "README.md"}


# --- the two ways of reading the rows -----------------------------------------------------------


@pytest.fixture
def awkward(reviewed) -> dict[int, dict | None]:  # type: ignore[no-untyped-def]
    """Besides ``reviewed``: a clause with a failed second suggestion, a skip (not exported), a
    second review at a whole second (isoformat() without microseconds), a plan without date."""
    clause = Clause.objects.get(pk=next(iter(reviewed)))
    Suggestion.objects.create(
        clause=clause,
        labeler="llm",
        model="some-model",
        prompt_version="label-clause-v2",
        schema_version="1",
        status="failed",
        labels=None,
        error="no JSON",
    )
    other = UserFactory(username="second")
    Review.objects.create(clause=clause, reviewer=other, decision="skipped")
    second = Review.objects.create(clause=clause, reviewer=other, decision="accepted")
    Review.objects.filter(pk=second.pk).update(
        created_at=dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    )
    Plan.objects.filter(pk=clause.plan_id).update(issue_date=None)
    return reviewed


def _portable_rows(filters: ExportFilters, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    with monkeypatch.context() as patch:
        patch.setattr(rows_postgres, "can_stream", lambda: False)
        return list(export_rows(filters=filters))


@pytest.mark.postgres
def test_postgresql_streams_the_same_rows_as_the_portable_path(awkward, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert rows_postgres.can_stream()
    plan_id = Clause.objects.get(pk=next(iter(awkward))).plan_id
    for filters in (
        ExportFilters(),
        ExportFilters(plan_ids=(plan_id,)),
        ExportFilters(since=dt.date.today() - dt.timedelta(days=1)),
        ExportFilters(since=dt.date.today() + dt.timedelta(days=2)),
    ):
        streamed = list(export_rows(filters=filters))
        portable = _portable_rows(filters, monkeypatch)
        assert orjson.dumps(streamed) == orjson.dumps(portable)
    rows = {row["clause_id"]: row for row in export_rows(filters=ExportFilters())}
    row = rows[next(iter(awkward))]
    assert [s["status"] for s in row["suggestions"]] == ["valid", "failed"]
    assert [r["reviewer"] for r in row["reviews"]] == ["expert", "second"]
    assert row["reviews"][1]["at"] == "2031-05-06T07:08:09+00:00"
    assert row["plan"]["issue_date"] is None


def test_the_portable_path_keeps_suggestion_and_review_order(awkward, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rows = {r["clause_id"]: r for r in _portable_rows(ExportFilters(), monkeypatch)}
    row = rows[next(iter(awkward))]
    assert [s["status"] for s in row["suggestions"]] == ["valid", "failed"]
    assert [(r["reviewer"], r["at"]) for r in row["reviews"]][1] == (
        "second",
        "2031-05-06T07:08:09+00:00",
    )
    assert row["decision"] == "accepted_unchanged"


def test_a_stopped_export_leaves_the_connection_usable(reviewed) -> None:  # type: ignore[no-untyped-def]
    rows = export_rows(filters=ExportFilters())
    assert next(rows)["clause_id"] in reviewed
    rows.close()  # the download was cancelled, say: the rest of the query is dropped
    assert Clause.objects.count() > len(reviewed)
    with transaction.atomic():  # inside someone else's transaction, settings are left alone
        assert len(list(export_rows(filters=ExportFilters()))) == len(reviewed)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW jit")
                jit_before = cursor.fetchone()[0]
            list(export_rows(filters=ExportFilters()))
            with connection.cursor() as cursor:
                cursor.execute("SHOW jit")
                assert cursor.fetchone()[0] == jit_before


def test_an_export_alone_in_its_process_pauses_the_collector_and_restores_it(
    reviewed, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # As in the management command or a single-threaded worker: no other thread to affect.
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    seen: list[bool] = []
    export_dataset(
        fmt="jsonl",
        out_dir=tmp_path,
        filters=ExportFilters(),
        on_row=lambda: seen.append(gc.isenabled()),
    )
    assert seen and not any(seen)
    assert gc.isenabled()
    with pytest.raises(ValueError, match="No reviewed clauses match"):
        export_dataset(fmt="jsonl", out_dir=tmp_path, filters=ExportFilters(plan_ids=(99999,)))
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_pause.gc_paused_if_only_thread() as paused:
            assert not paused
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_an_export_in_a_thread_of_a_web_process_leaves_the_collector_on(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """gc.disable() is process-wide: an export in one request's thread must not stop the
    collector for the others (here the test's own thread, which checks it mid-export)."""
    first_row, checked = threading.Event(), threading.Event()
    seen: list[bool] = []
    errors: list[BaseException] = []

    def on_row() -> None:
        seen.append(gc.isenabled())
        if not first_row.is_set():
            first_row.set()
            checked.wait(timeout=60)

    def request() -> None:
        try:
            export_dataset(fmt="parquet", out_dir=tmp_path, filters=ExportFilters(), on_row=on_row)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=request)
    worker.start()
    try:
        assert first_row.wait(timeout=60)
        assert gc.isenabled()  # while the export runs, for every thread of the process
    finally:
        checked.set()
        worker.join(timeout=60)
    assert not worker.is_alive() and not errors
    assert len(seen) == len(reviewed) and all(seen)
    assert (tmp_path / "clauses.parquet").exists()


@pytest.mark.postgres
def test_a_query_while_rows_stream_fails_at_once_instead_of_waiting_forever(reviewed) -> None:  # type: ignore[no-untyped-def]
    rows = export_rows(filters=ExportFilters())
    next(rows)
    with pytest.raises(RuntimeError, match="streams its rows over this database connection"):
        Clause.objects.count()
    rows.close()
    assert Clause.objects.count() > len(reviewed)


def test_a_failing_writer_releases_the_rows_at_once(reviewed, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def failing_writer(path, rows) -> None:  # type: ignore[no-untyped-def]
        next(rows)
        raise OSError("disk full")

    monkeypatch.setitem(writers.WRITERS, "jsonl", failing_writer)
    with pytest.raises(OSError, match="disk full") as failure:
        export_dataset(fmt="jsonl", out_dir=tmp_path, filters=ExportFilters())
    assert failure.traceback  # still alive, with the writer's frame and its rows: closed anyway
    assert Clause.objects.count() > len(reviewed)
    assert gc.isenabled()


def test_an_export_that_finds_nothing_or_fails_leaves_the_previous_export_as_it_was(
    reviewed, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    path, _ = export_dataset(fmt="csv", out_dir=tmp_path, filters=ExportFilters())
    before = path.read_bytes()
    with pytest.raises(ValueError, match="No reviewed clauses match"):
        export_dataset(
            fmt="csv", out_dir=tmp_path, filters=ExportFilters(since=dt.date(2999, 1, 1))
        )

    def failing_writer(path, rows) -> None:  # type: ignore[no-untyped-def]
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setitem(writers.WRITERS, "csv", failing_writer)
    with pytest.raises(OSError, match="disk full"):
        export_dataset(fmt="csv", out_dir=tmp_path, filters=ExportFilters())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "clauses.csv"]
