"""Backup sets and items through the API: visibility, type counts, paging, payloads."""

from __future__ import annotations


def test_backup_sets_visible_to_members_only(personas, tenant, prod_tenant, baseline, api_as):
    viewer = api_as(personas["viewer"])
    listed = viewer.get("/backup-sets").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == baseline.pk
    assert viewer.get("/backup-sets", tenant=prod_tenant.pk).json()["count"] == 0
    assert viewer.get("/backup-sets", tenant=tenant.pk).json()["count"] == 1
    outsider = api_as(personas["outsider"])
    assert outsider.get("/backup-sets").json()["count"] == 0
    assert outsider.get(f"/backup-sets/{baseline.pk}").status_code == 404
    assert outsider.get(f"/backup-sets/{baseline.pk}/items").status_code == 404


def test_backup_set_detail_has_type_counts_and_warnings(personas, baseline, api_as):
    detail = api_as(personas["viewer"]).get(f"/backup-sets/{baseline.pk}").json()
    assert detail["status"] == "completed" and detail["item_count"] == baseline.item_count
    assert sum(row["count"] for row in detail["type_counts"]) == baseline.item_count
    assert {"category", "policy_type", "platform", "count"} <= set(detail["type_counts"][0])
    assert isinstance(detail["warnings"], list)


def test_items_are_paged_filtered_and_payloads_only_on_request(personas, baseline, api_as):
    api = api_as(personas["viewer"])
    first = api.get(f"/backup-sets/{baseline.pk}/items", page_size=10).json()
    assert first["count"] == baseline.item_count and len(first["items"]) == 10
    assert first["num_pages"] == -(-baseline.item_count // 10)
    assert all(item["payload"] is None for item in first["items"])
    second = api.get(f"/backup-sets/{baseline.pk}/items", page_size=10, page=2).json()
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}

    scope_tags = api.get(f"/backup-sets/{baseline.pk}/items", type="scope_tag").json()
    assert scope_tags["count"] > 0
    assert {item["policy_type"] for item in scope_tags["items"]} == {"scope_tag"}

    oma = api.get(f"/backup-sets/{baseline.pk}/items", search="OMA-URI", include="payload").json()[
        "items"
    ]
    (secret_item,) = [item for item in oma if item["has_secret_values"]]
    assert secret_item["payload"]["displayName"] == secret_item["display_name"]


def test_tenants_show_their_backup_schedule(personas, tenant, api_as):
    from tenantguard.tenants.services import tenant_update

    tenant_update(
        actor=personas["owner"], tenant=tenant, backup_schedule="daily", backup_hour_utc=4
    )
    [listed] = [
        t for t in api_as(personas["viewer"]).get("/tenants").json() if t["id"] == tenant.pk
    ]
    assert listed["backup_schedule"] == "daily" and listed["backup_hour_utc"] == 4
    assert listed["next_scheduled_backup_at"].startswith(
        tenant.__class__.objects.get(pk=tenant.pk).next_scheduled_backup_at.strftime("%Y-%m-%dT04")
    )
