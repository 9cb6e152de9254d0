"""The admins' download page: the dataset in a chosen format, zipped with its card."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from reviewapp.models import Plan
from reviewapp.roles import admin_required
from reviewapp.services.export import FORMATS, ExportFilters, export_dataset


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], initial="jsonl")
    plans = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.only("id", "title"), required=False
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


@admin_required
def export_download(request: HttpRequest) -> HttpResponseBase:
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        filters = ExportFilters(
            plan_ids=tuple(p.pk for p in form.cleaned_data["plans"]),
            since=form.cleaned_data["since"],
        )
        work = Path(tempfile.mkdtemp(prefix="export-"))
        try:
            path, _summary = export_dataset(
                fmt=form.cleaned_data["format"], out_dir=work, filters=filters
            )
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            archive = work / "dataset.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
                for file in sorted(work.iterdir()):
                    if file != archive:
                        bundle.write(file, file.name)
            # FileResponse streams the file; the temporary folder is the OS's to clean.
            return FileResponse(
                archive.open("rb"), as_attachment=True, filename=f"dataset-{path.stem}.zip"
            )
    return render(request, "reviewapp/export.html", {"form": form})
