"""The review form: the labels of one clause, validated by the label schema itself."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from reviewapp.labels.schema import (
    SECTORS,
    Change,
    ClauseLabels,
    Comparator,
    Kind,
    labels_validate,
)

_SEPARATORS = re.compile(r"[、,，;；\n]+")
# htmx narrows the datalist of agency names as the reviewer types (views.review.agency_suggest).
_AUTOCOMPLETE = {
    "list": "agency-names",
    "autocomplete": "off",
    "hx-get": "/agencies/suggest/",
    "hx-trigger": "input changed delay:200ms",
    "hx-target": "#agency-names",
    "hx-swap": "innerHTML",
}
KIND_CHOICES = [(k.value, k.value) for k in Kind]
SECTOR_CHOICES = [(code.value, f"{zh} ({code.value})") for code, (zh, _covers) in SECTORS.items()]


class TargetForm(forms.Form):
    indicator = forms.CharField(label=_("Indicator"), max_length=300)
    value = forms.FloatField(label=_("Value"), required=False)
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False)
    comparator = forms.ChoiceField(
        label=_("Comparator"), choices=[(c.value, c.value) for c in Comparator], initial="="
    )
    change = forms.ChoiceField(
        label=_("Change"), choices=[(c.value, c.value) for c in Change], initial="level"
    )
    baseline_year = forms.IntegerField(label=_("Baseline year"), required=False)
    deadline_year = forms.IntegerField(label=_("Deadline year"), required=False)
    start_year = forms.IntegerField(label=_("Start year"), required=False)
    quote = forms.CharField(label=_("Quote"), widget=forms.Textarea(attrs={"rows": 1}))


TargetFormSet = forms.formset_factory(TargetForm, extra=0, can_delete=True)


class LabelsForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES)
    sector = forms.ChoiceField(label=_("Sector"), choices=SECTOR_CHOICES)
    secondary_sectors = forms.MultipleChoiceField(
        label=_("Secondary sectors"),
        choices=SECTOR_CHOICES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    lead_agencies = forms.CharField(
        label=_("Lead agencies"),
        required=False,
        help_text=_("Separate names with 、"),
        widget=forms.TextInput(attrs=_AUTOCOMPLETE),
    )
    responsible_agencies = forms.CharField(
        label=_("Responsible agencies"),
        required=False,
        help_text=_("In the note's order, leads included"),
        widget=forms.TextInput(attrs=_AUTOCOMPLETE),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
    started_at = forms.FloatField(widget=forms.HiddenInput, required=False)


def initial_from_labels(
    labels: dict[str, Any] | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Form and formset initial data from a labels dict (a suggestion's or a review's)."""
    labels = labels or {}
    form = {
        "kind": labels.get("kind", Kind.MEASURE.value),
        "sector": labels.get("sector", "overall"),
        "secondary_sectors": labels.get("secondary_sectors", []),
        "lead_agencies": "、".join(labels.get("lead_agencies", [])),
        "responsible_agencies": "、".join(labels.get("responsible_agencies", [])),
    }
    return form, [dict(t) for t in labels.get("targets", [])]


def labels_from_forms(
    form: LabelsForm, targets: Any, *, clause_text: str, plan_year: int | None = None
) -> tuple[ClauseLabels | None, list[str]]:
    """Build and validate labels from valid forms. Returns (labels, errors): the schema's
    messages (a quote that is not in the clause…) go back to the reviewer, inline."""
    data = form.cleaned_data
    target_rows = [
        {k: v for k, v in row.items() if k != "DELETE" and v not in (None, "")}
        for row in targets.cleaned_data
        if row and not row.get("DELETE")
    ]
    payload = {
        "kind": data["kind"],
        "sector": data["sector"],
        "secondary_sectors": data["secondary_sectors"],
        "targets": target_rows,
        "lead_agencies": _names(data["lead_agencies"]),
        "responsible_agencies": _names(data["responsible_agencies"]),
    }
    try:
        return labels_validate(payload, clause_text=clause_text, plan_year=plan_year), []
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"] if part != "__root__")
            text = error["msg"].removeprefix("Value error, ")
            messages.append(f"{where}: {text}" if where else text)
        return None, messages


def _names(value: str) -> list[str]:
    return [name.strip() for name in _SEPARATORS.split(value or "") if name.strip()]
