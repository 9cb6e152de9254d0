from django.contrib import admin

from reviewapp.models import Agency, AgencyAlias, Clause, ImportBatch, ImportFile, Plan


class AgencyAliasInline(admin.TabularInline):
    model = AgencyAlias
    extra = 1


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    search_fields = ["name", "aliases__alias"]
    inlines = [AgencyAliasInline]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["title", "region", "document_number", "issue_date", "source_file_name"]
    search_fields = ["title", "region", "document_number"]
    exclude = ["cleaned_text"]


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
