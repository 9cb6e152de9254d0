"""Untrusted clause text and model output are escaped; CSP and CSRF are on; roles hold."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from reviewapp.models import Clause, Suggestion
from reviewapp.services.plan_import import plans_import
from reviewapp.services.review import QueueFilters, review_claim_next, review_item_refresh
from tests.factories import reviewer_user

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture
def hostile() -> Clause:
    text = f"一、总体要求\n(一)宣传\n{SCRIPT}{IMG}开展宣传。(责任单位:区委宣传部)\n"
    plans_import(files=[("x.txt", text.encode())])
    clause = Clause.objects.get()
    Suggestion.objects.create(
        clause=clause, labeler="llm", model="m", prompt_version="v", schema_version="1",
        status="valid", labels={"kind": "measure", "sector": "public", "targets": [],
        "deadlines": [], "lead_agencies": [IMG], "responsible_agencies": [IMG, SCRIPT]},
    )  # fmt: skip
    Suggestion.objects.create(
        clause=clause, labeler="rules", prompt_version="v2", schema_version="1", status="failed",
        error=SCRIPT, raw_output=IMG,
    )  # fmt: skip
    review_item_refresh(clause_id=clause.id)
    return clause


def test_script_and_img_payloads_in_a_clause_and_a_suggestion_are_escaped(
    client: Client, hostile
) -> None:  # type: ignore[no-untyped-def]
    user = reviewer_user()
    client.force_login(user)
    review_claim_next(user=user, filters=QueueFilters())
    html = client.get(reverse("review", args=[hostile.id])).content.decode()
    assert SCRIPT not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html


def test_pages_send_a_content_security_policy_without_inline_scripts(client: Client) -> None:
    client.force_login(reviewer_user())
    response = client.get(reverse("queue"))
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()  # only <script src=…>


def test_posts_without_a_csrf_token_are_refused(queued) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer_user())
    assert client.post(reverse("queue_next"), {}).status_code == 403


@pytest.mark.parametrize(
    "url", ["/import/", "/adjudication/", "/admin/", "/admin/reviewapp/plan/", "/import/1/"]
)
def test_a_reviewer_gets_403_on_admin_pages(client: Client, url: str) -> None:
    client.force_login(reviewer_user())
    assert client.get(url).status_code == 403


def test_a_reviewer_cannot_read_the_history_of_a_clause_they_did_not_review(
    client: Client, queued
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reviewer_user())
    assert client.get(reverse("clause_history", args=[queued[0].id])).status_code == 404
