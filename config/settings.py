"""Settings for the sales dashboard.

Everything that differs between machines comes from the environment, read here
and only here (see config/env.py and .env.example). There is no separate
production module: tests load exactly this file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    database_url,
    env_bool,
    env_holiday_country,
    env_hours,
    env_int,
    env_label,
    env_list,
    env_networks,
    env_str,
    env_timezone,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "data"

# ---------------------------------------------------------------- core
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
# Values copied from .env.example that must never reach production.
PLACEHOLDER_SECRET_KEYS = {"", "change-me", "changeme", "secret", "insecure", "django-insecure"}
if not DEBUG:
    if SECRET_KEY.strip().lower() in PLACEHOLDER_SECRET_KEYS or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing, a placeholder or shorter than 32 characters. Set a long random value "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))"), or DEBUG=true for local development.'
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is empty: list the host names this site is served under.")
elif not SECRET_KEY:
    SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"  # noqa: S105
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from our own static files, pinned with the package
    "csp",
    "django_celery_beat",
    "channels",
    "core",
    "sales",
    "streaming",
    "forecasting",
    "alerts",
    "uploads",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.empty_parameter_middleware",
    "config.middleware.StatementTimeoutMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

# The live stream's chain (config/asgi.py routes /api/stream through it): async-only middleware, so an
# open stream holds no thread. It needs no more than headers, the host check and a lazy session and user.
STREAM_MIDDLEWARE = [
    "config.middleware.security_middleware",
    "config.middleware.session_auth_middleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# ---------------------------------------------------------------- database
DATABASE_URL = database_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
# The web process (config/asgi.py turns DB_POOL on there) borrows connections from a pool (psycopg_pool,
# Django's native pool): Daphne runs a request's sync code on a worker thread and Django's connections
# are per thread, so without it a request could open a new PostgreSQL connection (a new backend
# process) every time. Celery's prefork workers keep per-process connections: a pool does not survive fork.
DB_POOL = env_bool("DB_POOL", False)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 20, minimum=1, maximum=1000)
# The longest a query of a web request may run (milliseconds; 0: no limit).
REQUEST_STATEMENT_TIMEOUT_MS = env_int("REQUEST_STATEMENT_TIMEOUT_MS", 20_000, minimum=0, maximum=3_600_000)
if DB_POOL:
    # CONN_HEALTH_CHECKS (above) makes the pool check a connection before lending it out.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django refuses both at once
    # A request's query gets REQUEST_STATEMENT_TIMEOUT_MS (then a JSON 503, config.middleware); the pool
    # serves requests only, so its connections carry it. Celery's loads and refits are not limited.
    if REQUEST_STATEMENT_TIMEOUT_MS:
        DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={REQUEST_STATEMENT_TIMEOUT_MS}"
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": min(2, DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DATABASES["default"]["OPTIONS"]["connect_timeout"],
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- redis, channels, celery
REDIS_URL = env_url("REDIS_URL", "redis://localhost:6379/0", schemes=("redis", "rediss", "unix"))

_redis_db = urlparse(REDIS_URL).path.strip("/")
_redis_db = _redis_db if _redis_db.isdigit() else "0"
# Pub/sub layer: one PUBLISH per event whatever the number of processes, membership held
# in-process (no group_expiry silently dropping a wall screen after 24 h, no members of dead
# processes left in Redis). It is at-most-once across a Redis reconnect; the stream's event
# log + Last-Event-ID make delivery complete (see streaming/hub.py). Redis pub/sub ignores the
# db number, so the prefix carries it: deployments on different db numbers stay apart.
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"asgi.db{_redis_db}."},
    },
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 3600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The nightly refit is minutes of CPU in dozens of chunks; on a shared queue the live tick would
# wait behind it and the dashboard would go quiet. Forecasting gets a queue (and workers) of its own.
CELERY_TASK_DEFAULT_QUEUE = "live"
# A load from the browser holds a worker for as long as the file takes: a queue of its own (one worker
# process, so a second upload waits its turn in the queue, visibly, instead of on the lock).
CELERY_TASK_ROUTES = {"forecasting.tasks.*": {"queue": "forecast"}, "uploads.tasks.*": {"queue": "load"}}

# ---------------------------------------------------------------- product
STREAMING_INTERVAL_SECONDS = env_int("STREAMING_INTERVAL_SECONDS", 60, minimum=1, maximum=86400)
# The live generator (the demo's tick) and the gap fill (days between a history's end and today) draw sales
# from the history's profile. On for the sample demo; off for a real history, so that nothing generated
# mixes into it: the tick records nothing, the gap fill fills nothing, and no-data alerts count only
# reported (ingested) batches.
LIVE_GENERATOR = env_bool("LIVE_GENERATOR", True)
# Live stream: heartbeat comment (and Redis liveness check) period, EventSource retry, per-stream
# queue bound, trend extrapolation cap, event-log retention.
STREAMING_HEARTBEAT_SECONDS = env_int("STREAMING_HEARTBEAT_SECONDS", 15, minimum=1, maximum=300)
STREAMING_RETRY_MS = env_int("STREAMING_RETRY_MS", 3000, minimum=100, maximum=600_000)
STREAMING_CLIENT_QUEUE_SIZE = env_int("STREAMING_CLIENT_QUEUE_SIZE", 200, minimum=4, maximum=100_000)
STREAMING_TREND_HORIZON_DAYS = env_int("STREAMING_TREND_HORIZON_DAYS", 365, minimum=0, maximum=3650)
STREAMING_EVENT_RETENTION_DAYS = env_int("STREAMING_EVENT_RETENTION_DAYS", 30, minimum=1, maximum=3650)
# A reconnecting stream is replayed at most this many missed events, none older than this; past
# either it is told to reload (a `reload` event) and goes on from the newest.
STREAMING_REPLAY_MAX_EVENTS = env_int("STREAMING_REPLAY_MAX_EVENTS", 1440, minimum=1, maximum=1_000_000)
STREAMING_REPLAY_MAX_HOURS = env_int("STREAMING_REPLAY_MAX_HOURS", 24, minimum=1, maximum=24 * 365)
# While streams are open, full garbage collections run on this timer instead of mid-fan-out (0 = leave GC alone).
STREAMING_GC_SECONDS = env_int("STREAMING_GC_SECONDS", 120, minimum=0, maximum=86400)
# Open live streams: per client (a user, or an address when anonymous) and per web process; past
# either, a new stream gets a JSON 429 (a browser tab holds one; a wall of screens a handful).
STREAMING_MAX_PER_CLIENT = env_int("STREAMING_MAX_PER_CLIENT", 10, minimum=1, maximum=100_000)
STREAMING_MAX_PER_PROCESS = env_int("STREAMING_MAX_PER_PROCESS", 1000, minimum=1, maximum=1_000_000)
FORECAST_DAYS = env_int("FORECAST_DAYS", 30, minimum=1, maximum=365)

# ---------------------------------------------------------------- alerts
# Opening hours of a store without its own (alerts.StoreHours): the pace of the day before enough batches
# are recorded to learn it, and the hours in which a no-data rule may fire. The default, the whole day,
# matches the live generator's flat day.
ALERTS_OPENING_HOURS = env_hours("ALERTS_OPENING_HOURS", "00:00-24:00")
# Days of recorded batches a store needs before its own intraday curve replaces the opening hours.
ALERTS_PACE_MIN_DAYS = env_int("ALERTS_PACE_MIN_DAYS", 7, minimum=1, maximum=365)
# The key that encrypts contact points' secrets at rest (a Fernet key: 32 url-safe base64 bytes);
# empty: derived from SECRET_KEY (rotating that then makes the stored secrets unreadable).
ALERTS_SECRETS_KEY = env_str("ALERTS_SECRETS_KEY", "")
# Webhook targets in these address ranges are allowed: any of loopback, private, link-local (default none:
# a rule's editor must not be able to make the server call into its own network).
ALERTS_WEBHOOK_ALLOW = env_list("ALERTS_WEBHOOK_ALLOW", [])
ALERTS_DELIVERY_TIMEOUT_SECONDS = env_int("ALERTS_DELIVERY_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
# Delivery retries: the n-th retry waits ALERTS_RETRY_BASE_MS x 2^(n-1); after ALERTS_MAX_ATTEMPTS the
# notification is failed. A contact point is failing after ALERTS_FAILING_AFTER failures in a row.
ALERTS_RETRY_BASE_MS = env_int("ALERTS_RETRY_BASE_MS", 5000, minimum=1, maximum=3_600_000)
ALERTS_MAX_ATTEMPTS = env_int("ALERTS_MAX_ATTEMPTS", 8, minimum=1, maximum=100)
ALERTS_FAILING_AFTER = env_int("ALERTS_FAILING_AFTER", 3, minimum=1, maximum=1000)
# Email contact points: Django's SMTP backend.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = ALERTS_DELIVERY_TIMEOUT_SECONDS
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "alerts@localhost")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on: pick the one the server speaks.")
_ALLOW_KINDS = {"loopback", "private", "link-local"}
if set(ALERTS_WEBHOOK_ALLOW) - _ALLOW_KINDS:
    raise ImproperlyConfigured(f"ALERTS_WEBHOOK_ALLOW={ALERTS_WEBHOOK_ALLOW!r}: use any of {sorted(_ALLOW_KINDS)}.")

# A country (ISO 3166 code, e.g. US, GB, DE) whose public holidays, moving ones included, the forecast
# learns as effects beside the fixed dates it finds in the history; empty (the default) for none.
HOLIDAY_COUNTRY = env_holiday_country("HOLIDAY_COUNTRY")
# POST /api/sales/ingest: the largest body taken (a JSON 413 past it). 8 MiB holds the 10,000 rows an
# ingest may carry with room to spare, so a body of too many rows gets the row-limit message instead.
INGEST_MAX_BODY_BYTES = env_int("INGEST_MAX_BODY_BYTES", 8 * 1024 * 1024, minimum=1024, maximum=256 * 1024 * 1024)
# Every request body: the largest one a route takes unless its app registers a cap of its own
# (core.limits.body_cap_register; the ingest takes INGEST_MAX_BODY_BYTES). Past it a JSON 413, answered
# before the body is read (config/serve.py).
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 1024 * 1024, minimum=1024, maximum=1024 * 1024 * 1024)
# Django's own cap on any body it reads: the largest one a view takes (core.api answers past it with a 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES
TRAIN_CSV_PATH = Path(env_str("TRAIN_CSV_PATH", str(DATA_DIR / "train.csv")))
# The name of an item's units when the catalogue gives none (Item.unit blank): what the KPIs and charts say.
SALES_DEFAULT_UNIT = env_label("SALES_DEFAULT_UNIT", "units", max_length=32)

# ---------------------------------------------------------------- uploads from the browser (uploads/)
# Where uploaded files are written (server-made names only), the largest file taken, the largest
# piece one request may carry, the free space kept on that disk beyond the file itself, and whether
# a file is kept once its load has finished (off: deleted).
UPLOAD_DIR = Path(env_str("UPLOAD_DIR", str(DATA_DIR / "uploads")))
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024**3, minimum=1024, maximum=2**50)
UPLOAD_CHUNK_BYTES = env_int("UPLOAD_CHUNK_BYTES", 8 * 1024 * 1024, minimum=64 * 1024, maximum=1024**3)
UPLOAD_MIN_FREE_BYTES = env_int("UPLOAD_MIN_FREE_BYTES", 1024**3, minimum=0, maximum=2**50)
UPLOAD_KEEP_FILES = env_bool("UPLOAD_KEEP_FILES", False)
# Kept files are deleted this long after their load finished; an upload not completed (or completed and
# never loaded) this long after it started is deleted and marked expired (uploads.tasks.upload_files_expire,
# hourly).
UPLOAD_KEEP_FILES_HOURS = env_int("UPLOAD_KEEP_FILES_HOURS", 7 * 24, minimum=1, maximum=24 * 3650)
UPLOAD_INCOMPLETE_HOURS = env_int("UPLOAD_INCOMPLETE_HOURS", 24, minimum=1, maximum=24 * 365)
# The validation report of an upload lists this many problems (the page shows the first 1,000; the CSV
# has them all, then the count of the rest).
UPLOAD_REPORT_MAX_PROBLEMS = env_int("UPLOAD_REPORT_MAX_PROBLEMS", 100_000, minimum=1_000, maximum=10_000_000)
# A compressed file may expand to at most this many times its size (and never past UPLOAD_MAX_BYTES).
UPLOAD_MAX_EXPANSION_RATIO = env_int("UPLOAD_MAX_EXPANSION_RATIO", 200, minimum=1, maximum=100_000)

# ---------------------------------------------------------------- i18n / time
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_timezone("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# ---------------------------------------------------------------- static
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the app folders in development and tests, so no collectstatic is needed there.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# ---------------------------------------------------------------- security (safe defaults)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
# Behind HTTPS in production: secure cookies, redirect plain HTTP, HSTS. Off for local HTTP.
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^health$"]  # orchestrator probes speak plain HTTP inside the network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS_ONLY else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
# Preload-list submission is a one-way commitment for the whole domain: the operator opts in, not us.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# The proxies (addresses or networks) whose X-Forwarded-For is believed: the client's address is the
# last hop in it that is not one of them (core/addresses.py). Empty (the default): the address of the
# connection itself, whatever a request claims. Every counter (logins, throttles, the stream cap) reads it.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

# ---------------------------------------------------------------- access (core/access.py, README "Security")
# Off: the dashboard, every read API and the live stream need a viewer (session or token). On: anyone
# who reaches the server reads them (a wall screen on a trusted network); writing and the admin stay closed.
PUBLIC_READ = env_bool("PUBLIC_READ", False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# Brute force on the login page and the admin's (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords
# from one address, its logins are refused (429) for LOGIN_COOLOFF_MINUTES; a success resets the count,
# `manage.py axes_reset` lifts every lock at once.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=1000)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=7 * 24 * 60))
# A user name and an address together: guessing from one address is stopped, and nobody can lock
# another user out from an address of their own.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "frontend/locked_out.html"
AXES_VERBOSE = False  # its own log lines at WARNING name the address; no banner at start-up
# REMOTE_ADDR is the client's address as core.addresses resolved it (TRUSTED_PROXIES), nothing the client wrote.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.access.ReadAccess"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "sales.pagination.SalesPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The browsable API is a development aid: JSON only with DEBUG off.
    "DEFAULT_RENDERER_CLASSES": [
        # Decimal units as JSON numbers: 12 for a whole one, 2.474 otherwise (core/numbers.py).
        "core.numbers.NumberJSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AvailableAnonRateThrottle",
        "core.throttling.AvailableUserRateThrottle",
    ],
    # The client is REMOTE_ADDR, resolved from TRUSTED_PROXIES (core/addresses.py); DRF reads no header.
    "NUM_PROXIES": 0,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "6000/minute"),
        # Per signed-in user (session or token): many times the dashboard's busiest minute (README).
        "user": env_str("API_USER_RATE", "600/minute"),
        # Failed token authentications per client address: past it, a 429 until the window moves on.
        "token_failure": env_str("API_TOKEN_FAILURE_RATE", "10/minute"),
    },
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sales dashboard API",
    "DESCRIPTION": "Daily sales history, aggregates, KPIs, live stream and forecasts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files (no CDN: the docs work offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the public validator service (it would leave the network, and the policy refuses it).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # One name for the alert states, which a state change has twice (from, to).
    "ENUM_NAME_OVERRIDES": {
        "AlertStateEnum": "alerts.models.State",
        # Four choice sets are called `kind`; the upload's file kind would otherwise get a hashed name.
        "UploadFileKindEnum": "uploads.models.UploadJob.Kind",
    },
}

# Content-Security-Policy (django-csp; Django 5.2 has none of its own): our own scripts, styles, images
# and connections only. The dashboard's one inline script (its import map) carries the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Throttle counters live in Redis, so every web process counts the same failures and requests.
# One connection pool per process (core/cache.py), not one connection per request.
CACHES = {
    "default": {
        "BACKEND": "core.cache.ProcessPoolRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "TIMEOUT": 300,
    }
}

# ---------------------------------------------------------------- logging: logfmt, quiet by default
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"logfmt": {"()": "config.logging.LogfmtFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "logfmt"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "sales": {"level": LOG_LEVEL},
        "streaming": {"level": LOG_LEVEL},
        "forecasting": {"level": LOG_LEVEL},
        "alerts": {"level": LOG_LEVEL},
        "uploads": {"level": LOG_LEVEL},
        "frontend": {"level": LOG_LEVEL},
        "config": {"level": LOG_LEVEL},
        "core": {"level": LOG_LEVEL},
        "celery": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
