"""Two workers claim runs of the same tenant at the same moment, each on its own database
connection: exactly one runs, the other is told why. On PostgreSQL (CI runs the suite there too)
these are real concurrent transactions against the partial unique index."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.runs import restore_run_claim

from .conftest import prepare_run, take_backup


@pytest.mark.django_db(transaction=True)
def test_only_one_of_two_simultaneous_claims_wins(personas, tenant, seeded, monkeypatch):
    from tenantguard.restores.services import runs as run_services

    # Committed transactions would run the queued task at once (immediate backend): here the
    # two "workers" are the threads below.
    monkeypatch.setattr(run_services, "_enqueue_execution", lambda run_id: None)
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs real concurrent connections: the SQLite test database answers a second writer "
            "with 'table is locked'; CI runs this on PostgreSQL (the sequential lock tests run on both)"
        )
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    # Something to write: a run whose preview writes nothing is never queued.
    apply_demo_drift(seeded, seed=1)
    runs = [prepare_run(owner, tenant, baseline) for _ in range(2)]
    assert [run.status for run in runs] == ["queued", "queued"]
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def worker(run_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[run_id] = restore_run_claim(run_id=run_id, worker_id=f"worker-{run_id}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(run.pk,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    claimed = [run_id for run_id, outcome in outcomes.items() if outcome]
    refused = [outcome for outcome in outcomes.values() if not outcome]
    assert len(claimed) == 1 and len(refused) == 1, outcomes
    assert "Another restore is running on tenant 'Contoso Test'" in refused[0].reason
    statuses = sorted(RestoreRun.objects.values_list("status", flat=True))
    assert statuses == ["queued", "running"]
