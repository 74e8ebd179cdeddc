"""Builds the Graph client for a tenant: the one place that turns a Tenant row into HTTP access."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from tenantguard.crypto import decryption_problem
from tenantguard.graph import (
    CLOUDS,
    Cloud,
    GraphClient,
    MsalCertificateTokenProvider,
    MsalSecretTokenProvider,
    RequestPacer,
    StaticTokenProvider,
    WritePacer,
)
from tenantguard.tenants.models import AuthMethod, Tenant
from tenantguard.tenants.models import Cloud as CloudChoice

EMULATOR_GRAPH_URL = "http://emulator.tenantguard.invalid"

_emulator_lock = threading.Lock()
_embedded_emulator: Any = None
# Intune's limits (writes, and requests of any kind) are per app per tenant: every client of one
# tenant in this process shares one write pacer and one request pacer so that together they stay
# under them.
_pacers: dict[int, WritePacer] = {}
_request_pacers: dict[int, RequestPacer] = {}
_pacers_lock = threading.Lock()


class TenantConfigurationError(Exception):
    """The tenant's connection settings are incomplete. The message says which field to fill."""


def embedded_emulator() -> Any:
    """The in-process Graph emulator behind ``emulator`` tenants (one per process)."""
    global _embedded_emulator
    with _emulator_lock:
        if _embedded_emulator is None:
            from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig

            state_dir = settings.TENANTGUARD_EMULATOR_STATE_DIR
            if state_dir is not None:
                state_dir.mkdir(parents=True, exist_ok=True)
            _embedded_emulator = GraphEmulator(
                config=EmulatorConfig(
                    throttle=ThrottleConfig(enabled=settings.TENANTGUARD_EMULATOR_THROTTLE)
                ),
                state_dir=state_dir,
            )
        return _embedded_emulator


def reset_embedded_emulator() -> None:
    """Forget the in-process emulator (tests point it at a fresh state directory) and the
    tenants' shared pacers, which counted requests made before (see ``reset_shared_pacers``)."""
    global _embedded_emulator
    with _emulator_lock:
        _embedded_emulator = None
    reset_shared_pacers()


def reset_shared_pacers() -> None:
    """Forget every tenant's shared pacers, so the next client of a tenant starts with empty
    windows. For tests: they recreate the database, so a primary key that named one tenant
    names another afterwards and would inherit the old tenant's recent requests."""
    with _pacers_lock:
        _pacers.clear()
        _request_pacers.clear()


def emulated_tenant(tenant: Tenant) -> Any:
    """The emulator's state for an ``emulator`` tenant, registered on first use."""
    emulator = embedded_emulator()
    return emulator.ensure_tenant(tenant_id=tenant.entra_tenant_id, token=tenant.static_token)


def emulator_server_record() -> Path:
    """Where a running ``tenantguard run`` records the address of the emulator it serves, so
    that other ``tenantguard`` commands on the same data directory write to that emulator
    instead of a copy of their own."""
    return Path(settings.DATA_DIR) / "emulator-server.json"


def emulator_server_record_write(*, url: str) -> None:
    """Record ``url`` as this process's emulator (``tenantguard run`` calls it)."""
    path = emulator_server_record()
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    os.replace(scratch, path)


def emulator_server_record_remove() -> None:
    """Forget the record when this process wrote it (a newer ``tenantguard run`` keeps its own)."""
    path = emulator_server_record()
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        return


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _accepts_connections(url: str) -> bool:
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"} or parts.port is None:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=0.5):
            return True
    except OSError:
        return False


