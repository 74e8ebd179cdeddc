from __future__ import annotations

from django_tasks import task

from tenantguard.audit.context import bind_request_id, reset_request_id


@task()
def capture_backup_set_task(backup_set_id: int) -> str:
    from tenantguard.backups.models import BackupSet
    from tenantguard.backups.services import backup_set_capture

    token = bind_request_id(f"backup-{backup_set_id}")
    try:
        backup_set = BackupSet.objects.select_related("tenant", "created_by").get(pk=backup_set_id)
        return backup_set_capture(backup_set=backup_set).status
    finally:
        reset_request_id(token)
