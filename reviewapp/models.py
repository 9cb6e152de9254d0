"""The plan and clause data model, import batches, and the canonical agency table."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ClauseKind(models.TextChoices):
    # The values of label-schema.md's ``kind``.
    TARGET = "target", "目标 target"
    MEASURE = "measure", "措施 measure"
    PRINCIPLE = "principle", "原则 principle"


class ImportSource(models.TextChoices):
    CLI = "cli", "command line"
    UPLOAD = "upload", "upload page"


class ImportOutcome(models.TextChoices):
    IMPORTED = "imported", "imported"
    DUPLICATE = "duplicate", "duplicate"
    REJECTED = "rejected", "rejected"


class ImportBatch(models.Model):
    """One run of the importer (a CLI call or an upload): who, when, and each file's outcome."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    source = models.CharField(max_length=16, choices=ImportSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.get_source_display()}, {self.created_at:%Y-%m-%d %H:%M})"

    def counts(self) -> dict[str, int]:
        rows = self.files.values("outcome").annotate(n=models.Count("id"))
        counts = {outcome.value: 0 for outcome in ImportOutcome}
        counts.update({row["outcome"]: row["n"] for row in rows})
        return counts


class ImportFile(models.Model):
    """The outcome of one file of a batch (zip entries are files of their own)."""

    batch = models.ForeignKey(ImportBatch, related_name="files", on_delete=models.CASCADE)
    file_name = models.CharField(max_length=500)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=ImportOutcome.choices)
    message = models.TextField(blank=True)
    plan = models.ForeignKey("Plan", null=True, blank=True, on_delete=models.SET_NULL)
    clause_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.file_name}: {self.outcome}"


class Plan(models.Model):
    title = models.CharField(max_length=300)
    region = models.CharField(max_length=100, blank=True, db_index=True)
    issuing_body = models.CharField(max_length=200, blank=True)
    document_number = models.CharField(max_length=100, blank=True)
    issue_date = models.DateField(null=True, blank=True, db_index=True)
    # The year an annual plan is for (``2021年度工作计划``): a time limit with no year falls in it.
    plan_year = models.PositiveSmallIntegerField(null=True, blank=True)
    source_file_name = models.CharField(max_length=500)
    source_format = models.CharField(max_length=8)
    # Of the original bytes, so that re-importing the same file is recognised as a duplicate.
    sha256 = models.CharField(max_length=64, unique=True)
    cleaned_text = models.TextField()
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, related_name="plans", on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.document_number})" if self.document_number else self.title


class Clause(models.Model):
    """One task unit of a plan (label-schema.md, "What a clause is")."""

    plan = models.ForeignKey(Plan, related_name="clauses", on_delete=models.CASCADE)
    ordinal = models.PositiveIntegerField()
    heading_path = models.JSONField(default=list)
    text = models.TextField()
    # Offsets into plan.cleaned_text: plan.cleaned_text[start_offset:end_offset] == text.
    start_offset = models.PositiveIntegerField()
    end_offset = models.PositiveIntegerField()
    responsibility_note = models.TextField(blank=True)
    lead_agencies = models.JSONField(default=list)
    responsible_agencies = models.JSONField(default=list)
    kind_hint = models.CharField(max_length=16, choices=ClauseKind.choices, db_index=True)

    class Meta:
        ordering = ["plan_id", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "ordinal"], name="clause_unique_ordinal"),
            models.CheckConstraint(
                condition=models.Q(end_offset__gt=models.F("start_offset")),
                name="clause_offsets_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}#{self.ordinal} {self.text[:30]}"

    def heading_path_display(self) -> str:
        return " / ".join(self.heading_path)


class Agency(models.Model):
    """A canonical agency name; aliases map other spellings onto it (区发改委 → 区发展改革委)."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class AgencyAlias(models.Model):
    alias = models.CharField(max_length=100, unique=True)
    agency = models.ForeignKey(Agency, related_name="aliases", on_delete=models.CASCADE)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "agency aliases"

    def __str__(self) -> str:
        return f"{self.alias} → {self.agency.name}"


# --- Labeling ---------------------------------------------------------------------------------


class LabelerName(models.TextChoices):
    RULES = "rules", "rules (offline)"
    LLM = "llm", "LLM"


class LabelingState(models.TextChoices):
    PENDING = "pending", "pending"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class SuggestionStatus(models.TextChoices):
    VALID = "valid", "valid"
    FAILED = "failed", "failed validation"


class LabelingJob(models.Model):
    """What still has to be done: one clause for one labeler configuration.

    The database, not the broker, is the source of truth: a message lost in Redis leaves its job
    queued here, and the reconciler enqueues it again.
    """

    clause = models.ForeignKey(Clause, related_name="labeling_jobs", on_delete=models.CASCADE)
    labeler = models.CharField(max_length=16, choices=LabelerName.choices)
    model = models.CharField(max_length=100, blank=True)
    prompt_version = models.CharField(max_length=100)
    state = models.CharField(
        max_length=16, choices=LabelingState.choices, default=LabelingState.PENDING
    )
    reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)  # task runs
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clause", "labeler", "model", "prompt_version"], name="job_unique_config"
            )
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="job_state_updated")]

    def __str__(self) -> str:
        return f"{self.labeler} clause {self.clause_id}: {self.state}"


class Suggestion(models.Model):
    """A labeler's labels for a clause (or, if they never validated, the last error and output)."""

    clause = models.ForeignKey(Clause, related_name="suggestions", on_delete=models.CASCADE)
    labeler = models.CharField(max_length=16, choices=LabelerName.choices)
    model = models.CharField(max_length=100, blank=True)
    prompt_version = models.CharField(max_length=100)
    schema_version = models.CharField(max_length=8)
    status = models.CharField(max_length=16, choices=SuggestionStatus.choices)
    labels = models.JSONField(null=True, blank=True)
    confidence = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    raw_output = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    requests = models.PositiveIntegerField(default=0)
    cached = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One suggestion per configuration: a duplicate delivery of a task changes nothing.
            models.UniqueConstraint(
                fields=["clause", "labeler", "model", "prompt_version"],
                name="suggestion_unique_config",
            )
        ]
        indexes = [models.Index(fields=["labeler", "status"], name="suggestion_labeler_status")]

    def __str__(self) -> str:
        return f"{self.labeler} → clause {self.clause_id} ({self.status})"


