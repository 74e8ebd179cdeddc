"""The demo tenants serve an ``organization`` whose id and domain are the ones their policies
carry, so a restore from one demo tenant into the other meets the source tenant's own
identifiers (Windows Hello for Business, OneDrive, the preferred Entra domain) as it would in
a real tenant."""

from __future__ import annotations

from tenantguard.emulator.demo import demo_organization, demo_tenant_domain, demo_tenant_objects
from tenantguard.intune.tenant_identity import find_identifiers, identity_from_organization


def test_demo_organization_names_the_identifiers_its_policies_carry():
    identity = identity_from_organization(demo_organization(tenant_label="Contoso Test"))
    assert identity.initial_domain == "contoso-test.onmicrosoft.com"
    found = {}
    for obj in demo_tenant_objects(tenant_label="Contoso Test", seed=101):
        places = find_identifiers(obj, identity)
        if places:
            found[obj.get("displayName") or obj.get("name")] = {p.found for p in places}
    found_values = {value.lower() for values in found.values() for value in values}
    # the Entra tenant id (Windows Hello for Business, OneDrive) and the initial domain
    assert identity.tenant_id.lower() in found_values
    assert "contoso-test.onmicrosoft.com" in found_values
    assert len(found) >= 2


def test_each_demo_tenant_has_its_own_domain():
    assert demo_tenant_domain("Contoso") == "contoso.onmicrosoft.com"
    assert demo_tenant_domain("Contoso Test") != demo_tenant_domain("Contoso")
    assert (
        demo_organization(tenant_label="Contoso")["id"]
        != demo_organization(tenant_label="Contoso Test")["id"]
    )
