"""Browsing a backup: items grouped by type, payload viewer, group and scope-tag names, audit."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tenantguard.backups.models import BackupItem
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of


@pytest.fixture
def backup_set(personas, tenant, emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return backup_set_capture(
        backup_set=backup_set_start(actor=personas["operator"], tenant=tenant, enqueue=False)
    )


def test_backup_item_page_shows_payload_group_names_and_scope_tag_names(
    client, personas, backup_set
):
    item = next(
        i
        for i in backup_set.items.all()
        if i.assignments
        and any(a["target"].get("groupId") for a in i.assignments)
        and i.scope_tag_ids != ["0"]
    )
    client.force_login(personas["viewer"])
    response = client.get(reverse("admin:backups_backupitem_change", args=[item.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    group_id = next(a["target"]["groupId"] for a in item.assignments if a["target"].get("groupId"))
    assert backup_set.group_names[group_id] in body
    tag_names = dict(
        backup_set.items.filter(policy_type="scope_tag").values_list("source_id", "display_name")
    )
    assert any(tag_names.get(t, "") in body for t in item.scope_tag_ids if t != "0")
    assert item.display_name in body


def test_secret_values_are_never_shown(client, personas, backup_set, demo_objects):
    secrets = [
        s["value"] for o in demo_objects for s in o.get("omaSettings") or [] if s.get("isEncrypted")
    ]
    item = next(i for i in backup_set.items.all() if i.secrets)
    client.force_login(personas["owner"])
    body = client.get(reverse("admin:backups_backupitem_change", args=[item.pk])).content.decode()
    assert "stored encrypted" in body
    assert not any(secret in body for secret in secrets)


def test_backup_set_page_lists_contents_by_type_and_progress_fragment(client, personas, backup_set):
    client.force_login(personas["viewer"])
    body = client.get(
        reverse("admin:backups_backupset_change", args=[backup_set.pk])
    ).content.decode()
    assert "compliance" in body and "settings_catalog" in body
    fragment = client.get(
        reverse("admin:backups_backupset_progress", args=[backup_set.pk])
    ).content.decode()
    assert "Backup completed" in fragment and "hx-get" not in fragment


def test_running_backup_fragment_polls(client, personas, tenant):
    running = backup_set_start(actor=personas["operator"], tenant=tenant, enqueue=False)
    client.force_login(personas["viewer"])
    fragment = client.get(
        reverse("admin:backups_backupset_progress", args=[running.pk])
    ).content.decode()
    assert "Backup running" in fragment and "hx-trigger" in fragment


def test_outsider_cannot_see_backup_items(client, personas, backup_set):
    client.force_login(personas["outsider"])
    item = BackupItem.objects.filter(backup_set=backup_set).first()
    assert client.get(reverse("admin:backups_backupitem_change", args=[item.pk])).status_code in (
        302,
        403,
        404,
    )
    listing = client.get(reverse("admin:backups_backupitem_changelist"))
    assert item.display_name.encode() not in listing.content


def test_items_are_read_only(client, personas, backup_set):
    item = backup_set.items.first()
    client.force_login(personas["owner"])
    response = client.post(
        reverse("admin:backups_backupitem_change", args=[item.pk]), {"display_name": "x"}
    )
    assert response.status_code == 403


def test_restore_entry_point_follows_the_role(client, personas, backup_set):
    url = reverse("admin:backups_backupset_change", args=[backup_set.pk])
    client.force_login(personas["viewer"])
    assert "Restore…" not in client.get(url).content.decode()
    client.force_login(personas["operator"])
    assert "Restore…" in client.get(url).content.decode()


def test_the_progress_poll_redraws_the_page_once_the_backup_finished(client, personas, tenant):
    """The page around the panel (status, item count, contents) was drawn while the backup ran:
    once it finished, the poll asks htmx to redraw the whole page instead of the panel only."""
    running = backup_set_start(actor=personas["operator"], tenant=tenant, enqueue=False)
    client.force_login(personas["viewer"])
    page = client.get(reverse("admin:backups_backupset_change", args=[running.pk])).content.decode()
    polled = re.search(r'id="backup-progress"[^>]*hx-get="([^"]+)"', page, re.S).group(1)
    assert polled.endswith("?shown=running")
    still_running = client.get(polled, HTTP_HX_REQUEST="true")
    assert still_running.status_code == 200 and "HX-Refresh" not in still_running

    done = backup_set_capture(backup_set=running)

    assert done.status == "completed"
    finished = client.get(polled, HTTP_HX_REQUEST="true")
    assert finished.status_code == 204 and finished["HX-Refresh"] == "true"
    redrawn = client.get(
        reverse("admin:backups_backupset_change", args=[running.pk])
    ).content.decode()
    assert (
        "Backup completed" in redrawn
        and "hx-get" not in redrawn.split('id="backup-progress"')[1][:200]
    )
