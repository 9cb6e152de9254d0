from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from reviewapp.roles import ADMIN_GROUP, REVIEWER_GROUP


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        self.save()


def admin_user() -> User:
    # As demo_accounts creates admins: staff with every permission, for the Django admin too.
    return UserFactory(username="admin-user", role=ADMIN_GROUP, is_staff=True, is_superuser=True)


def reviewer_user() -> User:
    return UserFactory(username="reviewer-user", role=REVIEWER_GROUP)
