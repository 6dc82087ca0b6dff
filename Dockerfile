# One image for every process of the product: web (daphne), worker, beat, setup.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 app
WORKDIR /app
COPY pyproject.toml requirements.lock ./
# The lock's hashes make pip refuse any download that differs from the one locked (as `make install` does). The lock
# holds the dev tools too (one lock for every install); the project itself brings nothing more.
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps --no-build-isolation .
COPY . .
COPY --from=assets /app/node_modules ./node_modules
# collectstatic needs settings to import (a key of 32+ characters with DEBUG off); it is never used at run time.
RUN python -m frontend.vendor \
    && SECRET_KEY=build-only-collectstatic-key-never-used-at-run-time DEBUG=false python manage.py collectstatic --noinput -v 0 \
    && rm -rf node_modules \
    && mkdir -p /app/data && chown -R app:app /app/data
USER app
EXPOSE 8000
CMD ["python", "-m", "config.serve", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
