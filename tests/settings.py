"""Test settings: the product's settings with a fixed key; the database and Redis come from
DATABASE_URL / REDIS_URL exactly as in production (``.ci/run`` points them at PostgreSQL and
Redis; locally they default to SQLite and in-process tasks)."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from reviewapp.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
IMPORT_PARSE_PROCESSES = 1
# Tasks run in the test process; the reliability tests start real Celery workers instead.
CELERY_TASK_ALWAYS_EAGER = True
