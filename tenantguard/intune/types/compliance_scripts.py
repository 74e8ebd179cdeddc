"""Custom compliance (detection) scripts: ``deviceManagement/deviceComplianceScripts``.

Graph facts (beta resource page ``deviceComplianceScript``, its ``assign`` action page and
Microsoft's generated model in ``msgraph-beta-sdk``):

- listed, read, created (POST, 201), updated (PATCH); ``POST {id}/assign`` carries
  ``deviceHealthScriptAssignments`` (the remediation script assignment type) and answers 204;
- ``detectionScriptContent`` is Binary (base64); the list leaves it empty, so it is read per
  item, as for remediation scripts (IntuneCD reads each script by id for the same reason);
- ``version`` is a String ("Version of the device compliance script"), not the server's change
  counter: TenantGuard treats it as read-only like every ``version``; the emulator keeps it as
  stored and gives a created script ``"1"``;
- ``platform`` (``windows10`` by default, ``linux``, ``macOS``) tells where it runs;
- ``runSummary`` and ``deviceRunStates`` are run state, never written.

Compliance policies point at a script by id (``windows10CompliancePolicy
.deviceCompliancePolicyScript.deviceComplianceScriptId``; settings-catalog compliance policies
for Linux likewise). This family is ordered before the compliance families so a restore that
has both in scope creates the script first.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGNMENTS_NAV,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    CollectionRules,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION

COMPLIANCE_SCRIPTS = dm("deviceComplianceScripts")

#: ``POST {id}/assign`` (Graph's assign page: ``deviceHealthScriptAssignments``, 204).
_ASSIGN_KEY = "deviceHealthScriptAssignments"

_RUN_STATE = frozenset({"runSummary", "deviceRunStates"})


FAMILY = TypeFamily(
    order=15,
    types=(
        PolicyType(
            key="compliance_script",
            label="Compliance scripts",
            category="Compliance",
            collection=COMPLIANCE_SCRIPTS,
            # Windows compliance policies name their custom-compliance script by id
            # (deviceCompliancePolicyScript): restored before them, mapped across tenants.
            is_foundation=True,
            odata_types=odata_types("deviceComplianceScript"),
            default_odata_type=odata("deviceComplianceScript"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                PerItemFetch(
                    kind="scriptContent",
                    path="",
                    merge_into=None,
                    only_if_missing=False,
                    is_collection=False,
                    merge_fields=("detectionScriptContent",),
                ),
            ),
            read_only_fields=_RUN_STATE,
            assign=AssignSpec(body_key=_ASSIGN_KEY, expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(property="platform", from_odata_type=False),
            description=(
                "PowerShell (or shell) detection scripts used by custom compliance settings "
                "(content captured base64)."
            ),
        ),
    ),
    collections=(
        CollectionRules(
            COMPLIANCE_SCRIPTS,
            "device compliance script",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceComplianceScript"),
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract(_ASSIGN_KEY, 204),
            assignment_fields=(),
            # ``version`` is the script's own String property: kept as stored (no change
            # counter); a created script reads back with "1" like one made in the portal.
            has_version=False,
            server_filled=(("version", "1"),),
            list_nulls=("detectionScriptContent",),
            read_only=tuple(sorted(_RUN_STATE)),
        ),
    ),
)
