"""Review of issue 7 A2/A3: defects found after the first implementation.

- An object's own name that holds a source tenant domain is never rewritten: the executor finds
  what it created by (type, name) after an unclear answer, so a renamed create was sent again.
- The detector stays fast with a tenant that has hundreds of verified domains.
- The preview replaces with the identities the checks decided on, not a second read of them.
- A merge never writes one group as both included and excluded.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest

from tenantguard.emulator import FaultConfig
from tenantguard.graph import RequestPacer, RetryPolicy, WritePacer
from tenantguard.intune.assignment_plan import plan_assignments
from tenantguard.intune.tenant_identity import (
    TenantIdentity,
    VerifiedDomain,
    find_identifiers,
    replace_identifiers,
)
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import graph_client_for

from .helpers import preview_of
from .test_source_identifiers import (  # noqa: F401 (fixtures)
    OMA_NAME,
    SOURCE_ID,
    TARGET_ID,
    oma_profile,
    organization,
    put,
    source_backup,
    source_tenant,
    target_tenant,
)

NAMED_AFTER_DOMAIN = "Contoso.com - Intranet home page"
DEVICE_CONFIGURATIONS = "deviceManagement/deviceConfigurations"


def _fast_client(tenant: Any) -> Any:
    return graph_client_for(
        tenant,
        retry=RetryPolicy(max_attempts=30, base_delay=0.0, max_delay=0.0, budget_seconds=60),
        pacer=WritePacer(max_writes=100_000, per_seconds=1.0),
        request_pacer=RequestPacer(max_requests=100_000, per_seconds=1.0),
    )


def test_a_name_holding_a_source_domain_is_kept_so_a_lost_create_is_adopted_not_repeated(
    request, tenant, prod_tenant, owner, start_run, take_backup
):
    source_emulated = request.getfixturevalue("source_tenant")
    target_emulated = request.getfixturevalue("target_tenant")
    profile = oma_profile()
    profile["displayName"] = NAMED_AFTER_DOMAIN
    put(source_emulated, profile)
    backup_set = take_backup(tenant)
    item = backup_set.items.get(display_name=NAMED_AFTER_DOMAIN)
    run = start_run(
        prod_tenant, backup_set, items=[item], options={"source_identifiers": "replace"}
    )
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.metadata["checks"]["counts"]["blocking"] == 0
    run = restore_run_run_preview(actor=owner, run=run)
    planned = preview_of(run, NAMED_AFTER_DOMAIN)
    assert planned.action == "create"
    assert all(p["path"] != "displayName" for p in planned.diff["tenant_identifiers"]["places"])
    run = runs.restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = runs.restore_run_confirm(
        actor=owner, run=run, acknowledged=True, typed_label=prod_tenant.display_name
    )
    run = runs.restore_run_queue_execution(actor=owner, run=run)
    # Every create is applied by Graph and its answer lost.
    target_emulated.faults = FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=("504",))

    run = restore_run_execute(run_id=run.pk, client=_fast_client(prod_tenant))
    target_emulated.faults = FaultConfig()

    names = collections.Counter(
        o.get("displayName") for o in target_emulated.list_objects(DEVICE_CONFIGURATIONS)
    )
    assert names == {NAMED_AFTER_DOMAIN: 1}, "created once, under the backup's own name"
    outcome = run.item_outcomes.get(display_name=NAMED_AFTER_DOMAIN)
    assert outcome.outcome == "created" and "adopted" in outcome.reason
    written = next(iter(target_emulated.list_objects(DEVICE_CONFIGURATIONS)))
    assert TARGET_ID in written["omaSettings"][1]["omaUri"], "the settings are still replaced"


def test_the_preview_replaces_with_the_identities_the_checks_judged(
    request, prod_tenant, owner, start_run
):
    """The checks read the target's organization and found a counterpart for every place; the
    preview's own read then fails. Before, the preview fell back to the target's record (no
    SharePoint host), planned the source's SharePoint URL as written while its summary said
    "replaced", and nothing blocked it."""
    cross_backup = request.getfixturevalue("source_backup")
    target_emulated = request.getfixturevalue("target_tenant")
    run = start_run(prod_tenant, cross_backup, options={"source_identifiers": "replace"})
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.metadata["checks"]["counts"]["blocking"] == 0
    target_emulated.denied_permissions = {"Organization.Read.All"}

    run = restore_run_run_preview(actor=owner, run=run)

    places = preview_of(run, OMA_NAME).diff["tenant_identifiers"]["places"]
    assert [(p["found"], p["written"]) for p in places] == [
        (SOURCE_ID, TARGET_ID),
        ("contoso.sharepoint.com", "fabrikamcorp.sharepoint.com"),
    ]
    identities = run.metadata["preview"]["summary"]["tenant_identifiers"]["identities"]
    assert identities["target"]["tenant_id"] == TARGET_ID, "the executor replaces with these"


def _identity(label: str, tenant_id: str, extra_domains: int) -> TenantIdentity:
    domains = [
        VerifiedDomain(f"{label}.onmicrosoft.com", is_initial=True),
        VerifiedDomain(f"{label}.com", is_default=True),
        *(VerifiedDomain(f"{label}{n}.example{n % 7}.net") for n in range(extra_domains)),
    ]
    return TenantIdentity(tenant_id=tenant_id, domains=tuple(domains))


def test_the_detector_stays_linear_with_hundreds_of_verified_domains():
    """300 verified domains over 1 MB of settings: it took about a minute and a half when every
    domain carried its own boundary test; a few tenths of a second now."""
    source = _identity("contoso", SOURCE_ID, 300)
    target = _identity("fabrikam", TARGET_ID, 0)
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Example text/path. " * 2
    payload = {
        "displayName": "Big policy",
        "settings": [
            {"settingDefinitionId": f"setting_{n}", "value": f"{filler} {n}"} for n in range(7000)
        ],
    }
    payload["settings"][4321]["value"] = "https://contoso299.example5.net/x and contoso.com"

    started = time.monotonic()
    places = find_identifiers(payload, source, target)
    scan = replace_identifiers(payload, source, target)
    elapsed = time.monotonic() - started

    assert [(p.path, p.found) for p in places] == [
        ("settings[4321].value", "contoso299.example5.net"),
        ("settings[4321].value", "contoso.com"),
    ]
    assert scan.payload["settings"][4321]["value"].endswith("and fabrikam.com")
    assert elapsed < 10, f"{elapsed:.1f} s for 1 MB"


@pytest.mark.parametrize("mode", ["merge", "replace"])
def test_a_group_is_never_written_both_included_and_excluded(mode):
    group = "11111111-1111-1111-1111-111111111111"
    include = {
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}
    }
    exclude = {
        "id": "a1",
        "target": {
            "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
            "groupId": group,
        },
    }
    plan = plan_assignments(backup=[include], current=[exclude], mode=mode)

    assert plan.written == [include], "the backup's intent for the group wins"
    assert [a["target"]["@odata.type"] for a in plan.removed] == [
        "#microsoft.graph.exclusionGroupAssignmentTarget"
    ], "and the target's exclusion of it is shown as removed"
