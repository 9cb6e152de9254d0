"""The reviewers' screens: the queue, the review screen, history, guidelines, adjudication."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from reviewapp.forms.review import (
    LabelsForm,
    TargetFormSet,
    initial_from_labels,
    labels_from_forms,
)
from reviewapp.highlight import highlight_clause
from reviewapp.labels.schema import SECTORS, Kind
from reviewapp.models import (
    Agency,
    Clause,
    Plan,
    Review,
    ReviewDecision,
    ReviewItem,
    Suggestion,
)
from reviewapp.roles import admin_required, is_admin
from reviewapp.services.review import (
    QueueFilters,
    ReviewConflict,
    adjudication_items,
    holds_claim,
    plan_progress,
    queue_counts,
    queue_items,
    review_claim_next,
    review_release,
    review_submit,
    suggestion_primary,
)

QUEUE_EMPTY = gettext_noop("No clause left in the queue for these filters.")
_ACTIONS = {"accept", "save", "not_a_clause", "skip"}


def _filters(params: Any) -> QueueFilters:
    plan = params.get("plan", "")
    return QueueFilters(
        plan_id=int(plan) if plan.isdigit() else None,
        sector=params.get("sector", "")
        if params.get("sector", "") in {s.value for s in SECTORS}
        else "",
        kind=params.get("kind", "") if params.get("kind", "") in {k.value for k in Kind} else "",
        disagreement=params.get("disagreement") == "1",
        failed=params.get("failed") == "1",
        low_confidence=params.get("low_confidence") == "1",
    )


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    filters = _filters(request.GET)
    progress = plan_progress()
    upcoming = queue_items(filters=filters).values(
        "clause_id", "plan_id", "ordinal", "priority", "sector", "kind", "disagreement", "failed"
    )[:25]
    return render(
        request,
        "reviewapp/queue.html",
        {
            "counts": queue_counts(),
            "progress": progress,
            "upcoming": upcoming,
            "filters": filters,
            "query": request.GET.urlencode(),
            # The plan filter offers the plans with open work (and the one chosen); any plan can
            # be reviewed from its page on Plans.
            "plans": _filter_plans(progress, filters.plan_id),
            "sectors": [(code.value, zh) for code, (zh, _c) in SECTORS.items()],
            "kinds": [k.value for k in Kind],
            "is_admin": is_admin(request.user),
        },
    )


def _filter_plans(progress: list[dict[str, Any]], chosen: int | None) -> list[tuple[int, str]]:
    plans = [(row["plan_id"], row["plan__title"]) for row in progress]
    if chosen and chosen not in {pid for pid, _ in plans}:
        plans += list(Plan.objects.filter(pk=chosen).values_list("pk", "title"))
    return plans


@login_required
@require_POST
def queue_next(request: HttpRequest) -> HttpResponse:
    filters = _filters(request.POST)
    item = review_claim_next(user=request.user, filters=filters)
    if item is None:
        messages.info(request, _(QUEUE_EMPTY))
        return redirect(reverse("queue") + "?" + request.POST.get("query", ""))
    url = reverse("review", args=[item.clause_id])
    query = request.POST.get("query", "")
    return redirect(f"{url}?{query}" if query else url)


@login_required
def review(request: HttpRequest, clause_id: int) -> HttpResponse:
    item = get_object_or_404(
        ReviewItem.objects.select_related("clause", "plan").defer("plan__cleaned_text"),
        pk=clause_id,
    )
    adjudicating = is_admin(request.user) and item.status == "adjudication"
    if not (holds_claim(user=request.user, item=item) or adjudicating):
        # Reading a clause one does not hold is allowed to admins (the history), not to
        # reviewers: they work from the queue.
        if not is_admin(request.user):
            messages.warning(request, _("This clause is not assigned to you. Take the next one."))
            return redirect("queue")
    clause = item.clause
    suggestions = list(Suggestion.objects.filter(clause=clause).order_by("labeler"))
    primary = suggestion_primary(suggestions)
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in _ACTIONS:
            return HttpResponse(status=400)
        response, errors = _decide(request, item, clause, action, adjudicating)
        if response is not None:
            return response
        form = LabelsForm(request.POST)
        targets = TargetFormSet(request.POST, prefix="targets")
    else:
        initial, target_initial = initial_from_labels(primary.labels if primary else None)
        form = LabelsForm(initial={**initial, "version": item.version, "started_at": time.time()})
        targets = TargetFormSet(initial=target_initial, prefix="targets")
    return render(
        request,
        "reviewapp/review.html",
        _review_context(
            request, item, clause, suggestions, primary, form, targets, errors, adjudicating
        ),
    )


def _decide(
    request: HttpRequest, item: ReviewItem, clause: Clause, action: str, adjudicating: bool
) -> tuple[HttpResponse | None, list[str]]:
    """Apply an action. Returns a redirect when it is done, or the errors to show."""
    try:
        version = int(request.POST.get("version", "-1"))
        started = float(request.POST.get("started_at") or time.time())
    except ValueError:
        return HttpResponse(status=400), []
    seconds = int(time.time() - started)
    labels = None
    decision = {
        "accept": ReviewDecision.ACCEPTED,
        "save": ReviewDecision.FIXED,
        "not_a_clause": ReviewDecision.NOT_A_CLAUSE,
        "skip": ReviewDecision.SKIPPED,
    }[action]
    if action == "save" or (adjudicating and action == "accept"):
        form = LabelsForm(request.POST)
        targets = TargetFormSet(request.POST, prefix="targets")
        if not (form.is_valid() and targets.is_valid()):
            return None, [_("Check the highlighted fields.")]
        labels, errors = labels_from_forms(
            form, targets, clause_text=clause.text, plan_year=item.plan.plan_year
        )
        if errors:
            return None, errors
    if adjudicating:
        decision = (
            ReviewDecision.NOT_A_CLAUSE if action == "not_a_clause" else ReviewDecision.ADJUDICATED
        )
        if action == "skip":
            return redirect("adjudication"), []
    try:
        review_submit(
            user=request.user,
            clause_id=clause.id,
            decision=decision,
            version=version,
            labels=labels,
            seconds_spent=seconds,
            adjudicating=adjudicating,
        )
    except ReviewConflict as exc:
        return None, [_(str(exc))]
    except ValueError:
        return None, [_("There is no valid suggestion to accept: fix the labels and save.")]
    if adjudicating:
        return redirect("adjudication"), []
    if action == "skip":
        review_release(user=request.user, clause_id=clause.id)
    return _next(request), []


def _next(request: HttpRequest) -> HttpResponse:
    """After a decision the next clause loads, with the same filters."""
    filters = _filters(request.GET)
    item = review_claim_next(user=request.user, filters=filters)
    if item is None:
        messages.info(request, _(QUEUE_EMPTY))
        return redirect("queue")
    url = reverse("review", args=[item.clause_id])
    return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)


def _review_context(
    request: HttpRequest,
    item: ReviewItem,
    clause: Clause,
    suggestions: list[Suggestion],
    primary: Suggestion | None,
    form: LabelsForm,
    targets: Any,
    errors: list[str],
    adjudicating: bool,
) -> dict[str, Any]:
    neighbours = {
        c.ordinal: c
        for c in Clause.objects.filter(
            plan_id=clause.plan_id, ordinal__in=[clause.ordinal - 1, clause.ordinal + 1]
        ).only("ordinal", "text", "heading_path")
    }
    others = [s for s in suggestions if primary is None or s.pk != primary.pk]
    blind = item.reviews_count > 0 and not adjudicating  # double review: no first labels shown
    history = (
        list(Review.objects.filter(clause=clause).select_related("reviewer"))
        if is_admin(request.user) or not blind
        else []
    )
    return {
        "item": item,
        "clause": clause,
        "plan": item.plan,
        "highlighted": highlight_clause(clause.text, primary.labels if primary else None),
        "previous": neighbours.get(clause.ordinal - 1),
        "next": neighbours.get(clause.ordinal + 1),
        "primary": primary,
        "disagreements": _disagreements(primary, others),
        "failed": [s for s in suggestions if s.status == "failed"],
        "form": form,
        "targets": targets,
        "errors": errors,
        "history": history,
        "adjudicating": adjudicating,
        "query": request.GET.urlencode(),
        # The agency list is filled by htmx as the reviewer types (agency_suggest), starting
        # with the names of this clause's suggestion.
        "agency_names": sorted(
            set((primary.labels or {}).get("responsible_agencies", [])) if primary else set()
        ),
    }


def _disagreements(primary: Suggestion | None, others: list[Suggestion]) -> dict[str, str]:
    """Field -> the other labeler's value, where it differs from the prefilled one."""
    if primary is None or not primary.labels:
        return {}
    shown: dict[str, str] = {}
    for other in others:
        if not other.labels:
            continue
        for field in ("kind", "sector", "deadlines", "lead_agencies", "responsible_agencies"):
            if other.labels.get(field) != primary.labels.get(field):
                value = other.labels.get(field)
                shown[field] = (
                    f"{other.labeler}: {'、'.join(map(str, value)) if isinstance(value, list) else value}"
                )
        ours = [
            (t.get("value"), t.get("unit"), t.get("deadline_year"))
            for t in primary.labels.get("targets", [])
        ]
        theirs = [
            (t.get("value"), t.get("unit"), t.get("deadline_year"))
            for t in other.labels.get("targets", [])
        ]
        if sorted(map(str, ours)) != sorted(map(str, theirs)):
            shown["targets"] = f"{other.labeler}: " + "; ".join(
                f"{v}{u} ({d})" for v, u, d in theirs
            )
    return shown


