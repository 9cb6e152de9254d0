"""The accuracy measure on small hand-computed cases: every expected number is worked out in a
comment next to it."""

from __future__ import annotations

import json

import pytest

from reviewapp.labels.accuracy import (
    LabelPair,
    Rate,
    accuracy_report,
    breakdown,
    cohens_kappa,
    exact_match_share,
    wilson,
)
from reviewapp.labels.schema import ClauseLabels, format_number

ALIASES = {"区发改委": "区发展改革委"}


def alias_canonical(names: list[str]) -> list[str]:
    return [ALIASES.get(name, name) for name in names]


def target(value: float | None, unit: str, year: int | None, indicator: str = "指标") -> dict:  # type: ignore[type-arg]
    quote = indicator + (format_number(value) if value is not None else "") + unit
    return {
        "indicator": indicator,
        "value": value,
        "unit": unit,
        "deadline_year": year,
        "quote": quote,
    }


def labels(
    sector: str = "energy",
    *,
    kind: str | None = None,
    targets: list[dict] | None = None,  # type: ignore[type-arg]
    lead: list[str] | None = None,
    responsible: list[str] | None = None,
    secondary: list[str] | None = None,
) -> ClauseLabels:
    targets = targets or []
    return ClauseLabels.model_validate(
        {
            "kind": kind or ("target" if targets else "measure"),
            "sector": sector,
            "secondary_sectors": secondary or [],
            "targets": targets,
            "lead_agencies": lead or [],
            "responsible_agencies": responsible or [],
        }
    )


def test_the_wilson_interval_of_8_of_10_is_0_4902_to_0_9433() -> None:
    # p = 0.8, z = 1.96, z² = 3.8416, z²/n = 0.38416, d = 1 + 0.38416 = 1.38416
    # center = (0.8 + 3.8416/20) / d = 0.99208 / 1.38416 = 0.716738
    # half = 1.96 / d · sqrt(0.8·0.2/10 + 3.8416/400) = 1.416022 · sqrt(0.025604) = 0.226581
    # (low, high) = (0.490157, 0.943319)
    low, high = wilson(8, 10, z=1.96)  # type: ignore[misc]
    assert round(low, 4) == 0.4902
    assert round(high, 4) == 0.9433
    # The default z = 1.959963984540054 gives the same interval to 4 decimals.
    low, high = wilson(8, 10)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


def test_the_wilson_interval_touches_0_and_1_at_the_extremes_and_is_none_for_no_data() -> None:
    # 0 of 10: low = 0; high = (z²/n) / (1 + z²/n) = 0.38416 / 1.38416 = 0.277539
    low, high = wilson(0, 10, z=1.96)  # type: ignore[misc]
    assert low == 0.0
    assert round(high, 4) == 0.2775
    # 10 of 10 mirrors it: (1 - 0.277539, 1)
    low, high = wilson(10, 10, z=1.96)  # type: ignore[misc]
    assert (round(low, 4), high) == (0.7225, 1.0)
    assert wilson(0, 0) is None
    assert Rate.of(0, 0) == Rate(None, 0, None, None)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_clauses_without_targets_on_either_side_leave_precision_and_recall_undefined() -> None:
    # No targets anywhere: TP = FP = FN = 0, so P = 0/0, R = 0/0, F1 = 0/0 → None with n = 0.
    # The clause still counts for kind (1/1), sector (1/1) and deadlines ({} == {}: 1/1).
    report = accuracy_report([(labels(), labels())])
    assert report.n == 1
    assert report.targets.precision == Rate(None, 0, None, None)
    assert report.targets.recall == Rate(None, 0, None, None)
    assert report.targets.f1.value is None
    assert report.targets.f1.n == 0
    assert (report.targets.tp, report.targets.fp, report.targets.fn) == (0, 0, 0)
    assert (report.kind_accuracy.value, report.kind_accuracy.n) == (1.0, 1)
    assert (report.sector_accuracy.value, report.sector_accuracy.n) == (1.0, 1)
    assert (report.deadlines_exact_match.value, report.deadlines_exact_match.n) == (1.0, 1)
    # Two empty lead-agency sets are equal too; no responsible agencies → undefined P/R.
    assert report.lead_agency_accuracy.value == 1.0
    assert report.responsible_agencies.precision.value is None


