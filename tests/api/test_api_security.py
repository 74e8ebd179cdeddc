"""Cross-cutting guarantees: CSRF on unsafe methods, no secret in any answer, schema and docs."""

from __future__ import annotations

import json
import re

from django.test import Client

from tenantguard.restores.models import RestoreRun


def test_session_requests_without_csrf_token_are_refused(personas, tenant, baseline):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["operator"])
    body = json.dumps({"tenant_id": tenant.pk, "backup_set_id": baseline.pk})
    refused = client.post("/api/restore-runs", body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not RestoreRun.objects.exists()
    # GETs need no token; the docs page hands out the cookie a script or the UI then echoes.
    assert client.get("/api/restore-runs").status_code == 200
    assert client.get("/api/docs").status_code == 200
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/restore-runs", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201
    run_id = accepted.json()["id"]
    put = client.put(
        f"/api/restore-runs/{run_id}/scope",
        json.dumps({"mode": "all"}),
        content_type="application/json",
    )
    assert put.status_code == 403


def _strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


def test_no_secret_in_any_get_answer(
    personas, tenant, baseline, demo_objects, api_as, prepared, django_capture_on_commit_callbacks
):
    secrets = [tenant.static_token] + [
        s["value"] for o in demo_objects for s in o.get("omaSettings") or [] if s.get("isEncrypted")
    ]
    assert len(secrets) >= 2 and all(secrets)
    owner = personas["owner"]
    run_id = prepared(owner, tenant, baseline)
    api = api_as(owner)
    api.put(f"/restore-runs/{run_id}/dry-run", {"dry_run": False})
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            f"/restore-runs/{run_id}/execute",
            {"acknowledged": True, "typed_label": "Contoso Test"},
        )
    assert RestoreRun.objects.get(pk=run_id).status == "completed"
    api.post(f"/tenants/{tenant.pk}/test-connection")
    paths = [
        "/tenants",
        "/backup-sets",
        f"/backup-sets/{baseline.pk}",
        f"/backup-sets/{baseline.pk}/items?include=payload&page_size=200",
        "/restore-runs",
        f"/restore-runs/{run_id}",
        f"/restore-runs/{run_id}/checks?page_size=200",
        f"/restore-runs/{run_id}/mapping-needs",
        f"/restore-runs/{run_id}/preview?page_size=200",
        f"/restore-runs/{run_id}/outcomes?page_size=200",
        f"/restore-runs/{run_id}/audit?page_size=200",
    ]
    snapshot_id = api.get(f"/restore-runs/{run_id}").json()["pre_restore_snapshot_id"]
    paths += [
        f"/backup-sets/{snapshot_id}",
        f"/backup-sets/{snapshot_id}/items?include=payload&page_size=200",
    ]
    for path in paths:
        response = api.client.get("/api" + path)
        assert response.status_code == 200, path
        text = "\n".join(_strings(response.json()))
        assert text, path
        for secret in secrets:
            assert secret not in text, f"secret in {path}"
    items = api.get(f"/backup-sets/{baseline.pk}/items", include="payload", page_size=200).json()
    assert any(item["has_secret_values"] for item in items["items"])


def test_openapi_schema_lists_the_endpoints(personas, api_as):
    response = api_as(personas["viewer"]).get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "TenantGuard API" and schema["info"]["version"] == "1"
    paths = schema["paths"]
    for path, method in (
        ("/api/tenants", "get"),
        ("/api/tenants/{tenant_id}/test-connection", "post"),
        ("/api/tenants/{tenant_id}/backups", "post"),
        ("/api/backup-sets", "get"),
        ("/api/backup-sets/{backup_set_id}/items", "get"),
        ("/api/restore-runs", "post"),
        ("/api/restore-runs/{run_id}/scope", "put"),
        ("/api/restore-runs/{run_id}/mapping", "put"),
        ("/api/restore-runs/{run_id}/checks", "post"),
        ("/api/restore-runs/{run_id}/preview", "get"),
        ("/api/restore-runs/{run_id}/execute", "post"),
        ("/api/restore-runs/{run_id}/undo", "post"),
        ("/api/restore-runs/{run_id}/outcomes", "get"),
        ("/api/restore-runs/{run_id}/audit", "get"),
    ):
        assert method in paths[path], path
    execute = paths["/api/restore-runs/{run_id}/execute"]["post"]
    assert {"202", "403"} <= set(execute["responses"])
    assert "SessionAuth" in schema["components"]["securitySchemes"]


def test_docs_page_uses_bundled_assets_not_a_cdn(personas, api_as):
    anonymous = Client().get("/api/docs")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    page = api_as(personas["viewer"]).client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "/static/ninja/swagger-ui.css" in page
    assert not re.search(r"https?://", page), re.findall(r"https?://\S+", page)
