"""Review findings on the wizard pages (issue 9, sections 2 and 3): what steps 4 and 5 say when
blocking checks hold items back, plurals in the page texts, the group search's words, and the
tenant list's "Changes" column."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tenantguard.accounts.models import Membership
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import write
from tenantguard.restores.models import ItemOutcome, RestoreItemOutcome, RestoreRun, RestoreStatus
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import SKIP_BLOCKED, restore_run_run_preview
from tenantguard.restores.services.policy import NOTHING_TO_RESTORE, RestoreRunPolicy
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.tenants.graph_access import emulated_tenant


def _url(name, run, query=""):
    return reverse(f"restores:{name}", args=[run.pk]) + (f"?{query}" if query else "")


@pytest.fixture
def matched_backup(personas, tenant, emulated, demo_objects):
    """A backup of the demo configuration; the tenant still matches it (no drift)."""
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )


def _delete_group(tenant, name):
    emulated = emulated_tenant(tenant)
    (group,) = [g for g in emulated.list_objects("groups") if g.get("displayName") == name]
    emulated.delete_object("groups", group["id"])


# ---- 1. held back by blocking checks is not "nothing to restore" -------------------------------


def test_items_held_back_by_blockers_are_not_shown_as_nothing_to_restore(
    personas, tenant, matched_backup, login, walk
):
    """The tenant matches the backup except for a deleted group: the item assigning it is held
    back by a blocking check, so nothing is written, yet the target does NOT match the backup.
    Steps 4 and 5 say so (no green "Nothing to restore", no "already matches")."""
    _delete_group(tenant, "SG-Update-Ring-Fast")
    operator = personas["operator"]
    run = walk(operator, tenant, matched_backup)
    policy = RestoreRunPolicy(run, operator)
    assert policy.preview_writes_nothing() and policy.blocking_count() >= 1
    held = policy.preview_held_back_count()
    assert held >= 1
    items = "1 item is" if held == 1 else f"{held} items are"
    expected = f"{items} held back by blocking checks: resolve them in step 3."
    client = login(operator)

    for step in ("preview", "confirm"):
        page = client.get(_url(step, run)).content.decode()
        assert 'id="held-back"' in page, step
        assert expected in page, step
        assert 'id="nothing-to-restore"' not in page, step
        assert "already matches the backup" not in page, step
        assert "✅ <strong>Nothing to restore" not in page, step

    assert NOTHING_TO_RESTORE not in policy.execution_reasons()
    assert expected in policy.execution_reasons()


def test_a_matching_tenant_still_says_nothing_to_restore(
    personas, tenant, matched_backup, login, walk
):
    """The other side: no blocker, nothing held back, nothing planned: the green callout."""
    operator = personas["operator"]
    run = walk(operator, tenant, matched_backup)
    assert RestoreRunPolicy(run, operator).nothing_to_restore()
    client = login(operator)
    for step in ("preview", "confirm"):
        page = client.get(_url(step, run)).content.decode()
        assert 'id="nothing-to-restore"' in page, step
        assert 'id="held-back"' not in page, step


# ---- 2. plurals ------------------------------------------------------------------------------


def test_assignments_skipped_by_the_mapping_are_counted_in_words(
    personas, tenant, matched_backup, login, walk
):
    run = walk(personas["operator"], tenant, matched_backup)
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.COMPLETED)
    for position, skipped in enumerate((1, 2)):
        RestoreItemOutcome.objects.create(
            run=run,
            position=position,
            policy_type="device_configuration",
            source_id=f"s-{position}",
            display_name=f"Policy {position}",
            outcome=ItemOutcome.UPDATED,
            skipped_assignments=skipped,
        )

    page = login(personas["operator"]).get(_url("run", run, "outcome=all")).content.decode()

    assert "1 assignment skipped by the mapping." in page
    assert "2 assignments skipped by the mapping." in page
    assert "assignment(s)" not in page


def test_blocked_items_name_their_checks_in_the_singular_and_the_plural(
    personas, tenant, matched_backup, walk
):
    """One blocking check on an item: "the check X ... resolve it"; no "check(s)"."""
    _delete_group(tenant, "SG-Update-Ring-Fast")
    run = walk(personas["operator"], tenant, matched_backup)
    blocked = [
        item
        for item in run.preview_items.all()
        if (item.diff or {}).get("skip_code") == SKIP_BLOCKED
    ]
    assert blocked
    for item in blocked:
        assert "check(s)" not in item.reason
        assert item.reason == "Blocked by the check group_missing: resolve it in step 3."


def test_an_item_stopped_by_several_checks_names_them_in_the_plural(
    personas, tenant, matched_backup, walk
):
    """Its group deleted in the target and its stored payload altered: two blocking checks."""
    _delete_group(tenant, "SG-Kiosk-Devices")
    item = matched_backup.items.get(display_name="WIN - Expedite - Kiosk 2025.10 B security update")
    altered = BackupItem.objects.get(pk=item.pk)
    altered.payload = {**item.payload, "description": "altered after the backup"}
    altered.save(update_fields=["payload"])
    run = walk(personas["operator"], tenant, matched_backup)

    planned = run.preview_items.get(source_id=item.source_id)
    assert planned.action == "skip" and planned.diff["skip_code"] == SKIP_BLOCKED
    assert planned.reason == (
        "Blocked by the checks group_missing, payload_integrity: resolve them in step 3."
    )


def test_preview_only_types_agree_in_number(personas, tenant, matched_backup, walk):
    """One object per tenant ("Managed Google Play", "Apple MDM push certificate") is singular,
    a collection ("Apple VPP tokens") plural."""
    run = walk(personas["operator"], tenant, matched_backup)
    reasons = {
        planned.policy_type: planned.reason
        for planned in run.preview_items.filter(action="skip", diff__skip_code="preview_only_type")
    }

    assert reasons["managed_google_play"].startswith("Managed Google Play is preview-only:")
    assert reasons["apns_certificate"].startswith("Apple MDM push certificate is preview-only:")
    assert reasons["vpp_token"].startswith("Apple VPP tokens are preview-only:")


@pytest.mark.parametrize(
    ("type_key", "expected"),
    [
        (
            "managed_google_play",
            "Managed Google Play is preview-only: TenantGuard backs it up and compares it but "
            "never creates it.",
        ),
        (
            "vpp_token",
            "Apple VPP tokens are preview-only: TenantGuard backs them up and compares them but "
            "never creates them.",
        ),
    ],
)
def test_writing_a_preview_only_type_is_refused_in_the_right_number(type_key, expected):
    with pytest.raises(write.NotWritableError) as refused:
        write.create_object(None, type_key=type_key, payload={})  # type: ignore[arg-type]
    assert str(refused.value).startswith(expected)


def test_the_prod_notice_names_one_admin_or_several(
    personas, tenant, prod_tenant, matched_backup, make_user, login
):
    """An operator preparing a PROD restore learns who can execute it, in the right number."""
    run = restore_run_create(
        actor=personas["operator"], tenant=prod_tenant, backup_set=matched_backup
    )
    client = login(personas["operator"])

    one = _notice(client.get(_url("source", run)).content.decode())
    assert "Ask its admin, <strong>owner</strong>, to confirm and execute it at step 5." in one
    assert "one of them" not in one and "Its admin is" not in one

    Membership.objects.create(user=make_user("second"), tenant=prod_tenant, role="admin")
    two = _notice(client.get(_url("source", run)).content.decode())
    assert (
        "Ask one of its 2 admins (<strong>owner, second</strong>) to confirm and execute it "
        "at step 5." in two
    )


def _notice(page: str) -> str:
    start = page.index('id="prod-needs-admin"')
    return page[start : page.index("</p>", start)]


def test_the_preview_and_confirm_counts_agree_in_number(
    personas, tenant, matched_backup, emulated, demo_objects, login
):
    """One policy to create, one unchanged and one skipped: "1 policy to create", "1 policy
    unchanged; 1 is skipped"."""
    operator = personas["operator"]
    (gone,) = [o for o in demo_objects if o.get("displayName") == "BitLocker - Corporate devices"]
    emulated.delete_object(collection_of(gone, source="test"), gone["id"])
    picked = [
        matched_backup.items.get(display_name=name).pk
        for name in ("WIN - Device Restrictions - General", "BitLocker - Corporate devices")
    ] + [matched_backup.items.get(policy_type="managed_google_play").pk]
    run = restore_run_create(actor=operator, tenant=tenant, backup_set=matched_backup)
    run = restore_run_set_scope(actor=operator, run=run, mode="selected", item_ids=picked)
    run = restore_run_run_checks(actor=operator, run=run)
    run = restore_run_run_preview(actor=operator, run=run)
    assert run.metadata["preview"]["summary"]["policies"] == {
        "create": 1,
        "update": 0,
        "no_change": 1,
        "skip": 1,
    }
    client = login(operator)

    confirm = client.get(_url("confirm", run)).content.decode()
    assert "<strong>1</strong> policy unchanged; 1 is skipped." in confirm
    preview = client.get(_url("preview", run)).content.decode()
    assert '<span class="tg-card-num">1</span> policy to create' in preview


