"""A Microsoft Graph emulator for the Intune surface TenantGuard uses (see README.md)."""

from __future__ import annotations

from tenantguard.emulator.app import GraphEmulator, RequestLogEntry
from tenantguard.emulator.config import EmulatorConfig, FaultConfig, ThrottleConfig
from tenantguard.emulator.seed import SeedError, load_seed_dir
from tenantguard.emulator.tenant import Tenant

__all__ = [
    "EmulatorConfig",
    "FaultConfig",
    "GraphEmulator",
    "RequestLogEntry",
    "SeedError",
    "Tenant",
    "ThrottleConfig",
    "load_seed_dir",
]
