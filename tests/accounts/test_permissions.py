from __future__ import annotations

import pytest

from tenantguard.accounts.permissions import (
    AccessDenied,
    Capability,
    ensure_capability,
    has_capability,
    tenants_visible_to,
)


@pytest.mark.parametrize(
    ("persona", "capability", "on_test", "on_prod"),
    [
        ("owner", Capability.EXECUTE_RESTORE, True, True),
        ("operator", Capability.EXECUTE_RESTORE, True, False),
        ("viewer", Capability.EXECUTE_RESTORE, False, False),
        ("outsider", Capability.EXECUTE_RESTORE, False, False),
        ("operator", Capability.BACKUP, True, True),
        ("viewer", Capability.BACKUP, False, False),
        ("viewer", Capability.VIEW, True, True),
        ("outsider", Capability.VIEW, False, False),
        ("operator", Capability.MANAGE_TENANT, False, False),
        ("owner", Capability.MANAGE_TENANT, True, True),
    ],
)
def test_roles_decide_capabilities(
    personas, tenant, prod_tenant, persona, capability, on_test, on_prod
):
    user = personas[persona]
    assert has_capability(user, tenant, capability) is on_test
    assert has_capability(user, prod_tenant, capability) is on_prod


def test_refusal_says_what_role_is_needed(personas, prod_tenant):
    with pytest.raises(
        AccessDenied, match=r"needs Admin or higher.*PROD tenants need the Admin role"
    ):
        ensure_capability(personas["operator"], prod_tenant, Capability.EXECUTE_RESTORE)


def test_outsider_sees_no_tenant_and_superuser_sees_all(personas, superuser, tenant, prod_tenant):
    assert list(tenants_visible_to(personas["outsider"])) == []
    assert set(tenants_visible_to(superuser)) == {tenant, prod_tenant}
    assert set(tenants_visible_to(personas["viewer"])) == {tenant, prod_tenant}


def test_inactive_user_has_no_access(personas, tenant):
    viewer = personas["viewer"]
    viewer.is_active = False
    viewer.save()
    assert not has_capability(viewer, tenant, Capability.VIEW)
