"""Fixtures for the API: the demo tenant seeded, backed up, then drifted; JSON clients per user."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of


class ApiClient:
    """A session-authenticated test client speaking JSON to ``/api/``."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, **params: Any):
        return self.client.get("/api" + path, params)

    def _send(self, method: str, path: str, body: Any = None, **extra: Any):
        return getattr(self.client, method)(
            "/api" + path,
            data=json.dumps(body if body is not None else {}),
            content_type="application/json",
            **extra,
        )

    def post(self, path: str, body: Any = None, **extra: Any):
        return self._send("post", path, body, **extra)

    def put(self, path: str, body: Any = None, **extra: Any):
        return self._send("put", path, body, **extra)


@pytest.fixture
def api_as():
    def make(user) -> ApiClient:
        client = Client()
        if user is not None:
            client.force_login(user)
        return ApiClient(client)

    return make


@pytest.fixture
def baseline(personas, tenant, emulated, demo_objects):
    """A backup of the demo configuration, taken before the demo drift changed the tenant."""
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )
    apply_demo_drift(emulated, seed=1)
    return backup_set


@pytest.fixture
def prod_baseline(personas, prod_tenant, demo_objects):
    from tenantguard.tenants.graph_access import emulated_tenant

    emulated = emulated_tenant(prod_tenant)
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=prod_tenant, enqueue=False)
    )
    # PROD drifted after the backup: something to write (an empty plan is not executable).
    apply_demo_drift(emulated, seed=1)
    return backup_set


@pytest.fixture
def prepared(api_as):
    """Walk a run through the API up to the preview (scope all, checks, preview)."""

    def make(user, tenant, backup_set) -> int:
        api = api_as(user)
        response = api.post(
            "/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": backup_set.pk}
        )
        assert response.status_code == 201, response.json()
        run_id = response.json()["id"]
        for method, path, body in (
            ("put", "scope", {"mode": "all"}),
            ("post", "checks", None),
            ("post", "preview", None),
        ):
            response = getattr(api, method)(f"/restore-runs/{run_id}/{path}", body)
            assert response.status_code == 200, (path, response.json())
        return run_id

    return make
