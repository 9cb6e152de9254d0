"""The accuracy page: per-field rates with 95% intervals, the sector confusion matrix, and
accuracy as reviews accumulate. Charts are plain SVG made here (no script, CSP-safe)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reviewapp.labels.accuracy import AccuracyReport, Rate
from reviewapp.models import EvaluationRun
from reviewapp.roles import admin_required
from reviewapp.services.accuracy import ConfigAccuracy, accuracy_by_config, inter_reviewer_agreement

BAR_WIDTH = 360  # px for a rate of 1.0


def _fields(report: AccuracyReport) -> list[tuple[str, Rate]]:
    return [
        ("kind", report.kind_accuracy),
        ("sector", report.sector_accuracy),
        ("sector macro-F1", report.sector_macro_f1),
        ("deadlines", report.deadlines_exact_match),
        ("targets P", report.targets.precision),
        ("targets R", report.targets.recall),
        ("targets F1", report.targets.f1),
        ("lead agency", report.lead_agency_accuracy),
        ("responsible F1", report.responsible_agencies.f1),
        ("accepted unchanged", report.accepted_unchanged_share),
    ]


def _bars(report: AccuracyReport) -> list[dict[str, Any]]:
    bars = []
    for index, (label, rate) in enumerate(_fields(report)):
        value = rate.value or 0.0
        bars.append(
            {
                "label": label,
                "rate": rate,
                "y": 6 + index * 24,
                "width": round(value * BAR_WIDTH, 1),
                "low": round((rate.low or value) * BAR_WIDTH, 1) if rate.low is not None else None,
                "high": round((rate.high or value) * BAR_WIDTH, 1)
                if rate.high is not None
                else None,
            }
        )
    return bars


def _confusion(report: AccuracyReport) -> dict[str, Any]:
    sectors = sorted(
        {s for row in report.sector_confusion.values() for s in row} | set(report.sector_confusion)
    )
    peak = max((n for row in report.sector_confusion.values() for n in row.values()), default=1)
    rows = [
        (
            reviewed,
            [
                (
                    n := report.sector_confusion.get(reviewed, {}).get(predicted, 0),
                    round(9 * n / peak),
                    reviewed == predicted,
                )
                for predicted in sectors
            ],
        )
        for reviewed in sectors
    ]
    return {"sectors": sectors, "rows": rows}


def _timeline(config: ConfigAccuracy) -> dict[str, Any]:
    points = [(day, rate.value or 0.0, rate.n) for day, rate in config.over_time]
    if not points:
        return {"points": "", "labels": []}
    width, height = 360, 120
    step = width / max(1, len(points) - 1)
    coords = [
        (round(i * step, 1), round(height - value * height, 1))
        for i, (_, value, _) in enumerate(points)
    ]
    return {
        "points": " ".join(f"{x},{y}" for x, y in coords),
        "dots": [
            {"x": x, "y": y, "day": day, "value": value, "n": n}
            for (x, y), (day, value, n) in zip(coords, points, strict=True)
        ],
    }


@admin_required
def accuracy(request: HttpRequest) -> HttpResponse:
    configs = accuracy_by_config()
    return render(
        request,
        "reviewapp/accuracy.html",
        {
            "configs": [
                {
                    "config": config,
                    "bars": _bars(config.report),
                    "confusion": _confusion(config.report),
                    "timeline": _timeline(config),
                    "by_plan": [(k, _fields(v)[1][1], v.n) for k, v in config.by_plan.items()],
                    "by_region": [(k, _fields(v)[1][1], v.n) for k, v in config.by_region.items()],
                    "by_sector": [(k, _fields(v)[1][1], v.n) for k, v in config.by_sector.items()],
                }
                for config in configs
            ],
            "agreement": inter_reviewer_agreement(),
            "runs": EvaluationRun.objects.all()[:20],
            "bar_width": BAR_WIDTH,
        },
    )
