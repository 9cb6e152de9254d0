"""Plans and their clauses, as imported (read-only; every logged-in user)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from reviewapp.models import Plan
from reviewapp.roles import is_admin


@login_required
def home(request: HttpRequest) -> HttpResponse:
    plans = (
        Plan.objects.annotate(clause_count=Count("clauses"))
        .only("id", "title", "region", "issuing_body", "document_number", "issue_date")
        .order_by("-issue_date", "id")
    )
    return render(
        request, "reviewapp/home.html", {"plans": plans, "is_admin": is_admin(request.user)}
    )


@login_required
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(Plan.objects.defer("cleaned_text"), pk=plan_id)
    clauses = plan.clauses.all()
    return render(request, "reviewapp/plan_detail.html", {"plan": plan, "clauses": clauses})
