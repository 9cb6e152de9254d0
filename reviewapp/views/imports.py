"""The admins' multi-file upload page. It calls the same service as ``import_plans``."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from reviewapp.models import ImportBatch, ImportSource
from reviewapp.roles import admin_required
from reviewapp.services.plan_import import UnreadFile, plans_import

NO_FILES_CHOSEN = "Choose at least one file to import."


class _MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class _MultipleFileField(forms.FileField):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", _MultipleFileInput(attrs={"multiple": True}))
        # Empty files go to the importer, which reports them like the CLI does.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self, data: object, initial: object = None) -> list[object]:
        if not data:
            raise forms.ValidationError(NO_FILES_CHOSEN)
        items = data if isinstance(data, (list, tuple)) else [data]
        return [super(_MultipleFileField, self).clean(item, initial) for item in items]


class ImportForm(forms.Form):
    files = _MultipleFileField(  # type: ignore[assignment]  # a form field, not BaseForm.files
        label="Plan files",
        help_text=".txt (UTF-8 or GBK/GB18030), .html, .docx, .pdf with a text layer, or .zip of these",
        required=True,
        error_messages={"required": NO_FILES_CHOSEN},
    )


@admin_required
def import_upload(request: HttpRequest) -> HttpResponse:
    outcomes = None
    batch = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            files: list[tuple[str, bytes]] = []
            unread: list[UnreadFile] = []
            for upload in form.cleaned_data["files"]:
                # Refuse before reading: the upload may already be a large temp file on disk.
                if upload.size > settings.IMPORT_MAX_FILE_BYTES:
                    unread.append(UnreadFile(name=upload.name, size=upload.size))
                else:
                    files.append((upload.name, upload.read()))
            batch, outcomes = plans_import(
                files=files, unread=unread, source=ImportSource.UPLOAD, user=request.user
            )
            form = ImportForm()
    else:
        form = ImportForm()
    recent = ImportBatch.objects.select_related("created_by")[:10]
    return render(
        request,
        "reviewapp/import_upload.html",
        {"form": form, "outcomes": outcomes, "batch": batch, "recent": recent},
    )


@admin_required
def import_batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    return render(
        request,
        "reviewapp/import_batch.html",
        {"batch": batch, "files": batch.files.select_related("plan").all()},
    )
