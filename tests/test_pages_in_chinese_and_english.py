"""The UI is Chinese by default; English is one switch away."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import reviewer_user

pytestmark = pytest.mark.django_db


def test_pages_are_in_chinese_by_default(client: Client) -> None:
    client.force_login(reviewer_user())
    html = client.get(reverse("queue")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "审核队列" in html and "下一条" in html


def test_switching_to_english_translates_the_pages(client: Client) -> None:
    client.force_login(reviewer_user())
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("queue")})
    assert response.status_code == 302
    html = client.get(reverse("queue")).content.decode()
    assert '<html lang="en">' in html
    assert "Review queue" in html and "Next clause" in html
