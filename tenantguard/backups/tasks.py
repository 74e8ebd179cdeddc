from __future__ import annotations

from django_tasks import task

from tenantguard.audit.context import bind_request_id, reset_request_id


@task()
def capture_backup_set_task(backup_set_id: int) -> str:
    from tenantguard.backups.models import BackupSet
    from tenantguard.backups.services import backup_set_capture, backup_set_mark_started

    token = bind_request_id(f"backup-{backup_set_id}")
    try:
        backup_set = BackupSet.objects.select_related("tenant", "created_by").get(pk=backup_set_id)
        if not backup_set_mark_started(backup_set=backup_set):
            # Failed (as stale, or by an admin) while it waited in the queue: capturing now
            # would turn a recorded failure into a success behind the audit trail's back.
            return backup_set.status
        return backup_set_capture(backup_set=backup_set).status
    finally:
        reset_request_id(token)
