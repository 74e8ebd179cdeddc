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


class InvalidTemplateVariable(str):
    """``string_if_invalid`` for the suite: a variable our templates cannot resolve fails the test.

    Django renders a missing variable through ``if string_if_invalid:``: when that is false it
    goes on with the (empty) value and its filters, exactly as in production. This empty str
    subclass answers that question itself: for a variable of TenantGuard's own templates (under
    ``tenantguard/templates``) it raises ``InvalidTemplateVariableError`` naming the template and
    line; anywhere else it is plain ``""`` (falsy), so the Django admin's and unfold's templates,
    which legitimately render optional variables (``{{ errors|length }}``), behave as in
    production. (The usual pattern, a ``"%s"`` string whose ``__mod__`` raises, cannot be scoped
    like this: a non-empty ``string_if_invalid`` skips the filters of every missing variable, so
    third-party templates would break.) A method that needs arguments is rendered through
    ``str()``, which raises the same way. The template is the ``origin`` of the nearest
    template node on the stack (how pytest-django's ``--fail-on-template-vars`` finds it).
    Filter arguments (``|default:missing.x``) raise ``VariableDoesNotExist`` whatever this is.
    """

    OURS = str(BASE_DIR / "tenantguard" / "templates")  # noqa: F405

    def __bool__(self) -> bool:
        self._fail_if_ours("a variable that does not resolve")
        return False

    def __str__(self) -> str:
        self._fail_if_ours("a method that needs arguments or changes data")
        return ""

    def _fail_if_ours(self, what: str) -> None:
        import sys
        from types import FrameType

        from django.template.base import FilterExpression, Node

        frame: FrameType | None = sys._getframe(2)
        expression = ""
        while frame is not None:
            owner = frame.f_locals.get("self")
            if isinstance(owner, FilterExpression) and not expression:
                expression = str(owner.token)
            if isinstance(owner, Node) and getattr(owner, "origin", None) is not None:
                if str(owner.origin.name).startswith(self.OURS):
                    token = getattr(owner, "token", None)
                    template = str(owner.origin.template_name)
                    raise InvalidTemplateVariableError(
                        f"{what.capitalize()}: '{expression}' in {template}, "
                        f"line {token.lineno if token else '?'}. Pass it in the context, or "
                        "test it with {% if %} first."
                    )
                return
            frame = frame.f_back


class InvalidTemplateVariableError(Exception):
    """One of our templates used a variable that does not resolve (see InvalidTemplateVariable)."""


_template_options = TEMPLATES[0]["OPTIONS"]  # noqa: F405
assert isinstance(_template_options, dict)
_template_options["string_if_invalid"] = InvalidTemplateVariable("")
