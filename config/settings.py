"""TenantGuard settings: everything that differs between machines comes from the environment.

Embedded defaults (no variables set) give the demo: SQLite under ``var/``, debug on, the built-in
Graph emulator. Production sets ``TENANTGUARD_DEBUG=0``, ``SECRET_KEY``, ``DATABASE_URL``
(PostgreSQL) and ``TENANTGUARD_ENCRYPTION_KEY``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import reverse_lazy

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


DEBUG = _env_bool("TENANTGUARD_DEBUG", True)
DATA_DIR = Path(os.environ.get("TENANTGUARD_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when TENANTGUARD_DEBUG is off. "
            "Set it to a long random string, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = "insecure-development-key-only-for-the-embedded-demo"

# Fernet key(s) for secrets at rest, comma separated: the first encrypts, all decrypt (rotation).
TENANTGUARD_ENCRYPTION_KEYS = [
    key.strip()
    for key in os.environ.get("TENANTGUARD_ENCRYPTION_KEY", "").split(",")
    if key.strip()
]
if not TENANTGUARD_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured(
        "TENANTGUARD_ENCRYPTION_KEY is required when TENANTGUARD_DEBUG is off. Generate one with "
        "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
    )

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
SECURE_HSTS_SECONDS = int(os.environ.get("TENANTGUARD_HSTS_SECONDS", "0"))
if _env_bool("TENANTGUARD_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

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
    "tenantguard.accounts",
    "tenantguard.audit",
    "tenantguard.tenants",
    "tenantguard.backups",
    "tenantguard.restores",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenantguard.audit.middleware.RequestIdMiddleware",
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
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'tenantguard.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
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
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

UNFOLD = {
    "SITE_TITLE": "TenantGuard",
    "SCRIPTS": [
        lambda request: static("django_htmx/htmx-2.min.js"),
        lambda request: static("tenantguard/wizard.js"),
    ],
    "STYLES": [lambda request: static("tenantguard/wizard.css")],
    "SITE_HEADER": "TenantGuard",
    "SITE_SUBHEADER": "Intune backup & safe restore",
    "SHOW_HISTORY": False,
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": [
            {
                "title": "Tenants",
                "items": [
                    {
                        "title": "Tenants",
                        "icon": "domain",
                        "link": reverse_lazy("admin:tenants_tenant_changelist"),
                    },
                    {
                        "title": "Memberships",
                        "icon": "group",
                        "link": reverse_lazy("admin:accounts_membership_changelist"),
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
        ],
    },
}
