"""Filling the setting definition cache from Graph.

The cache is a read cache of Microsoft's vocabulary (setting and option names), not a change to
anything an admin owns: writing it records no audit event, per definition or otherwise; the
preview and checks that trigger it are audited themselves. Rows hold no secrets, and nothing
here logs a token (the Graph client never puts one in an error message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tenantguard.catalog.models import SettingDefinition
from tenantguard.catalog.selectors import cloud_key, setting_definitions_missing
from tenantguard.graph.client import GraphClient
from tenantguard.graph.errors import GraphError
from tenantguard.intune.setting_definitions import (
    DEFINITION_COLLECTION_OF_TYPE,
    SETTINGS_CATALOG_TYPE_KEYS,
    DefinitionsRead,
    setting_choice_values,
    setting_definitions_read,
)
from tenantguard.tenants.graph_access import TenantConfigurationError
from tenantguard.tenants.models import Tenant

logger = logging.getLogger("tenantguard.catalog")


def setting_definitions_fetch(
    *,
    tenant: Tenant,
    definition_ids: Iterable[str],
    client: GraphClient,
    first_collection: Mapping[str, str] | None = None,
    option_values: Mapping[str, Iterable[str]] | None = None,
) -> DefinitionsRead:
    """Read from Graph the ``definition_ids`` the cache cannot answer for ``tenant`` in its
    cloud, and store them (unknown ids too, as unknown). Ids that failed for another reason
    (no permission, throttling) are not stored: the next call asks again. Graph failures are
    in the result (``problem``), never raised. ``first_collection``: per id, the definition
    collection to look in first (``setting_definitions_read``); ``option_values``: per id, the
    option ``itemId``s payloads use (a cached definition lacking one is read again, at most
    once a day: ``setting_definitions_missing``)."""
    missing = setting_definitions_missing(
        tenant=tenant, definition_ids=definition_ids, option_values=option_values
    )
    if not missing:
        return DefinitionsRead()
    read = setting_definitions_read(client, missing, first_collection=first_collection)
    _store(tenant=tenant, read=read, now=timezone.now())
    return read


def setting_definitions_ensure(
    *,
    tenant: Tenant,
    definition_ids: Iterable[str],
    client: GraphClient,
    first_collection: Mapping[str, str] | None = None,
) -> int:
    """Make the cache answer for ``definition_ids`` (reading only the missing ones from Graph);
    return the number of Graph requests sent (0 when all were cached)."""
    return setting_definitions_fetch(
        tenant=tenant,
        definition_ids=definition_ids,
        client=client,
        first_collection=first_collection,
    ).requests


@dataclass(frozen=True)
class LabelsEnsured:
    """What ``setting_definitions_ensure_for_payloads`` did: Graph requests sent, the ids the
    payloads name, and a sentence for the page/CLI when names could not be read ("" if all
    could)."""

    graph_requests: int = 0
    definition_ids: frozenset[str] = frozenset()
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "graph_requests": self.graph_requests,
            "definitions": len(self.definition_ids),
            "problem": self.problem,
        }


def setting_definitions_ensure_for_payloads(
    *,
    tenant: Tenant,
    payloads: Iterable[tuple[str, Mapping[str, Any] | None]],
    client_factory: Callable[[], GraphClient],
) -> LabelsEnsured:
    """Cache the definitions named by ``payloads`` (``(policy type key, payload)``; only settings
    catalog-like types count: ``SETTINGS_CATALOG_TYPE_KEYS``). A Graph client is made (and
    closed) only when something is missing. Never raises: labels are a convenience, so any
    failure becomes ``problem`` and callers fall back to raw ids."""
    wanted: set[str] = set()
    option_values: dict[str, set[str]] = {}
    first_collection: dict[str, str] = {}
    for type_key, payload in payloads:
        if type_key in SETTINGS_CATALOG_TYPE_KEYS and isinstance(payload, Mapping):
            choices = setting_choice_values(payload)
            named = set(choices)
            wanted |= named
            for definition_id, values in choices.items():
                if values:
                    option_values.setdefault(definition_id, set()).update(values)
            collection = DEFINITION_COLLECTION_OF_TYPE.get(type_key)
            if collection is not None:
                for definition_id in named:
                    first_collection.setdefault(definition_id, collection)
    ids = frozenset(wanted)
    if not ids:
        return LabelsEnsured()
    client: GraphClient | None = None
    try:
        if not setting_definitions_missing(
            tenant=tenant, definition_ids=ids, option_values=option_values
        ):
            return LabelsEnsured(definition_ids=ids)
        with client_factory() as client:
            read = setting_definitions_fetch(
                tenant=tenant,
                definition_ids=ids,
                client=client,
                first_collection=first_collection,
                option_values=option_values,
            )
    except Exception as exc:  # names are optional: the checks and the preview go on
        # (what was read before a failure while reading is stored by the fetch: the read
        # returns it instead of raising); the requests really sent are counted all the same
        # Graph's and the tenant configuration's messages never hold a secret; others may say
        # anything, so only their class is shown.
        safe = isinstance(exc, GraphError | TenantConfigurationError)
        detail = str(exc) if safe else f"unexpected {exc.__class__.__name__}"
        logger.warning("setting definitions for tenant %s not read: %s", tenant.pk, detail)
        return LabelsEnsured(
            graph_requests=client.request_count if client is not None else 0,
            definition_ids=ids,
            problem=(
                f"Setting names could not be read ({detail}); settings are shown by their ids. "
                "They are read again on the next checks or preview."
            ),
        )
    return LabelsEnsured(graph_requests=read.requests, definition_ids=ids, problem=read.problem)


def _store(*, tenant: Tenant, read: DefinitionsRead, now: datetime) -> None:
    cloud = cloud_key(tenant)
    rows = [
        SettingDefinition(
            tenant=tenant,
            cloud=cloud,
            definition_id=definition_id,
            known=True,
            display_name=label.display_name,
            description=label.description,
            category=label.category,
            options={
                item_id: {"display_name": option.display_name, "description": option.description}
                for item_id, option in label.options.items()
            },
            read_at=now,
        )
        for definition_id, label in read.labels.items()
    ]
    rows += [
        SettingDefinition(
            tenant=tenant, cloud=cloud, definition_id=definition_id, known=False, read_at=now
        )
        for definition_id in sorted(read.unknown)
    ]
    if not rows:
        return
    # two previews of the same tenant may read the same ids at once: the later write wins;
    # a savepoint keeps a failed write from breaking a caller's transaction
    with transaction.atomic():
        SettingDefinition.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["tenant", "cloud", "definition_id"],
            update_fields=[
                "known",
                "display_name",
                "description",
                "category",
                "options",
                "read_at",
            ],
        )


__all__ = [
    "LabelsEnsured",
    "setting_definitions_ensure",
    "setting_definitions_ensure_for_payloads",
    "setting_definitions_fetch",
]
