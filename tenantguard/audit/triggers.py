"""Database triggers that make the audit trail append-only below the ORM.

On ``audit_auditevent`` every UPDATE and DELETE is refused; on ``audit_auditchainhead`` DELETE is
refused and an UPDATE may only move the head one event forward. Both vendors raise an integrity
error (``django.db.IntegrityError``) whose message names the table and the refused operation.

What they do not stop: someone who can drop a trigger. The hash chain is there for that case:
``tenantguard audit verify`` detects the edit, the deletion or the reordering afterwards.

PostgreSQL row triggers do not fire on TRUNCATE, and on SQLite TenantGuard's ``flush`` command
lifts the triggers for its own statement (see ``management/commands/flush.py``): emptying the
whole database, the test suite's teardown included, still works. Created by migration
``0004_audit_append_only``.
"""

from __future__ import annotations

from typing import Any

EVENT_TABLE = "audit_auditevent"
HEAD_TABLE = "audit_auditchainhead"

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
    "audit_auditchainhead_refuse_delete": f"""
        CREATE TRIGGER IF NOT EXISTS audit_auditchainhead_refuse_delete
        BEFORE DELETE ON {HEAD_TABLE}
        BEGIN
            SELECT RAISE(ABORT, 'audit_auditchainhead: DELETE refused. {REFUSAL_HINT}');
        END
    """,
    "audit_auditchainhead_forward_only": f"""
        CREATE TRIGGER IF NOT EXISTS audit_auditchainhead_forward_only
        BEFORE UPDATE ON {HEAD_TABLE}
        WHEN NEW.sequence IS NOT OLD.sequence + 1 OR NEW.id IS NOT OLD.id
        BEGIN
            SELECT RAISE(ABORT, 'audit_auditchainhead: UPDATE refused, the head only moves one event forward. {REFUSAL_HINT}');
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
    CREATE OR REPLACE FUNCTION tenantguard_audit_head_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'audit_auditchainhead: DELETE refused'
                USING ERRCODE = 'restrict_violation', HINT = '{REFUSAL_HINT}';
        END IF;
        IF NEW.id IS DISTINCT FROM OLD.id OR NEW.sequence IS DISTINCT FROM OLD.sequence + 1 THEN
            RAISE EXCEPTION 'audit_auditchainhead: UPDATE from sequence % to % refused, the head only moves one event forward',
                OLD.sequence, NEW.sequence
                USING ERRCODE = 'restrict_violation', HINT = '{REFUSAL_HINT}';
        END IF;
        RETURN NEW;
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
    "audit_auditchainhead_guard": f"""
        CREATE TRIGGER audit_auditchainhead_guard
        BEFORE UPDATE OR DELETE ON {HEAD_TABLE}
        FOR EACH ROW EXECUTE FUNCTION tenantguard_audit_head_guard()
    """,
}


def _table_of(trigger: str) -> str:
    return HEAD_TABLE if trigger.startswith("audit_auditchainhead") else EVENT_TABLE


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
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {_table_of(name)}")
                cursor.execute(statement)
        elif connection.vendor == "sqlite":
            for statement in _SQLITE_TRIGGERS.values():
                cursor.execute(statement)


def triggers_remove(connection: Any) -> None:
    """Drop the triggers (for the reverse migration and SQLite's flush)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name in _POSTGRES_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {_table_of(name)}")
            cursor.execute("DROP FUNCTION IF EXISTS tenantguard_audit_event_refuse_change()")
            cursor.execute("DROP FUNCTION IF EXISTS tenantguard_audit_head_guard()")
        elif connection.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


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
                "AND tgrelid IN (%s::regclass, %s::regclass)",
                [EVENT_TABLE, HEAD_TABLE],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                [EVENT_TABLE, HEAD_TABLE],
            )
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]
