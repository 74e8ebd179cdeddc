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
    "setting_choice_values",
    "setting_definition_ids",
    "setting_definitions_read",
]

logger = logging.getLogger("tenantguard.intune.setting_definitions")

#: The application permission that reads setting definitions.
READ_PERMISSION: Final = "DeviceManagementConfiguration.Read.All"

#: Where Graph keeps setting definitions, in the order they are looked in: configuration
#: policies' (settings catalog, endpoint security), then compliance policies' and reusable
#: settings' own vocabularies. An id that none of them knows (404, or a 400 saying the collection
#: does not exist in this cloud) is unknown.
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

#: The error code (or message start) of the 400 Intune answers for a route it does not have: the
#: definition collection does not exist in this cloud, so no id is there. Any other 400 is a
#: failure (asked again next time), not an answer about the id.
_NO_ROUTE: Final = ("no method match route template", "no odata route exists")


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


def setting_choice_values(payload: Mapping[str, Any]) -> dict[str, set[str]]:
    """Every settingDefinitionId in ``payload`` (as ``setting_definition_ids``) with the option
    ``itemId``s its choice values use (``choiceSettingValue.value``,
    ``choiceSettingCollectionValue[].value``); an empty set for a setting that is no choice.
    A cached definition lacking one of them is older than the payload (Intune added the
    option): read it again."""
    found: dict[str, set[str]] = {}
    _collect_choices(dict(payload) if not isinstance(payload, dict) else payload, found)
    return found


def _collect_choices(value: Any, found: dict[str, set[str]]) -> None:
    if isinstance(value, dict):
        definition_id = value.get(DEFINITION_ID_KEY)
        if isinstance(definition_id, str) and definition_id:
            used = found.setdefault(definition_id, set())
            choice = value.get("choiceSettingValue")
            if isinstance(choice, dict) and isinstance(choice.get("value"), str):
                used.add(choice["value"])
            collection = value.get("choiceSettingCollectionValue")
            if isinstance(collection, list):
                used.update(
                    element["value"]
                    for element in collection
                    if isinstance(element, dict) and isinstance(element.get("value"), str)
                )
        for key, child in value.items():
            if key != DEFINITION_ID_KEY and isinstance(child, dict | list):
                _collect_choices(child, found)
    elif isinstance(value, list):
        for child in value:
            if isinstance(child, dict | list):
                _collect_choices(child, found)


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
    a 401 or 403 stops reading (every other request would be refused too) and is reported in
    ``problem`` (a 403 also in ``forbidden``); throttling that outlasts the retry budget, server
    errors, a 400 other than "No method match route template" and transport errors leave the
    ids in ``failed``. An unexpected exception stops reading too: what was read before it is
    returned, the rest is ``failed`` and ``requests`` counts what was really sent. ``client`` must use the beta API (the
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
                try:
                    outcome = _read_chunk(client, collection, chunk)
                except Exception as exc:  # keep what was read; the rest is asked again next time
                    # only the class: an unexpected message may hold anything
                    outcome = _ChunkRead(
                        labels={},
                        not_there=[],
                        problem=_problem_text(None, f"unexpected {exc.__class__.__name__}"),
                        stop=True,
                    )
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
            forbidden=exc.status == 403,
            # the next $batch would fare no better
            stop=True,
        )
    labels: dict[str, SettingLabel] = {}
    not_there: list[str] = []
    problem = ""
    forbidden = refused = False
    for definition_id, response in zip(chunk, responses, strict=True):
        outcome = _outcome(response)
        if outcome == "read":
            body = response.body if isinstance(response.body, Mapping) else {}
            labels[definition_id] = label_from_definition(body, definition_id=definition_id)
        elif outcome == "not_there":
            not_there.append(definition_id)
        else:
            problem = problem or _problem_text(response.status, _error_text(response))
            forbidden = forbidden or response.status == 403
            refused = refused or response.status in (401, 403)
    return _ChunkRead(
        labels=labels, not_there=not_there, problem=problem, forbidden=forbidden, stop=refused
    )


def _outcome(response: BatchResponse) -> str:
    if response.ok and isinstance(response.body, Mapping):
        return "read"
    if response.status == 404 or (response.status == 400 and _no_route(response.body)):
        return "not_there"
    return "failed"


def _no_route(body: Any) -> bool:
    """Whether a 400's body is Intune's "No method match route template" (the collection does
    not exist here) rather than a refused request."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return False
    texts = (_text(error.get("code")).casefold(), _text(error.get("message")).casefold())
    return any(text.startswith(_NO_ROUTE) for text in texts)


def _error_text(response: BatchResponse) -> str:
    try:
        response.raise_for_status()
    except GraphError as exc:
        return str(exc)
    return f"Graph answered {response.status} without a definition"


def _problem_text(status: int | None, detail: str) -> str:
    if status == 401:
        return (
            "Setting names could not be read: Graph rejected the app's credentials or token "
            "(Graph answered 401). Settings are shown by their ids; check the tenant's connection "
            "with `tenantguard tenant test` or on the tenant page."
        )
    if status == 403:
        return (
            "Setting names could not be read: the app registration lacks the "
            f"{READ_PERMISSION} application permission (Graph answered {status}). Settings are "
            "shown by their ids; grant the permission with admin consent to see their names."
        )
    return (
        "Setting names could not be read this time; settings are shown by their ids "
        f"and the names are read again on the next preview ({detail})."
    )
