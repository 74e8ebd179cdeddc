"""Database triggers that make the audit trail append-only below the ORM.

Every UPDATE and DELETE on ``audit_auditevent`` is refused: both vendors raise an integrity error
(``django.db.IntegrityError``) whose message names the table and the refused operation.

What they do not stop: someone who can drop a trigger. The hash chain is there for that case:
``tenantguard audit verify`` detects the edit, the deletion or the reordering afterwards.

On PostgreSQL a statement trigger refuses TRUNCATE too (row triggers do not see it). TenantGuard's
``flush`` command lifts the triggers for its own statement (see ``management/commands/flush.py``):
emptying the whole database, the test suite's teardown included, still works. Created by migration
``0004_audit_append_only``.
"""

from __future__ import annotations

from typing import Any

EVENT_TABLE = "audit_auditevent"

REFUSAL_HINT = (
    "Audit events are never changed or deleted; check the trail with `tenantguard audit verify`."
)

_SQLITE_TRIGGERS = {
    "audit_auditevent_refuse_update": f"""
        CREATE TRIGGER IF NOT EXISTS audit_auditevent_refuse_update
        BEFORE UPDATE ON {EVENT_TABLE}
        BEGIN
            SELECT RAISE(ABORT, 'audit_auditevent is append-only: UPDATE refused. {REFUSAL_HINT}');
        END
    """,
    "audit_auditevent_refuse_delete": f"""
        CREATE TRIGGER IF NOT EXISTS audit_auditevent_refuse_delete
        BEFORE DELETE ON {EVENT_TABLE}
        BEGIN
            SELECT RAISE(ABORT, 'audit_auditevent is append-only: DELETE refused. {REFUSAL_HINT}');
        END
    """,
}

_POSTGRES_FUNCTIONS = (
    f"""
    CREATE OR REPLACE FUNCTION tenantguard_audit_event_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_auditevent is append-only: % of audit event id=% (sequence %) refused',
            TG_OP, OLD.id, OLD.sequence
            USING ERRCODE = 'restrict_violation', HINT = '{REFUSAL_HINT}';
    END
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION tenantguard_audit_event_refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_auditevent is append-only: TRUNCATE refused'
            USING ERRCODE = 'restrict_violation', HINT = '{REFUSAL_HINT}';
    END
    $$
    """,
)

_POSTGRES_TRIGGERS = {
    "audit_auditevent_append_only": f"""
        CREATE TRIGGER audit_auditevent_append_only
        BEFORE UPDATE OR DELETE ON {EVENT_TABLE}
        FOR EACH ROW EXECUTE FUNCTION tenantguard_audit_event_refuse_change()
    """,
    # Row triggers do not see TRUNCATE: a statement trigger refuses it (TenantGuard's ``flush``
    # lifts it for its own statement).
    "audit_auditevent_refuse_truncate": f"""
        CREATE TRIGGER audit_auditevent_refuse_truncate
        BEFORE TRUNCATE ON {EVENT_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION tenantguard_audit_event_refuse_truncate()
    """,
}


def expected_triggers(vendor: str) -> tuple[str, ...]:
    """Names of the triggers this database vendor should have (empty: not supported)."""
    if vendor == "postgresql":
        return tuple(_POSTGRES_TRIGGERS)
    if vendor == "sqlite":
        return tuple(_SQLITE_TRIGGERS)
    return ()


def triggers_install(connection: Any) -> None:
    """Create the triggers (idempotent). Run inside the caller's transaction."""
    with connection.cursor() as cursor:
        # No parameters: the statements contain '%' (plpgsql placeholders), never interpolated.
        if connection.vendor == "postgresql":
            for statement in _POSTGRES_FUNCTIONS:
                cursor.execute(statement)
            for name, statement in _POSTGRES_TRIGGERS.items():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {EVENT_TABLE}")
                cursor.execute(statement)
        elif connection.vendor == "sqlite":
            for statement in _SQLITE_TRIGGERS.values():
                cursor.execute(statement)


def triggers_remove(connection: Any) -> None:
    """Drop the triggers (for the reverse migration and SQLite's flush)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name in _POSTGRES_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {EVENT_TABLE}")
            cursor.execute("DROP FUNCTION IF EXISTS tenantguard_audit_event_refuse_change()")
            cursor.execute("DROP FUNCTION IF EXISTS tenantguard_audit_event_refuse_truncate()")
        elif connection.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


#: The migration that creates the triggers: before it (or migrated back past it) there are none.
TRIGGERS_MIGRATION = ("audit", "0004_audit_append_only")


def triggers_restore_after_migrate(*, using: str, **kwargs: Any) -> None:
    """``post_migrate``: put back any trigger a migration removed. SQLite drops a table's
    triggers whenever a migration rebuilds the table (altering one of its columns, or the type
    of a primary key it refers to), so without this the audit trail would silently accept
    UPDATE and DELETE again after such a ``migrate`` until someone ran ``audit verify``."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    if not expected_triggers(connection.vendor):
        return
    if EVENT_TABLE not in connection.introspection.table_names():
        return
    if TRIGGERS_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    if triggers_missing(connection):
        triggers_install(connection)


def triggers_missing(connection: Any) -> list[str]:
    """The expected triggers that the database does not have (SQLite loses a table's triggers
    when a migration rebuilds the table, so the verifier checks)."""
    expected = expected_triggers(connection.vendor)
    if not expected:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D' "
                "AND tgrelid = %s::regclass",
                [EVENT_TABLE],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [EVENT_TABLE],
            )
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]
