"""A TenantGuard worker process for the kill-and-resume test (run as a script, not collected).

    python kill_harness.py backup URL TOKEN          -> prints {"backup_set_id": N}
    python kill_harness.py prepare BACKUP_SET_ID     -> walks the wizard, prints {"run_id": N}
    python kill_harness.py execute RUN_ID            -> executes (the test may SIGKILL it)
    python kill_harness.py resume RUN_ID             -> resumes a run whose worker died, executes
    python kill_harness.py status RUN_ID             -> prints the run's status and outcomes

The database is a SQLite file under $TENANTGUARD_DATA_DIR, shared by every invocation.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from tenantguard.backups.models import BackupSet  # noqa: E402
from tenantguard.backups.services import backup_set_capture, backup_set_start  # noqa: E402
from tenantguard.graph import RequestPacer, RetryPolicy, WritePacer  # noqa: E402
from tenantguard.restores.models import RestoreRun  # noqa: E402
from tenantguard.restores.services.checks import restore_run_run_checks  # noqa: E402
from tenantguard.restores.services.diff import restore_run_run_preview  # noqa: E402
from tenantguard.restores.services.execute import restore_run_execute  # noqa: E402
from tenantguard.restores.services.runs import (  # noqa: E402
    restore_run_confirm,
    restore_run_create,
    restore_run_queue_execution,
    restore_run_resume,
    restore_run_set_dry_run,
    restore_run_set_scope,
)
from tenantguard.tenants.graph_access import graph_client_for  # noqa: E402
from tenantguard.tenants.models import Tenant  # noqa: E402


def _admin():
    return get_user_model().objects.get(username="admin")


def _client(tenant):
    return graph_client_for(
        tenant,
        pacer=WritePacer(max_writes=100_000, per_seconds=1.0),
        request_pacer=RequestPacer(max_requests=100_000, per_seconds=1.0),
        retry=RetryPolicy(max_attempts=5, base_delay=0.0, max_delay=0.0, budget_seconds=30),
    )


def main(command: str, *args: str) -> dict:
    if command == "backup":
        url, token = args
        call_command("migrate", interactive=False, verbosity=0)
        admin = get_user_model().objects.create_superuser("admin", password="kill-harness-only")
        tenant = Tenant.objects.create(
            display_name="Lab",
            entra_tenant_id="lab",
            environment="test",
            cloud="custom",
            graph_url=url,
            auth_method="static_token",
            static_token=token,
        )
        backup_set = backup_set_capture(
            backup_set=backup_set_start(actor=admin, tenant=tenant, enqueue=False),
            client=_client(tenant),
        )
        return {
            "backup_set_id": backup_set.pk,
            "status": backup_set.status,
            "items": backup_set.item_count,
        }
    if command == "prepare":
        admin = _admin()
        backup_set = BackupSet.objects.get(pk=int(args[0]))
        run = restore_run_create(actor=admin, tenant=backup_set.tenant, backup_set=backup_set)
        run = restore_run_set_scope(actor=admin, run=run, mode="all")
        run = restore_run_run_checks(actor=admin, run=run)
        run = restore_run_run_preview(actor=admin, run=run)
        run = restore_run_set_dry_run(actor=admin, run=run, dry_run=False)
        run = restore_run_confirm(
            actor=admin, run=run, acknowledged=True, typed_label=run.tenant_label
        )
        run = restore_run_queue_execution(actor=admin, run=run)
        return {"run_id": run.pk, "status": run.status}
    run = RestoreRun.objects.select_related("tenant").get(pk=int(args[0]))
    if command == "resume":
        # The worker was killed: let its heartbeat go stale, as time would, then resume.
        RestoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
        run = restore_run_resume(actor=_admin(), run=RestoreRun.objects.get(pk=run.pk))
        command = "execute"
    if command == "execute":
        run = restore_run_execute(run_id=run.pk, client=_client(run.tenant))
    outcomes = {}
    for outcome in run.item_outcomes.all():
        outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
    skipped = list(
        run.item_outcomes.filter(outcome="skipped").values_list("display_name", "reason")[:10]
    )
    return {
        "run_id": run.pk,
        "status": run.status,
        "outcomes": outcomes,
        "results": run.results,
        "skipped": skipped,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:]), default=str))
