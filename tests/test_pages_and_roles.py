"""Login is required everywhere; the upload page is for admins; plans are readable by reviewers."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from reviewapp.models import Plan
from reviewapp.services.plan_import import plans_import
from reviewapp.views.imports import NO_FILES_CHOSEN
from tests.factories import admin_user, reviewer_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", ["home", "import_upload"])
def test_anonymous_users_are_sent_to_the_login_page(client: Client, url_name: str) -> None:
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_reviewer_gets_403_on_the_upload_page(client: Client) -> None:
    client.force_login(reviewer_user())
    assert client.get(reverse("import_upload")).status_code == 403
    upload = SimpleUploadedFile("a.txt", b"x")
    assert client.post(reverse("import_upload"), {"files": [upload]}).status_code == 403
    assert Plan.objects.count() == 0


def test_an_admin_uploads_several_files_at_once_and_sees_each_outcome(
    client: Client, seed_bytes
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user())
    files = [
        SimpleUploadedFile("haidian.txt", seed_bytes["haidian"]),
        SimpleUploadedFile("yangpu.txt", seed_bytes["yangpu"]),
        SimpleUploadedFile("again.txt", seed_bytes["haidian"]),
    ]
    response = client.post(reverse("import_upload"), {"files": files})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="outcome-imported"') == 2
    assert page.count('class="outcome-duplicate"') == 1
    assert Plan.objects.count() == 2
    assert (
        Plan.objects.get(title="杨浦区碳达峰实施方案").import_batch.created_by.username
        == "admin-user"
    )


def test_submitting_no_file_says_so(client: Client) -> None:
    client.force_login(admin_user())
    response = client.post(reverse("import_upload"), {})
    assert NO_FILES_CHOSEN in response.content.decode()


def test_a_reviewer_can_read_plans_and_their_clauses(client: Client, seed_bytes) -> None:  # type: ignore[no-untyped-def]
    plans_import(files=[("nankai.txt", seed_bytes["nankai"])])
    client.force_login(reviewer_user())
    home = client.get(reverse("home")).content.decode()
    assert "天津市南开区碳达峰实施方案" in home
    plan = Plan.objects.get()
    detail = client.get(reverse("plan_detail", args=[plan.pk])).content.decode()
    assert "区机关事务服务中心" in detail
    assert detail.count('id="clause-') == 52


def test_clause_text_is_escaped_on_the_plan_page(client: Client) -> None:
    hostile = "一、总体要求\n<script>alert(1)</script>推动发展。(责任单位:区发展改革委)\n"
    plans_import(files=[("x.txt", hostile.encode())])
    client.force_login(reviewer_user())
    page = client.get(reverse("plan_detail", args=[Plan.objects.get().pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_batch_page_lists_each_file_with_its_message(client: Client, seed_bytes) -> None:  # type: ignore[no-untyped-def]
    batch, _ = plans_import(files=[("a.txt", seed_bytes["yangpu"]), ("empty.txt", b"")])
    client.force_login(admin_user())
    page = client.get(reverse("import_batch", args=[batch.pk])).content.decode()
    assert "a.txt" in page and "The file is empty." in page
