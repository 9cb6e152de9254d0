# One image for every app service of docker-compose.yml: web (gunicorn), worker and beat (Celery).
# Configuration comes from the environment at run time (see .env.example); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=reviewapp.settings \
    STATIC_ROOT=/app/staticfiles

# Install the project (and its dependencies) into site-packages. Only what the package needs is
# copied, so the local virtualenv, database and .env never end up in the image.
WORKDIR /src
COPY pyproject.toml ./
COPY reviewapp ./reviewapp
COPY workers ./workers
RUN pip install . && rm -rf /src

# manage.py is not part of the package; the web service runs `python manage.py migrate` from here.
# /app is writable by the app user because celery beat keeps its schedule file in the working
# directory. The code itself stays owned by root.
WORKDIR /app
COPY manage.py ./
# Static files (the admin's CSS) are collected at build time and served by WhiteNoise.
RUN DEBUG=1 python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /app app \
    && chown app:app /app
USER app

EXPOSE 8000
# A generous timeout: an upload of many plans is parsed within the request (30 s limit per file).
CMD ["gunicorn", "reviewapp.wsgi:application", "--bind", "0.0.0.0:8000", "--timeout", "300"]
