"""Django settings. Every deployment-specific value comes from the environment (see
``.env.example``); the defaults run the product on one machine with nothing installed: SQLite
and in-process Celery tasks."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from reviewapp.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Never a hard-coded production key: without DEBUG the key must come from the environment.
SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-key-only-for-debug" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "reviewapp.apps.ReviewAppConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files (the Django admin's CSS) under gunicorn, without a CDN.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "reviewapp.middleware.ReviewersForbiddenInAdminMiddleware",
    "reviewapp.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "reviewapp.urls"
WSGI_APPLICATION = "reviewapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reviewapp.context_processors.roles",
            ],
        },
    },
]

_default_db = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
_database_url = env_url(
    "DATABASE_URL", _default_db, schemes=("sqlite", "postgres", "postgresql", "pgsql")
)
DATABASES = {"default": dj_database_url.parse(_database_url or _default_db, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Import writes and reads overlap in the dev server; wait for the lock instead of failing.
    # WAL lets readers go on during a write and makes each commit far cheaper.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "queue"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "reviewapp" / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto, Django must trust that header to
# know the request was HTTPS (secure cookies, CSRF origin checks).
if env_bool("BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)

# --- Celery -----------------------------------------------------------------------------------
# Without REDIS_URL, tasks run in-process (eagerly) so the demo needs no broker.
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss", "redis+socket"))
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
# In-process tasks behave like worker tasks: retries run, failures end up on the job row.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}

# --- Import -----------------------------------------------------------------------------------
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 20 * 1024 * 1024, minimum=1)
IMPORT_MAX_PDF_PAGES = env_int("IMPORT_MAX_PDF_PAGES", 300, minimum=1)
IMPORT_MAX_ZIP_TOTAL_BYTES = env_int("IMPORT_MAX_ZIP_TOTAL_BYTES", 200 * 1024 * 1024, minimum=1)
IMPORT_MAX_ZIP_RATIO = env_int("IMPORT_MAX_ZIP_RATIO", 100, minimum=1)
IMPORT_PARSE_TIMEOUT = env_float("IMPORT_PARSE_TIMEOUT", 30.0, minimum=0.1)
IMPORT_PARSE_MEMORY_BYTES = env_int("IMPORT_PARSE_MEMORY_BYTES", 1024 * 1024 * 1024, minimum=1)
IMPORT_PARSE_PROCESSES = env_int("IMPORT_PARSE_PROCESSES", 2, minimum=1)
# Uploads larger than this are written to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 200, minimum=1)

# --- Labeling ---------------------------------------------------------------------------------
# Any OpenAI-compatible endpoint: OpenAI, DeepSeek, Qwen (DashScope), vLLM, Ollama, or the fake
# server (`manage.py fake_llm_server`). DeepSeek and Ollama need LLM_MODE=json or md_json.
LLM_BASE_URL = env_url("LLM_BASE_URL", None, schemes=("http", "https"))
LLM_API_KEY = env_str("LLM_API_KEY", "")
LLM_MODEL = env_str("LLM_MODEL", "")
LLM_MODE = env_choice("LLM_MODE", "tools", ("tools", "json", "md_json"))
LLM_TEMPERATURE = env_float("LLM_TEMPERATURE", 0.0, minimum=0.0)
LLM_TIMEOUT = env_float("LLM_TIMEOUT", 60.0, minimum=1.0)
LLM_PROMPT = env_str("LLM_PROMPT", "label-clause-v1")
# Shared by every worker through Redis (0 = no limit).
LLM_REQUESTS_PER_MINUTE = env_int("LLM_REQUESTS_PER_MINUTE", 0, minimum=0)
LLM_TOKENS_PER_MINUTE = env_int("LLM_TOKENS_PER_MINUTE", 0, minimum=0)
# Price per million tokens by model: {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}.
LLM_PRICES = env_json("LLM_PRICES", {})

# One retry budget across the layers: HTTP retries of the openai client (429/5xx/timeouts, with
# backoff, jitter and Retry-After), instructor's re-asks after a validation error, and Celery
# retries of the task. The worst case is their product; it may not exceed the budget.
LLM_HTTP_RETRIES = env_int("LLM_HTTP_RETRIES", 1, minimum=0)
LLM_VALIDATION_ATTEMPTS = env_int("LLM_VALIDATION_ATTEMPTS", 2, minimum=1)
LABEL_TASK_RETRIES = env_int("LABEL_TASK_RETRIES", 1, minimum=0)
LLM_REQUEST_BUDGET = env_int("LLM_REQUEST_BUDGET", 8, minimum=1)
_worst_case = (1 + LLM_HTTP_RETRIES) * LLM_VALIDATION_ATTEMPTS * (1 + LABEL_TASK_RETRIES)
if _worst_case > LLM_REQUEST_BUDGET:
    raise ImproperlyConfigured(
        f"Retry layers allow {_worst_case} requests per clause ((1 + LLM_HTTP_RETRIES) x "
        f"LLM_VALIDATION_ATTEMPTS x (1 + LABEL_TASK_RETRIES)), more than LLM_REQUEST_BUDGET="
        f"{LLM_REQUEST_BUDGET}."
    )

# Jobs per labeling task, and LLM requests in flight per worker process. Requests in flight in
# all = worker (pool) processes x LLM_CONCURRENCY: keep it within the provider's concurrency
# limit.
LABEL_BATCH_SIZE = env_int("LABEL_BATCH_SIZE", 64, minimum=1)
LLM_CONCURRENCY = env_int("LLM_CONCURRENCY", 8, minimum=1)
# Task time limits stay below the broker's visibility timeout, so a slow task is stopped before
# Redis hands its message to another worker.
LABEL_TASK_SOFT_TIME_LIMIT = env_int("LABEL_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
LABEL_TASK_TIME_LIMIT = env_int("LABEL_TASK_TIME_LIMIT", 300, minimum=1)
# A job queued or running for longer than this is re-enqueued by the reconciler (beat).
LABEL_STUCK_AFTER_SECONDS = env_int("LABEL_STUCK_AFTER_SECONDS", 600, minimum=1)
LABEL_RECONCILE_EVERY_SECONDS = env_int("LABEL_RECONCILE_EVERY_SECONDS", 60, minimum=1)
if (
    not LABEL_TASK_SOFT_TIME_LIMIT
    < LABEL_TASK_TIME_LIMIT
    < CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
):
    raise ImproperlyConfigured(
        "Need LABEL_TASK_SOFT_TIME_LIMIT < LABEL_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT."
    )
# Where the labeling service sends batches of jobs: Celery's side, kept in ``workers/`` so that
# the service imports neither Celery nor the tasks.
LABELING_TASK_QUEUE = "workers.tasks.labeling_queue"
CELERY_BEAT_SCHEDULE = {
    "labeling-reconcile": {"task": "labeling.reconcile", "schedule": LABEL_RECONCILE_EVERY_SECONDS}
}

# --- Review -----------------------------------------------------------------------------------
# A claimed clause returns to the queue when its reviewer has not decided within this time.
REVIEW_CLAIM_TTL_SECONDS = env_int("REVIEW_CLAIM_TTL_SECONDS", 900, minimum=30)
# Reviews per clause: 2 for double review (the second reviewer labels blind; disagreements go to
# the admins' adjudication queue).
REVIEWS_REQUIRED = env_int("REVIEWS_REQUIRED", 1, minimum=1)

if not DEBUG and SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("SECRET_KEY must be set to a real secret when DEBUG is off.")
