"""Two imports of the same bytes at the same moment store it once (PostgreSQL)."""

from __future__ import annotations

import pytest

from reviewapp.models import Plan
from reviewapp.services.plan_import import plans_import
from tests.concurrency import run_at_once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_the_same_file_store_one_plan(seed_bytes) -> None:  # type: ignore[no-untyped-def]
    outcomes: list[str] = []

    def run(_: int) -> None:
        _, result = plans_import(files=[("haidian.txt", seed_bytes["haidian"])])
        outcomes.extend(o.outcome for o in result)

    run_at_once(run, threads=2)
    assert sorted(outcomes) == ["duplicate", "imported"]
    assert Plan.objects.count() == 1


@pytest.mark.django_db
def test_a_duplicate_that_slips_past_the_check_is_caught_by_the_unique_constraint(
    seed_bytes,  # type: ignore[no-untyped-def]
    monkeypatch,
) -> None:
    from reviewapp.services import plan_import

    plans_import(files=[("haidian.txt", seed_bytes["haidian"])])
    # As if another import had committed between our duplicate check and our insert.
    monkeypatch.setattr(plan_import, "_outcome_before_parsing", lambda candidate, seen: None)
    _, outcomes = plans_import(files=[("again.txt", seed_bytes["haidian"])])
    assert outcomes[0].outcome == "duplicate"
    assert outcomes[0].plan_id == Plan.objects.get().pk
