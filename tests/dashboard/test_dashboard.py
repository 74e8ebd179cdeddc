"""The home page (the admin index) and the tenant list: each visible tenant's environment, last
backup, next scheduled backup, what changed between its last two backups, and restores running or
needing attention; per persona, with a bounded number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tenantguard.accounts.models import Membership
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.dashboard.presentation import until_words
from tenantguard.dashboard.selectors import tenant_overviews
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.templatetags.tg_words import utc as utc_words
from tenantguard.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def backup(tenant, *, status="completed", kind="manual", ago=timedelta(hours=3), items=(), **extra):
    """A finished backup set of ``tenant`` captured ``ago`` before now, holding ``items``
    (``(policy_type, source_id, content_hash)``)."""
    moment = timezone.now() - ago
    backup_set = BackupSet.objects.create(
        tenant=tenant,
        name=f"{tenant.display_name} {moment:%H:%M:%S.%f}",
        status=status,
        kind=kind,
        captured_at=None if status == "running" else moment,
        item_count=extra.pop("item_count", len(items)),
        **extra,
    )
    BackupSet.objects.filter(pk=backup_set.pk).update(created_at=moment)
    BackupItem.objects.bulk_create(
        BackupItem(
            backup_set=backup_set,
            policy_type=policy_type,
            source_id=source_id,
            display_name=f"{policy_type} {source_id}",
            content_hash=content_hash,
        )
        for policy_type, source_id, content_hash in items
    )
    backup_set.refresh_from_db()
    return backup_set


def restore_run(
    tenant, *, status, ago=timedelta(hours=1), results=None, backup_set=None, dry_run=False
):
    moment = timezone.now() - ago
    run = RestoreRun.objects.create(
        tenant=tenant,
        backup_set=backup_set,
        status=status,
        environment=tenant.environment,
        tenant_label=tenant.display_name,
        dry_run=dry_run,
        started_at=moment,
        finished_at=None if status in ("queued", "running") else moment,
        results=results or {},
    )
    RestoreRun.objects.filter(pk=run.pk).update(created_at=moment)
    return run


def dashboard(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's words without tags, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def row(html: str, tenant_name: str) -> str:
    match = re.search(rf'<tr data-tenant="{re.escape(tenant_name)}">(.*?)</tr>', html, re.S)
    assert match, f"no dashboard row for {tenant_name}"
    return match.group(1)


# --- the landing page ------------------------------------------------------------------------


def test_the_root_and_the_admin_index_land_on_the_dashboard(client, personas, tenant):
    client.force_login(personas["viewer"])
    response = client.get("/", follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert re.search(r"<title>\s*Dashboard \| TenantGuard</title>", html)
    assert "Site administration" not in html
    assert 'id="tenant-overview"' in html


def test_each_person_sees_only_the_tenants_they_have_a_role_on(
    client, personas, superuser, tenant, prod_tenant
):
    private = Tenant.objects.create(
        display_name="Fabrikam", entra_tenant_id="fabrikam.example", cloud="emulator"
    )
    Membership.objects.create(user=personas["owner"], tenant=private, role="viewer")

    viewer = dashboard(client, personas["viewer"])
    assert 'data-tenant="Contoso Test"' in viewer and 'data-tenant="Contoso"' in viewer
    assert "Fabrikam" not in viewer
    assert 'data-tenant="Fabrikam"' in dashboard(client, personas["owner"])
    assert 'data-tenant="Fabrikam"' in dashboard(client, superuser)

    outsider = text(dashboard(client, personas["outsider"]))
    assert "Contoso" not in outsider
    assert "You have no role on any tenant yet. Ask a tenant admin to add you" in outsider


def test_a_superuser_without_tenants_is_told_to_add_one(client, superuser):
    html = dashboard(client, superuser)
    assert "No tenant yet." in html
    assert reverse("admin:tenants_tenant_add") in html


def test_each_tenant_shows_its_environment_badge(client, personas, tenant, prod_tenant):
    html = dashboard(client, personas["viewer"])
    assert "tg-env--prod" in row(html, "Contoso") and ">PROD<" in row(html, "Contoso")
    assert "tg-env--test" in row(html, "Contoso Test")
    assert reverse("admin:tenants_tenant_change", args=[prod_tenant.pk]) in row(html, "Contoso")


# --- last backup ---------------------------------------------------------------------------


def test_last_backup_shows_status_age_items_and_warnings(client, personas, tenant, prod_tenant):
    backup(tenant, ago=timedelta(days=2), item_count=7)
    latest = backup(
        tenant,
        status="partial",
        ago=timedelta(hours=3),
        item_count=12,
        warnings=[{"message": "a"}, {"message": "b"}],
    )
    backup(prod_tenant, ago=timedelta(seconds=20), item_count=1)

    html = dashboard(client, personas["viewer"])
    test_row = row(html, "Contoso Test")
    assert 'data-status="partial"' in test_row
    assert f'title="{utc_words(latest.captured_at)}"' in test_row
    assert "3 hours ago" in text(test_row)
    assert "12 items · 2 warnings" in text(test_row)
    assert reverse("admin:backups_backupset_change", args=[latest.pk]) in test_row

    prod_row = text(row(html, "Contoso"))
    assert "just now" in prod_row and "0 minutes" not in prod_row
    assert "1 item · no warnings" in prod_row


def test_a_running_or_failed_backup_is_the_last_one_and_says_so(
    client, personas, tenant, prod_tenant
):
    backup(tenant, ago=timedelta(days=1))
    backup(tenant, status="running", ago=timedelta(minutes=4), item_count=30)

    good = backup(prod_tenant, ago=timedelta(days=2), item_count=5)
    backup(prod_tenant, status="failed", ago=timedelta(minutes=10), error="401 Unauthorized")

    html = dashboard(client, personas["operator"])
    assert 'data-status="running"' in row(html, "Contoso Test")
    assert "started 4 minutes ago" in text(row(html, "Contoso Test"))
    assert "Last completed: 1 day ago" in text(row(html, "Contoso Test"))
    prod_row = row(html, "Contoso")
    assert 'data-status="failed"' in prod_row
    assert "Nothing usable captured. Open it to see why, then back up again." in text(prod_row)
    # The backup to restore from is the last completed one: the dashboard names it.
    assert "Last completed: 2 days ago" in text(prod_row)
    assert reverse("admin:backups_backupset_change", args=[good.pk]) in prod_row


def test_a_pre_restore_snapshot_is_not_the_last_backup(client, personas, tenant):
    manual = backup(tenant, ago=timedelta(days=1), item_count=40)
    backup(tenant, kind="pre_restore", ago=timedelta(minutes=5), item_count=2)
    test_row = row(dashboard(client, personas["viewer"]), "Contoso Test")
    assert reverse("admin:backups_backupset_change", args=[manual.pk]) in test_row
    assert "40 items" in text(test_row)


def test_no_backup_yet_offers_back_up_now_to_those_who_may(client, personas, tenant):
    operator_row = row(dashboard(client, personas["operator"]), "Contoso Test")
    assert "No backup yet:" in text(operator_row)
    assert reverse("admin:tenants_tenant_backup", args=[tenant.pk]) in operator_row
    assert "Back up now" in operator_row

    viewer_row = row(dashboard(client, personas["viewer"]), "Contoso Test")
    assert "No backup yet." in text(viewer_row)
    assert reverse("admin:tenants_tenant_backup", args=[tenant.pk]) not in viewer_row
    assert "An operator or admin of this tenant can back it up." in text(viewer_row)


def test_links_to_the_tenant_its_backups_and_a_new_restore(client, personas, tenant):
    operator_row = row(dashboard(client, personas["operator"]), "Contoso Test")
    assert f"{reverse('restores:new')}?tenant={tenant.pk}" in operator_row
    assert (
        f"{reverse('admin:backups_backupset_changelist')}?tenant__id__exact={tenant.pk}"
        in operator_row
    )
    # A viewer cannot prepare restores: no "New restore" for them.
    assert reverse("restores:new") not in row(dashboard(client, personas["viewer"]), "Contoso Test")


# --- next scheduled backup -------------------------------------------------------------------


def test_next_backup_is_off_planned_or_due(client, personas, tenant, prod_tenant):
    now = timezone.now()
    Tenant.objects.filter(pk=tenant.pk).update(
        backup_schedule="daily",
        backup_hour_utc=2,
        next_scheduled_backup_at=now + timedelta(hours=5, minutes=2),
    )
    third = Tenant.objects.create(
        display_name="Fabrikam",
        entra_tenant_id="fabrikam.example",
        cloud="emulator",
        backup_schedule="daily",
        next_scheduled_backup_at=now - timedelta(hours=2),
    )
    Membership.objects.create(user=personas["viewer"], tenant=third, role="viewer")

    html = dashboard(client, personas["viewer"])
    planned = text(row(html, "Contoso Test"))
    assert "in 5 hours" in planned and "Every day at 02:00 UTC" in planned
    assert "Off" in text(row(html, "Contoso"))
    due = text(row(html, "Fabrikam"))
    assert "Due 2 hours ago" in due and "tenantguard run starts it" in due


def test_a_schedule_not_planned_yet_shows_its_next_slot(personas, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(backup_schedule="daily", backup_hour_utc=4)
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    [overview] = [
        o for o in tenant_overviews(user=personas["viewer"], now=now) if o.tenant.pk == tenant.pk
    ]
    assert overview.next_backup_at == datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


# --- what changed between the last two backups ----------------------------------------------


def test_changes_between_the_last_two_completed_backups_by_content_hash(client, personas, tenant):
    backup(tenant, ago=timedelta(days=3), items=[("compliance_policy", "old", "h0")])
    older = backup(
        tenant,
        ago=timedelta(days=2),
        items=[
            ("settings_catalog", "a", "h1"),
            ("settings_catalog", "b", "h2"),
            ("settings_catalog", "c", "h3"),
            ("compliance_policy", "d", "h4"),
        ],
    )
    newer = backup(
        tenant,
        ago=timedelta(days=1),
        items=[
            ("settings_catalog", "a", "h1"),  # unchanged
            ("settings_catalog", "b", "h2-edited"),  # changed
            ("compliance_policy", "e", "h5"),  # added
            ("compliance_policy", "f", "h6"),  # added
            # the same Graph id under another type is another object: added, and "d" removed
            ("settings_catalog", "d", "h4"),
        ],
    )
    # Neither a partial, a running backup nor a pre-restore snapshot is a side of the comparison.
    backup(tenant, status="partial", ago=timedelta(hours=5), items=[("x", "y", "z")])
    backup(tenant, kind="pre_restore", ago=timedelta(hours=4), items=[("x", "y", "z")])
    backup(tenant, status="running", ago=timedelta(minutes=3))

    [overview] = tenant_overviews(user=personas["viewer"], tenants=[tenant])
    changes = overview.changes
    assert (changes.older_id, changes.newer_id) == (older.pk, newer.pk)
    assert (changes.added, changes.changed, changes.removed) == (3, 1, 2)

    cell = text(row(dashboard(client, personas["viewer"]), "Contoso Test"))
    assert "3 added · 1 changed · 2 removed" in cell
    assert (
        f"between the backups of {utc_words(older.captured_at)} and {utc_words(newer.captured_at)}"
        in cell
    )


def test_two_identical_backups_have_no_changes_and_one_backup_says_what_comes(
    client, personas, tenant, prod_tenant
):
    items = [("settings_catalog", "a", "h1"), ("compliance_policy", "b", "h2")]
    backup(tenant, ago=timedelta(days=2), items=items)
    backup(tenant, ago=timedelta(days=1), items=items)
    backup(prod_tenant, ago=timedelta(days=1), items=items)

    html = dashboard(client, personas["viewer"])
    assert "No changes between the backups of" in text(row(html, "Contoso Test"))
    assert "One completed backup so far: the changes show after the next one." in text(
        row(html, "Contoso")
    )


def test_changes_are_counted_per_tenant_in_the_same_queries(
    personas, tenant, prod_tenant, django_assert_num_queries
):
    backup(tenant, ago=timedelta(days=2), items=[("t", "1", "a")])
    backup(tenant, ago=timedelta(days=1), items=[("t", "1", "b"), ("t", "2", "c")])
    backup(prod_tenant, ago=timedelta(days=2), items=[("t", "1", "a"), ("t", "9", "x")])
    backup(prod_tenant, ago=timedelta(days=1), items=[("t", "1", "a")])

    # Tenants, latest backups, last two completed, the changes, restores, roles.
    with django_assert_num_queries(6):
        overviews = {o.tenant.pk: o for o in tenant_overviews(user=personas["viewer"])}
    test_changes, prod_changes = overviews[tenant.pk].changes, overviews[prod_tenant.pk].changes
    assert (test_changes.added, test_changes.changed, test_changes.removed) == (1, 1, 0)
    assert (prod_changes.added, prod_changes.changed, prod_changes.removed) == (0, 0, 1)


# --- restores running or needing attention ---------------------------------------------------


def test_failed_partial_and_running_restores_are_listed_with_why(
    client, personas, tenant, prod_tenant
):
    failed = restore_run(tenant, status="failed", results={"failed": 3, "items": 3})
    partial = restore_run(
        prod_tenant,
        status="partial",
        ago=timedelta(hours=2),
        results={"failed": 0, "unverified": 1, "changed_since_preview": 2, "items": 9},
    )
    running = restore_run(prod_tenant, status="running", ago=timedelta(minutes=7))
    restore_run(tenant, status="cancelled")  # a person stopped it: nothing to look at

    html = dashboard(client, personas["viewer"])
    section = re.search(r'<section id="restore-attention".*?</section>', html, re.S).group(0)
    words = text(section)
    assert f"Restore #{failed.pk} to Contoso Test" in words
    assert "3 items failed" in words
    assert (
        f"Restore #{partial.pk} to Contoso" in words
        and "1 item written but not verified, 2 items changed after the preview (not written)"
        in words
    )
    assert f"Restore #{running.pk} to Contoso" in words and "started 7 minutes ago" in words
    assert reverse("restores:run", args=[failed.pk]) in section
    # Running first, then the others, the most recent first.
    assert re.findall(r'data-run="(\d+)"', section) == [
        str(running.pk),
        str(failed.pk),
        str(partial.pk),
    ]
    assert "1 needs attention" in text(row(html, "Contoso Test"))
    prod_row = text(row(html, "Contoso"))
    assert "1 running" in prod_row and "1 needs attention" in prod_row


def test_a_later_completed_restore_or_thirty_days_end_the_attention(
    client, personas, tenant, prod_tenant
):
    restore_run(tenant, status="failed", ago=timedelta(days=2))
    restore_run(tenant, status="completed", ago=timedelta(days=1))
    restore_run(prod_tenant, status="partial", ago=timedelta(days=31))

    html = dashboard(client, personas["viewer"])
    assert 'id="restore-attention"' not in html
    assert "None needing attention" in text(row(html, "Contoso Test"))
    assert "None needing attention" in text(row(html, "Contoso"))


def test_restores_of_tenants_or_sources_a_person_cannot_see_are_not_listed(
    client, personas, tenant, prod_tenant
):
    secret_source = Tenant.objects.create(
        display_name="Fabrikam", entra_tenant_id="fabrikam.example", cloud="emulator"
    )
    source_backup = backup(secret_source, ago=timedelta(days=1))
    hidden = restore_run(tenant, status="failed", backup_set=source_backup)
    html = dashboard(client, personas["viewer"])
    assert f"Restore #{hidden.pk}" not in html
    assert 'id="restore-attention"' not in html


def test_a_completed_dry_run_does_not_end_the_attention(client, personas, tenant):
    failed = restore_run(tenant, status="failed", ago=timedelta(days=2), results={"failed": 1})
    restore_run(tenant, status="completed", ago=timedelta(days=1), dry_run=True)
    restore_run(tenant, status="completed", ago=timedelta(days=3))  # before the failure

    html = dashboard(client, personas["viewer"])
    assert f"Restore #{failed.pk} to Contoso Test" in text(html)
    assert "1 needs attention" in text(row(html, "Contoso Test"))


# --- the tenant list -------------------------------------------------------------------------


def test_the_tenant_list_has_the_dashboard_columns(client, personas, tenant, prod_tenant):
    backup(tenant, ago=timedelta(hours=3), item_count=12, warnings=[{"message": "a"}])
    restore_run(tenant, status="failed", results={"failed": 1})
    Tenant.objects.filter(pk=prod_tenant.pk).update(
        backup_schedule="daily",
        next_scheduled_backup_at=timezone.now() + timedelta(hours=9, minutes=1),
    )
    client.force_login(personas["operator"])
    html = client.get(reverse("admin:tenants_tenant_changelist")).content.decode()
    words = text(html)
    for column in ("Environment", "Last backup", "Next backup", "Restores"):
        assert column in words
    assert "3 hours ago" in words and "12 items · 1 warning" in words
    assert "1 needs attention" in words
    assert "in 9 hours" in words
    # No backup of Contoso yet: a link to the tenant page, never a form inside the list's form.
    assert "No backup yet: Back up now" in words
    assert reverse("admin:tenants_tenant_backup", args=[prod_tenant.pk]) not in html


# --- queries do not grow with tenants ---------------------------------------------------------


def _populate(tenants, personas):
    for tenant in tenants:
        for role in ("viewer", "operator"):
            Membership.objects.get_or_create(
                user=personas[role], tenant=tenant, defaults={"role": role}
            )
        backup(tenant, ago=timedelta(days=2), items=[("t", "1", "a"), ("t", "2", "b")])
        backup(tenant, ago=timedelta(days=1), items=[("t", "1", "c"), ("t", "3", "d")])
        restore_run(tenant, status="failed", results={"failed": 1})
        restore_run(tenant, status="running", ago=timedelta(minutes=2))


def _queries(client, url) -> int:
    counted = []

    def count(execute, sql, params, many, context):
        counted.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    return len(counted)


@pytest.mark.parametrize(
    "url_name", ["admin:index", "admin:tenants_tenant_changelist"], ids=["dashboard", "tenant list"]
)
def test_the_number_of_queries_does_not_grow_with_tenants(client, personas, url_name):
    _populate(
        [
            Tenant.objects.create(display_name=f"Tenant {n}", entra_tenant_id=f"t{n}.example")
            for n in range(2)
        ],
        personas,
    )
    client.force_login(personas["operator"])
    url = reverse(url_name)
    _queries(client, url)  # warm caches (content types, sessions)
    with_two = _queries(client, url)

    _populate(
        [
            Tenant.objects.create(display_name=f"Tenant {n}", entra_tenant_id=f"t{n}.example")
            for n in range(2, 12)
        ],
        personas,
    )
    html = client.get(url).content.decode()
    assert html.count("1 needs attention") == 12
    assert _queries(client, url) == with_two


# --- navigation ----------------------------------------------------------------------------


def _sidebar(html: str) -> str:
    return re.search(r'<div id="nav-sidebar-apps".*?</div>\s*</div>\s*</div>', html, re.S).group(0)


def test_the_sidebar_keeps_django_internals_for_superusers(client, personas, superuser):
    tasks = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    users = reverse("admin:auth_user_changelist")
    groups = reverse("admin:auth_group_changelist")
    memberships = reverse("admin:accounts_membership_changelist")

    for persona in ("viewer", "operator"):
        html = dashboard(client, personas[persona])
        for hidden in (tasks, users, groups, memberships):
            assert f'href="{hidden}"' not in html, (persona, hidden)
        for shown in (
            reverse("admin:tenants_tenant_changelist"),
            reverse("admin:backups_backupset_changelist"),
            reverse("admin:restores_restorerun_changelist"),
            reverse("admin:audit_auditevent_changelist"),
        ):
            assert f'href="{shown}"' in html, (persona, shown)

    assert f'href="{memberships}"' in dashboard(client, personas["owner"])
    root = dashboard(client, superuser)
    for link in (tasks, users, groups, memberships):
        assert f'href="{link}"' in root
    assert "System" in root
    # The index lists no Django applications (no "Authentication and Authorization" tables).
    assert "Models in the" not in root


# --- words -----------------------------------------------------------------------------------


def test_times_to_come_read_like_a_person_says_them():
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert until_words(now + timedelta(seconds=30), now=now) == "in less than a minute"
    assert until_words(now + timedelta(minutes=1), now=now) == "in 1 minute"
    assert until_words(now + timedelta(hours=5, minutes=1), now=now) == "in 5 hours"
    assert until_words(now + timedelta(days=1, hours=2), now=now) == "in 1 day"
    assert until_words(now - timedelta(minutes=5), now=now) == "now"