# ---- 3. the group search says how it matches ---------------------------------------------------


def test_a_group_search_with_no_match_says_names_match_from_their_start(
    personas, tenant, matched_backup, login, walk
):
    run = walk(personas["operator"], tenant, matched_backup, upto="scope")
    client = login(personas["operator"])

    def targets(query: str, kind: str = "group") -> str:
        return client.get(
            _url("mapping_targets", run, f"kind={kind}&q={query}&field_id=t&label=Map")
        ).content.decode()

    inside = targets("kiosk")
    assert "SG-Kiosk-Devices" not in inside
    assert "No group name starts with “kiosk”." in inside
    assert "Group names are matched from their start (Graph's startswith)" in inside
    assert "nothing found" not in inside

    start = targets("SG-Kiosk")
    assert "SG-Kiosk-Devices" in start and "data-no-match" not in start

    other = targets("zzz-none", kind="assignment_filter")
    assert "No assignment filter name contains “zzz-none”." in other
    assert "startswith" not in other


# ---- 4. the tenant list's "Changes" column -----------------------------------------------------


def _backup_of(tenant, *, days_ago: int, items: list[tuple[str, str, str]]) -> BackupSet:
    moment = timezone.now() - timedelta(days=days_ago)
    backup_set = BackupSet.objects.create(
        tenant=tenant,
        name=f"{tenant.display_name} {days_ago}",
        status="completed",
        captured_at=moment,
        item_count=len(items),
    )
    BackupItem.objects.bulk_create(
        BackupItem(
            backup_set=backup_set,
            policy_type=policy_type,
            source_id=source_id,
            display_name=source_id,
            content_hash=content_hash,
        )
        for policy_type, source_id, content_hash in items
    )
    return backup_set


