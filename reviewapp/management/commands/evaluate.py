"""``python manage.py evaluate --labeler llm --prompt NAME``: run a labeler or a new prompt
version over the already-reviewed clauses (not the queue) and store the measured run, to compare
it with the current one before rolling it out."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from reviewapp.labeling.base import LABELER_LLM, LABELER_RULES, Labeler
from reviewapp.labeling.llm import LLMLabeler
from reviewapp.labeling.prompts import load_prompt
from reviewapp.management.commands.accuracy import format_rate
from reviewapp.models import ReviewItem, ReviewStatus
from reviewapp.services.accuracy import evaluation_run
from reviewapp.services.labeling import labeler_build, llm_config, rate_limiter


class Command(BaseCommand):
    help = "Measure a labeler or prompt version on the reviewed clauses and store the run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--labeler", choices=[LABELER_RULES, LABELER_LLM], required=True)
        parser.add_argument("--prompt", help="prompt file in prompts/ (LLM only)")
        parser.add_argument("--workers", type=int, default=4, help="parallel requests (LLM)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        labeler: Labeler
        try:
            if options["labeler"] == LABELER_LLM:
                prompt = load_prompt(options["prompt"] or settings.LLM_PROMPT)
                labeler = LLMLabeler(llm_config(), prompt, limiter=rate_limiter())
            else:
                labeler = labeler_build(name=LABELER_RULES)
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        total = ReviewItem.objects.filter(status=ReviewStatus.REVIEWED).count()
        bar = tqdm(
            total=total,
            unit="clause",
            disable=options["no_progress"] or not sys.stderr.isatty(),
            file=sys.stderr,
        )
        try:
            run = evaluation_run(
                labeler=labeler,
                workers=options["workers"] if options["labeler"] == LABELER_LLM else 1,
                on_clause=lambda: bar.update(1),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        report = run.report
        self.stdout.write(
            f"Evaluation run #{run.id}: {run.labeler} {run.model} {run.prompt_version} on "
            f"{run.clauses} reviewed clauses ({run.failed} failed). Sector "
            f"{format_rate(report['sector_accuracy'])}; targets F1 {format_rate(report['targets']['f1'])}; "
            f"kind {format_rate(report['kind_accuracy'])}."
        )
