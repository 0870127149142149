"""Settings for the clinic CRM, read from the environment (README: Configuration)."""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CLINIC_CRM_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.read_env(BASE_DIR / ".env")  # optional; real environment variables win
(VAR_DIR / "staticfiles").mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or DEBUG=1 for local development."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if (DEBUG or TESTING) else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "clinic_crm.admin_site.ClinicAdminConfig",  # django.contrib.admin, with the sign-in lockout
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "lucide",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "clinic_crm.common",
    "clinic_crm.tenancy",
    "clinic_crm.patients",
    "clinic_crm.orders",
    "clinic_crm.dashboard",
    "clinic_crm.patient_app",
    "redemptions",
    "notifications",
    "offers",
    "promos",
    "coupons",
]

MIDDLEWARE = [
    # Names the request for every log line it causes, and answers with the id (X-Request-ID).
    "clinic_crm.common.logs.RequestIdMiddleware",
    # Outermost but one, so that every error under /api/ leaves in the API's JSON shape, whoever made it.
    "clinic_crm.common.middleware.ApiErrorsAsJsonMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "clinic_crm.common.middleware.RejectNullBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed its second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Platform admins in Django admin read across clinics; everything else is scoped per view.
    "clinic_crm.tenancy.middleware.AdminUnscopedMiddleware",
]

ROOT_URLCONF = "clinic_crm.urls"
# A full batch of 10,000 redemption events (RED-6) is up to about 4 MB; a larger body is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
WSGI_APPLICATION = "clinic_crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic_crm.tenancy.context_processors.clinic",
            ],
            "builtins": ["clinic_crm.common.templatetags.ui"],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clinic_crm.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# The POS redeem's statements are prepared once per connection (clinic_crm/tenancy/rows.py). Turn it
# off behind a pooler that shares server sessions between transactions (PgBouncer in transaction mode).
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
SILENCED_SYSTEM_CHECKS: list[str] = []
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_clinic_crm.sqlite3")}
    # Covering indexes (INCLUDE) are a PostgreSQL speed-up; on SQLite the plain index is enough.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
