"""TenantGuard settings: everything that differs between machines comes from the environment.

Embedded defaults (no variables set) give the demo: SQLite under ``var/``, the built-in Graph
emulator, debug off, and a secret key and an encryption key generated on the first start into
``var/secrets.json`` (owner-only). Production sets ``DATABASE_URL`` (PostgreSQL) and usually
``SECRET_KEY`` and ``TENANTGUARD_ENCRYPTION_KEY`` from its secret store (they win over the file).
``TENANTGUARD_DEBUG=1`` is for development only.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import reverse_lazy

from tenantguard.security.rates import rate_from_env

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int, *, minimum: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of at least {minimum}, not {value!r}."
        )
    return number


DEBUG = _env_bool("TENANTGUARD_DEBUG", False)
DATA_DIR = Path(os.environ.get("TENANTGUARD_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
_SQLITE_DEFAULT_PATH = DATA_DIR / "tenantguard.sqlite3"

# Keys: the environment wins; otherwise the ones this data directory generated on its first start.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Fernet key(s) for secrets at rest, comma separated: the first encrypts, all decrypt (rotation).
TENANTGUARD_ENCRYPTION_KEYS = [
    key.strip()
    for key in os.environ.get("TENANTGUARD_ENCRYPTION_KEY", "").split(",")
    if key.strip()
]
if not SECRET_KEY or not TENANTGUARD_ENCRYPTION_KEYS:
    from config.keys import SecretsFileError, data_dir_secrets

    try:
        _generated = data_dir_secrets(
            data_dir=DATA_DIR,
            existing_install=_SQLITE_DEFAULT_PATH.exists() and not os.environ.get("DATABASE_URL"),
        )
    except SecretsFileError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    if not TENANTGUARD_ENCRYPTION_KEYS:
        TENANTGUARD_ENCRYPTION_KEYS = [_generated.encryption_key, *_generated.decrypt_only_keys]
        if _generated.decrypt_only_keys and SECRET_KEY:
            # An older install with its own SECRET_KEY but no encryption key derived it from that.
            from config.keys import derived_encryption_key

            TENANTGUARD_ENCRYPTION_KEYS.append(derived_encryption_key(SECRET_KEY))
    SECRET_KEY = SECRET_KEY or _generated.secret_key
    del _generated

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# Served over HTTPS in production: secure cookies by default; redirect and HSTS when asked.
TENANTGUARD_HTTPS = _env_bool("TENANTGUARD_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = TENANTGUARD_HTTPS
SECURE_SSL_REDIRECT = _env_bool("TENANTGUARD_SSL_REDIRECT", False)
# HSTS for a year whenever TenantGuard is served over HTTPS (Django sends it on HTTPS responses
# only); 0 turns it off.
SECURE_HSTS_SECONDS = _env_int(
    "TENANTGUARD_HSTS_SECONDS", 31_536_000 if TENANTGUARD_HTTPS else 0, minimum=0
)
# Behind one reverse proxy that terminates TLS: trust its X-Forwarded-Proto, and take the client
# address (sign-in lockout, token throttling) from the last X-Forwarded-For entry it appends.
TENANTGUARD_BEHIND_PROXY = _env_bool("TENANTGUARD_BEHIND_PROXY", False)
if TENANTGUARD_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy on every response (django-csp), debug or not. No inline script runs:
# every script is a static file, so a script injected into a page does not run. 'unsafe-eval'
# stays because the admin UI (django-unfold) is built on Alpine.js, whose standard build
# evaluates the x-data/x-init expressions in unfold's templates with Function(), as does htmx
# for its hx-trigger filters. Inline styles stay allowed: unfold writes its theme colours in a
# <style> element and style attributes, and htmx adds its indicator style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    # Serves the API docs (Swagger UI, Redoc) from the static files in the ninja wheel, not a CDN.
    "ninja",
    "axes",
    "csp",
    "tenantguard.security",
    "tenantguard.accounts",
    "tenantguard.audit",
    "tenantguard.tenants",
    "tenantguard.backups",
    "tenantguard.restores",
    "tenantguard.catalog",
    "tenantguard.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenantguard.audit.middleware.RequestIdMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username/address before the password is checked;
# then an address that used up its failed sign-ins (any username) is refused, also before it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "tenantguard.security.lockout.SignInAddressLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tenantguard" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{_SQLITE_DEFAULT_PATH}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the task worker, the scheduler and CLI commands share one SQLite file.
    # - IMMEDIATE: every transaction takes the write lock when it begins. A deferred one that
    #   read first and writes later cannot wait for the lock (SQLite answers "database is
    #   locked" at once to avoid a deadlock), so it failed whenever the worker was writing.
    # - timeout: how long a connection waits for the write lock (SQLite's busy timeout).
    # - WAL: readers never wait for the writer; synchronous=NORMAL is durable with WAL.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": _env_int("TENANTGUARD_SQLITE_TIMEOUT", 30, minimum=1),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "tenantguard" / "static"]
LOGIN_URL = reverse_lazy("admin:login")
# unfold's login form has no `next` field: without this Django sends /accounts/profile/ (a 404).
LOGIN_REDIRECT_URL = reverse_lazy("admin:index")

# Sign-in lockout (django-axes, counted in the database): after TENANTGUARD_LOGIN_FAILURE_LIMIT
# failed sign-ins of one username from one address, that pair is refused for
# TENANTGUARD_LOGIN_LOCKOUT_MINUTES after its latest attempt. Locking the pair, not the username
# alone, keeps an attacker elsewhere from locking a real admin out.
AXES_FAILURE_LIMIT = _env_int("TENANTGUARD_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("TENANTGUARD_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "tenantguard.security.ratelimit.client_address"
AXES_LOCKOUT_CALLABLE = "tenantguard.security.lockout.lockout_response"
AXES_VERBOSE = False
# One address trying many usernames (password spraying) is limited too, whatever the usernames:
# TENANTGUARD_RATE_LIMIT_SIGN_IN_FAILURES (below) failed sign-ins per address and window.

# Per-user limits of the actions that read a live tenant (API and web alike), and per-address
# limits of requests with an invalid API token and of failed sign-ins: 'N/period' (s, m, h, d)
# or 'off'. Counted in the database, so they hold across web processes.
TENANTGUARD_RATE_LIMITS = {
    "connection_test": rate_from_env("TENANTGUARD_RATE_LIMIT_CONNECTION_TEST", "10/10m"),
    "checks": rate_from_env("TENANTGUARD_RATE_LIMIT_CHECKS", "20/10m"),
    "preview": rate_from_env("TENANTGUARD_RATE_LIMIT_PREVIEW", "20/10m"),
    "backup": rate_from_env("TENANTGUARD_RATE_LIMIT_BACKUP", "10/1h"),
    "api_token_failure": rate_from_env("TENANTGUARD_RATE_LIMIT_BAD_TOKEN", "10/10m"),
    "sign_in_failure": rate_from_env("TENANTGUARD_RATE_LIMIT_SIGN_IN_FAILURES", "30/10m"),
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TENANTGUARD_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Graph emulator for tenants whose Graph URL is emulator://<name> (the embedded demo).
# None keeps emulated tenants in memory only (the test settings do).
TENANTGUARD_EMULATOR_STATE_DIR: Path | None = Path(
    os.environ.get("TENANTGUARD_EMULATOR_STATE_DIR", DATA_DIR / "emulator")
)
TENANTGUARD_EMULATOR_THROTTLE = _env_bool("TENANTGUARD_EMULATOR_THROTTLE", True)

# How many Graph writes and requests of any kind TenantGuard sends per tenant per 20 s (Intune's
# per-app limits). Lower them when other tools use the same app registration.
TENANTGUARD_GRAPH_WRITES_PER_20S = _env_int("TENANTGUARD_GRAPH_WRITES_PER_20S", 100, minimum=1)
TENANTGUARD_GRAPH_REQUESTS_PER_20S = _env_int("TENANTGUARD_GRAPH_REQUESTS_PER_20S", 1000, minimum=1)
# Seconds the preview may plan from the checks' read of the target instead of reading it again
# (only while the run's inputs are unchanged; execution re-reads every object before writing).
# 0: the preview always reads the target itself.
TENANTGUARD_TARGET_READ_REUSE_SECONDS = _env_int(
    "TENANTGUARD_TARGET_READ_REUSE_SECONDS", 600, minimum=0
)
TENANTGUARD_RESTORE_CONCURRENCY = _env_int("TENANTGUARD_RESTORE_CONCURRENCY", 4, minimum=1)
# Seconds a running restore's heartbeat may be silent before another worker takes the run over
# (unset: the heartbeat's staleness, 5 minutes). The executor beats every 60 s, so less than
# 2 minutes would take over runs whose worker is alive.
if os.environ.get("TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS", "").strip():
    TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS = _env_int(
        "TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS", 300, minimum=120
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tenantguard.audit.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("TENANTGUARD_LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO; TenantGuard's own graph logger already records them.
    # django-axes logs every sign-in at INFO; its WARNINGs (failures, lockouts) are kept.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

UNFOLD = {
    "SITE_TITLE": "TenantGuard",
    "SCRIPTS": [
        lambda request: static("django_htmx/htmx-2.min.js"),
        lambda request: static("tenantguard/wizard.js"),
    ],
    "STYLES": [
        lambda request: static("tenantguard/wizard.css"),
        lambda request: static("tenantguard/dashboard.css"),
    ],
    "SITE_HEADER": "TenantGuard",
    "SITE_SUBHEADER": "Intune backup & safe restore",
    "SHOW_HISTORY": False,
    # The admin index is the dashboard of the user's tenants (templates/admin/index.html).
    "DASHBOARD_CALLBACK": "tenantguard.dashboard.views.dashboard_callback",
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        # What an Intune admin uses; Django's own models (users, groups, task results, sign-in
        # lockouts) only for superusers, under "System" at the end.
        "navigation": [
            {
                "title": "Tenants",
                "items": [
                    {
                        "title": "Dashboard",
                        "icon": "dashboard",
                        "link": reverse_lazy("admin:index"),
                    },
                    {
                        "title": "Tenants",
                        "icon": "domain",
                        "link": reverse_lazy("admin:tenants_tenant_changelist"),
                    },
                    {
                        "title": "Memberships",
                        "icon": "group",
                        "link": reverse_lazy("admin:accounts_membership_changelist"),
                        "permission": "tenantguard.dashboard.navigation.manages_a_tenant",
                    },
                    {
                        "title": "API tokens",
                        "icon": "key",
                        "link": reverse_lazy("admin:accounts_apitoken_changelist"),
                    },
                ],
            },
            {
                "title": "Backups",
                "items": [
                    {
                        "title": "Backup sets",
                        "icon": "inventory_2",
                        "link": reverse_lazy("admin:backups_backupset_changelist"),
                    },
                    {
                        "title": "Backup items",
                        "icon": "description",
                        "link": reverse_lazy("admin:backups_backupitem_changelist"),
                    },
                ],
            },
            {
                "title": "Restores",
                "items": [
                    {
                        "title": "Restore runs",
                        "icon": "settings_backup_restore",
                        "link": reverse_lazy("admin:restores_restorerun_changelist"),
                    },
                ],
            },
            {
                "title": "Audit",
                "items": [
                    {
                        "title": "Audit events",
                        "icon": "policy",
                        "link": reverse_lazy("admin:audit_auditevent_changelist"),
                    },
                ],
            },
            {
                "title": "System",
                "collapsible": True,
                "items": [
                    {
                        "title": "Users",
                        "icon": "person",
                        "link": reverse_lazy("admin:auth_user_changelist"),
                        "permission": "tenantguard.dashboard.navigation.is_superuser",
                    },
                    {
                        "title": "Groups",
                        "icon": "groups",
                        "link": reverse_lazy("admin:auth_group_changelist"),
                        "permission": "tenantguard.dashboard.navigation.is_superuser",
                    },
                    {
                        # django-axes' failed sign-ins and lockouts.
                        "title": "Sign-in lockouts",
                        "icon": "lock_person",
                        "link": reverse_lazy("admin:axes_accessattempt_changelist"),
                        "permission": "tenantguard.dashboard.navigation.is_superuser",
                    },
                    {
                        "title": "Task results",
                        "icon": "pending_actions",
                        "link": reverse_lazy("admin:django_tasks_database_dbtaskresult_changelist"),
                        "permission": "tenantguard.dashboard.navigation.is_superuser",
                    },
                ],
            },
        ],
    },
}
