"""The mapping step's many-entries form (``restores:mapping_bulk``) and the single-entry form
answer htmx with the mapping section plus the stepper and step 3's notices out of band (no page
reload), and a plain form post (no JavaScript) with a redirect back to the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenantguard.emulator.demo import demo_tenant_objects
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.checks import restore_run_mapping_needs, restore_run_run_checks
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.tenants.graph_access import emulated_tenant

POLICY_TYPES = ["settings_catalog", "compliance_policy", "powershell_script", "compliance_script"]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def into_prod(personas, prod_tenant, baseline):
    prod = emulated_tenant(prod_tenant)
    for obj in demo_tenant_objects(tenant_label="Contoso", seed=202):
        if "#groups/" in obj["@odata.context"]:
            prod.put_object(collection_of(obj, source="test"), obj)
    owner = personas["owner"]
    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=baseline)
    chosen = list(baseline.items.filter(policy_type__in=POLICY_TYPES).values_list("pk", flat=True))
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    return restore_run_run_checks(actor=owner, run=run)


def _url(name, run):
    return reverse(f"restores:{name}", args=[run.pk])


def test_the_checks_page_offers_accept_all_and_lists_each_choice_once(personas, into_prod, login):
    groups = restore_run_mapping_needs(into_prod)["group"]
    html = login(personas["owner"]).get(_url("checks", into_prod)).content.decode()

    assert f"Accept all same-name suggestions ({len(groups)})" in html
    assert 'data-step="checks" data-state="blocked"' in html
    for group in groups:
        assert f'value="group:{group["source_id"]}" form="bulk-group"' in html
        row = html.split(f'data-source-id="{group["source_id"]}"')[1].split("</tr>")[0]
        assert row.count(f'<option value="{group["suggestion"]["id"]}"') == 1, row


def test_plain_post_without_javascript_maps_the_ticked_entries(personas, into_prod, login):
    groups = restore_run_mapping_needs(into_prod)["group"]
    target = groups[0]["suggestion"]
    client = login(personas["owner"])

    response = client.post(
        _url("mapping_bulk", into_prod),
        {
            "op": "map",
            "entry": [f"group:{g['source_id']}" for g in groups[:3]],
            "target_id": target["id"],
        },
    )

    assert response.status_code == 302
    assert response["Location"] == _url("checks", into_prod) + "#mapping"
    run = RestoreRun.objects.get(pk=into_prod.pk)
    assert run.group_mapping == {"group": {g["source_id"]: target["id"] for g in groups[:3]}}
    page = client.get(_url("checks", into_prod)).content.decode()
    assert "3 references mapped to " + target["name"] in page


def test_htmx_gets_the_section_and_the_stepper_out_of_band(personas, into_prod, login):
    groups = restore_run_mapping_needs(into_prod)["group"]
    client = login(personas["owner"])

    response = client.post(_url("mapping_bulk", into_prod), {"op": "accept_suggestions"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<section") and 'id="mapping"' in html
    assert '<nav id="wizard-stepper"' in html and 'hx-swap-oob="true"' in html
    assert 'data-step="checks" data-state="stale"' in html
    assert 'id="checks-stale"' in html and "the mapping changed" in html
    assert html.count('data-status="mapped"') == len(groups)
    assert f"{len(groups)} references mapped" in html
    # A refused or invalid change answers in the section too (htmx swaps only 2xx).
    again = client.post(_url("mapping_bulk", into_prod), {"op": "accept_suggestions"}, **HTMX)
    assert again.status_code == 200
    assert 'id="mapping-error"' in again.content.decode()


def test_a_viewer_cannot_use_the_bulk_form(personas, into_prod, login):
    response = login(personas["viewer"]).post(
        _url("mapping_bulk", into_prod), {"op": "accept_suggestions"}
    )

    assert response.status_code == 403
    assert RestoreRun.objects.get(pk=into_prod.pk).group_mapping == {}
