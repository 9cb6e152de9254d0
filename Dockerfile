# One image for every app service of docker-compose.yml: web (gunicorn), worker and beat (Celery).
# Configuration comes from the environment at run time (see .env.example); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=reviewapp.settings

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
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /app app \
    && chown app:app /app
USER app

EXPOSE 8000
CMD ["gunicorn", "reviewapp.wsgi:application", "--bind", "0.0.0.0:8000"]
