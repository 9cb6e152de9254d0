"""``python manage.py accuracy [--json]``: each labeler/model/prompt version against the reviewed
labels, every rate with its n and 95% Wilson interval; and the evaluation runs."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.labels.accuracy import Rate
from reviewapp.models import EvaluationRun
from reviewapp.services.accuracy import (
    NO_REVIEWED_CLAUSES,
    accuracy_by_config,
    inter_reviewer_agreement,
)


def format_rate(rate: Rate | dict[str, Any]) -> str:
    data = rate.to_dict() if isinstance(rate, Rate) else rate
    if data["value"] is None:
        return "n/a (n=0)"
    interval = f" [{data['low']:.2f}–{data['high']:.2f}]" if data.get("low") is not None else ""
    return f"{data['value']:.3f}{interval} n={data['n']}"


class Command(BaseCommand):
    help = "Accuracy of each labeler, model and prompt version against the reviewed labels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        configs = accuracy_by_config()
        if not configs:
            raise CommandError(NO_REVIEWED_CLAUSES)
        agreement = inter_reviewer_agreement()
        runs = list(EvaluationRun.objects.all()[:20])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "configurations": [c.to_dict() for c in configs],
                        "inter_reviewer_agreement": agreement,
                        "evaluation_runs": [
                            {
                                "id": r.id,
                                "labeler": r.labeler,
                                "model": r.model,
                                "prompt_version": r.prompt_version,
                                "created_at": r.created_at.isoformat(),
                                "clauses": r.clauses,
                                "failed": r.failed,
                                "report": r.report,
                            }
                            for r in runs
                        ],
                    },
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        for config in configs:
            r = config.report
            self.stdout.write(
                f"\n{config.name}  ({r.n} reviewed clauses, {config.failed} failed suggestions)"
            )
            rows = [
                ("kind accuracy", r.kind_accuracy),
                ("sector accuracy", r.sector_accuracy),
                ("sector macro-F1", r.sector_macro_f1),
                ("deadlines exact match", r.deadlines_exact_match),
                ("targets precision", r.targets.precision),
                ("targets recall", r.targets.recall),
                ("targets F1", r.targets.f1),
                ("lead agency accuracy", r.lead_agency_accuracy),
                ("responsible agencies F1", r.responsible_agencies.f1),
                ("accepted unchanged", r.accepted_unchanged_share),
            ]
            for label, rate in rows:
                self.stdout.write(f"  {label:<26} {format_rate(rate)}")
        if agreement["clauses"]:
            kappa = agreement["sector_kappa"]
            self.stdout.write(
                f"\nInter-reviewer agreement on {agreement['clauses']} double-reviewed clauses: "
                f"sector kappa {kappa:.3f}"
            )
        for run in runs:
            report = run.report
            self.stdout.write(
                f"\nEvaluation run #{run.id} {run.labeler} {run.model} {run.prompt_version} "
                f"({run.clauses} clauses, {run.failed} failed): sector "
                f"{format_rate(report['sector_accuracy'])}, targets F1 {format_rate(report['targets']['f1'])}"
            )
