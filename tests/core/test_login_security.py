"""Signing in: where it lands (F23), and the lockout after repeated failures (django-axes).

The lockout is per username and address: 5 failures (TENANTGUARD_LOGIN_FAILURE_LIMIT) lock that
pair for 15 minutes (TENANTGUARD_LOGIN_LOCKOUT_MINUTES) after its latest attempt, even for the
right password; the login page says so with 429 and Retry-After, and the lockout is audited once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tenantguard.audit.models import AuditEvent
from tenantguard.security.lockout import LOCKED_OUT_ACTION

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
ATTACKER = "203.0.113.7"


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
