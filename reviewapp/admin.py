from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from reviewapp.models import (
    Agency,
    AgencyAlias,
    Clause,
    ImportBatch,
    ImportFile,
    LabelingJob,
    Plan,
    Suggestion,
)
from reviewapp.services.labeling import (
    BrokerUnreachable,
    labeling_enqueue,
    labeling_progress,
)


class AgencyAliasInline(admin.TabularInline):
    model = AgencyAlias
    extra = 1


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    search_fields = ["name", "aliases__alias"]
    inlines = [AgencyAliasInline]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["title", "region", "document_number", "issue_date", "labeling_progress"]
    search_fields = ["title", "region", "document_number"]
    exclude = ["cleaned_text"]
    actions = ["label_with_rules", "label_with_llm"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        queryset = super().get_queryset(request)
        self._progress = labeling_progress(plan_ids=queryset.values_list("id", flat=True))
        return queryset

    @admin.display(description="labeling: done / failed / in progress / pending")
    def labeling_progress(self, plan: Plan) -> str:
        counts = getattr(self, "_progress", {}).get(plan.id)
        if not counts:
            return "not labeled"
        busy = counts["queued"] + counts["running"]
        return f"{counts['done']} / {counts['failed']} / {busy} / {counts['pending']}"

    def _label(self, request: HttpRequest, queryset: QuerySet[Plan], labeler: str) -> None:
        clause_ids = Clause.objects.filter(plan__in=queryset).values_list("id", flat=True)
        try:
            queued = labeling_enqueue(clause_ids=clause_ids, labeler_name=labeler)
        except (ValueError, FileNotFoundError, BrokerUnreachable) as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return
        self.message_user(request, f"{len(queued)} clauses queued for the {labeler} labeler.")

    @admin.action(description="Label with the rule labeler (offline)")
    def label_with_rules(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        self._label(request, queryset, "rules")

    @admin.action(description="Label with the LLM (LLM_* settings)")
    def label_with_llm(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        self._label(request, queryset, "llm")


@admin.register(Clause)
class ClauseAdmin(admin.ModelAdmin):
    list_display = ["plan", "ordinal", "kind_hint"]
    list_filter = ["kind_hint"]
    raw_id_fields = ["plan"]


class ImportFileInline(admin.TabularInline):
    model = ImportFile
    extra = 0
    readonly_fields = ["file_name", "size", "sha256", "outcome", "message", "plan", "clause_count"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_by", "source", "created_at"]
    inlines = [ImportFileInline]


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ["clause", "labeler", "model", "prompt_version", "status", "cost", "created_at"]
    list_filter = ["labeler", "status", "model", "prompt_version"]
    raw_id_fields = ["clause"]


@admin.register(LabelingJob)
class LabelingJobAdmin(admin.ModelAdmin):
    list_display = ["clause", "labeler", "model", "state", "attempts", "updated_at", "reason"]
    list_filter = ["labeler", "state"]
    raw_id_fields = ["clause"]
