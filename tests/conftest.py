"""Shared fixtures. Tests that need a real service use the ``postgres`` or ``redis`` marker: when
the service is missing they are skipped locally but fail under ``CI=true``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

# Shared fixtures that live in their own module: the fake LLM server.
pytest_plugins = ["tests.llm_fixtures", "tests.review_fixtures"]

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_FILES = {
    "haidian": SEEDS / "beijing-haidian-2024.txt",
    "suzhou": SEEDS / "suzhou-2022.txt",
    "changping": SEEDS / "beijing-changping-2023.txt",
    "nankai": SEEDS / "tianjin-nankai-2022.txt",
    "yangpu": SEEDS / "shanghai-yangpu-2022.txt",
}


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres"):
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            _missing("this test needs PostgreSQL: set DATABASE_URL=postgres://…")
    if request.node.get_closest_marker("redis"):
        if not settings.REDIS_URL:
            _missing("this test needs Redis: set REDIS_URL=redis://…")
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL).ping()
        except redis.exceptions.ConnectionError as exc:
            _missing(f"Redis at {settings.REDIS_URL} is not reachable: {exc}")


@pytest.fixture
def seed_bytes() -> dict[str, bytes]:
    return {key: path.read_bytes() for key, path in SEED_FILES.items()}
