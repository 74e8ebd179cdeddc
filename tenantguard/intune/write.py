"""Writes to the target tenant: create, update, assign (docs/architecture.md §3b).

Everything type-specific comes from the registry record (create / update method, fields
written separately, the assign action's body key and status); the child objects written after
their parent (compliance scheduled actions, administrative template definition values,
localized notification messages, app protection apps) are driven by the type's excluded and
create-only fields.

Rules:
- Nothing here ever DELETEs: child objects present in the target but not in the backup stay,
  and are reported as warnings (logged, and appended to the caller's ``warnings`` list).
- ``update_object`` compares first and sends nothing when the object already matches (Graph
  answers 400 to a PATCH that changes nothing), and PATCHes the object itself only when its own
  properties differ.
- A POST that creates is never sent twice blindly: the Graph client retries it only when Graph
  cannot have processed it and raises ``OutcomeUnknownError`` after an unclear answer (the
  restore executor then looks for the object before creating again). Actions that replace a
  whole list (``assign``, ``scheduleActionsForRules``, ``targetApps``) are sent with
  ``idempotent=True`` and retried like a GET; a per-assignment create (Autopilot) looks
  before it posts again.
- Secrets (OMA-URI plaintexts) are sent in request bodies only, never in messages or logs.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

from tenantguard.graph import GraphClient, GraphError, OutcomeUnknownError
from tenantguard.intune import nested, normalize, registry
from tenantguard.intune.capture import CapturedItem, capture_item
from tenantguard.intune.normalize import MissingSecretError
from tenantguard.intune.registry import BUILTIN_SCOPE_TAG_ID, PolicyType
from tenantguard.intune.typespec import ChildListAction

logger = logging.getLogger("tenantguard.intune")

# Child collections written after their parent exists (navigation property names).
_COMPLIANCE_ACTIONS: Final = "scheduledActionsForRule"
_DEFINITION_VALUES: Final = "definitionValues"
_LOCALIZED_MESSAGES: Final = "localizedNotificationMessages"
_APPS: Final = "apps"

#: Seconds to let Graph settle after an unclear answer to a create before listing what is there
#: (never more than the client's longest retry delay).
UNCLEAR_ANSWER_SETTLE_SECONDS: Final = 5.0

#: Child-object properties the server maintains (never sent, never compared).
_CHILD_SERVER_FIELDS: Final = frozenset(
    {"id", "createdDateTime", "lastModifiedDateTime", "version"}
)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class WriteError(Exception):
    """A write TenantGuard refuses or cannot complete, with a message an admin can act on.

    Graph failures are raised as ``tenantguard.graph`` errors, not as this."""


class NotWritableError(WriteError):
    """The type (or this object, e.g. the built-in scope tag) is never written."""


class SecretMissingError(WriteError, MissingSecretError):
    """An encrypted OMA-URI setting has no plaintext in the backup. Names the settings'
    ``omaUri``, never a value. Also a ``normalize.MissingSecretError``."""

    def __init__(self, message: str, *, oma_uris: Sequence[str]) -> None:
        super().__init__(message)
        self.oma_uris = list(oma_uris)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidPayloadError(WriteError):
    """The backup payload cannot be written as it is (e.g. compliance actions without exactly
    one block action)."""


class PartialWriteError(WriteError):
    """The object was created but a child write after it failed. ``target_id`` is the new
    object (it exists: a re-run must update it, not create another)."""

    def __init__(self, message: str, *, target_id: str) -> None:
        super().__init__(message)
        self.target_id = target_id


# --------------------------------------------------------------------------------------------
# What may be written
# --------------------------------------------------------------------------------------------


def _is_builtin_scope_tag(ptype: PolicyType, payload: Mapping[str, Any] | None) -> bool:
    if ptype.key != "scope_tag" or payload is None:
        return False
    return payload.get("isBuiltIn") is True or str(payload.get("id", "")) == BUILTIN_SCOPE_TAG_ID


def is_writable(type_key: str, payload: Mapping[str, Any] | None = None) -> bool:
    """False for preview-only and unsupported types, unknown type keys, and (given the
    payload) built-in objects such as the Default scope tag (id ``"0"`` / ``isBuiltIn``)."""
    try:
        ptype = registry.get(type_key)
    except KeyError:
        return False
    if registry.is_unsupported(ptype) or ptype.is_preview_only or not ptype.collection:
        return False
    return not _is_builtin_scope_tag(ptype, payload) and not ptype.is_builtin(payload)


def _writable_type(type_key: str, payload: Mapping[str, Any] | None, verb: str) -> PolicyType:
    ptype = registry.get(type_key)
    if registry.is_unsupported(ptype) or ptype.is_preview_only or not ptype.collection:
        raise NotWritableError(
            # One object per tenant ("Managed Google Play") is singular, a collection plural.
            f"{ptype.label} {'is' if ptype.singleton else 'are'} preview-only: TenantGuard backs "
            f"{'it' if ptype.singleton else 'them'} up and compares "
            f"{'it' if ptype.singleton else 'them'} but never {verb}s "
            f"{'it' if ptype.singleton else 'them'}. Recreate this object in the Intune portal "
            "if it is needed."
        )
    if _is_builtin_scope_tag(ptype, payload):
        raise NotWritableError(
            "The built-in Default scope tag exists in every tenant and is never written."
        )
    if ptype.is_builtin(payload):
        raise NotWritableError(
            f"'{registry.display_name_of(ptype, payload or {})}' is one of Microsoft's built-in "
            f"{ptype.label.lower()}: it exists in every tenant and is never written."
        )
    return ptype


# --------------------------------------------------------------------------------------------
# Paths and bodies
# --------------------------------------------------------------------------------------------


def _item_path(ptype: PolicyType, object_id: str) -> str:
    return f"/{ptype.api_version}/{ptype.item_path(quote(object_id, safe=''))}"


def _collection_path(ptype: PolicyType) -> str:
    return f"/{ptype.api_version}/{ptype.collection}"


def _oma_uri_of_secret_key(payload: Mapping[str, Any], key: str) -> str:
    for secret_key, setting in normalize.encrypted_oma_settings(payload):
        if secret_key == key:
            return str(setting.get("omaUri") or setting.get("displayName") or key)
    return key


def _check_secrets(
    ptype: PolicyType, payload: Mapping[str, Any], secrets: Mapping[str, str] | None
) -> None:
    missing = normalize.missing_secrets(ptype.key, payload, secrets or {})
    if not missing:
        return
    uris = [_oma_uri_of_secret_key(payload, key) for key in missing]
    name = registry.display_name_of(ptype, payload)
    raise SecretMissingError(
        f"'{name}' has encrypted OMA-URI setting(s) whose value the backup does not hold: "
        f"{', '.join(uris)}. Capture the source again with an app that can read secrets "
        "(getOmaSettingPlainTextValue), or leave this item out of the restore.",
        oma_uris=uris,
    )


def _write_body(
    ptype: PolicyType,
    payload: Mapping[str, Any],
    *,
    for_update: bool,
    secrets: Mapping[str, str] | None,
) -> dict[str, Any]:
    if ptype.has_oma_secrets:
        _check_secrets(ptype, payload, secrets)
    try:
        body = normalize.strip_for_write(
            ptype.key,
            payload,
            for_update=for_update,
            secrets=(secrets or {}) if ptype.has_oma_secrets else None,
        )
    except MissingSecretError:  # pragma: no cover - _check_secrets ran first
        _check_secrets(ptype, payload, {})
        raise
    if not body.get("@odata.type") and ptype.default_odata_type:
        body["@odata.type"] = ptype.default_odata_type
    return body


def _clean_child(value: Any) -> Any:
    """A child object (or list of them) for a write body: annotations and server fields
    (``id``, timestamps) removed at any depth, ``@odata.type`` kept."""
    if isinstance(value, list):
        return [_clean_child(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    return {
        key: _clean_child(item)
        for key, item in normalize.strip_annotations(dict(value)).items()
        if key not in _CHILD_SERVER_FIELDS
    }


def _warn(warnings: list[str] | None, message: str) -> None:
    logger.warning("%s", message)
    if warnings is not None:
        warnings.append(message)


def _check_complete(ptype: PolicyType, payload: Mapping[str, Any], verb: str) -> None:
    """Refuse a payload whose per-item reads failed at capture (capture marks the gap with
    ``None``): writing it would create or PUT an empty policy (no settings, no script)."""
    gaps: list[str] = []
    for fetch in ptype.per_item_fetch:
        if fetch.kind in ("assignments", "omaSecrets"):
            continue
        if fetch.merge_into is not None:
            if fetch.merge_into in payload and payload[fetch.merge_into] is None:
                gaps.append(fetch.merge_into)
        elif fetch.merge_fields and all(payload.get(name) is None for name in fetch.merge_fields):
            gaps.append(" / ".join(fetch.merge_fields))
    if gaps:
        name = registry.display_name_of(ptype, payload)
        raise InvalidPayloadError(
            f"Cannot {verb} {ptype.label.lower()} '{name}': the backup lacks its "
            f"{', '.join(gaps)} (they could not be read when it was captured). Capture the "
            "source again, or leave this item out of the restore."
        )


def _bound_id(payload: Mapping[str, Any], prop: str) -> str | None:
    bound = payload.get(prop)
    if isinstance(bound, Mapping) and bound.get("id"):
        return str(bound["id"])
    return None


def _add_binds(
    client: GraphClient, ptype: PolicyType, payload: Mapping[str, Any], body: dict[str, Any]
) -> None:
    """``{property}@odata.bind`` for each ``ODataBind`` of the type (create only)."""
    for bind in ptype.odata_binds:
        bound_id = _bound_id(payload, bind.property)
        if bound_id is None:
            raise InvalidPayloadError(
                f"Cannot create {ptype.label.lower()} '{registry.display_name_of(ptype, payload)}'"
                f": the backup does not say which {bind.property} it belongs to. Capture the "
                "source again, or leave this item out of the restore."
            )
        quoted = bound_id.replace("'", "''")
        body[f"{bind.property}@odata.bind"] = (
            f"{client.graph_url}/{ptype.api_version}/{bind.collection}('{quoted}')"
        )


def _check_binds(ptype: PolicyType, payload: Mapping[str, Any], current: CapturedItem) -> None:
    """Graph cannot re-bind a navigation on update: refuse instead of updating the wrong one."""
    for bind in ptype.odata_binds:
        intended = _bound_id(payload, bind.property)
        live = _bound_id(current.payload, bind.property)
        if intended is not None and live is not None and intended != live:
            raise InvalidPayloadError(
                f"'{registry.display_name_of(ptype, payload)}' in the backup belongs to "
                f"{bind.property} {intended} but the target object {current.source_id} with "
                f"that name belongs to {live}; Graph cannot change that in place. Rename one of "
                "them, or delete the target object in the portal and run the restore again."
            )


# --------------------------------------------------------------------------------------------
# Compliance scheduled actions
# --------------------------------------------------------------------------------------------


def _compliance_rules(ptype: PolicyType, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``scheduledActionsForRule`` ready to send, after checking the one-block-action rule."""
    rules = payload.get(_COMPLIANCE_ACTIONS)
    name = registry.display_name_of(ptype, payload)
    if not isinstance(rules, list) or not rules:
        raise InvalidPayloadError(
            f"Compliance policy '{name}' has no scheduled actions for noncompliance in the "
            "backup (they could not be read when it was captured). Graph needs exactly one "
            "'block' action: capture the source again before restoring this policy."
        )
    blocks = sum(
        1
        for rule in rules
        if isinstance(rule, Mapping)
        for action in rule.get("scheduledActionConfigurations") or []
        if isinstance(action, Mapping) and action.get("actionType") == "block"
    )
    if blocks != 1:
        raise InvalidPayloadError(
            f"Compliance policy '{name}' has {blocks} 'block' actions for noncompliance; "
            "Graph accepts exactly one. Fix the policy's actions in the source and capture "
            "it again."
        )
    cleaned: list[dict[str, Any]] = _clean_child(rules)
    return cleaned