def test_a_missing_target_lowers_recall_but_not_precision() -> None:
    # Reviewed 10%/2025 and 5%/2030; predicted 10%/2025 only.
    # TP = 1, FP = 0, FN = 1 → P = 1/1 = 1.0, R = 1/2 = 0.5, F1 = 2·1 / (2·1 + 0 + 1) = 2/3.
    reviewed = labels(targets=[target(10, "%", 2025), target(5, "%", 2030)])
    predicted = labels(targets=[target(10, "%", 2025)])
    scores = accuracy_report([(predicted, reviewed)]).targets
    assert (scores.tp, scores.fp, scores.fn) == (1, 0, 1)
    assert (scores.precision.value, scores.precision.n) == (1.0, 1)
    assert (scores.recall.value, scores.recall.n) == (0.5, 2)
    assert scores.f1.value == pytest.approx(2 / 3)
    assert scores.f1.n == 2  # TP + FP + FN = 1 + 0 + 1
    assert scores.f1.low is None and scores.f1.high is None
    # Deadlines: {2025} ≠ {2025, 2030} → 0/1.
    assert accuracy_report([(predicted, reviewed)]).deadlines_exact_match.value == 0.0


def test_an_extra_target_lowers_precision_but_not_recall() -> None:
    # Reviewed 10%/2025; predicted 10%/2025 and 20万千瓦/2025.
    # TP = 1, FP = 1, FN = 0 → P = 1/2 = 0.5, R = 1/1 = 1.0, F1 = 2 / (2 + 1 + 0) = 2/3.
    reviewed = labels(targets=[target(10, "%", 2025)])
    predicted = labels(targets=[target(10, "%", 2025), target(20, "万千瓦", 2025)])
    scores = accuracy_report([(predicted, reviewed)]).targets
    assert (scores.tp, scores.fp, scores.fn) == (1, 1, 0)
    assert (scores.precision.value, scores.precision.n) == (0.5, 2)
    assert (scores.recall.value, scores.recall.n) == (1.0, 1)
    assert scores.f1.value == pytest.approx(2 / 3)


def test_target_scores_are_micro_averaged_over_clauses() -> None:
    # Clause 1 misses a target (TP 1, FN 1), clause 2 adds one (TP 1, FP 1), clause 3 has none.
    # Summed: TP = 2, FP = 1, FN = 1 → P = 2/3, R = 2/3, F1 = 4 / (4 + 1 + 1) = 2/3.
    pairs = [
        (labels(targets=[target(1, "个", 2025)]), labels(targets=[target(1, "个", 2025)] * 2)),
        (labels(targets=[target(3, "%", 2025), target(4, "%", 2030)]),
         labels(targets=[target(3, "%", 2025)])),
        (labels(), labels()),
    ]  # fmt: skip
    scores = accuracy_report(pairs).targets
    assert (scores.tp, scores.fp, scores.fn) == (2, 1, 1)
    assert scores.precision.value == pytest.approx(2 / 3)
    assert scores.precision.n == 3
    assert scores.recall.value == pytest.approx(2 / 3)
    assert scores.f1.value == pytest.approx(2 / 3)


def test_two_identical_reviewed_targets_need_two_predictions() -> None:
    # Reviewed: two targets with the same key (1 个, 2025); predicted: one with that key.
    # Matching is one-to-one: TP = 1, FN = 1 → R = 1/2. Two predictions → TP = 2 → R = 1.
    reviewed = labels(targets=[target(1, "个", 2025, "示范区"), target(1, "个", 2025, "示范园区")])
    one = labels(targets=[target(1, "个", 2025)])
    two = labels(targets=[target(1, "个", 2025)] * 2)
    assert accuracy_report([(one, reviewed)]).targets.recall.value == 0.5
    assert accuracy_report([(two, reviewed)]).targets.recall.value == 1.0


def test_2_9_wan_kilowatts_matches_29000_kilowatts_and_full_width_percent_matches() -> None:
    # 2.9万千瓦 → (29000.0, "千瓦", 2025) = 29000千瓦; 10％ → (10.0, "%", 2025) = 10%.
    # TP = 2, FP = FN = 0 → P = R = F1 = 1.
    reviewed = labels(targets=[target(29000, "千瓦", 2025), target(10, "%", 2025)])
    predicted = labels(targets=[target(2.9, "万千瓦", 2025), target(10, "％", 2025)])
    scores = accuracy_report([(predicted, reviewed)]).targets
    assert (scores.tp, scores.fp, scores.fn) == (2, 0, 0)
    assert scores.f1.value == 1.0


def test_a_target_with_another_deadline_does_not_match() -> None:
    # Same value and unit, deadline 2030 vs 2025: TP = 0, FP = 1, FN = 1 → P = R = 0, F1 = 0.
    scores = accuracy_report(
        [(labels(targets=[target(10, "%", 2030)]), labels(targets=[target(10, "%", 2025)]))]
    ).targets
    assert (scores.tp, scores.fp, scores.fn) == (0, 1, 1)
    assert scores.f1.value == 0.0


