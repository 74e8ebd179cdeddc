"""An Intune type added through its one module (read by test_added_type_module.py).

Nothing else in the repository knows ``example_widget``: the test puts this file's folder on
``tenantguard.intune.types.__path__`` in a fresh interpreter, and capture, the diff, the checks,
the executor and the emulator pick the type up from the registry.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGN_200,
    ASSIGNMENTS_NAV,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    STANDARD_REFS,
    CollectionRules,
    PlatformRule,
    PolicyType,
    SortRule,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

COLLECTION = dm("exampleWidgets")

FAMILY = TypeFamily(
    order=55,
    types=(
        PolicyType(
            key="example_widget",
            label="Example widgets",
            category="Examples",
            collection=COLLECTION,
            odata_types=odata_types("exampleWidget"),
            default_odata_type=odata("exampleWidget"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            unordered_lists=(SortRule("rules", ("ruleName",)),),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            list_identities=("ruleName",),
            description="A made-up kind, to prove that a type module is all a new type needs.",
        ),
    ),
    collections=(
        CollectionRules(
            COLLECTION,
            "example widget",
            f"{PERMISSION_CONFIGURATION}.Read.All",
            f"{PERMISSION_CONFIGURATION}.ReadWrite.All",
            entity_type=odata("exampleWidget"),
            navigation=ASSIGNMENTS_NAV,
            assign=ASSIGN_200,
        ),
    ),
)
