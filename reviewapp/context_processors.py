from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from reviewapp.roles import is_admin


def roles(request: HttpRequest) -> dict[str, Any]:
    return {"is_admin": is_admin(request.user) if hasattr(request, "user") else False}
