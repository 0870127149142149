# The app image: web (gunicorn), worker and beat all run it (see docker-compose.yml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLINIC_CRM_VAR_DIR=/app/var

WORKDIR /app

# Dependencies only, read from pyproject.toml, so a code change reuses this layer. The project
# itself is not pip-installed: it runs from /app, where settings find templates/ and static/.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# WhiteNoise serves the hashed, compressed files collected here. Settings refuse to load with
# DEBUG off and no SECRET_KEY, so this build step gets a throwaway one; it is not in the image.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --no-create-home --home-dir /app app \
    && mkdir -p var/cache var/exports && chown app var/cache var/exports

USER app
EXPOSE 8000
# The runtime control socket is not used, and the app user has no writable home to put it in.
CMD ["gunicorn", "clinic_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--no-control-socket"]
