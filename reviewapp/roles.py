"""Roles are Django groups: ``reviewer`` (review only) and ``admin`` (import, label, export…)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

REVIEWER_GROUP = "reviewer"
ADMIN_GROUP = "admin"


def is_admin(user: Any) -> bool:
    if not user.is_authenticated:
        return False
    # Asked several times per request (views, templates): one query per user object.
    cached = getattr(user, "_is_admin", None)
    if cached is None:
        cached = user.is_superuser or user.groups.filter(name=ADMIN_GROUP).exists()
        user._is_admin = cached
    return bool(cached)


def admin_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Login required; a logged-in user who is not an admin gets 403, not a login loop."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
