"""macOS shell scripts and macOS custom attribute (shell) scripts.

Graph facts (beta resource pages ``deviceShellScript`` and ``deviceCustomAttributeShellScript``,
their ``assign`` action pages, and Microsoft's generated models in ``msgraph-beta-sdk``):

- both live in their own collection, are listed, read, created (POST, 201), updated (PATCH) and
  assigned with ``POST {id}/assign`` carrying ``deviceManagementScriptAssignments`` (the same
  assignment type as Windows platform scripts: ``id`` and ``target`` only), answered 204;
- ``scriptContent`` is Binary (base64 in JSON); the list leaves it empty, so it is read per
  item (IntuneCD reads it the same way: a list, then a GET of each script);
- neither resource has ``version``; both have ``roleScopeTagIds``, ``createdDateTime`` and
  ``lastModifiedDateTime`` (read-only); ``groupAssignments``, ``runSummary``,
  ``deviceRunStates`` and ``userRunStates`` are relationships TenantGuard never writes.
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

SHELL_SCRIPTS = dm("deviceShellScripts")
CUSTOM_ATTRIBUTE_SCRIPTS = dm("deviceCustomAttributeShellScripts")

#: ``POST {id}/assign`` of both script kinds (Graph's assign pages: 204 No Content).
_ASSIGN_KEY = "deviceManagementScriptAssignments"

#: Relationships of both resources that are run state or legacy group assignments: never
#: compared, never written.
_RUN_STATE = frozenset({"groupAssignments", "runSummary", "deviceRunStates", "userRunStates"})

_FETCH_SCRIPT_CONTENT = PerItemFetch(
    kind="scriptContent",
    path="",
    merge_into=None,
    only_if_missing=False,
    is_collection=False,
    merge_fields=("scriptContent",),
)


FAMILY = TypeFamily(
    order=55,
    types=(
        PolicyType(
            key="macos_shell_script",
            label="macOS shell scripts",
            category="Scripts",
            collection=SHELL_SCRIPTS,
            odata_types=odata_types("deviceShellScript"),
            default_odata_type=odata("deviceShellScript"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS, _FETCH_SCRIPT_CONTENT),
            read_only_fields=_RUN_STATE,
            assign=AssignSpec(body_key=_ASSIGN_KEY, expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="macOS"),
            description="macOS shell scripts run by the Intune agent (content captured base64).",
        ),
        PolicyType(
            key="macos_custom_attribute_script",
            label="Custom attributes for macOS",
            category="Scripts",
            collection=CUSTOM_ATTRIBUTE_SCRIPTS,
            odata_types=odata_types("deviceCustomAttributeShellScript"),
            default_odata_type=odata("deviceCustomAttributeShellScript"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS, _FETCH_SCRIPT_CONTENT),
            read_only_fields=_RUN_STATE,
            assign=AssignSpec(body_key=_ASSIGN_KEY, expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="macOS"),
            description=(
                "macOS custom attribute scripts: a shell script whose output Intune reports as a "
                "device attribute (content captured base64)."
            ),
        ),
    ),
    collections=(
        CollectionRules(
            SHELL_SCRIPTS,
            "device shell script",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceShellScript"),
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract(_ASSIGN_KEY, 204),
            assignment_fields=(),
            has_version=False,
            list_nulls=("scriptContent",),
            read_only=tuple(sorted(_RUN_STATE)),
        ),
        CollectionRules(
            CUSTOM_ATTRIBUTE_SCRIPTS,
            "device custom attribute shell script",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceCustomAttributeShellScript"),
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract(_ASSIGN_KEY, 204),
            assignment_fields=(),
            has_version=False,
            list_nulls=("scriptContent",),
            read_only=tuple(sorted(_RUN_STATE)),
        ),
    ),
)
