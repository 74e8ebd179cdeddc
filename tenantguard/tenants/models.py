from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.core.validators import MaxValueValidator
from django.db import models

from tenantguard.crypto import EncryptedTextField


class Environment(models.TextChoices):
    PROD = "prod", "PROD"
    TEST = "test", "TEST"


class Cloud(models.TextChoices):
    GLOBAL = "global", "Global (graph.microsoft.com)"
    USGOV = "usgov", "US Government GCC High (graph.microsoft.us)"
    USGOV_DOD = "usgov_dod", "US Government DoD (dod-graph.microsoft.us)"
    CHINA = "china", "China, operated by 21Vianet (microsoftgraph.chinacloudapi.cn)"
    CUSTOM = "custom", "Custom Graph URL (e.g. an emulator on loopback)"
    EMULATOR = "emulator", "Built-in Graph emulator (demo)"


class AuthMethod(models.TextChoices):
    CLIENT_SECRET = "client_secret", "App registration with client secret"
    CERTIFICATE = "certificate", "App registration with certificate"
    STATIC_TOKEN = "static_token", "Static bearer token (emulators and tests)"


class BackupSchedule(models.TextChoices):
    OFF = "off", "No scheduled backups"
    DAILY = "daily", "Every day"


class ConnectionStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not tested"
    OK = "ok", "Connected"
    LIMITED = "limited", "Connected, some permissions missing"
    FAILED = "failed", "Cannot connect"


class Tenant(models.Model):
    """An Intune tenant under management and how to reach its Graph API."""

    display_name = models.CharField(
        max_length=200,
        unique=True,
        help_text="The name admins type to confirm a restore. Shown on every restore step.",
    )
    entra_tenant_id = models.CharField(
        "Entra tenant ID", max_length=100, help_text="Directory (tenant) ID or primary domain."
    )
    environment = models.CharField(
        max_length=10, choices=Environment.choices, default=Environment.TEST
    )
    cloud = models.CharField(max_length=20, choices=Cloud.choices, default=Cloud.GLOBAL)
    graph_url = models.CharField(
        "Graph URL",
        max_length=300,
        blank=True,
        help_text="Only for a custom cloud, e.g. http://127.0.0.1:8765",
    )
    login_url = models.CharField(
        "Login URL",
        max_length=300,
        blank=True,
        help_text="Only for a custom cloud; defaults to the Graph URL.",
    )
    auth_method = models.CharField(
        max_length=20, choices=AuthMethod.choices, default=AuthMethod.CLIENT_SECRET
    )
    client_id = models.CharField("Application (client) ID", max_length=100, blank=True)
    client_secret = EncryptedTextField(blank=True)
    certificate_private_key = EncryptedTextField("Certificate private key (PEM)", blank=True)
    certificate_thumbprint = models.CharField(max_length=100, blank=True)
    static_token = EncryptedTextField(blank=True)

    backup_schedule = models.CharField(
        "Scheduled backups",
        max_length=10,
        choices=BackupSchedule.choices,
        default=BackupSchedule.OFF,
        help_text="The scheduler (started by `tenantguard run`) takes the backup; missed days "
        "are caught up with one backup, never several.",
    )
    backup_hour_utc = models.PositiveSmallIntegerField(
        "Backup hour (UTC)",
        default=2,
        validators=[MaxValueValidator(23)],
        help_text="0 to 23. The scheduled backup starts at this hour, UTC.",
    )
    keep_scheduled_backups = models.PositiveIntegerField(
        "Scheduled backups to keep",
        default=0,
        help_text="0 keeps every scheduled backup. Otherwise the scheduler deletes the older "
        "scheduled backups beyond this many finished ones; manual backups, pre-restore "
        "snapshots and any backup a restore run used are never deleted.",
    )
    next_scheduled_backup_at = models.DateTimeField(
        "Next scheduled backup", null=True, blank=True, editable=False
    )

    connection_status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.UNKNOWN
    )
    connection_checked_at = models.DateTimeField(null=True, blank=True)
    connection_details = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_prod(self) -> bool:
        return self.environment == Environment.PROD

    def scheduled_backup_after(self, moment: datetime) -> datetime | None:
        """The first scheduled backup time strictly after ``moment``; None when off."""
        if self.backup_schedule != BackupSchedule.DAILY:
            return None
        moment = moment.astimezone(UTC)
        slot = datetime.combine(moment.date(), time(hour=self.backup_hour_utc), tzinfo=UTC)
        return slot if slot > moment else slot + timedelta(days=1)