# --------------------------------------------------------------------------------------------
# Create
# --------------------------------------------------------------------------------------------


def create_object(
    client: GraphClient,
    *,
    type_key: str,
    payload: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
) -> str:
    """Create the object in the target and return its new id.

    Settings catalog / endpoint security are created with their settings, compliance policies
    with their scheduled actions, app protection with its apps; administrative template
    definition values and localized notification messages are written right after their
    parent. If such a child write fails, ``PartialWriteError`` carries the new id. When the
    answer to the create itself is lost (``OutcomeUnknownError`` from the client, which never
    sends it twice), the object may exist: the caller looks for it before creating again
    (``target.find_created``; the restore executor does).
    """
    ptype = _writable_type(type_key, payload, "create")
    limit = ptype.create_limit_for(payload)
    if limit is not None:
        raise NotWritableError(
            f"{ptype.label} '{registry.display_name_of(ptype, payload)}' is never created by "
            f"TenantGuard: {limit.reason}"
        )
    if ptype.singleton is not None or ptype.is_tenant_default(payload):
        raise NotWritableError(
            f"'{registry.display_name_of(ptype, payload)}' ({ptype.label.lower()}) exists once "
            "in every tenant: it is updated, never created. Read the target again (run the "
            "checks) so it is matched."
        )
    _check_complete(ptype, payload, "create")
    body = _write_body(ptype, payload, for_update=False, secrets=secrets)
    _add_binds(client, ptype, payload, body)
    if _COMPLIANCE_ACTIONS in ptype.create_only_fields:
        body[_COMPLIANCE_ACTIONS] = _compliance_rules(ptype, payload)
    if ptype.create_action is not None:
        action_path, body = _create_action_request(ptype, payload, body)
        created = client.post(action_path, json=body)
    elif ptype.parent is not None:  # under the target's parent object of the same name
        try:
            parent_id = nested.target_parent(client, ptype, payload)
        except nested.NoParentError as exc:
            raise NotWritableError(
                f"{ptype.label} '{registry.display_name_of(ptype, payload)}' cannot be "
                f"created: {exc}"
            ) from exc
        created = client.post(nested.collection_path(ptype, parent_id), json=body)
    else:
        created = client.post(_collection_path(ptype), json=body)
    new_id = str((created or {}).get("id") or "")
    if not new_id:
        raise WriteError(
            f"Graph created {ptype.label.lower()} '{registry.display_name_of(ptype, payload)}' "
            "but returned no id; find it in the portal before running the restore again."
        )
    try:
        if _DEFINITION_VALUES in ptype.write_excluded_fields:
            _add_definition_values(client, ptype, new_id, payload, existing=[], warnings=None)
        if _LOCALIZED_MESSAGES in ptype.write_excluded_fields:
            for message in payload.get(_LOCALIZED_MESSAGES) or []:
                if isinstance(message, Mapping):
                    client.post(
                        f"{_item_path(ptype, new_id)}/{_LOCALIZED_MESSAGES}",
                        json=_clean_child(message),
                    )
        for child_action in ptype.child_list_actions:
            if child_action.after_create:
                _post_child_list(client, ptype, new_id, payload, child_action)
        _set_priority(client, ptype, new_id, payload, current=created)
    except Exception as exc:
        # Graph's and our own errors say what failed; any other exception's text may quote
        # payload values (secrets included), so only its type is named (the log has the rest).
        why = str(exc) if isinstance(exc, GraphError | WriteError) else type(exc).__name__
        raise PartialWriteError(
            f"{ptype.label} '{registry.display_name_of(ptype, payload)}' was created "
            f"(id {new_id}) but writing its child objects failed: {why}. Run the restore "
            "again to complete it (the object is matched, not created twice).",
            target_id=new_id,
        ) from exc
    logger.info("Created %s %s", ptype.key, new_id)
    return new_id


