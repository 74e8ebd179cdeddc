"""Several workers append audit events at the same moment, each in its own transaction on its own
connection: the chain stays one line (PostgreSQL; SQLite serializes writers by itself and its
in-memory test database cannot hold concurrent writers)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from tenantguard.audit.models import AuditEvent
from tenantguard.audit.services import audit_event_record
from tenantguard.audit.verify import audit_chain_verify

WORKERS = 6
EVENTS_PER_WORKER = 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_the_chain_linear(tenant):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections; CI runs it on PostgreSQL (TEST_DATABASE_URL)")
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            for n in range(EVENTS_PER_WORKER):
                with transaction.atomic():
                    audit_event_record(
                        actor=None, action="test.concurrent", tenant=tenant, details={"w": number}
                    )
                    # Work after the append, still in the transaction: others must wait for it.
                    time.sleep(0.001 * (n % 3))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    total = WORKERS * EVENTS_PER_WORKER
    sequences = list(AuditEvent.objects.order_by("id").values_list("sequence", flat=True))
    assert sequences == list(range(1, total + 1))
    report = audit_chain_verify()
    assert report.intact, report.problems
    assert report.events == total
