"""The review screen in a real browser: a reviewer works through the queue with the keyboard.

Runs Debian's Chromium (``/usr/bin/chromium``) through Playwright; Playwright's own browser
downloads are never used. Without Chromium or the ``playwright`` package the test is skipped
locally and fails under ``CI=true``. A screenshot of the review screen is written to
``test-output/review-screen.png`` (``test-output/review-failure.png`` when the test fails).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from reviewapp.labels.schema import format_number, value_occurs_in
from reviewapp.models import Review, ReviewItem, Suggestion
from reviewapp.services.plan_import import plans_import
from reviewapp.services.review import QueueFilters, queue_items
from tests.conftest import SEED_FILES, _missing
from tests.factories import reviewer_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
SCREENSHOT = OUTPUT / "review-screen.png"
FAILURE_SCREENSHOT = OUTPUT / "review-failure.png"
REVIEW_URL = re.compile(r"/review/(\d+)/")
TIMEOUT_MS = 15_000
# Chromium reports CSP violations in the console by itself ("Refused to ..."); this listener makes
# sure every violation is logged, whatever the directive. Init scripts are not subject to the CSP.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads real commits


@pytest.fixture
def browser_context(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh headless Chromium profile."""
    if not CHROMIUM.exists():
        _missing(f"this test needs Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("this test needs the playwright package: pip install -e '.[dev]'")
    # Playwright's sync API keeps an event loop running in this thread; the test's ORM calls are
    # still synchronous and never overlap with it. While that loop runs, Django keeps this thread's
    # connections apart (asgiref's Local): they are closed below, before the loop stops, or they
    # would stay open and block the teardown of a PostgreSQL test database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
            locale="zh-CN",  # the reviewers' language: the screens render in Chinese
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        try:
            yield context
        finally:
            context.close()
            connections.close_all()


@dataclass(frozen=True)
class Queue:
    clause_ids: list[int]  # the first three clauses of the target queue, in order
    wrong: float  # the third one's first target value, as suggested
    right: float  # ... and as the clause says


@pytest.fixture
def target_queue() -> Queue:
    """The seed plans, labeled by the rules. The third clause of the target queue gets a wrong
    first target value in its suggestion, as a labeler may misread a number: the reviewer fixes
    it."""
    plans_import(files=[(path.name, path.read_bytes()) for path in SEED_FILES.values()])
    call_command("label", "--all", "--labeler", "rules", "--no-progress")
    upcoming = list(
        queue_items(filters=QueueFilters(kind="target")).values_list("clause_id", flat=True)[:3]
    )
    assert len(upcoming) == 3, "the seeds have fewer than three target clauses"
    suggestion = Suggestion.objects.get(clause_id=upcoming[2], labeler="rules")
    # The form's first target row is the one the reviewer fixes: put a target with a number
    # there (a clause's first target may be a dated commitment with no value).
    targets = suggestion.labels["targets"]
    numeric = [t for t in targets if t["value"] is not None]
    assert numeric, "the third target clause has no target with a value"
    suggestion.labels["targets"] = numeric[:1] + [t for t in targets if t is not numeric[0]]
    target = suggestion.labels["targets"][0]
    right = target["value"]
    wrong = right * 10
    assert not value_occurs_in(wrong, target["quote"])
    target["value"] = wrong
    suggestion.save(update_fields=["labels"])
    return Queue(clause_ids=upcoming, wrong=wrong, right=right)


def _favicon(url: str) -> bool:
    # The pages declare no icon, so Chromium asks for /favicon.ico and logs its 404. That is the
    # browser's own request, not the page's: it is the one console error tolerated.
    return url.endswith("/favicon.ico")


def _clause_id(url: str) -> int:
    match = REVIEW_URL.search(url)
    assert match, f"not a review screen: {url}"
    return int(match.group(1))


def test_a_reviewer_accepts_two_clauses_by_keyboard_and_fixes_a_target_value(
    live_server: Any, browser_context: Any, target_queue: Queue
) -> None:
    from playwright.sync_api import expect

    reviewer = reviewer_user()
    wrong, right = target_queue.wrong, target_queue.right
    FAILURE_SCREENSHOT.unlink(missing_ok=True)  # only the last run's failure is kept
    page = browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console.{message.type}: {message.text} ({message.location['url']})")
            if message.type in {"error", "warning"} and not _favicon(message.location["url"])
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status} {response.url}")
            if response.status >= 400 and not _favicon(response.url)
            else None
        ),
    )
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "reviewer-user")
        page.fill("#id_password", "pw-for-tests")
        with page.expect_navigation():
            page.press("#id_password", "Enter")
        page.goto(f"{live_server.url}/?kind=target")

        # The queue: Enter on the autofocused "Next clause" button.
        expect(page.locator("#next-form button[type=submit]")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        seen = [_clause_id(page.url)]

        # Two clauses accepted with a, Enter; each time the next clause loads.
        for _ in range(2):
            page.keyboard.press("a")
            expect(page.locator("#armed-hint")).to_be_visible()
            expect(page.locator('button[value="accept"]')).to_have_class(re.compile("armed"))
            with page.expect_navigation():
                page.keyboard.press("Enter")
            seen.append(_clause_id(page.url))
            assert seen[-1] not in seen[:-1], f"the same clause came back: {seen}"
        assert "kind=target" in page.url  # the filters follow the reviewer
        assert seen == target_queue.clause_ids

        # The third clause: f focuses the first field, Tab walks to the first target's value.
        value = page.locator("#id_targets-0-value")
        assert float(value.input_value()) == wrong
        expect(page.locator("#clause-text mark.hl-quote").first).to_be_visible()
        page.keyboard.press("f")
        expect(page.locator("#id_kind")).to_be_focused()
        for _ in range(40):
            if page.evaluate("document.activeElement.id") == "id_targets-0-value":
                break
            page.keyboard.press("Tab")
        expect(value).to_be_focused()
        page.keyboard.press("Control+a")
        page.keyboard.type(format_number(right))
        expect(value).to_have_value(format_number(right))
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        with page.expect_navigation():
            page.keyboard.press("Control+Enter")
        assert page.locator("#form-errors").count() == 0, page.locator("#form-errors").inner_text()
        assert _clause_id(page.url) not in seen  # saved: the next clause loaded
    except Exception:
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(FAILURE_SCREENSHOT), full_page=True)
        raise

    reviews = list(Review.objects.filter(reviewer=reviewer).order_by("id"))
    assert [(r.clause_id, r.decision) for r in reviews] == [
        (seen[0], "accepted"),
        (seen[1], "accepted"),
        (seen[2], "fixed"),
    ]
    fixed = reviews[2]
    assert fixed.labels_before["targets"][0]["value"] == wrong
    assert fixed.labels_after["targets"][0]["value"] == right
    assert problems == [], "\n".join(problems)


def test_x_pressed_twice_marks_not_a_clause_and_another_key_cancels_it(
    live_server: Any, browser_context: Any, target_queue: Queue
) -> None:
    from playwright.sync_api import expect

    reviewer_user()
    page = browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "reviewer-user")
    page.fill("#id_password", "pw-for-tests")
    with page.expect_navigation():
        page.press("#id_password", "Enter")
    page.goto(f"{live_server.url}/?kind=target")
    # Autofocus can land just after "load": pressing Enter before it would go nowhere.
    expect(page.locator("#next-form button[type=submit]")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    first = _clause_id(page.url)
    # x arms "not a clause"; Esc (or any other key) cancels it instead of confirming it.
    page.keyboard.press("x")
    expect(page.locator("#armed-hint")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#armed-hint")).to_be_hidden()
    assert not Review.objects.exists()
    # x, x: confirmed.
    page.keyboard.press("x")
    with page.expect_navigation():
        page.keyboard.press("x")
    assert Review.objects.get().decision == "not_a_clause"
    assert ReviewItem.objects.get(pk=first).status == "not_a_clause"
    assert _clause_id(page.url) != first
