"""Settings catalog setting definitions: their labels, and reading them from Graph.

A settings catalog (configuration policy, endpoint security policy, compliance settings catalog,
reusable policy setting) payload names its settings only by ``settingDefinitionId`` and its
choices by option ``itemId``. Graph (beta) describes both in a
``deviceManagementConfigurationSettingDefinition`` (for choice settings with ``options[]``):
``deviceManagement/configurationSettings/{id}`` for configuration and endpoint security
policies, ``complianceSettings/{id}`` for compliance policies, ``reusableSettings/{id}`` for
reusable settings; reading them needs ``DeviceManagementConfiguration.Read.All``. This module
holds the labels and the Graph reading (``$batch``, 20 a request; ids are quoted as path
segments); the per-tenant, per-cloud cache is ``tenantguard.catalog`` (Django).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from tenantguard.graph.batch import MAX_BATCH_SIZE, BatchRequest, BatchResponse
from tenantguard.graph.client import GraphClient
from tenantguard.graph.errors import GraphError

__all__ = [
    "DEFINITION_COLLECTIONS",
    "DEFINITION_COLLECTION_OF_TYPE",
    "READ_PERMISSION",
    "SETTINGS_CATALOG_TYPE_KEYS",
    "DefinitionsRead",
    "OptionLabel",
    "SettingLabel",
    "label_from_definition",
    "setting_definition_ids",
    "setting_definitions_read",
]

logger = logging.getLogger("tenantguard.intune.setting_definitions")

#: The application permission that reads setting definitions.
READ_PERMISSION: Final = "DeviceManagementConfiguration.Read.All"

#: Where Graph keeps setting definitions, in the order they are looked in: configuration
#: policies' (settings catalog, endpoint security), then compliance policies' and reusable
#: settings' own vocabularies. An id that none of them knows (404, or 400 for a key Graph
#: refuses) is unknown.
DEFINITION_COLLECTIONS: Final = (
    "deviceManagement/configurationSettings",
    "deviceManagement/complianceSettings",
    "deviceManagement/reusableSettings",
)

#: Policy types whose payloads name settings by ``settingDefinitionId``.
SETTINGS_CATALOG_TYPE_KEYS: Final = frozenset(
    {"settings_catalog", "endpoint_security", "compliance_settings_catalog", "reusable_setting"}
)

#: Where a type's settings are defined when it is not ``configurationSettings``.
DEFINITION_COLLECTION_OF_TYPE: Final[Mapping[str, str]] = {
    "compliance_settings_catalog": "deviceManagement/complianceSettings",
    "reusable_setting": "deviceManagement/reusableSettings",
}

#: Statuses that mean "this collection has no such definition".
_NOT_THERE: Final = frozenset({400, 404})


@dataclass(frozen=True)
class OptionLabel:
    """How the admin center names one option of a choice setting."""

    display_name: str
    description: str = ""


@dataclass(frozen=True)
class SettingLabel:
    """How the admin center names one setting definition."""

    definition_id: str
    display_name: str
    description: str = ""
    category: str = ""  # categoryId or category path when known
    #: key: option ``itemId`` (the value a ``choiceSettingValue.value`` holds)
    options: Mapping[str, OptionLabel] = field(default_factory=dict)


DEFINITION_ID_KEY = "settingDefinitionId"


def setting_definition_ids(payload: Mapping[str, Any]) -> set[str]:
    """Every settingDefinitionId in a settings catalog / endpoint security payload (nested
    children too)."""
    found: set[str] = set()
    _collect_ids(dict(payload) if not isinstance(payload, dict) else payload, found)
    return found


def _collect_ids(value: Any, found: set[str]) -> None:
    # JSON payloads hold dicts and lists only; skipping scalars early halves the walk of a
    # 5,000-policy preview (about 100,000 setting instances)
    if isinstance(value, dict):
        for key, child in value.items():
            if key == DEFINITION_ID_KEY:
                if isinstance(child, str) and child:
                    found.add(child)
            elif isinstance(child, dict | list):
                _collect_ids(child, found)
    elif isinstance(value, list):
        for child in value:
            if isinstance(child, dict | list):
                _collect_ids(child, found)


def label_from_definition(
    definition: Mapping[str, Any], *, definition_id: str = ""
) -> SettingLabel:
    """A ``deviceManagementConfigurationSettingDefinition`` (any subtype) as a label.

    ``displayName`` falls back to ``name`` then to the id; ``description`` to ``helpText``.
    Choice and choice collection definitions carry ``options[]`` (``itemId``,
    ``displayName``, ``description``): ``itemId`` is what a ``choiceSettingValue.value``
    holds."""
    definition_id = str(definition.get("id") or definition_id)
    options: dict[str, OptionLabel] = {}
    for option in definition.get("options") or ():
        if not isinstance(option, Mapping):
            continue
        item_id = option.get("itemId")
        if not isinstance(item_id, str) or not item_id:
            continue
        options[item_id] = OptionLabel(
            display_name=_text(option.get("displayName")) or _text(option.get("name")) or item_id,
            description=_text(option.get("description")) or _text(option.get("helpText")),
        )
    return SettingLabel(
        definition_id=definition_id,
        display_name=(
            _text(definition.get("displayName")) or _text(definition.get("name")) or definition_id
        ),
        description=_text(definition.get("description")) or _text(definition.get("helpText")),
        category=_text(definition.get("categoryId")),
        options=options,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class DefinitionsRead:
    """What ``setting_definitions_read`` learnt.

    ``labels``: the definitions read; ``unknown``: ids no definition collection knows (remember
    them: reading them again gives the same answer); ``failed``: ids not read for another reason
    (no permission, throttling, an outage: try again later, do not remember); ``requests``: the
    Graph requests sent (``$batch`` envelopes, as the client counts them); ``problem``: a
    sentence for the page or the CLI when some names could not be read, "" otherwise;
    ``forbidden``: Graph refused for lack of ``READ_PERMISSION``."""

    labels: dict[str, SettingLabel] = field(default_factory=dict)
    unknown: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    requests: int = 0
    problem: str = ""
    forbidden: bool = False


def setting_definitions_read(
    client: GraphClient,
    definition_ids: Iterable[str],
    *,
    collections: Sequence[str] = DEFINITION_COLLECTIONS,
    first_collection: Mapping[str, str] | None = None,
) -> DefinitionsRead:
    """Read the definitions of ``definition_ids`` through ``$batch`` (20 ``GET``s a request).

    Each id is looked up in ``collections`` in turn until one knows it (``first_collection``
    may name, per id, the collection to try first: a compliance policy's settings are
    ``complianceSettings``); an id none knows is ``unknown``. Never raises for Graph's answers:
    a 403 stops reading (every other request would be refused too) and is reported in
    ``problem`` and ``forbidden``; throttling that outlasts the retry budget, server errors and
    transport errors leave the ids in ``failed``. ``client`` must use the beta API (the
    default): definitions are beta only.
    """
    hints = first_collection or {}
    if not collections:
        raise ValueError("setting_definitions_read needs at least one definition collection")
    # per id, the collections still to try, in order
    remaining: dict[str, list[str]] = {}
    for definition_id in sorted({str(i) for i in definition_ids if i}):
        first = hints.get(definition_id)
        order = [first] if first is not None and first in collections else []
        remaining[definition_id] = order + [c for c in collections if c not in order]
    labels: dict[str, SettingLabel] = {}
    unknown: set[str] = set()
    failed: set[str] = set()
    before = client.request_count
    problem = ""
    forbidden = stopped = False
    while remaining and not stopped:
        by_collection: dict[str, list[str]] = {}
        for definition_id, order in remaining.items():
            by_collection.setdefault(order.pop(0), []).append(definition_id)
        for collection in collections:
            wanted = by_collection.get(collection, [])
            for start in range(0, len(wanted), MAX_BATCH_SIZE):
                if stopped:
                    break
                chunk = wanted[start : start + MAX_BATCH_SIZE]
                outcome = _read_chunk(client, collection, chunk)
                not_there = set(outcome.not_there)
                for definition_id in chunk:
                    if definition_id in outcome.labels:
                        labels[definition_id] = outcome.labels[definition_id]
                    elif definition_id not in not_there:
                        failed.add(definition_id)
                    elif not remaining[definition_id]:
                        unknown.add(definition_id)
                    else:
                        continue  # looked up in its next collection in the next round
                    del remaining[definition_id]
                problem = problem or outcome.problem
                forbidden = forbidden or outcome.forbidden
                stopped = outcome.stop
    # not looked up everywhere: not known to be unknown; asked again next time
    failed.update(remaining)
    requests = client.request_count - before
    if problem:
        logger.warning(
            "setting definitions: %d of %d not read: %s",
            len(failed),
            len(failed) + len(labels) + len(unknown),
            problem,
        )
    return DefinitionsRead(
        labels=labels,
        unknown=frozenset(unknown),
        failed=frozenset(failed),
        requests=requests,
        problem=problem,
        forbidden=forbidden,
    )


@dataclass(frozen=True)
class _ChunkRead:
    labels: dict[str, SettingLabel]
    not_there: list[str]
    problem: str = ""
    forbidden: bool = False
    #: read no further: refused (403), or the ``$batch`` itself got no answer
    stop: bool = False


def _read_chunk(client: GraphClient, collection: str, chunk: list[str]) -> _ChunkRead:
    """One ``$batch`` of GETs of ``chunk``'s ids in ``collection``."""
    batch = [
        BatchRequest(id=str(n), method="GET", url=f"/{collection}/{quote(i, safe='')}")
        for n, i in enumerate(chunk)
    ]
    try:
        responses = client.batch(batch)
    except GraphError as exc:
        return _ChunkRead(
            labels={},
            not_there=[],
            problem=_problem_text(exc.status, str(exc)),
            forbidden=exc.status in (401, 403),
            # the next $batch would fare no better
            stop=True,
        )
    labels: dict[str, SettingLabel] = {}
    not_there: list[str] = []
    problem = ""
    forbidden = False
    for definition_id, response in zip(chunk, responses, strict=True):
        outcome = _outcome(response)
        if outcome == "read":
            body = response.body if isinstance(response.body, Mapping) else {}
            labels[definition_id] = label_from_definition(body, definition_id=definition_id)
        elif outcome == "not_there":
            not_there.append(definition_id)
        else:
            problem = problem or _problem_text(response.status, _error_text(response))
            forbidden = forbidden or response.status in (401, 403)
    return _ChunkRead(
        labels=labels, not_there=not_there, problem=problem, forbidden=forbidden, stop=forbidden
    )


def _outcome(response: BatchResponse) -> str:
    if response.ok and isinstance(response.body, Mapping):
        return "read"
    if response.status in _NOT_THERE:
        return "not_there"
    return "failed"


def _error_text(response: BatchResponse) -> str:
    try:
        response.raise_for_status()
    except GraphError as exc:
        return str(exc)
    return f"Graph answered {response.status} without a definition"


def _problem_text(status: int | None, detail: str) -> str:
    if status in (401, 403):
        return (
            "Setting names could not be read: the app registration lacks the "
            f"{READ_PERMISSION} application permission (Graph answered {status}). Settings are "
            "shown by their ids; grant the permission with admin consent to see their names."
        )
    return (
        "Setting names could not be read this time; settings are shown by their ids "
        f"and the names are read again on the next preview ({detail})."
    )
