"""Labeling: which clauses still need labels (jobs), running a labeler on a batch of them,
storing the results.

One module per job: ``labelers`` (the factory and the LLM's configuration), ``enqueue``
(creating, sending and reconciling jobs, progress), ``claims`` (who holds a job: the raw-SQL
claims and the hand-backs), ``batch`` (the threaded batch runner, its top-ups and deadline),
``store`` (answers, cost and the response cache), ``agreement`` (where the labelers agree).
They import each other in that direction only: batch → store → agreement, claims; nothing here
imports ``workers``.

Celery tasks (``workers/tasks.py``) are thin adapters around ``BatchRunner.run`` (given a
``Deadline``), ``jobs_retry_or_fail`` and ``labeling_reconcile``, and provide the
``TaskQueue`` the service sends through; the CLI (``manage.py label``) and admin actions call
``labeling_enqueue``.
"""

from reviewapp.services.labeling.agreement import agreement_update, agreements_update
from reviewapp.services.labeling.batch import (
    JOB_SKIPPED,
    NOT_STARTED_IN_TIME,
    STORE_EVERY,
    BatchOutcome,
    BatchRunner,
    Deadline,
    RunOutcome,
    job_run,
    jobs_run,
)
from reviewapp.services.labeling.claims import (
    jobs_claim,
    jobs_claim_queued,
    jobs_fail,
    jobs_requeue,
    jobs_retry_or_fail,
    jobs_running,
    retry_countdown,
)
from reviewapp.services.labeling.enqueue import (
    BROKER_UNREACHABLE,
    BrokerUnreachable,
    TaskQueue,
    labeling_enqueue,
    labeling_progress,
    labeling_reconcile,
)
from reviewapp.services.labeling.labelers import (
    UNKNOWN_LABELER,
    clause_input,
    labeler_build,
    llm_config,
    rate_limiter,
)

__all__ = [
    "BROKER_UNREACHABLE",
    "JOB_SKIPPED",
    "NOT_STARTED_IN_TIME",
    "STORE_EVERY",
    "UNKNOWN_LABELER",
    "BatchOutcome",
    "BatchRunner",
    "BrokerUnreachable",
    "Deadline",
    "RunOutcome",
    "TaskQueue",
    "agreement_update",
    "agreements_update",
    "clause_input",
    "job_run",
    "jobs_claim",
    "jobs_claim_queued",
    "jobs_fail",
    "jobs_requeue",
    "jobs_retry_or_fail",
    "jobs_run",
    "jobs_running",
    "labeler_build",
    "labeling_enqueue",
    "labeling_progress",
    "labeling_reconcile",
    "llm_config",
    "rate_limiter",
    "retry_countdown",
]