def test_an_agency_alias_matches_its_canonical_name() -> None:
    # Predicted lead {区发改委}, responsible {区发改委, 区财政局};
    # reviewed lead {区发展改革委}, responsible {区发展改革委, 区生态环境局}.
    # With 区发改委 → 区发展改革委: lead sets equal → 1/1; responsible TP = 1 (区发展改革委),
    # FP = 1 (区财政局), FN = 1 (区生态环境局) → P = 1/2, R = 1/2, F1 = 2 / (2 + 1 + 1) = 0.5.
    predicted = labels(lead=["区发改委"], responsible=["区发改委", "区财政局"])
    reviewed = labels(lead=["区发展改革委"], responsible=["区发展改革委", "区生态环境局"])
    report = accuracy_report([(predicted, reviewed)], canonical=alias_canonical)
    assert (report.lead_agency_accuracy.value, report.lead_agency_accuracy.n) == (1.0, 1)
    agencies = report.responsible_agencies
    assert (agencies.tp, agencies.fp, agencies.fn) == (1, 1, 1)
    assert (agencies.precision.value, agencies.recall.value, agencies.f1.value) == (0.5, 0.5, 0.5)
    # Without the alias nothing matches: lead 0/1, responsible TP = 0, FP = 2, FN = 2.
    plain = accuracy_report([(predicted, reviewed)])
    assert plain.lead_agency_accuracy.value == 0.0
    assert (plain.responsible_agencies.tp, plain.responsible_agencies.fn) == (0, 2)


def test_canonical_names_are_looked_up_once_per_report_and_breakdown() -> None:
    calls: list[list[str]] = []

    def counting(names: list[str]) -> list[str]:
        calls.append(names)
        return alias_canonical(names)

    pair = LabelPair(
        labels(lead=["区发改委"], responsible=["区发改委"]),
        labels(lead=["区发展改革委"], responsible=["区发展改革委"]),
        plan="A",
    )
    accuracy_report([pair, pair], canonical=counting)
    breakdown([pair, pair], "plan", canonical=counting)
    assert len(calls) == 2
    assert sorted(calls[0]) == ["区发展改革委", "区发改委"]
    with pytest.raises(ValueError, match="one name per name"):
        accuracy_report([pair], canonical=lambda names: names[:1])


def _three_sector_pairs() -> list[tuple[ClauseLabels, ClauseLabels]]:
    # (predicted, reviewed): reviewed energy, energy, industry, transport;
    #                        predicted energy, industry, industry, energy.
    return [
        (labels("energy"), labels("energy")),
        (labels("industry"), labels("energy")),
        (labels("industry"), labels("industry")),
        (labels("energy"), labels("transport")),
    ]


def test_sector_macro_f1_averages_the_classes_that_occur_on_either_side() -> None:
    # energy:    TP 1, FP 1 (transport clause), FN 1 (→ industry)  F1 = 2/(2+1+1) = 1/2
    # industry:  TP 1, FP 1 (energy clause),    FN 0               F1 = 2/(2+1+0) = 2/3
    # transport: TP 0, FP 0,                    FN 1               F1 = 0/(0+0+1) = 0
    # The other 10 sectors occur nowhere and are left out.
    # macro = (1/2 + 2/3 + 0) / 3 = (7/6) / 3 = 7/18 = 0.3889; accuracy = 2/4.
    report = accuracy_report(_three_sector_pairs())
    assert report.sector_macro_f1.value == pytest.approx(7 / 18)
    assert report.sector_macro_f1.n == 4
    assert report.sector_macro_f1.low is None
    assert report.sector_f1_by_class == pytest.approx(
        {"energy": 0.5, "industry": 2 / 3, "transport": 0.0}
    )
    assert report.sector_accuracy.value == 0.5


def test_a_predicted_only_sector_counts_in_macro_f1_with_zero() -> None:
    # Reviewed energy, predicted buildings: energy F1 = 0/(0+0+1) = 0, buildings 0/(0+1+0) = 0.
    # macro = (0 + 0) / 2 = 0.
    report = accuracy_report([(labels("buildings"), labels("energy"))])
    assert report.sector_f1_by_class == {"energy": 0.0, "buildings": 0.0}
    assert report.sector_macro_f1.value == 0.0


def test_the_sector_confusion_matrix_counts_reviewed_rows_against_predicted_columns() -> None:
    # Rows are the reviewed sector, columns the predicted one; empty cells are left out.
    assert accuracy_report(_three_sector_pairs()).sector_confusion == {
        "energy": {"energy": 1, "industry": 1},
        "industry": {"industry": 1},
        "transport": {"energy": 1},
    }


