"""Custos settings: one module, read from the environment (see ``.env.example``).

``CUSTOS_ENV`` picks a profile: ``production`` (the default: secure, needs ``SECRET_KEY``),
``demo`` and ``development`` (local machine, a throw-away key and DEBUG allowed), ``test``.
Unset, it falls back to ``<var>/profile`` (written by ``demo_setup``), then to ``production``.
Everything else is an explicit variable with a secure default.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from config.env import PROFILES, ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str, read_profile_marker

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CUSTOS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

_explicit_env = env_str("CUSTOS_ENV")
CUSTOS_ENV = _explicit_env or read_profile_marker(VAR_DIR) or "production"
if CUSTOS_ENV not in PROFILES:
    raise ImproperlyConfiguredEnv(f"CUSTOS_ENV must be one of {', '.join(PROFILES)} (got an unknown profile name)")
LOCAL_PROFILE = CUSTOS_ENV in {"demo", "development", "test"}

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not LOCAL_PROFILE:
        raise ImproperlyConfiguredEnv(
            "the production profile needs SECRET_KEY (or SECRET_KEY_FILE)"
            + ("" if _explicit_env else " -- CUSTOS_ENV is unset, so production applies")
            + "; for the local demo run CUSTOS_ENV=demo .venv/bin/python manage.py demo_setup once"
            " (later commands then default to demo), or set CUSTOS_ENV=demo"
        )
    SECRET_KEY = "insecure-local-only-" + CUSTOS_ENV  # never used outside demo/development/test

DEBUG = env_bool("DEBUG", default=CUSTOS_ENV == "development")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if LOCAL_PROFILE else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",  # login lockouts (issue 17, item 3; docs/operations.md)
    # Custos apps, in dependency order: each may import only the ones above it.
    "core",
    "audit",
    "accounts",
    "catalog",
    "lineage",
    "compliance",
    "compliance.scanning",
    "compliance.policies",
    "compliance.evidence",
    "monitoring",
    "monitoring.explain",
    "demo",  # last: the demo loader may import every app above
]

# HTTP metrics for GET /metrics (django-prometheus; labels are view names, methods and status codes,
# never paths or query strings): its Before middleware first, its After middleware last.
HTTP_METRICS = env_bool("CUSTOS_HTTP_METRICS", default=True)
PROMETHEUS_METRIC_NAMESPACE = "custos"
MIDDLEWARE = [
    "core.health.HealthMiddleware",  # first: /healthz and /readyz for probes (by pod IP, plain HTTP; core/health.py)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the 429 answer
]
if HTTP_METRICS:
    INSTALLED_APPS.append("django_prometheus")
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Embedded default: a SQLite file under var/. PostgreSQL: DATABASE_URL=postgres://user@host/db.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'custos.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # a persistent connection the server dropped is replaced at the next request, not a 500
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside one writer; IMMEDIATE takes the write lock at BEGIN, so two
    # writers queue on busy_timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if HTTP_METRICS and DATABASES["default"]["ENGINE"] in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
    # the same backends, wrapped to count connections, queries, errors and query time for /metrics
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # tests keep SQLite's in-memory test database: pytest-django recognises it by the stock
        # engine name only and would otherwise derive a per-process file name that cannot be opened
        DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace("django.db.", "django_prometheus.db.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + IP before any password check
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.RolePermissionBackend",  # admin permissions follow the role matrix
]

# Login lockout (django-axes; docs/operations.md "Brute force"): AXES_FAILURE_LIMIT wrong passwords
# for one username from one IP lock that pair out for AXES_COOLOFF_MINUTES. Off by default in the
# test profile only (Django's test Client.login has no request for axes to judge); tests of the
# lockout turn it on.
AXES_ENABLED = env_bool("AXES_ENABLED", default=CUSTOS_ENV != "test")
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours, as axes reads a number
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no startup banner on stderr (commands answer in one line); lockouts are ledger events
AXES_DISABLE_ACCESS_LOG = True  # successful logins are already ledger events (accounts.login)
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
AXES_ENABLE_ADMIN = False  # no unaudited admin writes; operators use the axes_* commands

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if CUSTOS_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; test-only

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if CUSTOS_ENV == "production"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:home"
LOGOUT_REDIRECT_URL = "login"

# --- Security (secure by default; local profiles relax only what plain HTTP needs) -----------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not LOCAL_PROFILE)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not LOCAL_PROFILE)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not LOCAL_PROFILE)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if LOCAL_PROFILE else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not LOCAL_PROFILE
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not LOCAL_PROFILE)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    # JSON nested deeper than CUSTOS_JSON_MAX_DEPTH (64) is a 400, not a RecursionError 500
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Token-authenticated writes are rate limited per token (accounts/throttling.py; a 429 in the
    # error shape with Retry-After). Sessions (people) are limited at login by axes instead.
    # OpenLineage intake POSTs count against their own, higher rate instead (one event per POST).
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.TokenWriteThrottle",
        "accounts.throttling.TokenIntakeThrottle",
        "accounts.throttling.TokenExpensiveReadThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token_write": env_str("CUSTOS_THROTTLE_TOKEN_WRITE", "600/minute"),
        "lineage_intake": env_str("CUSTOS_THROTTLE_LINEAGE_INTAKE", "12000/minute"),
        "token_expensive_read": env_str("CUSTOS_THROTTLE_TOKEN_EXPENSIVE_READ", "120/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Custos API",
    "DESCRIPTION": "Governance catalog for machine-learning audit: catalog, lineage, PII, policies, ledger.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: works offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # one schema entry per operation: the slash-less form of paths served both ways
    "PREPROCESSING_HOOKS": ["core.api.schema.one_form_per_path"],
    # every operation documents the error envelope and the statuses any request may meet
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.schema.error_responses"],
    "ENUM_NAME_OVERRIDES": {
        "SourceKindEnum": "catalog.choices.SourceKind",
        "AssetKindEnum": "catalog.choices.AssetKind",
        "AssetStatusEnum": "catalog.choices.AssetStatus",
        # Scan, anonymization, retention and evidence runs share one status vocabulary.
        "RunStatusEnum": "core.choices.RunStatus",
        "FindingStatusEnum": "compliance.policies.choices.FindingStatus",
        "ModelTaskEnum": "catalog.choices.ModelTask",
        "MonitorTaskEnum": "monitoring.choices.ModelTask",
        "BatchKindEnum": "monitoring.choices.BatchKind",
        "ResultKindEnum": "monitoring.choices.ResultKind",
        # monitor alerts and per-asset quality-suite alerts share one state vocabulary
        "AlertStateEnum": "monitoring.choices.AlertState",
    },
}

# --- Celery ----------------------------------------------------------------------------------
# Default needs no server: tasks run in-process (eager). Set a redis:// or amqp:// broker to run
# real workers (`celery -A config worker`).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", None)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL.startswith("memory://"))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300)
CELERY_TASK_DEFAULT_RETRY_DELAY = 10
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {  # apps add their periodic tasks here
    # Backstop for the after-commit sequencing of audit events, then a signed checkpoint.
    "audit-ledger-sequence": {"task": "audit.tasks.ledger_sequence", "schedule": 30.0},
    "audit-ledger-checkpoint": {
        "task": "audit.tasks.ledger_checkpoint",
        "schedule": float(env_int("CUSTOS_LEDGER_CHECKPOINT_SECONDS", 300)),
    },
    # Runs whose worker died: scans resumed, others failed (core/reaper.py, docs/operations.md).
    "core-reap-runs": {"task": "core.reap_runs", "schedule": float(env_int("CUSTOS_REAPER_SECONDS", 60))},
    # Model monitors whose schedule is due or that have new logged predictions (docs/monitoring.md).
    "monitoring-monitors-due": {
        "task": "monitoring.monitors_due",
        "schedule": float(env_int("CUSTOS_MONITOR_TICK_SECONDS", 60)),
    },
}

# --- MLflow model registry sync (docs/explain.md "MLflow registry sync") -----------------------
# The tracking server whose registered models, versions, stages, params and metrics are imported
# into the catalog; scheme://host[:port][/path], credentials never in the URI (refused by the sync).
CUSTOS_MLFLOW_TRACKING_URI = env_str("CUSTOS_MLFLOW_TRACKING_URI", "")
# Bearer token for a tracking server behind an authenticating proxy (or CUSTOS_MLFLOW_TOKEN_FILE).
CUSTOS_MLFLOW_TOKEN = env_str("CUSTOS_MLFLOW_TOKEN", "") or None
if CUSTOS_MLFLOW_TRACKING_URI:
    # Scheduled only when a server is configured: an unset URI would make every tick a no-op.
    CELERY_BEAT_SCHEDULE["explain-mlflow-sync"] = {
        "task": "explain.mlflow_sync",
        "schedule": float(env_int("CUSTOS_MLFLOW_SYNC_SECONDS", 900)),
    }

# --- Custos --------------------------------------------------------------------------------
CUSTOS_VERSION = "0.1.0"
CUSTOS_TOKEN_DEFAULT_DAYS = env_int("CUSTOS_TOKEN_DEFAULT_DAYS", 90)
# Prometheus GET /metrics (docs/monitoring.md): answered only with this bearer token (or its
# _FILE) or to clients in the comma-separated allow-list of addresses/CIDR blocks; else 404.
CUSTOS_METRICS_TOKEN = env_str("CUSTOS_METRICS_TOKEN", "")
CUSTOS_METRICS_ALLOW = env_str("CUSTOS_METRICS_ALLOW", "")
# GDPR Art. 30(1)(a): name and contact details of the controller (and DPO), printed in evidence.
CUSTOS_CONTROLLER = env_str(
    "CUSTOS_CONTROLLER", "Demo Health & Retail Group, privacy@example.org (demo data)" if CUSTOS_ENV == "demo" else ""
)
# Data roots (compliance/datasets, docs/operations.md): the only directories whose files and SQLite
# databases Custos reads or writes as data; CUSTOS_SCAN_ROOTS is the old name, still honoured.
# Registered data sources reference their connection string in CUSTOS_SOURCE_* variables or in
# files of CUSTOS_SOURCE_SECRETS_DIR. Rows per chunk when a scan fans out over workers.
CUSTOS_DATA_ROOTS = [Path(p) for p in env_list("CUSTOS_DATA_ROOTS", env_list("CUSTOS_SCAN_ROOTS", [str(VAR_DIR)]))]
CUSTOS_SCAN_ROOTS = CUSTOS_DATA_ROOTS
# Size caps of the datasets readers and the OpenLineage intake (docs/operations.md, issue 17 item 1)
CUSTOS_DATASET_MAX_LINE_BYTES = env_int("CUSTOS_DATASET_MAX_LINE_BYTES", 16 << 20)
CUSTOS_DATASET_MAX_ROWS = env_int("CUSTOS_DATASET_MAX_ROWS", 1_000_000_000)
CUSTOS_DATASET_MAX_GROUP_BYTES = env_int("CUSTOS_DATASET_MAX_GROUP_BYTES", 1 << 30)
CUSTOS_OPENLINEAGE_MAX_BODY_BYTES = env_int("CUSTOS_OPENLINEAGE_MAX_BODY_BYTES", 32 << 20)
CUSTOS_SOURCE_SECRETS_DIR = Path(env_str("CUSTOS_SOURCE_SECRETS_DIR", str(VAR_DIR / "source-secrets")))
CUSTOS_SCAN_CHUNK_ROWS = env_int("CUSTOS_SCAN_CHUNK_ROWS", 250_000)

# Audit ledger (docs/ledger.md). The Ed25519 signing key lives in a file, never in the database;
# `manage.py audit_keygen` writes one. Production must set CUSTOS_LEDGER_KEY_FILE explicitly.
CUSTOS_LEDGER_KEY_FILE = env_str("CUSTOS_LEDGER_KEY_FILE", str(VAR_DIR / "ledger.key") if LOCAL_PROFILE else None)
# Public keys (C2SP vkeys, one a line) of earlier signing keys, trusted for older checkpoints.
CUSTOS_LEDGER_TRUSTED_KEYS_FILE = env_str(
    "CUSTOS_LEDGER_TRUSTED_KEYS_FILE", f"{CUSTOS_LEDGER_KEY_FILE}.trusted" if CUSTOS_LEDGER_KEY_FILE else None
)
CUSTOS_LEDGER_ORIGIN = env_str("CUSTOS_LEDGER_ORIGIN", "custos.local/ledger")
CUSTOS_LEDGER_BATCH_SIZE = env_int("CUSTOS_LEDGER_BATCH_SIZE", 1000)
CUSTOS_LEDGER_SEQUENCE_ON_COMMIT = env_bool("CUSTOS_LEDGER_SEQUENCE_ON_COMMIT", default=True)
# Who appends after commit (docs/ledger.md, section 4): "background" = this process's drainer thread
# (group commit, off the request path); "inline" = the committing thread (tests: a second connection
# cannot see a test's uncommitted rows). The drainer waits this many ms to gather concurrent commits.
CUSTOS_LEDGER_SEQUENCER = env_str("CUSTOS_LEDGER_SEQUENCER", "inline" if CUSTOS_ENV == "test" else "background")
CUSTOS_LEDGER_DRAIN_DELAY_MS = env_int("CUSTOS_LEDGER_DRAIN_DELAY_MS", 5)
# Policy key ring (HMAC tokens, AES-SIV/GCM, date shifts): a directory outside the database.
CUSTOS_POLICY_KEY_DIR = env_str("CUSTOS_POLICY_KEY_DIR", str(VAR_DIR / "keys" / "policies") if LOCAL_PROFILE else "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "presidio-analyzer": {"level": "ERROR"},
        "presidio-anonymizer": {"level": "ERROR"},
        # One INFO line per task run drowns everything else when tasks run eagerly in-process.
        "celery.app.trace": {"level": env_str("CELERY_TRACE_LOG_LEVEL", "WARNING")},
    },
}
