"""The checks' and the preview's share of the setting definition cache (``tenantguard.catalog``).

Before the checks and the preview are recorded, the names of every setting the scoped settings
catalog-like items (settings catalog, endpoint security, compliance settings catalog, reusable
settings) and their matched target objects use are made available in the cache, read from the
run's target tenant only when missing. The pages and the CLI then label settings through
``catalog.selectors.setting_labels``. A failure never fails the checks or the preview: settings
are then shown by their ids and ``problem`` says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tenantguard.catalog.services import LabelsEnsured, setting_definitions_ensure_for_payloads
from tenantguard.intune.setting_definitions import SETTINGS_CATALOG_TYPE_KEYS
from tenantguard.restores.services.source import TargetRead, items_of_types, match_of
from tenantguard.tenants.graph_access import graph_client_for


def _payloads(read: TargetRead) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    inputs = read.source.inputs
    # only the settings catalog-like rows are read from the database
    for item in items_of_types(read.source.items, SETTINGS_CATALOG_TYPE_KEYS):
        yield item.type_key, item.payload
        match = match_of(item, read.state, inputs)
        if match.target is not None:
            # what the update replaces is labelled too
            yield item.type_key, match.target.payload


def restore_run_setting_definitions_ensure(*, read: TargetRead) -> LabelsEnsured:
    """Cache the definitions of the settings ``read``'s scoped items name, through a Graph client
    for the run's target tenant made only when something is missing."""
    tenant = read.run.tenant
    return setting_definitions_ensure_for_payloads(
        tenant=tenant, payloads=_payloads(read), client_factory=lambda: graph_client_for(tenant)
    )


__all__ = ["restore_run_setting_definitions_ensure"]