def running_emulator_url() -> str | None:
    """The loopback address of the emulator a running ``tenantguard run`` on this data
    directory serves, or ``None`` (no record, its process gone, or its port closed)."""
    try:
        record = json.loads(emulator_server_record().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    url, pid = record.get("url"), record.get("pid")
    if not isinstance(url, str) or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    if not _process_alive(pid) or not _accepts_connections(url):
        return None
    return url.rstrip("/")


def tenant_cloud(tenant: Tenant) -> Cloud:
    if tenant.cloud == CloudChoice.CUSTOM:
        if not tenant.graph_url:
            raise TenantConfigurationError(
                f"Tenant '{tenant.display_name}' uses a custom cloud but has no Graph URL. Set it on the tenant page."
            )
        return Cloud(
            "custom",
            graph_url=tenant.graph_url.rstrip("/"),
            login_url=(tenant.login_url or tenant.graph_url).rstrip("/"),
        )
    if tenant.cloud == CloudChoice.EMULATOR:
        url = (
            os.environ.get("TENANTGUARD_EMULATOR_URL", "").rstrip("/")
            or running_emulator_url()
            or EMULATOR_GRAPH_URL
        )
        return Cloud("emulator", graph_url=url, login_url=url)
    return CLOUDS[tenant.cloud]


def shared_pacer_for(tenant: Tenant) -> WritePacer:
    """The write pacer every client of ``tenant`` in this process shares
    (``TENANTGUARD_GRAPH_WRITES_PER_20S``, Intune's 100 per 20 s by default)."""
    with _pacers_lock:
        if tenant.pk not in _pacers:
            _pacers[tenant.pk] = WritePacer(
                max_writes=settings.TENANTGUARD_GRAPH_WRITES_PER_20S, per_seconds=20.0
            )
        return _pacers[tenant.pk]


def shared_request_pacer_for(tenant: Tenant) -> RequestPacer:
    """The request pacer every client of ``tenant`` in this process shares
    (``TENANTGUARD_GRAPH_REQUESTS_PER_20S``, Intune's 1000 per 20 s by default)."""
    with _pacers_lock:
        if tenant.pk not in _request_pacers:
            _request_pacers[tenant.pk] = RequestPacer(
                max_requests=settings.TENANTGUARD_GRAPH_REQUESTS_PER_20S, per_seconds=20.0
            )
        return _request_pacers[tenant.pk]


def _refuse_undecryptable_credentials(tenant: Tenant) -> None:
    """A credential stored under an encryption key this install no longer has reads as empty:
    say so (naming the field, never the ciphertext) instead of "has no client secret"."""
    for field_name, label in (
        ("static_token", "static token"),
        ("client_secret", "client secret"),
        ("certificate_private_key", "certificate private key"),
    ):
        if decryption_problem(getattr(tenant, field_name, None)):
            raise TenantConfigurationError(
                f"Tenant '{tenant.display_name}': its stored {label} cannot be decrypted with "
                "the configured encryption keys (TENANTGUARD_ENCRYPTION_KEY or the data "
                "directory's secrets.json changed). Restore the old key, or enter the "
                f"{label} again on the tenant page."
            )


def token_provider_for(tenant: Tenant, cloud: Cloud, http_client: Any = None) -> Any:
    _refuse_undecryptable_credentials(tenant)
    if tenant.auth_method == AuthMethod.STATIC_TOKEN:
        if not tenant.static_token:
            raise TenantConfigurationError(
                f"Tenant '{tenant.display_name}' has no static token. Set one on the tenant page."
            )
        return StaticTokenProvider(tenant.static_token)
    if not tenant.client_id:
        raise TenantConfigurationError(
            f"Tenant '{tenant.display_name}' has no application (client) ID. Set it on the tenant page."
        )
    if tenant.auth_method == AuthMethod.CERTIFICATE:
        if not tenant.certificate_private_key or not tenant.certificate_thumbprint:
            raise TenantConfigurationError(
                f"Tenant '{tenant.display_name}' uses a certificate but its private key or thumbprint is missing."
            )
        return MsalCertificateTokenProvider(
            tenant_id=tenant.entra_tenant_id,
            client_id=tenant.client_id,
            private_key_pem=tenant.certificate_private_key,
            thumbprint=tenant.certificate_thumbprint,
            login_url=cloud.login_url,
            graph_url=cloud.graph_url,
            http_client=http_client,
        )
    if not tenant.client_secret:
        raise TenantConfigurationError(
            f"Tenant '{tenant.display_name}' has no client secret. Set it on the tenant page."
        )
    return MsalSecretTokenProvider(
        tenant_id=tenant.entra_tenant_id,
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
        login_url=cloud.login_url,
        graph_url=cloud.graph_url,
        http_client=http_client,
    )


def graph_client_for(tenant: Tenant, **client_options: Any) -> GraphClient:
    """A GraphClient for ``tenant``; ``client_options`` go to GraphClient (pacer, request_pacer,
    retry, clock). Unless given, the pacers are the tenant's shared ones."""
    cloud = tenant_cloud(tenant)
    transport = None
    if tenant.cloud == CloudChoice.EMULATOR and cloud.graph_url == EMULATOR_GRAPH_URL:
        emulated_tenant(tenant)
        transport = embedded_emulator().transport()
    client_options.setdefault("transport", transport)
    client_options.setdefault("pacer", shared_pacer_for(tenant))
    client_options.setdefault("request_pacer", shared_request_pacer_for(tenant))
    # MSAL's token requests go where Graph requests go (the in-process emulator included).
    http_client = httpx.Client(transport=transport) if transport is not None else None
    return GraphClient(
        graph_url=cloud.graph_url,
        token_provider=token_provider_for(tenant, cloud, http_client),
        **client_options,
    )
