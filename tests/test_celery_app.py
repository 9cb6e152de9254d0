"""The Celery app reads its broker from REDIS_URL and reaches it."""

from __future__ import annotations

import pytest
from django.conf import settings

from workers import app


@pytest.mark.redis
def test_the_celery_app_connects_to_the_configured_redis() -> None:
    assert app.conf.broker_url == settings.REDIS_URL
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        assert connection.connected


def test_the_celery_app_uses_late_acks_and_prefetch_one() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