# Row-level security holds the app's own role (DATABASE_URL) to one clinic per transaction, and it
# cannot switch that off. Django admin reads across clinics through a second connection, as a role
# with BYPASSRLS (clinic_crm.tenancy.routers); without it, admin answers an error on PostgreSQL.
if env.str("PLATFORM_DATABASE_URL", default=""):
    DATABASES["platform"] = env.db("PLATFORM_DATABASE_URL")
    DATABASES["platform"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    # In tests it reaches the default alias's test database, as itself, and is never created or flushed.
    DATABASES["platform"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["clinic_crm.tenancy.routers.PlatformRouter"]
# The roles `migrate` grants what they need on every table (SELECT, INSERT, UPDATE, DELETE; sequences):
# the app's and the platform's. Migrations run as the role that owns the tables, which neither is.
DATABASE_APP_ROLES = env.list("DATABASE_APP_ROLES", default=[
    database["USER"] for database in DATABASES.values() if database["ENGINE"].endswith("postgresql")])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The default cache is shared by every process of the machine and needs no server: files under
# var/cache. Rate limits, revoked keys and the app config's version then hold across gunicorn's
# workers and Celery. Production sets CACHE_URL=rediscache://… A cache kept in each process
# (locmemcache://) is refused by a system check unless DEBUG is on with a single process; the
# test suite, one process, uses it unless CACHE_URL says otherwise.
DEFAULT_CACHE_URL = "locmemcache://" if TESTING else f"filecache://{VAR_DIR / 'cache'}"
CACHES = {
    "default": env.cache("CACHE_URL", default=DEFAULT_CACHE_URL),
    # Per process, in front of the shared cache, for values whose keys already say when they change
    # (the app config body is keyed by its version) or that may lag a few seconds (app-key lookups).
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "clinic-crm-local",
              "OPTIONS": {"MAX_ENTRIES": 2000}},
}
# A Redis outage degrades the cache (misses, skipped writes) instead of failing requests.
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "clinic_crm.common.resilient_cache.ResilientRedisCache"
# Per-process copies kept outside Django's caches (app-key rows, the app config's answers) follow
# the "local" cache: on while it keeps anything.
CACHE_IN_PROCESS = True
if CACHES["default"]["BACKEND"].endswith("DummyCache"):  # "cache nothing" means nothing, per process too
    CACHES["local"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    CACHE_IN_PROCESS = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTHENTICATION_BACKENDS = ["clinic_crm.tenancy.auth.EmailBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# Export files (RED-5), one folder per clinic; served only through the dashboard's download view.
EXPORTS_DIR = Path(env.str("EXPORTS_DIR", default=str(VAR_DIR / "exports")))
# A backfill file of redemption events (RED-6) is kept here by the web process until a worker has read it.
EVENT_IMPORT_MAX_BYTES = env.int("EVENT_IMPORT_MAX_BYTES", default=512 * 1024 * 1024)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Content Security Policy (Django 6 built-in): our own files only; inline scripts need the nonce.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# Behind TLS, plain HTTP is redirected and browsers are told to use HTTPS for a year (HSTS). The probes
# are exempt: the process manager and the container healthcheck ask over plain HTTP on the inside.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=BEHIND_TLS_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if BEHIND_TLS_PROXY else 0)
# includeSubDomains covers the app's own host and the names under it (crm.example.com, *.crm.example.com).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0)
# Preloading commits the whole domain in browsers for months: its owner opts in (SECURE_HSTS_PRELOAD=1),
# so the deployment check's reminder (security.W021) is silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS.append("security.W021")
# How many proxies in front of the app append to X-Forwarded-For: the client's address is the
# one the outermost of them saw. 0 (no proxy) reads the socket's peer; a client's own header never counts.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=1 if BEHIND_TLS_PROXY else 0)

# Staff sign-in lockout (clinic_crm/tenancy/lockout.py): failures per account and per client
# address within the window lock both out until it ends, the right password included.
SIGN_IN_ACCOUNT_FAILURES = env.int("SIGN_IN_ACCOUNT_FAILURES", default=5)
SIGN_IN_CLIENT_FAILURES = env.int("SIGN_IN_CLIENT_FAILURES", default=20)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=15 * 60)

# E-mail (Django 6.1 mailers). EMAIL_URL: consolemail:// (default), smtp+tls://user:pass@host:587, …
_email = env.email("EMAIL_URL", default="consolemail://")
_smtp_options = {
    "host": _email.get("EMAIL_HOST"), "port": _email.get("EMAIL_PORT"), "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"), "use_tls": _email.get("EMAIL_USE_TLS"),
    "use_ssl": _email.get("EMAIL_USE_SSL"),
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {k: v for k, v in _smtp_options.items() if v not in (None, "")}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Clinic CRM <no-reply@clinic-crm.local>")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["clinic_crm.common.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "clinic_crm.common.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "clinic_crm.common.schema.ClinicAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_RATES": {"sign_in_code": "5/min", "sign_in_token": "10/min", "staff_token": "10/min",
                               "promo_validate_patient": "10/min", "promo_validate_client": "60/min",
                               "promo_validate_clinic": "600/min", "sign_in_client": "30/min",
                               "sign_in_clinic": "300/min",
                               "feedback_patient": "20/hour"},
    "UNAUTHENTICATED_USER": None,
    # Rate limits key on the client's address the same way as the lockout: never a client's header.
    "NUM_PROXIES": TRUSTED_PROXIES,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic CRM API",
    "DESCRIPTION": "The patient app, point-of-sale and staff API (v1). Errors always have the shape "
    '{"message", "code", "extra"}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "DiscountTypeEnum": "clinic_crm.common.choices.DiscountType",
        "PromoKindEnum": "promos.choices.PromoKind",
        "PromoStatusEnum": "promos.choices.PromoStatus",
        "CardKindEnum": "coupons.choices.CardKind",
        "ResponseStatusEnum": "redemptions.choices.ResponseStatus",
    },
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("STAFF_JWT_MINUTES", default=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "user_id",
    "TOKEN_TYPE_CLAIM": "token_type",
}
PATIENT_TOKEN_DAYS = env.int("PATIENT_TOKEN_DAYS", default=30)
STAFF_INVITATION_DAYS = env.int("STAFF_INVITATION_DAYS", default=7)
OTP_TOTP_ISSUER = "Clinic CRM"  # the name authenticator apps show beside the code
SIGN_IN_CODE_MINUTES = 10
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=48)

# Key for secrets at rest (OneSignal REST API keys). Derived from SECRET_KEY unless given.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")

