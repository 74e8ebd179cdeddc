"""A preview-only type says, in the wizard, why TenantGuard never writes it."""

from __future__ import annotations

from django.urls import reverse

from tenantguard.intune import registry


def test_scope_step_says_why_conditional_access_is_never_written(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="draft")
    page = login(personas["operator"]).get(reverse("restores:scope", args=[run.pk])).content
    reason = registry.get("conditional_access").preview_only_reason
    assert reason and "never writes" in reason
    assert f"Never written: {reason}".encode() in page.replace(b"\n", b" ")


def test_every_preview_only_type_has_a_reason_an_admin_can_act_on():
    for ptype in (*registry.all_types(), registry.UNSUPPORTED):
        if ptype.is_preview_only:
            assert ptype.preview_only_why.endswith("."), ptype.key
            assert len(ptype.preview_only_why) > 40, ptype.key
        else:
            assert ptype.preview_only_why == "", ptype.key