def test_cohens_kappa_of_the_classic_two_by_two_table_is_0_4() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = (20 + 15)/50 = 0.7; A says yes 25/50, B says yes 30/50;
    # p_e = 0.5·0.6 + 0.5·0.4 = 0.5 → kappa = (0.7 - 0.5)/(1 - 0.5) = 0.4.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohens_kappa(a, b) == pytest.approx(0.4)


def test_cohens_kappa_edge_cases() -> None:
    assert cohens_kappa([], []) is None
    # One and the same label throughout: p_o = p_e = 1, 0/0 → 1.0 by convention.
    assert cohens_kappa(["energy"] * 3, ["energy"] * 3) == 1.0
    # Total disagreement on two balanced labels: p_o = 0, p_e = 0.5 → (0 - 0.5)/0.5 = -1.
    assert cohens_kappa(["a", "b"], ["b", "a"]) == -1.0
    with pytest.raises(ValueError):
        cohens_kappa(["a"], [])


def test_the_accepted_unchanged_share_counts_only_known_pairs() -> None:
    # True, False, True, unknown → 2 of 3 known; 95 % Wilson (z = 1.959964) for 2/3.
    pair = (labels(), labels())
    pairs = [
        LabelPair(*pair, accepted_unchanged=True),
        LabelPair(*pair, accepted_unchanged=False),
        LabelPair(*pair, accepted_unchanged=True),
        LabelPair(*pair),
    ]
    share = accuracy_report(pairs).accepted_unchanged_share
    assert (share.value, share.n) == (pytest.approx(2 / 3), 3)
    assert (share.low, share.high) == wilson(2, 3)
    assert accuracy_report(pairs).kind_accuracy.n == 4


def test_a_breakdown_by_plan_gives_one_report_per_plan() -> None:
    # Plan A: kind right, kind wrong (principle vs measure) → 1/2; plan B: kind right → 1/1.
    pairs = [
        LabelPair(labels(), labels(), plan="A"),
        LabelPair(labels(kind="principle"), labels(), plan="A"),
        LabelPair(labels(), labels("transport"), plan="B"),
    ]
    by_plan = breakdown(pairs, "plan")
    assert list(by_plan) == ["A", "B"]
    assert (by_plan["A"].n, by_plan["A"].kind_accuracy.value) == (2, 0.5)
    assert (by_plan["B"].n, by_plan["B"].kind_accuracy.value) == (1, 1.0)
    # Plan B's one clause: reviewed transport, predicted energy → sector 0/1.
    assert by_plan["B"].sector_accuracy.value == 0.0


def test_a_breakdown_by_sector_groups_by_the_reviewed_sector() -> None:
    # Reviewed energy ×2 (predicted energy, industry), industry ×1, transport ×1.
    by_sector = breakdown(_three_sector_pairs(), "sector")
    assert {group: report.n for group, report in by_sector.items()} == {
        "energy": 2,
        "industry": 1,
        "transport": 1,
    }
    assert by_sector["energy"].sector_accuracy.value == 0.5  # 1 of 2
    by_region = breakdown(_three_sector_pairs(), "region")
    assert list(by_region) == [None]  # no region given: one group None


def test_exact_match_share_compares_a_field_across_two_lists() -> None:
    # secondary_sectors as sets: [industry, buildings] = [buildings, industry]; [] ≠ [policy].
    # → 1 of 2 agree.
    a = [labels(secondary=["industry", "buildings"]), labels()]
    b = [labels(secondary=["buildings", "industry"]), labels(secondary=["policy"])]
    share = exact_match_share(a, b, "secondary_sectors")
    assert (share.value, share.n) == (0.5, 2)
    # Lead agencies through the alias map: 区发改委 = 区发展改革委 → 1 of 1.
    lead_a = [labels(lead=["区发改委"], responsible=["区发改委"])]
    lead_b = [labels(lead=["区发展改革委"], responsible=["区发展改革委"])]
    assert exact_match_share(lead_a, lead_b, "lead_agencies", canonical=alias_canonical).value == 1
    assert exact_match_share(lead_a, lead_b, "lead_agencies").value == 0
    with pytest.raises(ValueError):
        exact_match_share(a, b, "colour")


def test_the_report_serialises_to_json() -> None:
    pairs = [LabelPair(*pair, plan="A", accepted_unchanged=True) for pair in _three_sector_pairs()]
    data = json.loads(json.dumps(accuracy_report(pairs).to_dict()))
    assert data["kind_accuracy"]["value"] == 1.0
    assert set(data["kind_accuracy"]) == {"value", "n", "low", "high"}
    assert data["sector_confusion"]["transport"] == {"energy": 1}
    assert data["targets"]["precision"] == {"value": None, "n": 0, "low": None, "high": None}
    assert set(data["responsible_agencies"]) == {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert data["accepted_unchanged_share"]["n"] == 4