# --- Push notifications -----------------------------------------------------------------------
PUSH_BACKEND = env.str("PUSH_BACKEND", default="console")  # console | onesignal | memory
ONESIGNAL_API_URL = env.str("ONESIGNAL_API_URL", default="https://api.onesignal.com")
# External ids per create request. The SDK's models say 2,000 per call, OneSignal's guide 20,000
# (performance.md §3): keep the smaller figure until the live limit is confirmed.
ONESIGNAL_CHUNK_SIZE = env.int("ONESIGNAL_CHUNK_SIZE", default=2000)
if not 1 <= ONESIGNAL_CHUNK_SIZE <= 20_000:
    raise ImproperlyConfigured("ONESIGNAL_CHUNK_SIZE must be between 1 and 20000.")
# (connect, read) seconds. The SDK has no timeout of its own, and a stalled call would hold a worker.
ONESIGNAL_TIMEOUT = (env.float("ONESIGNAL_CONNECT_TIMEOUT", default=3.0),
                     env.float("ONESIGNAL_READ_TIMEOUT", default=10.0))

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    # Redelivery after a lost worker must come later than any retry countdown (performance.md §5.4).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The worker logs through LOGGING above (JSON lines with the task id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_REDBEAT_REDIS_URL = env.str("REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
CELERY_REDBEAT_LOCK_TIMEOUT = 5 * 60
# One entry per job; each fans out per clinic (never one entry per clinic).
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-keys": {
        "task": "clinic_crm.tenancy.tasks.purge_idempotency_keys_for_all_clinics",
        "schedule": crontab(minute=17),  # https://crontab.guru/#17_*_*_*_* — hourly at :17
    },
    # Each clinic fires from FIRE_HOUR in its own time zone, so the check runs all day, every day.
    "check-occasions": {
        "task": "offers.tasks.check_occasions_for_all_clinics",
        "schedule": crontab(minute="*/15"),  # https://crontab.guru/#*/15_*_*_*_* — every 15 minutes
    },
    # Pushes, export runs and event imports recorded while the broker was down are published again once it is back.
    "requeue-stranded-pushes": {
        "task": "notifications.scheduled.requeue_stranded_pushes",
        "schedule": crontab(minute="*/5"),  # https://crontab.guru/#*/5_*_*_*_* — every 5 minutes
    },
    "requeue-stranded-runs": {
        "task": "redemptions.scheduled.requeue_stranded_runs",
        "schedule": crontab(minute="2-59/5"),  # https://crontab.guru/#2-59/5_*_*_*_* — every 5 minutes, at :02
    },
    "send-scheduled-pushes": {
        "task": "notifications.scheduled.send_scheduled_pushes",
        "schedule": crontab(),  # https://crontab.guru/#*_*_*_*_* — every minute
    },
    # Hourly, so a response expires within the hour its validity ends in any clinic's time zone.
    "expire-offer-responses": {
        "task": "redemptions.tasks.expire_responses_for_all_clinics",
        "schedule": crontab(minute=5),  # https://crontab.guru/#5_*_*_*_* — hourly at :05
    },
    "compact-promotion-tallies": {
        "task": "redemptions.tasks.compact_tallies_for_all_clinics",
        "schedule": crontab(minute="*/10"),  # https://crontab.guru/#*/10_*_*_*_* — every 10 minutes
    },
    "scheduled-exports": {
        "task": "redemptions.scheduled.run_scheduled_exports_for_all_clinics",
        # Hourly; each clinic's exports start when its own clock is in 03:xx (redemptions.scheduled).
        "schedule": crontab(minute=20),  # https://crontab.guru/#20_*_*_*_* — hourly at :20
    },
    "recompute-rfm": {
        "task": "clinic_crm.patients.tasks.recompute_rfm_for_all_clinics",
        "schedule": crontab(hour=2, minute=40),  # https://crontab.guru/#40_2_*_*_* — nightly at 02:40 UTC
    },
}

# One JSON object per line with the request (or task) id and the clinic in scope (clinic_crm/common/logs.py);
# plain lines for a person reading a terminal when DEBUG is on. LOG_FORMAT=json|plain chooses.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "clinic_crm.common.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s clinic=%(clinic_id)s] %(message)s"},
        "json": {"()": "clinic_crm.common.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
