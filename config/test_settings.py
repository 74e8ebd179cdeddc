"""Settings for the test suite: the production settings with fast, network-free choices."""

import os
import tempfile

os.environ.setdefault(
    "TENANTGUARD_DATA_DIR", os.path.join(tempfile.gettempdir(), "tenantguard-tests")
)

from config.settings import *  # noqa: F403

# TEST_DATABASE_URL switches the suite to PostgreSQL (CI runs it on both).
if os.environ.get("TEST_DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["TEST_DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": ":memory:"},
        }
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
TENANTGUARD_EMULATOR_STATE_DIR = None  # in-memory emulator, fresh per test (see tests/conftest.py)
TENANTGUARD_EMULATOR_THROTTLE = False
TENANTGUARD_ENCRYPTION_KEYS = ["3q2nT9Gqf9l1oJ0uZ4pK8m2Xc6Vb5Nw7Yr1Ts0Qe4Lk="]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
