"""The database itself refuses UPDATE and DELETE on the audit trail (SQLite here, PostgreSQL when
TEST_DATABASE_URL is set), and nothing TenantGuard does legitimately needs either: deleting a
user or a tenant leaves their events as they were, and `flush` still empties a test database."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from tenantguard.audit.models import AuditEvent
from tenantguard.audit.services import audit_event_record
from tenantguard.audit.triggers import expected_triggers, triggers_missing, triggers_remove
from tenantguard.audit.verify import audit_chain_verify


@pytest.fixture
def event(db, tenant, superuser) -> AuditEvent:
    return audit_event_record(actor=superuser, action="test.happened", subject=tenant)


def _refused(sql: str, params: list) -> str:
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return str(refused.value)


def test_the_database_has_the_append_only_triggers(db):
    assert expected_triggers(connection.vendor), connection.vendor
    assert triggers_missing(connection) == []


def test_raw_update_of_an_event_is_refused(event):
    message = _refused("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["x", event.pk])
    assert "audit_auditevent is append-only: UPDATE" in message
    assert AuditEvent.objects.get(pk=event.pk).action == "test.happened"


def test_raw_delete_of_an_event_is_refused(event):
    message = _refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert "audit_auditevent is append-only: DELETE" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_raw_delete_of_all_events_is_refused(event):
    assert "append-only" in _refused("DELETE FROM audit_auditevent", [])
    assert AuditEvent.objects.count() == 1


def test_truncating_the_trail_is_refused_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE is refused above)")
    message = _refused("TRUNCATE audit_auditevent", [])
    assert "append-only: TRUNCATE refused" in message
    assert AuditEvent.objects.count() == 1


def test_deleting_a_user_leaves_their_events_untouched(client, superuser, make_user, tenant):
    # The admin's user delete runs the ORM's cascade: it must not SET NULL on the trail.
    leaver = make_user("leaver", superuser=True)
    theirs = audit_event_record(actor=leaver, action="test.by_leaver", subject=tenant)
    client.force_login(superuser)
    deleted = client.post(reverse("admin:auth_user_delete", args=[leaver.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    kept = AuditEvent.objects.get(pk=theirs.pk)
    assert (kept.actor_id, kept.actor_label) == (leaver.pk, "leaver")
    assert audit_chain_verify().intact


def test_deleting_a_tenant_leaves_its_events_untouched(client, superuser, tenant, prod_tenant):
    event = audit_event_record(actor=superuser, action="test.on_tenant", subject=tenant)
    tenant_pk = tenant.pk
    tenant.delete()
    kept = AuditEvent.objects.get(pk=event.pk)
    assert (kept.tenant_id, kept.tenant_label) == (tenant_pk, "Contoso Test")
    assert audit_chain_verify().intact
    client.force_login(superuser)
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and b"Contoso Test" in page.content


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_trail_and_keeps_the_triggers(tenant, superuser):
    audit_event_record(actor=superuser, action="test.before_flush", subject=tenant)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert triggers_missing(connection) == []
    fresh = audit_event_record(actor=None, action="test.after_flush")
    assert fresh.sequence == 1
    assert audit_chain_verify().summary().startswith("1 events, chain intact")


@pytest.mark.django_db(transaction=True)
def test_migrate_puts_back_triggers_a_table_rebuild_dropped(tenant):
    # SQLite drops a table's triggers whenever a migration rebuilds the table (any later
    # AlterField on the audit trail, or a new type for a key it refers to); on PostgreSQL an
    # owner can drop them. The next `migrate` (even with nothing to apply) puts them back.
    if connection.vendor == "sqlite":
        with connection.schema_editor() as editor:
            editor._remake_table(AuditEvent)  # what a migration altering the table does
    else:
        triggers_remove(connection)
    assert triggers_missing(connection) == list(expected_triggers(connection.vendor))
    call_command("migrate", interactive=False, verbosity=0)
    assert triggers_missing(connection) == []
    event = audit_event_record(actor=None, action="test.after_migrate", tenant=tenant)
    assert "append-only" in _refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
