"""``python manage.py label [--plan ID ...|--all] [--labeler rules|llm] [--relabel]``.

Queues labeling jobs (tasks run in-process without REDIS_URL, on Celery workers with it), shows a
progress bar until the jobs finish, and ends with a summary.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from reviewapp.labeling.base import LABELER_LLM, LABELER_RULES
from reviewapp.models import Clause, LabelingJob, LabelingState, Plan
from reviewapp.services.labeling import BrokerUnreachable, labeler_build, labeling_enqueue

NO_CLAUSES = "No clauses to label: import plans first (manage.py import_plans)."
NO_SCOPE = "Say which plans to label: --plan ID (repeatable) or --all."
UNKNOWN_PLAN = "No plan with id {ids}."
WAITING_FOR_WORKERS = (
    "Nothing finished yet: is a worker running? (celery -A workers worker); "
    "--no-wait returns at once, the jobs stay queued in the database."
)


class Command(BaseCommand):
    help = "Label clauses with the offline rule labeler or an LLM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--plan", type=int, action="append", default=[], help="plan id")
        parser.add_argument("--all", action="store_true", help="every plan")
        parser.add_argument(
            "--labeler", choices=[LABELER_RULES, LABELER_LLM], default=LABELER_RULES
        )
        parser.add_argument("--relabel", action="store_true", help="label again what is done")
        parser.add_argument("--no-wait", action="store_true", help="queue and return at once")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["all"] and not options["plan"]:
            raise CommandError(NO_SCOPE)
        clauses = Clause.objects.all()
        if options["plan"]:
            missing = set(options["plan"]) - set(
                Plan.objects.filter(id__in=options["plan"]).values_list("id", flat=True)
            )
            if missing:
                raise CommandError(UNKNOWN_PLAN.format(ids=", ".join(map(str, sorted(missing)))))
            clauses = clauses.filter(plan_id__in=options["plan"])
        clause_ids = list(clauses.values_list("id", flat=True))
        if not clause_ids:
            raise CommandError(NO_CLAUSES)
        try:
            labeler = labeler_build(name=options["labeler"])
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        try:
            queued = labeling_enqueue(
                clause_ids=clause_ids, labeler_name=options["labeler"], relabel=options["relabel"]
            )
        except BrokerUnreachable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{len(queued)} of {len(clause_ids)} clauses queued for {labeler.name}"
            f"{' (' + labeler.model + ')' if labeler.model else ''} {labeler.prompt_version}."
        )
        jobs = LabelingJob.objects.filter(
            clause_id__in=clause_ids,
            labeler=labeler.name,
            model=labeler.model,
            prompt_version=labeler.prompt_version,
        )
        if not options["no_wait"]:
            self._wait(jobs, len(clause_ids), options)
        counts = {s: jobs.filter(state=s).count() for s in LabelingState}
        self.stdout.write(
            f"{counts[LabelingState.DONE]} done, {counts[LabelingState.FAILED]} failed, "
            f"{counts[LabelingState.QUEUED] + counts[LabelingState.RUNNING]} in progress, "
            f"{counts[LabelingState.PENDING]} pending."
        )
        for job in jobs.filter(state=LabelingState.FAILED)[:10]:
            self.stdout.write(f"  clause {job.clause_id}: {job.reason[:200]}")

    def _wait(self, jobs: Any, total: int, options: dict[str, Any]) -> None:
        finished = [LabelingState.DONE, LabelingState.FAILED]
        bar = tqdm(
            total=total,
            unit="clause",
            disable=options["no_progress"] or not sys.stderr.isatty(),
            file=sys.stderr,
        )
        started = time.monotonic()
        deadline = started + options["timeout"]
        done = 0
        hinted = False
        while True:
            now_done = jobs.filter(state__in=finished).count()
            bar.update(now_done - done)
            done = now_done
            if done >= total or time.monotonic() > deadline:
                break
            if not hinted and done == 0 and time.monotonic() - started > 10:
                self.stderr.write(WAITING_FOR_WORKERS)
                hinted = True
            time.sleep(0.5)
        bar.close()
