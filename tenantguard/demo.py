"""The embedded demo: users, two emulated Contoso tenants, a baseline backup and later drift.

Idempotent: running it again reuses what exists.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from tenantguard.accounts.models import Membership, Role
from tenantguard.backups.models import BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.tenants.graph_access import emulated_tenant
from tenantguard.tenants.models import AuthMethod, BackupSchedule, Cloud, Environment, Tenant

DEMO_BASELINE_NAME = "Demo baseline (before the changes)"
DEMO_BACKUP_HOUR_UTC = 2  # the demo tenants are backed up every night, like real ones should be
DEMO_TENANTS = (
    ("Contoso Test", "contoso-test.onmicrosoft.com", Environment.TEST, 101),
    ("Contoso", "contoso.onmicrosoft.com", Environment.PROD, 202),
)
DEMO_USERS = (
    ("admin", Role.ADMIN, True),
    ("operator", Role.OPERATOR, False),
    ("viewer", Role.VIEWER, False),
)


@dataclass
class DemoReport:
    password: str
    created: list[str] = field(default_factory=list)
    drift: dict[str, list[str]] = field(default_factory=dict)


def demo_password() -> str:
    return os.environ.get("TENANTGUARD_DEMO_PASSWORD", "tenantguard-demo")


def demo_setup() -> DemoReport:
    from tenantguard.emulator.demo import (
        apply_demo_drift,
        demo_organization,
        demo_tenant_objects,
    )
    from tenantguard.emulator.seed import collection_of

    report = DemoReport(password=demo_password())
    user_model = get_user_model()
    users = {}
    for username, role, is_superuser in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": is_superuser}
        )
        if created:
            user.set_password(report.password)
            user.save()
            report.created.append(f"user {username}")
        users[username] = (user, role)

    for label, entra_id, environment, seed in DEMO_TENANTS:
        tenant = Tenant.objects.filter(display_name=label).first()
        if tenant is None:
            with transaction.atomic():
                tenant = Tenant(
                    display_name=label,
                    entra_tenant_id=entra_id,
                    environment=environment,
                    cloud=Cloud.EMULATOR,
                    auth_method=AuthMethod.STATIC_TOKEN,
                    static_token=secrets.token_urlsafe(32),
                    backup_schedule=BackupSchedule.DAILY,
                    backup_hour_utc=DEMO_BACKUP_HOUR_UTC,
                    keep_scheduled_backups=14,
                )
                tenant.next_scheduled_backup_at = tenant.scheduled_backup_after(timezone.now())
                tenant.save()
            report.created.append(f"tenant {label}")
        for user, role in users.values():
            Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
        emulated = emulated_tenant(tenant)
        if not emulated.list_objects("organization"):
            emulated.put_object("organization", demo_organization(tenant_label=label))
        if not emulated.list_objects("deviceManagement/deviceConfigurations"):
            for obj in demo_tenant_objects(tenant_label=label, seed=seed):
                emulated.put_object(collection_of(obj, source="demo"), obj)
            report.created.append(f"emulated configuration of {label}")
        if not BackupSet.objects.filter(tenant=tenant, name=DEMO_BASELINE_NAME).exists():
            admin_user = users["admin"][0]
            backup_set = backup_set_start(
                actor=admin_user, tenant=tenant, name=DEMO_BASELINE_NAME, enqueue=False
            )
            backup_set_capture(backup_set=backup_set)
            report.drift[label] = apply_demo_drift(emulated, seed=seed)
            report.created.append(f"baseline backup of {label} ({backup_set.item_count} objects)")
    return report