class LabelAttempt(models.Model):
    """One HTTP request to a model, kept for cost and reliability figures."""

    job = models.ForeignKey(LabelingJob, related_name="label_attempts", on_delete=models.CASCADE)
    status = models.CharField(max_length=16)  # ok | invalid | http_error | timeout | rate_limited
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of job {self.job_id}: {self.status}"


class LLMResponseCache(models.Model):
    """Answers keyed by (clause text, prompt version, model, parameters): re-running is free."""

    key = models.CharField(max_length=64, unique=True)
    labels = models.JSONField()
    raw_output = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class ClauseAgreement(models.Model):
    """Field-by-field agreement of the rule and LLM labelers; the review queue puts
    disagreements first."""

    clause = models.OneToOneField(Clause, related_name="agreement", on_delete=models.CASCADE)
    fields = models.JSONField(default=dict)  # field -> True (agree) / False
    disagreements = models.PositiveIntegerField(default=0, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"clause {self.clause_id}: {self.disagreements} disagreements"


# --- Review -----------------------------------------------------------------------------------


class ReviewStatus(models.TextChoices):
    OPEN = "open", "open"
    REVIEWED = "reviewed", "reviewed"
    ADJUDICATION = "adjudication", "needs adjudication"
    NOT_A_CLAUSE = "not_a_clause", "not a clause"


class ReviewDecision(models.TextChoices):
    ACCEPTED = "accepted", "accepted unchanged"
    FIXED = "fixed", "fixed"
    NOT_A_CLAUSE = "not_a_clause", "not a clause"
    SKIPPED = "skipped", "skipped"
    ADJUDICATED = "adjudicated", "adjudicated"


class ReviewItem(models.Model):
    """A clause's place in the review queue. A lean row of its own, so that counting and listing
    the queue never reads the large text columns of clauses and suggestions."""

    clause = models.OneToOneField(
        Clause, primary_key=True, related_name="review_item", on_delete=models.CASCADE
    )
    plan = models.ForeignKey(Plan, related_name="review_items", on_delete=models.CASCADE)
    ordinal = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    # Queue order: 0 labelers disagree, 1 a suggestion failed, 2 low confidence, 3 the rest.
    priority = models.PositiveSmallIntegerField(default=3)
    sector = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=16, blank=True)
    disagreement = models.BooleanField(default=False)
    failed = models.BooleanField(default=False)
    low_confidence = models.BooleanField(default=False)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="review_claims",
        on_delete=models.SET_NULL,
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    reviews_count = models.PositiveSmallIntegerField(default=0)
    # Optimistic concurrency: a save names the version it started from.
    version = models.PositiveIntegerField(default=0)
    final_labels = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "priority", "plan", "ordinal"], name="review_queue_order"
            ),
            models.Index(fields=["claimed_by", "claim_expires_at"], name="review_claims"),
        ]

    def __str__(self) -> str:
        return f"clause {self.clause_id}: {self.status}"


class Review(models.Model):
    """One reviewer's decision on a clause: kept forever, with the labels before and after."""

    clause = models.ForeignKey(Clause, related_name="reviews", on_delete=models.CASCADE)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="reviews", on_delete=models.PROTECT
    )
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    suggestion = models.ForeignKey(
        Suggestion, null=True, blank=True, related_name="reviews", on_delete=models.SET_NULL
    )
    labels_before = models.JSONField(null=True, blank=True)
    labels_after = models.JSONField(null=True, blank=True)
    seconds_spent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["reviewer", "created_at"], name="review_by_reviewer")]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision} clause {self.clause_id}"


# --- Evaluation -------------------------------------------------------------------------------


class EvaluationRun(models.Model):
    """A labeler (or a new prompt version) run over already-reviewed clauses and measured,
    before it is rolled out to the queue."""

    labeler = models.CharField(max_length=16, choices=LabelerName.choices)
    model = models.CharField(max_length=100, blank=True)
    prompt_version = models.CharField(max_length=100)
    clauses = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.labeler} {self.model} {self.prompt_version} ({self.created_at:%Y-%m-%d})"


class EvaluationPrediction(models.Model):
    run = models.ForeignKey(EvaluationRun, related_name="predictions", on_delete=models.CASCADE)
    clause = models.ForeignKey(Clause, on_delete=models.CASCADE)
    labels = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"run {self.run_id} clause {self.clause_id}"


class ReviewCount(models.Model):
    """How many queue items of a plan are in each review status, kept in step with every status
    change (same transaction), so the queue page never counts the whole queue."""

    plan = models.ForeignKey(Plan, related_name="review_counts", on_delete=models.CASCADE)
    status = models.CharField(max_length=16, choices=ReviewStatus.choices)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "status"], name="review_count_unique")
        ]

    def __str__(self) -> str:
        return f"plan {self.plan_id} {self.status}: {self.n}"
