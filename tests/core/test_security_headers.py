"""Content-Security-Policy on every page (debug or not) and HSTS by default in production.

The browser test ``tests/browser/test_csp_browser.py`` shows the UI works under the policy; here,
the header's directives, the settings' defaults and that our templates keep no inline script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.fixture
def signed_in(make_user) -> Client:
    client = Client()
    client.force_login(make_user("root", superuser=True))
    return client


@pytest.mark.parametrize("path", ["/admin/", "/api/docs", "/api/tenants", "/admin/tenants/tenant/"])
def test_every_page_sends_the_policy(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    # Scripts only from our own static files: no inline script, no other host.
    assert policy["script-src"] == ["'self'", "'unsafe-eval'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]


def test_the_login_page_sends_the_policy():
    response = Client().get("/admin/login/")
    assert "'unsafe-inline'" not in _policy(response)["script-src"]


def test_the_policy_is_sent_in_debug_too(signed_in, settings):
    settings.DEBUG = True
    assert "script-src" in _policy(signed_in.get("/admin/"))


def test_hsts_is_sent_over_https(signed_in, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    secure = signed_in.get("/admin/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
    # Browsers ignore HSTS over plain HTTP; Django does not send it there.
    assert "Strict-Transport-Security" not in signed_in.get("/admin/")


def _settings_with(env: dict[str, str], tmp_path: Path) -> dict:
    """The production settings as a fresh process computes them from ``env``."""
    code = (
        "import json, config.settings as s; print(json.dumps({"
        "'hsts': s.SECURE_HSTS_SECONDS, 'debug': s.DEBUG, "
        "'failures': s.AXES_FAILURE_LIMIT, 'cooloff': s.AXES_COOLOFF_TIME.total_seconds(), "
        "'checks': str(s.TENANTGUARD_RATE_LIMITS['checks']), "
        "'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src']}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGUARD_")}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    full_env = {
        **clean,
        "TENANTGUARD_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 50,
        "TENANTGUARD_ENCRYPTION_KEY": "3q2nT9Gqf9l1oJ0uZ4pK8m2Xc6Vb5Nw7Yr1Ts0Qe4Lk=",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_over_https_sends_hsts_for_a_year_by_default(tmp_path):
    values = _settings_with({"TENANTGUARD_DEBUG": "0", "TENANTGUARD_HTTPS": "1"}, tmp_path)
    assert values["hsts"] == 31_536_000
    assert values["csp"] == ["'self'", "'unsafe-eval'"]
    assert values["failures"] == 5 and values["cooloff"] == 900
    assert values["checks"] == "20 per 10 minutes"


def test_hsts_is_off_without_https_and_can_be_set(tmp_path):
    assert (
        _settings_with({"TENANTGUARD_DEBUG": "0", "TENANTGUARD_HTTPS": "0"}, tmp_path)["hsts"] == 0
    )
    assert (
        _settings_with({"TENANTGUARD_DEBUG": "0", "TENANTGUARD_HSTS_SECONDS": "600"}, tmp_path)[
            "hsts"
        ]
        == 600
    )


def test_lockout_and_rate_limits_come_from_the_environment(tmp_path):
    values = _settings_with(
        {
            "TENANTGUARD_LOGIN_FAILURE_LIMIT": "3",
            "TENANTGUARD_LOGIN_LOCKOUT_MINUTES": "60",
            "TENANTGUARD_RATE_LIMIT_CHECKS": "5/1h",
        },
        tmp_path,
    )
    assert values["failures"] == 3 and values["cooloff"] == 3600
    assert values["checks"] == "5 per 1 hour"


# Inline script the policy would block: <script> without src, on…= handlers, javascript: URLs.
_INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|\son[a-z]+=|javascript:",
    re.IGNORECASE,
)


def test_our_templates_have_no_inline_script():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "tenantguard" / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _INLINE_SCRIPT.search(line)
    ]
    assert offenders == [], "move these to tenantguard/static/tenantguard/wizard.js:\n" + "\n".join(
        offenders
    )