# --------------------------------------------------------------------------------------------
# Update
# --------------------------------------------------------------------------------------------


def _own_form(ptype: PolicyType, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The normalized object without the child collections written separately."""
    form = normalize.normalize_payload(ptype.key, payload)
    for key in ptype.write_excluded_fields | ptype.create_only_fields:
        form.pop(key, None)
    return form


def _intended_secrets(
    ptype: PolicyType, payload: Mapping[str, Any], secrets: Mapping[str, str] | None
) -> dict[str, str] | None:
    if not ptype.has_oma_secrets or secrets is None:
        return None
    return {
        key: secrets[key] for key, _ in normalize.encrypted_oma_settings(payload) if key in secrets
    }


def _own_differs(
    ptype: PolicyType,
    payload: Mapping[str, Any],
    current: CapturedItem,
    secrets: Mapping[str, str] | None,
) -> bool:
    intended_form = _own_form(ptype, payload)
    current_form = _own_form(ptype, current.payload)
    if ptype.update_method == "PUT":
        if intended_form != current_form:
            return True
    elif any(value != current_form.get(key) for key, value in intended_form.items()):
        # A PATCH sets only what it sends: properties the target has and the backup lacks
        # cannot be changed by it, so they do not make a difference worth a (400) PATCH.
        return True
    if ptype.scope_tag_property and ptype.scope_tag_property in payload:
        intended_tags = set(registry.scope_tag_ids_of(ptype, payload))
        if intended_tags != set(current.scope_tag_ids):
            return True
    intended = _intended_secrets(ptype, payload, secrets)
    if intended is not None:
        held = {key: current.secrets.get(key) for key in intended}
        if held != intended:
            return True
    return False


# --------------------------------------------------------------------------------------------
# Objects created by an action, child lists written by an action
# --------------------------------------------------------------------------------------------


def _create_action_request(
    ptype: PolicyType, payload: Mapping[str, Any], body: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The path and body of ``ptype.create_action`` for ``payload`` (its write ``body``)."""
    action = ptype.create_action
    assert action is not None
    name = registry.display_name_of(ptype, payload)

    def fill(match: re.Match[str]) -> str:
        value = payload.get(match.group(1))
        if not isinstance(value, str) or not value:
            raise InvalidPayloadError(
                f"Cannot create {ptype.label.lower()} '{name}': the backup has no "
                f"{match.group(1)} (Graph creates it from that). Capture the source again, or "
                "leave this item out of the restore."
            )
        return quote(value, safe="")

    path = re.sub(r"\{(\w+)\}", fill, action.path)
    request = {key: body[key] for key in action.body_fields if key in body}
    for prop, key in action.renamed:
        if prop in payload:
            request[key] = _clean_child(copy.deepcopy(payload.get(prop) or []))
    return f"/{ptype.api_version}/{path}", request


def _child_list_body(payload: Mapping[str, Any], action: ChildListAction) -> list[Any]:
    elements = payload.get(action.property)
    cleaned: list[Any] = _clean_child(copy.deepcopy(elements if isinstance(elements, list) else []))
    return cleaned


def _post_child_list(
    client: GraphClient,
    ptype: PolicyType,
    target_id: str,
    payload: Mapping[str, Any],
    action: ChildListAction,
) -> None:
    client.post(
        f"{_item_path(ptype, target_id)}/{action.action}",
        json={action.body_key: _child_list_body(payload, action)},
        idempotent=True,  # sets (or merges) the same list: sending it twice changes nothing
    )


def _sync_child_list(
    client: GraphClient,
    ptype: PolicyType,
    target_id: str,
    payload: Mapping[str, Any],
    current: CapturedItem,
    action: ChildListAction,
    warnings: list[str] | None,
    name: str,
) -> bool:
    """Send the child list through its action when it differs from the target's; True when
    sent. A merging action cannot remove: the target's extra elements are kept and reported."""
    intended = _child_form(ptype, payload, action.property) or []
    live = _child_form(ptype, current.payload, action.property) or []
    if not action.merges:
        if intended == live:
            return False
        _post_child_list(client, ptype, target_id, payload, action)
        return True

    def key(element: Any) -> str:
        return str(element.get(action.identity)) if isinstance(element, Mapping) else ""

    live_by_key = {key(element): element for element in live}
    intended_keys = {key(element) for element in intended}
    extra = sorted(k for k in live_by_key if k not in intended_keys)
    if extra:
        _warn(
            warnings,
            f"{ptype.label} '{name or target_id}' has {len(extra)} {action.property} the backup "
            f"does not have; they were kept (a restore never deletes): {', '.join(extra)}",
        )
    if all(live_by_key.get(key(element)) == element for element in intended):
        return False
    _post_child_list(client, ptype, target_id, payload, action)
    return True


def _child_form(ptype: PolicyType, payload: Mapping[str, Any], prop: str) -> Any:
    return normalize.normalize_payload(ptype.key, {prop: payload.get(prop)}).get(prop)


def update_object(
    client: GraphClient,
    *,
    type_key: str,
    target_id: str,
    payload: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    current: CapturedItem | None = None,
    warnings: list[str] | None = None,
) -> bool:
    """Bring the target object ``target_id`` to ``payload``; False when nothing differs (no
    request is sent).

    ``current`` is the object as just read (``target.read_one``); it is read when not given.
    Settings catalog / endpoint security: one PUT of the whole policy with its settings. Other
    types: PATCH of the object's own properties when they differ, then their child objects
    (compliance actions through ``scheduleActionsForRules``, definition values through
    ``updateDefinitionValues``, localized messages one by one, app protection apps through
    ``targetApps``). Child objects the target has and the backup lacks are kept and reported
    in ``warnings``. With ``secrets=None`` encrypted OMA-URI values are not compared (the
    backup has nothing to restore them to); writing such an object then needs them.
    """
    ptype = _writable_type(type_key, payload, "update")
    _check_complete(ptype, payload, "update")
    if current is None:
        current = capture_item(client, type_key=type_key, object_id=target_id)
        if current is None:
            raise WriteError(
                f"{ptype.label} object {target_id} no longer exists in the target tenant; "
                "run the checks again (it will be created)."
            )
    name = registry.display_name_of(ptype, payload)
    intended_type = str(payload.get("@odata.type") or "").lower()
    current_type = str(current.payload.get("@odata.type") or "").lower()
    if intended_type and current_type and intended_type != current_type:
        raise InvalidPayloadError(
            f"'{name}' in the backup is a {payload['@odata.type']} but the target object "
            f"{target_id} with that name is a {current.payload['@odata.type']}; Graph cannot "
            "change an object's kind in place. Rename one of them, or map this item to "
            "another target object."
        )
    _check_binds(ptype, payload, current)
    changed = False
    path = _item_path(ptype, target_id)
    if ptype.parent is not None:  # the parent the target object was read under
        path = nested.item_path(ptype, target_id, str(current.payload.get(nested.PARENT_ID_KEY)))

    if _own_differs(ptype, payload, current, secrets):
        body = _write_body(ptype, payload, for_update=True, secrets=secrets)
        if ptype.singleton is not None:
            # A singleton is a property of its parent: PATCH the parent with it.
            client.patch(
                f"/{ptype.api_version}/{ptype.singleton.write_path}",
                json={ptype.singleton.wrap_key: body},
            )
        elif ptype.update_method == "PUT":
            client.put(path, json=body)
        elif ptype.update_method == "PATCH":
            client.patch(path, json=body)
        else:  # pragma: no cover - no registry type updates by POST
            client.post(path, json=body)
        changed = True

    if _set_priority(client, ptype, target_id, payload, current=current.payload):
        changed = True

    if _COMPLIANCE_ACTIONS in ptype.create_only_fields:
        intended = _child_form(ptype, payload, _COMPLIANCE_ACTIONS)
        if intended != _child_form(ptype, current.payload, _COMPLIANCE_ACTIONS):
            rules = _compliance_rules(ptype, payload)
            client.post(
                f"{path}/scheduleActionsForRules",
                json={"deviceComplianceScheduledActionForRules": rules},
                idempotent=True,  # replaces the whole list of scheduled actions
            )
            changed = True

    for child_action in ptype.child_list_actions:
        if _sync_child_list(
            client, ptype, target_id, payload, current, child_action, warnings, name
        ):
            changed = True

    if _APPS in ptype.create_only_fields:
        intended_apps = _child_form(ptype, payload, _APPS)
        if intended_apps != _child_form(ptype, current.payload, _APPS):
            apps = _clean_child(payload.get(_APPS) or [])
            client.post(f"{path}/targetApps", json={"apps": apps}, idempotent=True)
            changed = True

    if _DEFINITION_VALUES in ptype.write_excluded_fields:
        existing = [v for v in current.payload.get(_DEFINITION_VALUES) or [] if isinstance(v, dict)]
        if _add_definition_values(
            client, ptype, target_id, payload, existing=existing, warnings=warnings, name=name
        ):
            changed = True

    if _LOCALIZED_MESSAGES in ptype.write_excluded_fields:
        if _sync_localized_messages(client, ptype, target_id, payload, current, warnings, name):
            changed = True

    if changed:
        logger.info("Updated %s %s", ptype.key, target_id)
    return changed


def _set_priority(
    client: GraphClient,
    ptype: PolicyType,
    object_id: str,
    payload: Mapping[str, Any],
    *,
    current: Any,
) -> bool:
    """Give the object the backup's priority through the type's action (``PriorityAction``)
    when the target's differs; True when it was sent. Tenant defaults keep theirs."""
    spec = ptype.priority
    if spec is None or ptype.is_tenant_default(payload) or ptype.is_tenant_default(object_id):
        return False
    wanted = payload.get(spec.property)
    if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1:
        return False
    if isinstance(current, Mapping) and current.get(spec.property) == wanted:
        return False
    client.post(
        f"{_item_path(ptype, object_id)}/{spec.action}",
        json={spec.property: wanted},
        idempotent=True,  # sets an absolute place: sending it twice changes nothing more
    )
    return True


# --------------------------------------------------------------------------------------------
# Administrative template definition values
# --------------------------------------------------------------------------------------------


def _definition_id(value: Mapping[str, Any]) -> str | None:
    definition = value.get("definition")
    if isinstance(definition, Mapping) and definition.get("id"):
        return str(definition["id"])
    return None


def _definition_form(value: Mapping[str, Any]) -> Any:
    """A definition value for compare: what an admin set (enabled, presentation values),
    not ids, timestamps or the catalog text of the definition."""
    form = normalize.normalize_payload(
        "administrative_template", {_DEFINITION_VALUES: [dict(value)]}
    )[_DEFINITION_VALUES][0]
    form.pop("definition", None)
    form["definitionId"] = _definition_id(value)
    return form


def _add_definition_values(
    client: GraphClient,
    ptype: PolicyType,
    target_id: str,
    payload: Mapping[str, Any],
    *,
    existing: list[dict[str, Any]],
    warnings: list[str] | None,
    name: str = "",
) -> bool:
    """Add the backup's definition values the target lacks and update those that differ, in
    one ``updateDefinitionValues`` (``deletedIds`` always empty). True when something was
    sent."""
    graph_base = f"{client.graph_url}/{ptype.api_version}"
    intended = [v for v in payload.get(_DEFINITION_VALUES) or [] if isinstance(v, Mapping)]
    bodies = normalize.definition_value_bodies(payload, graph_base_url=graph_base)
    body_by_definition = {
        definition_id: body
        for value, body in zip([v for v in intended if _definition_id(v)], bodies, strict=True)
        if (definition_id := _definition_id(value)) is not None
    }
    current_by_definition = {
        definition_id: value
        for value in existing
        if (definition_id := _definition_id(value)) is not None
    }
    added: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for value in intended:
        definition_id = _definition_id(value)
        if definition_id is None:
            continue
        body = copy.deepcopy(body_by_definition[definition_id])
        live = current_by_definition.get(definition_id)
        if live is None:
            added.append(body)
            continue
        if _definition_form(value) == _definition_form(live):
            continue
        body["id"] = str(live.get("id"))
        live_presentations = {
            str((pv.get("presentation") or {}).get("id")): pv.get("id")
            for pv in live.get("presentationValues") or []
            if isinstance(pv, Mapping)
        }
        for presentation_value, source in zip(
            body.get("presentationValues") or [],
            [
                pv
                for pv in value.get("presentationValues") or []
                if isinstance(pv, Mapping) and (pv.get("presentation") or {}).get("id")
            ],
            strict=False,
        ):
            live_id = live_presentations.get(str((source.get("presentation") or {}).get("id")))
            if live_id:
                presentation_value["id"] = live_id
        updated.append(body)
    extra = sorted(set(current_by_definition) - set(body_by_definition))
    if extra:
        labels = [
            str((current_by_definition[d].get("definition") or {}).get("displayName") or d)
            for d in extra
        ]
        _warn(
            warnings,
            f"Administrative template '{name or target_id}' has {len(extra)} setting(s) the "
            f"backup does not have; they were kept (a restore never deletes): {', '.join(labels)}",
        )
    if not added and not updated:
        return False
    client.post(
        f"{_item_path(ptype, target_id)}/updateDefinitionValues",
        json={"added": added, "updated": updated, "deletedIds": []},
    )
    return True


# --------------------------------------------------------------------------------------------
# Notification template localized messages
# --------------------------------------------------------------------------------------------


def _sync_localized_messages(
    client: GraphClient,
    ptype: PolicyType,
    target_id: str,
    payload: Mapping[str, Any],
    current: CapturedItem,
    warnings: list[str] | None,
    name: str,
) -> bool:
    live_by_locale = {
        str(m.get("locale")): m
        for m in current.payload.get(_LOCALIZED_MESSAGES) or []
        if isinstance(m, Mapping)
    }
    base = f"{_item_path(ptype, target_id)}/{_LOCALIZED_MESSAGES}"
    intended_locales: set[str] = set()
    changed = False
    for message in payload.get(_LOCALIZED_MESSAGES) or []:
        if not isinstance(message, Mapping):
            continue
        locale = str(message.get("locale"))
        intended_locales.add(locale)
        body = _clean_child(message)
        live = live_by_locale.get(locale)
        if live is None:
            client.post(base, json=body)
            changed = True
        elif _clean_child(live) != body:
            client.patch(f"{base}/{quote(str(live.get('id')), safe='')}", json=body)
            changed = True
    extra = sorted(set(live_by_locale) - intended_locales)
    if extra:
        _warn(
            warnings,
            f"Notification template '{name or target_id}' has messages for locale(s) the "
            f"backup does not have; they were kept: {', '.join(extra)}",
        )
    return changed


# --------------------------------------------------------------------------------------------
# Assign
# --------------------------------------------------------------------------------------------


def _assignment_body(assignment: Mapping[str, Any]) -> dict[str, Any]:
    """``{"target": …}`` plus type-specific settings (e.g. ``runRemediationScript``,
    ``runSchedule``); never the ids and sources Graph adds on read."""
    clean: dict[str, Any] = normalize.strip_annotations(dict(assignment))
    body = {
        key: value
        for key, value in clean.items()
        if not normalize.is_read_only_assignment_field(key, value)
    }
    target = body.get("target")
    if not isinstance(target, dict):
        raise InvalidPayloadError(f"An assignment has no target: {sorted(clean)}")
    body["target"] = copy.deepcopy(target)
    return body


def _target_key(assignment: Mapping[str, Any]) -> str:
    return normalize.canonical_json(normalize.normalize_assignments([assignment])[0]["target"])


def assign_object(
    client: GraphClient,
    *,
    type_key: str,
    target_id: str,
    assignments: Sequence[Mapping[str, Any]],
    warnings: list[str] | None = None,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Set the object's assignments (references already rewritten).

    Normal types: one ``assign`` action that replaces the whole list. Autopilot: the existing
    assignments are read first and only missing targets are POSTed, one by one (running it
    twice creates nothing twice); existing ones the backup lacks are kept and reported.
    ``payload``: the object (backup or target): a tenant default marked by a flag
    (``PolicyType.default_flag``, the default branding profile) is known by it, not by its id.
    """
    ptype = _writable_type(type_key, None, "assign")
    spec = ptype.assign
    bodies = [_assignment_body(assignment) for assignment in assignments]
    if spec is None:
        if bodies:
            raise NotWritableError(f"{ptype.label} have no assignments; nothing can be assigned.")
        return
    if ptype.is_tenant_default(target_id) or ptype.is_tenant_default(payload):
        # Intune's default configurations apply to everyone; Graph refuses to assign them.
        if bodies:
            _warn(
                warnings,
                f"{ptype.label} {target_id} is the tenant's default: its assignments are "
                "Intune's own and were left as they are.",
            )
        return
    path = _item_path(ptype, target_id)
    if spec.per_assignment:
        _assign_one_by_one(client, ptype, path, bodies, warnings)
        return
    assert spec.body_key is not None
    # assign replaces the whole list: sending it twice leaves the same assignments
    response = client.post(f"{path}/{spec.path}", json={spec.body_key: bodies}, idempotent=True)
    expected_body = spec.expected_status != 204
    if (response is not None) != expected_body:
        logger.warning(
            "Assign of %s %s answered %s; expected status %d",
            ptype.key,
            target_id,
            "a body" if response is not None else "no content",
            spec.expected_status,
        )


def _assign_one_by_one(
    client: GraphClient,
    ptype: PolicyType,
    path: str,
    bodies: list[dict[str, Any]],
    warnings: list[str] | None,
) -> None:
    assert ptype.assign is not None
    collection_path = f"{path}/{ptype.assign.path}"
    existing = list(client.iter_collection(collection_path))
    have = {_target_key(item) for item in existing if isinstance(item.get("target"), dict)}
    wanted: set[str] = set()
    for body in bodies:
        key = _target_key(body)
        if key in wanted:
            continue
        wanted.add(key)
        if key in have:
            continue
        _post_assignment_once(client, collection_path, body, key)
        have.add(key)
    extra = [
        item
        for item in existing
        if isinstance(item.get("target"), dict) and _target_key(item) not in wanted
    ]
    if extra:
        groups = [
            str(item["target"].get("groupId") or item["target"].get("@odata.type"))
            for item in extra
        ]
        _warn(
            warnings,
            f"{ptype.label} {path.rsplit('/', 1)[-1]} keeps {len(extra)} assignment(s) the backup "
            f"does not have (a restore never deletes): {', '.join(groups)}",
        )


def _post_assignment_once(
    client: GraphClient, collection_path: str, body: dict[str, Any], key: str
) -> None:
    """POST one assignment (a create); after an unclear answer, list the assignments and send
    it again only when it is not there (at most three times in all)."""
    for attempt in range(3):
        try:
            client.post(collection_path, json={"target": body["target"]})
            return
        except OutcomeUnknownError:
            # A POST applied late would be missed by a listing taken at once.
            client.clock.sleep(min(UNCLEAR_ANSWER_SETTLE_SECONDS, client.retry.max_delay))
            present = {
                _target_key(item)
                for item in client.iter_collection(collection_path)
                if isinstance(item.get("target"), dict)
            }
            if key in present:
                return
            if attempt == 2:
                raise


__all__ = [
    "InvalidPayloadError",
    "NotWritableError",
    "PartialWriteError",
    "SecretMissingError",
    "WriteError",
    "assign_object",
    "create_object",
    "is_writable",
    "update_object",
]
