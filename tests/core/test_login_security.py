"""Signing in: where it lands (F23), and the lockout after repeated failures (django-axes).

The lockout is per username and address: 5 failures (TENANTGUARD_LOGIN_FAILURE_LIMIT) lock that
pair for 15 minutes (TENANTGUARD_LOGIN_LOCKOUT_MINUTES) after its latest attempt, even for the
right password; the login page says so with 429 and Retry-After, and the lockout is audited once.
One address is also limited across all usernames (TENANTGUARD_RATE_LIMIT_SIGN_IN_FAILURES, 30 per
10 minutes): password spraying meets the same page, before any password is checked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tenantguard.audit.models import AuditEvent
from tenantguard.security.lockout import LOCKED_OUT_ACTION
from tenantguard.security.models import RateLimitCounter
from tenantguard.security.rates import Rate

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
ATTACKER = "203.0.113.7"


@pytest.fixture(autouse=True)
def _one_rate_limit_window(monkeypatch):
    """The limiter's windows are aligned to the wall clock: a test whose hits straddled a
    10-minute boundary would see its count start again. Every hit of a test falls in one."""
    from types import SimpleNamespace

    from django.utils import timezone

    from tenantguard.security import ratelimit

    frozen = timezone.now()
    monkeypatch.setattr(ratelimit, "timezone", SimpleNamespace(now=lambda: frozen))


@pytest.fixture
def owner(make_user):
    return make_user("owner")


def _sign_in(client: Client, username: str, password: str, address: str = ATTACKER, **extra):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_signing_in_without_next_lands_on_the_admin_index(owner):
    client = Client()
    response = _sign_in(client, "owner", "pw-owner")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(response["Location"]).status_code == 200


def test_signing_in_with_next_still_goes_there(owner):
    client = Client()
    response = client.post(
        LOGIN + "?next=/admin/tenants/tenant/",
        {"username": "owner", "password": "pw-owner", "next": "/admin/tenants/tenant/"},
    )
    assert response["Location"] == "/admin/tenants/tenant/"


def test_five_wrong_passwords_lock_the_username_from_that_address(owner):
    client = Client()
    statuses = [_sign_in(client, "owner", f"guess-{n}").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 200]  # the form again, with its error
    locked = _sign_in(client, "owner", "guess-5")
    assert locked.status_code == 429
    # Even the right password is refused now, with the page saying for how long.
    refused = _sign_in(client, "owner", "pw-owner")
    assert refused.status_code == 429
    assert not _signed_in(client)
    page = refused.content.decode()
    assert "Too many failed sign-ins for this username from your address." in page
    assert "Try again in 15 minutes" in page
    assert 'id="login-form"' in page  # still the login page, not a bare error
    assert 899 <= int(refused["Retry-After"]) <= 900


def test_sixty_fast_guesses_get_only_five_checked(owner):
    client = Client()
    statuses = [_sign_in(client, "owner", f"guess-{n}").status_code for n in range(60)]
    assert statuses.count(429) == 56
    # Only the first five were checked against the password: the rest never reached it.
    assert statuses[:4] == [200] * 4


def test_the_same_username_from_another_address_can_still_sign_in(owner):
    attacker = Client()
    for n in range(6):
        _sign_in(attacker, "owner", f"guess-{n}")
    admin = Client()
    response = _sign_in(admin, "owner", "pw-owner", address="198.51.100.20")
    assert response.status_code == 302
    assert _signed_in(admin)


def test_the_lockout_ends_after_the_cool_off(owner):
    client = Client()
    for n in range(5):
        _sign_in(client, "owner", f"guess-{n}")
    assert _sign_in(client, "owner", "pw-owner").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _sign_in(client, "owner", "pw-owner").status_code == 302
    assert _signed_in(client)


def test_a_success_forgets_earlier_failures(owner):
    client = Client()
    for n in range(4):
        _sign_in(client, "owner", f"guess-{n}")
    assert _sign_in(client, "owner", "pw-owner").status_code == 302
    client.logout()
    for n in range(4):
        assert _sign_in(client, "owner", f"again-{n}").status_code == 200


def test_the_limit_and_lockout_come_from_settings(owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    client = Client()
    assert _sign_in(client, "owner", "guess-1").status_code == 200
    response = _sign_in(client, "owner", "guess-2")
    assert response.status_code == 429
    assert "Try again in 3 minutes" in response.content.decode()


def test_a_lockout_is_audited_once_with_the_request_id(owner):
    client = Client()
    for n in range(12):
        _sign_in(client, "owner", f"guess-{n}", HTTP_X_REQUEST_ID=f"req-{n}")
    [event] = AuditEvent.objects.filter(action=LOCKED_OUT_ACTION)
    assert event.actor is None and event.actor_label == "system"
    assert event.subject_label == "owner"
    assert event.request_id == "req-4"  # the fifth failure locked it
    assert event.details["username"] == "owner"
    assert event.details["ip_address"] == ATTACKER
    assert event.details["failures"] == 5
    assert event.details["locked_for_minutes"] == 15
    assert "guess" not in event.details_text  # no password tried reaches the trail


def test_no_password_is_stored_with_the_attempts(owner):
    client = Client()
    for n in range(3):
        _sign_in(client, "owner", f"secret-guess-{n}")
    for attempt in AccessAttempt.objects.all():
        assert "secret-guess" not in attempt.post_data


def test_sign_in_lockouts_are_in_the_sidebar_for_superusers_only(make_user, superuser):
    from django.urls import reverse

    lockouts = reverse("admin:axes_accessattempt_changelist")
    client = Client()
    client.force_login(superuser)
    page = client.get(reverse("admin:index")).content.decode()
    assert f'href="{lockouts}"' in page
    assert client.get(lockouts).status_code == 200

    staff = Client()
    staff.force_login(make_user("staff-member"))
    assert f'href="{lockouts}"' not in staff.get(reverse("admin:index")).content.decode()


# ---- one address trying many usernames ---------------------------------------------------------


@pytest.fixture
def address_limit(settings):
    """At most 3 failed sign-ins per address per 10 minutes (TENANTGUARD_RATE_LIMIT_...)."""
    settings.TENANTGUARD_RATE_LIMITS = {
        **settings.TENANTGUARD_RATE_LIMITS,
        "sign_in_failure": Rate(3, 600),
    }


@pytest.fixture
def password_checks(monkeypatch):
    """The usernames whose password was checked."""
    from django.contrib.auth.backends import ModelBackend

    checked: list[str] = []
    original = ModelBackend.authenticate

    def spy(self, request, username=None, password=None, **kwargs):
        checked.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", spy)
    return checked


def test_one_address_spraying_usernames_is_refused_before_the_password(
    owner, address_limit, password_checks
):
    client = Client()
    assert _sign_in(client, "alice", "Winter2026!").status_code == 200
    assert _sign_in(client, "bob", "Winter2026!").status_code == 200
    assert _sign_in(client, "carol", "Winter2026!").status_code == 429  # uses up the limit
    # Now even the right password of a username never tried from here is refused, unchecked.
    refused = _sign_in(client, "owner", "pw-owner")
    assert refused.status_code == 429
    assert not _signed_in(client)
    assert password_checks == ["alice", "bob", "carol"]
    page = refused.content.decode()
    assert "Too many failed sign-ins from your address. Try again in " in page
    assert 'id="login-form"' in page
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 600
    assert f"Try again in {-(-retry_after // 60)} minute" in page
    # Another address is not affected.
    admin = Client()
    assert _sign_in(admin, "owner", "pw-owner", address="198.51.100.20").status_code == 302


def test_the_address_lockout_is_audited_once(owner, address_limit):
    client = Client()
    for n in range(10):
        _sign_in(client, f"user-{n}", f"guess-{n}", HTTP_X_REQUEST_ID=f"req-{n}")
    [event] = AuditEvent.objects.filter(action=LOCKED_OUT_ACTION)
    assert event.actor is None
    assert event.subject_label == ATTACKER
    assert event.request_id == "req-2"  # the third failure locked the address
    assert event.details["locked"] == "address"
    assert event.details["ip_address"] == ATTACKER
    assert event.details["username"] == "user-2"
    assert event.details["failures"] == 3
    assert 1 <= event.details["locked_for_minutes"] <= 10
    assert "guess" not in event.details_text


def test_a_locked_address_cannot_flood_the_audit_trail_with_made_up_usernames(owner, address_limit):
    """Once the address is refused, five tries of each made-up username add no lockout event
    (they are refused before any password, so they are not guesses)."""
    client = Client()
    for n in range(3):
        _sign_in(client, f"user-{n}", "guess")
    for name in ("alice", "bob", "carol", "dave"):
        for _ in range(5):
            assert _sign_in(client, name, "guess").status_code == 429
    assert AuditEvent.objects.filter(action=LOCKED_OUT_ACTION).count() == 1


def test_the_address_limit_ends_with_its_window(owner, address_limit):
    client = Client()
    for n in range(3):
        _sign_in(client, f"user-{n}", "guess")
    assert _sign_in(client, "owner", "pw-owner").status_code == 429
    RateLimitCounter.objects.update(window_start=timezone.now() - timedelta(minutes=20))
    assert _sign_in(client, "owner", "pw-owner").status_code == 302


def test_attempts_refused_by_the_pair_lockout_do_not_count_for_the_address(owner, settings):
    settings.TENANTGUARD_RATE_LIMITS = {
        **settings.TENANTGUARD_RATE_LIMITS,
        "sign_in_failure": Rate(6, 600),
    }
    client = Client()
    statuses = [_sign_in(client, "owner", f"guess-{n}").status_code for n in range(10)]
    assert statuses.count(429) == 6  # the fifth locked the pair; five more never checked
    assert RateLimitCounter.objects.get(key=f"sign_in_failure:address:{ATTACKER}").count == 5
    assert _sign_in(client, "someone", "guess").status_code == 429  # the sixth real guess
    assert _sign_in(client, "other", "guess").status_code == 429


def test_behind_the_proxy_the_address_limit_uses_the_address_it_appended(
    owner, address_limit, settings
):
    settings.TENANTGUARD_BEHIND_PROXY = True
    client = Client()
    for n in range(3):
        # The client forges a different first entry each time: the proxy's last one counts.
        _sign_in(
            client, f"user-{n}", "guess", "10.0.0.2", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, {ATTACKER}"
        )
    refused = _sign_in(client, "owner", "pw-owner", "10.0.0.2", HTTP_X_FORWARDED_FOR=ATTACKER)
    assert refused.status_code == 429
    other = _sign_in(client, "owner", "pw-owner", "10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert other.status_code == 302
