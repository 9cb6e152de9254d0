"""Settings helpers refuse bad values with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from reviewapp.env import env_bool, env_int, env_str, env_url

ROOT = Path(__file__).resolve().parent.parent


def test_a_non_boolean_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False)


def test_a_non_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORT_MAX_FILE_BYTES", "20MB")
    with pytest.raises(ImproperlyConfigured, match="IMPORT_MAX_FILE_BYTES='20MB' is not a whole"):
        env_int("IMPORT_MAX_FILE_BYTES", 1)


def test_a_number_below_its_minimum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORT_PARSE_PROCESSES", "0")
    with pytest.raises(ImproperlyConfigured, match="must be >= 1"):
        env_int("IMPORT_PARSE_PROCESSES", 2, minimum=1)


def test_a_url_with_the_wrong_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://localhost/db")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL='mysql://localhost/db'"):
        env_url("DATABASE_URL", None, schemes=("sqlite", "postgres"))


def test_a_required_value_that_is_missing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is required"):
        env_str("SECRET_KEY")


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_refuse_to_start_without_a_secret_key() -> None:
    result = _check({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_a_bad_setting_stops_a_command_with_one_line_naming_the_variable() -> None:
    result = _check({"DEBUG": "1", "LLM_CONCURRENCY": "abc"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Configuration error: Environment variable LLM_CONCURRENCY='abc' is not a whole number."
    ]


def _eager(redis_url: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DEBUG"] = "1"
    if redis_url:
        env["REDIS_URL"] = redis_url
    code = "from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_redis_url_tasks_run_in_process() -> None:
    assert _eager(None) == "True memory://"


def test_with_redis_url_tasks_go_to_redis() -> None:
    assert _eager("redis://127.0.0.1:6379/5") == "False redis://127.0.0.1:6379/5"
