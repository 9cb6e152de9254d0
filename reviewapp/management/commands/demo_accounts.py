"""Create (or reset) the demo reviewer and admin accounts and print their logins."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from reviewapp.roles import ADMIN_GROUP, REVIEWER_GROUP


class Command(BaseCommand):
    help = "Create or reset the 'reviewer' and 'admin' demo accounts and print their passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        reviewer = _account("reviewer", password, REVIEWER_GROUP, staff=False)
        admin = _account("admin", password, ADMIN_GROUP, staff=True)
        self.stdout.write("Demo logins (http://127.0.0.1:8000/):")
        self.stdout.write(f"  reviewer: {reviewer.username} / {password}")
        self.stdout.write(f"  admin:    {admin.username} / {password}")


def _account(username: str, password: str, group_name: str, *, staff: bool) -> User:
    user, _ = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.is_staff = staff
    user.is_superuser = staff  # the demo admin also manages users and agencies in Django admin
    user.save()
    user.groups.add(Group.objects.get_or_create(name=group_name)[0])
    return user