@login_required
@require_GET
def clause_history(request: HttpRequest, clause_id: int) -> HttpResponse:
    if (
        not is_admin(request.user)
        and not Review.objects.filter(clause_id=clause_id, reviewer_id=request.user.pk).exists()
    ):
        raise Http404  # reviewers see the history of clauses they reviewed themselves
    clause = get_object_or_404(Clause.objects.select_related("plan"), pk=clause_id)
    reviews = Review.objects.filter(clause=clause).select_related("reviewer")
    return render(request, "reviewapp/history.html", {"clause": clause, "reviews": reviews})


@login_required
@require_GET
def guidelines(request: HttpRequest) -> HttpResponse:
    sectors = [(code.value, zh, covers) for code, (zh, covers) in SECTORS.items()]
    return render(request, "reviewapp/guidelines.html", {"sectors": sectors})


@admin_required
@require_GET
def adjudication(request: HttpRequest) -> HttpResponse:
    items = adjudication_items().select_related("plan")[:200]
    return render(request, "reviewapp/adjudication.html", {"items": items})


@login_required
@require_GET
def agency_suggest(request: HttpRequest) -> HttpResponse:
    """htmx: options for the agency autocomplete."""
    typed = next(
        (
            request.GET[k]
            for k in ("q", "lead_agencies", "responsible_agencies")
            if request.GET.get(k)
        ),
        "",
    )
    query = typed.split("、")[-1].strip()  # the name being typed, after the last separator
    names = (
        Agency.objects.filter(name__icontains=query).values_list("name", flat=True)[:20]
        if query
        else []
    )
    return render(request, "reviewapp/_agency_options.html", {"names": names})
