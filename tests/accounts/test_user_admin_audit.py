"""Users and groups changed on Django's own admin pages are in the audit trail, without any
password value."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from tenantguard.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Correct-Horse-Battery-9"


def _trail() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


def test_creating_promoting_repassing_and_deleting_a_user_is_audited(client, superuser):
    client.force_login(superuser)

    created = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newadmin",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )
    assert created.status_code == 302, created.content[:3000]
    user = User.objects.get(username="newadmin")
    event = AuditEvent.objects.get(action="user.created")
    assert event.actor_label == "root" and event.subject_id == str(user.pk)
    assert event.details["is_superuser"] is False

    change_url = reverse("admin:auth_user_change", args=[user.pk])
    changed = client.post(
        change_url,
        {
            "username": "newadmin",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-11-27",
            "date_joined_1": "07:00:00",
        },
    )
    assert changed.status_code == 302, changed.content[:3000]
    event = AuditEvent.objects.get(action="user.changed")
    assert (
        event.details["is_superuser"] is True and "is_superuser" in event.details["changed_fields"]
    )

    password_url = reverse("admin:auth_user_password_change", args=[user.pk])
    repassed = client.post(
        password_url, {"password1": NEW_PASSWORD + "x", "password2": NEW_PASSWORD + "x"}
    )
    assert repassed.status_code == 302, repassed.content[:3000]
    assert AuditEvent.objects.filter(action="user.password_changed").count() == 1

    deleted = client.post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert AuditEvent.objects.filter(action="user.deleted").count() == 1

    assert NEW_PASSWORD not in _trail()
    assert "pbkdf2" not in _trail() and "md5$" not in _trail()


def test_group_changes_are_audited(client, superuser):
    client.force_login(superuser)
    response = client.post(reverse("admin:auth_group_add"), {"name": "Helpdesk"})
    assert response.status_code == 302, response.content[:2000]
    group = Group.objects.get(name="Helpdesk")
    assert AuditEvent.objects.get(action="group.created").subject_id == str(group.pk)