def test_the_tenant_list_shows_what_changed_between_the_last_two_backups(
    personas, tenant, prod_tenant, login
):
    _backup_of(tenant, days_ago=2, items=[("t", "a", "h1"), ("t", "b", "h2")])
    _backup_of(tenant, days_ago=1, items=[("t", "a", "h1-edited"), ("t", "c", "h3")])
    _backup_of(prod_tenant, days_ago=1, items=[("t", "a", "h1")])

    html = login(personas["viewer"]).get(reverse("admin:tenants_tenant_changelist")).content
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))

    assert "Changes" in words
    assert "1 added · 1 changed · 1 removed between the backups of" in words
    assert "One completed backup so far: the changes show after the next one." in words


def test_nothing_to_restore_never_says_the_tenant_matches_when_items_are_skipped(
    personas, tenant, matched_backup, login, walk
):
    """Skipped items (preview-only types, create-missing off...) are not written whatever they
    hold: the callout says so instead of "already matches the backup"."""
    operator = personas["operator"]
    run = walk(operator, tenant, matched_backup)
    client = login(operator)
    summary = run.metadata["preview"]["summary"]
    skipped = summary["policies"]["skip"] + summary["foundations"]["skip"]
    for step in ("preview", "confirm"):
        page = " ".join(client.get(_url(step, run)).content.decode().split())
        if skipped:
            assert "Nothing TenantGuard can write differs from the backup" in page, step
            assert "already matches the backup" not in page, step
        else:
            assert "already matches the backup for this scope" in page, step
    metadata = run.metadata
    metadata["preview"]["summary"]["policies"]["skip"] = summary["policies"]["skip"] or 2
    RestoreRun.objects.filter(pk=run.pk).update(metadata=metadata)
    page = " ".join(client.get(_url("preview", run)).content.decode().split())
    assert "Nothing TenantGuard can write differs from the backup" in page
    assert "already matches the backup" not in page
