"""Django's ``flush``, able to empty the append-only audit trail on SQLite too.

``flush`` empties every table of the database (the test suite's teardown of transactional tests
uses it): TRUNCATE on PostgreSQL, DELETE on SQLite, both refused by the audit triggers. This
command removes the audit triggers, flushes and puts them back, all in one transaction (DDL is
transactional on both), so a failed flush leaves them in place. Nothing else can empty the
audit trail.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from tenantguard.audit.triggers import EVENT_TABLE, triggers_install, triggers_remove


class Command(flush.Command):
    help = flush.Command.help + " The audit trail is emptied too."

    def handle(self, **options: Any) -> None:
        alias = options.get("database") or DEFAULT_DB_ALIAS
        connection = connections[alias]
        if (
            connection.vendor not in ("sqlite", "postgresql")
            or EVENT_TABLE not in connection.introspection.table_names()
        ):
            super().handle(**options)
            return
        with transaction.atomic(using=alias):
            triggers_remove(connection)
            super().handle(**options)
            triggers_install(connection)
