"""OData query options: paging with $skiptoken, $top, $filter, $select, $expand."""

from __future__ import annotations

from typing import Any

import httpx

from tenantguard.emulator import Tenant
from tenantguard.emulator.testing import GRAPH, custom_configuration, graph_error, group_target

SC = "deviceManagement/configurationPolicies"


def _follow(
    client: httpx.Client, url: str, params: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    pages = [client.get(url, params=params).json()]
    while "@odata.nextLink" in pages[-1]:
        pages.append(client.get(pages[-1]["@odata.nextLink"]).json())
    return pages


def _seed_groups(tenant: Tenant, count: int) -> None:
    for i in range(count):
        tenant.put_object("groups", {"id": f"g-{i:04d}", "displayName": f"Group {i:04d}"})


def test_settings_catalog_list_pages_at_25(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: configurationPolicies lists page at 25 with an @odata.nextLink ($skiptoken)."""
    for i in range(60):
        tenant.put_object(SC, {"name": f"P{i}", "settings": []})
    pages = _follow(client, f"/beta/{SC}")
    assert [len(p["value"]) for p in pages] == [25, 25, 10]
    assert "$skiptoken=" in pages[0]["@odata.nextLink"]
    assert pages[0]["@odata.nextLink"].startswith(f"{GRAPH}/beta/{SC}?")
    names = [v["name"] for p in pages for v in p["value"]]
    assert names == [f"P{i}" for i in range(60)]


def test_policy_settings_page_at_25(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: {id}/settings pages at 25; following nextLink yields every setting once."""
    settings = [{"settingInstance": {"settingDefinitionId": f"s{i}"}} for i in range(29)]
    policy = tenant.put_object(SC, {"name": "Big", "settings": settings})
    pages = _follow(client, f"/beta/{SC}/{policy['id']}/settings")
    assert [len(p["value"]) for p in pages] == [25, 4]
    assert pages[0]["@odata.context"] == f"{GRAPH}/beta/$metadata#{SC}('{policy['id']}')/settings"
    ids = [s["settingInstance"]["settingDefinitionId"] for p in pages for s in p["value"]]
    assert ids == [f"s{i}" for i in range(29)]


def test_next_link_keeps_the_other_query_options(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: a nextLink repeats the query ($expand, $select) so following it verbatim works."""
    for i in range(30):
        tenant.put_object(SC, {"name": f"P{i}", "settings": []})
    pages = _follow(client, f"/beta/{SC}", params={"$expand": "assignments", "$select": "id,name"})
    assert len(pages) == 2
    assert all(set(v) == {"id", "name", "assignments"} for v in pages[1]["value"])


def test_invalid_skiptoken_is_400(client: httpx.Client) -> None:
    """Graph: a $skiptoken the service did not issue is 400."""
    assert client.get(f"/beta/{SC}", params={"$skiptoken": "garbage!"}).status_code == 400


def test_groups_default_page_is_100(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: /groups pages at 100 by default."""
    _seed_groups(tenant, 150)
    pages = _follow(client, "/v1.0/groups")
    assert [len(p["value"]) for p in pages] == [100, 50]


def test_groups_top_up_to_999(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: /groups honours $top up to 999; more is 400."""
    _seed_groups(tenant, 150)
    assert len(client.get("/v1.0/groups", params={"$top": "999"}).json()["value"]) == 150
    pages = _follow(client, "/v1.0/groups", params={"$top": "60"})
    assert [len(p["value"]) for p in pages] == [60, 60, 30]
    too_many = client.get("/v1.0/groups", params={"$top": "1000"})
    assert too_many.status_code == 400
    assert graph_error(too_many)["code"] == "Request_BadRequest"


def test_groups_filter_by_display_name(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: /groups?$filter=displayName eq '…' and startswith(displayName,'…')."""
    _seed_groups(tenant, 12)
    tenant.put_object("groups", {"id": "q", "displayName": "O'Brien team"})
    eq = client.get("/v1.0/groups", params={"$filter": "displayName eq 'Group 0003'"}).json()
    assert [g["id"] for g in eq["value"]] == ["g-0003"]
    quoted = client.get("/v1.0/groups", params={"$filter": "displayName eq 'O''Brien team'"})
    assert [g["id"] for g in quoted.json()["value"]] == ["q"]
    starts = client.get("/v1.0/groups", params={"$filter": "startswith(displayName,'Group 001')"})
    assert sorted(g["id"] for g in starts.json()["value"]) == ["g-0010", "g-0011"]
    none = client.get("/v1.0/groups", params={"$filter": "displayName eq 'nobody'"}).json()
    assert none["value"] == []


def test_unsupported_filter_is_400(client: httpx.Client) -> None:
    """Graph: a filter the service cannot evaluate is 400."""
    response = client.get("/v1.0/groups", params={"$filter": "displayName gt 5 lt"})
    assert response.status_code == 400


def test_select_limits_properties(client: httpx.Client) -> None:
    """Graph: $select returns only the named properties (and @odata.type) and says so in the
    collection context."""
    client.post("/beta/deviceManagement/deviceConfigurations", json=custom_configuration())
    body = client.get(
        "/beta/deviceManagement/deviceConfigurations", params={"$select": "id,displayName"}
    ).json()
    assert body["@odata.context"].endswith("#deviceManagement/deviceConfigurations(id,displayName)")
    assert set(body["value"][0]) == {"@odata.type", "id", "displayName"}


def test_expand_assignments_on_list_and_get(client: httpx.Client) -> None:
    """Graph [observed]: $expand=assignments works on list and get of the policy collections;
    without it, assignments are absent."""
    url = "/beta/deviceManagement/deviceConfigurations"
    created = client.post(url, json=custom_configuration()).json()
    client.post(f"{url}/{created['id']}/assign", json={"assignments": [group_target("g")]})
    assert "assignments" not in client.get(url).json()["value"][0]
    listed = client.get(url, params={"$expand": "assignments"}).json()["value"][0]
    assert listed["assignments"][0]["target"]["groupId"] == "g"
    got = client.get(f"{url}/{created['id']}", params={"$expand": "assignments"}).json()
    assert got["assignments"] == listed["assignments"]


def test_expand_settings_and_assignments_together(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: $expand=assignments,settings on a settings catalog policy returns both."""
    policy = tenant.put_object(SC, {"name": "P", "settings": [{"settingInstance": {}}]})
    body = client.get(f"/beta/{SC}/{policy['id']}", params={"$expand": "assignments,settings"})
    assert set(body.json()) >= {"assignments", "settings"}
    assert "settings" not in client.get(f"/beta/{SC}/{policy['id']}").json()


def test_expand_of_unknown_navigation_is_400(client: httpx.Client) -> None:
    """Graph: $expand of a property the type does not have is 400."""
    response = client.get("/beta/deviceManagement/deviceConfigurations", params={"$expand": "nope"})
    assert response.status_code == 400
    assert "nope" in graph_error(response)["message"]


def test_app_protections_expand_apps_and_assignments(client: httpx.Client) -> None:
    """Graph: app protections read with $expand=apps,assignments."""
    url = "/beta/deviceAppManagement/androidManagedAppProtections"
    created = client.post(url, json={"displayName": "A"}).json()
    client.post(f"{url}/{created['id']}/assign", json={"assignments": [group_target("g")]})
    body = client.get(url, params={"$expand": "apps,assignments"}).json()["value"][0]
    assert body["apps"] == [] and len(body["assignments"]) == 1


def test_count_reports_the_filtered_total(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: $count=true adds @odata.count, the total of the (filtered) collection."""
    _seed_groups(tenant, 130)
    body = client.get(
        "/v1.0/groups", params={"$count": "true", "$filter": "startswith(displayName,'Group 01')"}
    ).json()
    assert body["@odata.count"] == 30
    assert "@odata.count" not in client.get("/v1.0/groups").json()
