"""Writes against the emulator: a restore reproduces each object, updates revert drift and
send nothing when there is none, and the per-type Graph rules hold."""

from __future__ import annotations

import base64
import copy
import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from tenantguard.emulator import (
    EmulatorConfig,
    FaultConfig,
    GraphEmulator,
    ThrottleConfig,
    load_seed_dir,
)
from tenantguard.graph import (
    ApprovalRequiredError,
    GraphClient,
    RetryPolicy,
    ServerError,
    StaticTokenProvider,
)
from tenantguard.graph.testing import FakeClock
from tenantguard.intune import normalize, references, registry, target, write
from tenantguard.intune.capture import CapturedItem, iter_capture

from .conftest import TOKEN, Env, RecordingTransport, make_client
from .reference_support import StaticResolver

CORPUS_ENV = "TENANTGUARD_CORPUS_DIR"

WRITABLE_TYPES = [ptype.key for ptype in registry.all_types() if write.is_writable(ptype.key)]


def _definition_ids_only(type_key: str, form: dict[str, Any]) -> dict[str, Any]:
    """The emulator has no catalog of ADMX definitions: a definition bound by URL comes back
    as ``{"id"}`` without the catalog's ``displayName`` (Graph returns both). Compare the
    definition by id for administrative templates; everything else is compared in full."""
    if type_key != "administrative_template":
        return form
    form = copy.deepcopy(form)
    for value in form.get("definitionValues") or []:
        value["definition"] = {"id": value["definition"]["id"]}
    return form


def _payload_form(item: CapturedItem) -> dict[str, Any]:
    form = _definition_ids_only(
        item.type_key, normalize.normalize_payload(item.type_key, item.payload)
    )
    return form


def _assert_same(actual: CapturedItem, expected: CapturedItem) -> None:
    label = f"{expected.type_key} '{expected.display_name}'"
    assert actual.type_key == expected.type_key, label
    assert _payload_form(actual) == _payload_form(expected), label
    assert normalize.normalize_assignments(actual.assignments or []) == (
        normalize.normalize_assignments(expected.assignments or [])
    ), label
    assert sorted(actual.scope_tag_ids) == sorted(expected.scope_tag_ids), label
    assert actual.secrets == expected.secrets, label


def _read(env: Env, type_key: str, object_id: str) -> CapturedItem:
    item = target.read_one(env.client, type_key=type_key, object_id=object_id)
    assert item is not None
    return item


def _restore(env: Env, item: CapturedItem) -> str:
    new_id = write.create_object(
        env.client, type_key=item.type_key, payload=item.payload, secrets=item.secrets
    )
    write.assign_object(
        env.client, type_key=item.type_key, target_id=new_id, assignments=item.assignments or []
    )
    return new_id


# --------------------------------------------------------------------------------------------
# The proof per type: delete, restore from the backup, read back, compare
# --------------------------------------------------------------------------------------------


def test_the_demo_tenant_has_every_writable_type(env: Env) -> None:
    assert set(WRITABLE_TYPES) <= {item.type_key for item in env.backup}


@pytest.mark.parametrize("type_key", WRITABLE_TYPES)
def test_restore_reproduces_every_object_of_the_type(env: Env, type_key: str) -> None:
    if registry.get(type_key).singleton is not None:  # one per tenant: updated, never created
        (single,) = env.items(type_key)
        with pytest.raises(write.NotWritableError, match="never created"):
            write.create_object(env.client, type_key=type_key, payload=single.payload)
        return
    items = [
        i
        for i in env.items(type_key)
        if write.is_writable(type_key, i.payload)
        # a tenant's default exists in every tenant: updated in place, never created
        and not registry.get(type_key).is_tenant_default(i.payload)
        # apps with uploaded content or synced from a store are updated, never created
        and registry.get(type_key).create_limit_for(i.payload) is None
    ]
    assert items
    for item in items:
        assert env.tenant.delete_object(env.collection(type_key), item.source_id)
        new_id = _restore(env, item)
        assert new_id != item.source_id
        _assert_same(_read(env, type_key, new_id), item)


def test_admin_template_definition_values_are_recreated_with_binds_under_the_clients_url(
    env: Env,
) -> None:
    item = env.item("administrative_template")
    # A national cloud: bind URLs must follow the configured Graph root, never graph.microsoft.com.
    recorder = RecordingTransport(env.emu.transport())
    with make_client(
        env.emu, TOKEN, transport=recorder, graph_url="https://graph.microsoft.us"
    ) as us:
        new_id = write.create_object(us, type_key=item.type_key, payload=item.payload)
    (body,) = [b for m, p, b in recorder.sent if p.endswith(f"{new_id}/updateDefinitionValues")]
    assert body["deletedIds"] == [] and body["updated"] == []
    assert len(body["added"]) == len(item.payload["definitionValues"])
    binds = [v["definition@odata.bind"] for v in body["added"]]
    binds += [p["presentation@odata.bind"] for v in body["added"] for p in v["presentationValues"]]
    assert binds and all(
        b.startswith("https://graph.microsoft.us/beta/deviceManagement/groupPolicyDefinitions('")
        for b in binds
    )
    created = _read(env, item.type_key, new_id)
    assert _payload_form(created) == _payload_form(item)
    assert {v["definition"]["id"] for v in created.payload["definitionValues"]} == {
        v["definition"]["id"] for v in item.payload["definitionValues"]
    }


def test_notification_template_messages_are_created_after_the_template(env: Env) -> None:
    item = env.item("notification_template")
    env.tenant.delete_object(env.collection("notification_template"), item.source_id)
    mark = env.log_mark()
    new_id = write.create_object(env.client, type_key=item.type_key, payload=item.payload)
    writes = env.writes_since(mark)
    assert writes[0] == ("POST", "/beta/deviceManagement/notificationMessageTemplates", 201)
    assert writes[1:] == [
        (
            "POST",
            f"/beta/deviceManagement/notificationMessageTemplates/{new_id}/localizedNotificationMessages",
            201,
        )
    ] * len(item.payload["localizedNotificationMessages"])
    _assert_same(_read(env, item.type_key, new_id), item)


def test_scripts_keep_their_base64_content(env: Env) -> None:
    item = env.item("powershell_script")
    new_id = write.create_object(env.client, type_key=item.type_key, payload=item.payload)
    created = _read(env, item.type_key, new_id)
    assert created.payload["scriptContent"] == item.payload["scriptContent"]
    assert base64.b64decode(created.payload["scriptContent"])


def test_app_protection_is_created_with_its_apps(env: Env) -> None:
    item = env.item("ios_app_protection")
    mark = len(env.recorder.sent)
    new_id = write.create_object(env.client, type_key=item.type_key, payload=item.payload)
    (body,) = [b for m, p, b in env.recorder.sent[mark:] if m == "POST"]
    assert len(body["apps"]) == len(item.payload["apps"]) > 0
    assert all("id" not in app and "version" not in app for app in body["apps"])
    assert _read(env, item.type_key, new_id).payload["apps"]


# --------------------------------------------------------------------------------------------
# Update: revert drift, send nothing when there is none
# --------------------------------------------------------------------------------------------


def _drift(env: Env, item: CapturedItem) -> None:
    """Change the live object the way an admin in the portal would."""
    live = env.live(item.type_key, item.source_id)
    assert live is not None
    if "description" in live:
        live["description"] = "changed in the portal"
    else:  # no description (branding profiles, tenant-wide settings): flip a switch
        read_only = registry.get(item.type_key).all_read_only_fields
        flag = next(
            k for k, v in sorted(live.items()) if isinstance(v, bool) and k not in read_only
        )
        live[flag] = not live[flag]
    if item.type_key in ("settings_catalog", "endpoint_security"):
        live["settings"] = live["settings"][1:]
    if item.type_key == "compliance_policy":
        for action in live["scheduledActionsForRule"][0]["scheduledActionConfigurations"]:
            action["gracePeriodHours"] = 99
    if item.type_key == "administrative_template":
        live["definitionValues"][0]["enabled"] = not live["definitionValues"][0]["enabled"]
    if item.type_key == "notification_template":
        live["localizedNotificationMessages"][0]["subject"] = "changed"
    if item.type_key in ("ios_app_protection", "android_app_protection"):
        live["apps"] = live["apps"][:1]
    env.tenant.put_object(env.collection(item.type_key), live)


@pytest.mark.parametrize("type_key", WRITABLE_TYPES)
def test_update_reverts_drift_then_sends_nothing(env: Env, type_key: str) -> None:
    (item,) = [i for i in env.items(type_key) if write.is_writable(type_key, i.payload)][:1]
    _drift(env, item)
    assert _payload_form(_read(env, type_key, item.source_id)) != _payload_form(item)

    changed = write.update_object(
        env.client,
        type_key=type_key,
        target_id=item.source_id,
        payload=item.payload,
        secrets=item.secrets,
    )
    assert changed is True
    current = _read(env, type_key, item.source_id)
    _assert_same(current, item)

    mark = env.log_mark()
    again = write.update_object(
        env.client,
        type_key=type_key,
        target_id=item.source_id,
        payload=item.payload,
        secrets=item.secrets,
        current=current,
    )
    assert again is False
    assert env.requests_since(mark) == []


def test_update_without_current_reads_but_never_writes_when_equal(env: Env) -> None:
    item = env.item("compliance_policy")
    mark = env.log_mark()
    assert not write.update_object(
        env.client, type_key=item.type_key, target_id=item.source_id, payload=item.payload
    )
    assert env.requests_since(mark) and env.writes_since(mark) == []


def test_settings_catalog_update_is_one_put_with_the_settings(env: Env) -> None:
    item = env.item("settings_catalog")
    _drift(env, item)
    mark = len(env.recorder.sent)
    write.update_object(
        env.client, type_key=item.type_key, target_id=item.source_id, payload=item.payload
    )
    writes = [(m, p, b) for m, p, b in env.recorder.sent[mark:] if m != "GET" and "$batch" not in p]
    assert [(m, p) for m, p, _ in writes] == [
        ("PUT", f"/beta/deviceManagement/configurationPolicies/{item.source_id}")
    ]
    assert len(writes[0][2]["settings"]) == len(item.payload["settings"])


def test_only_the_changed_part_is_written(env: Env) -> None:
    """A compliance policy whose actions alone drifted gets no PATCH (Graph would answer 400
    to a PATCH that changes nothing): only scheduleActionsForRules."""
    item = env.item("compliance_policy")
    live = env.live(item.type_key, item.source_id)
    assert live is not None
    for action in live["scheduledActionsForRule"][0]["scheduledActionConfigurations"]:
        action["gracePeriodHours"] = 99
    env.tenant.put_object(env.collection(item.type_key), live)
    mark = env.log_mark()
    assert write.update_object(
        env.client, type_key=item.type_key, target_id=item.source_id, payload=item.payload
    )
    assert env.writes_since(mark) == [
        (
            "POST",
            f"/beta/deviceManagement/deviceCompliancePolicies/{item.source_id}/scheduleActionsForRules",
            204,
        )
    ]
    _assert_same(_read(env, item.type_key, item.source_id), item)


def test_update_of_an_object_that_is_gone_is_a_clear_error(env: Env) -> None:
    item = env.item("device_configuration")
    env.tenant.delete_object(env.collection(item.type_key), item.source_id)
    with pytest.raises(write.WriteError, match="no longer exists"):
        write.update_object(
            env.client, type_key=item.type_key, target_id=item.source_id, payload=item.payload
        )


# --------------------------------------------------------------------------------------------
# Compliance block action
# --------------------------------------------------------------------------------------------


def _with_blocks(payload: dict[str, Any], blocks: int) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    (rule,) = payload["scheduledActionsForRule"]
    others = [a for a in rule["scheduledActionConfigurations"] if a["actionType"] != "block"]
    block = {
        "actionType": "block",
        "gracePeriodHours": 0,
        "notificationTemplateId": registry.EMPTY_GUID,
    }
    rule["scheduledActionConfigurations"] = [dict(block) for _ in range(blocks)] + others
    return payload


def test_compliance_create_carries_exactly_one_block_action(env: Env) -> None:
    item = env.item("compliance_policy")
    mark = len(env.recorder.sent)
    write.create_object(env.client, type_key=item.type_key, payload=item.payload)
    (body,) = [b for m, _, b in env.recorder.sent[mark:] if m == "POST"]
    actions = [
        a for r in body["scheduledActionsForRule"] for a in r["scheduledActionConfigurations"]
    ]
    assert [a["actionType"] for a in actions].count("block") == 1
    assert all("id" not in a for a in actions)


@pytest.mark.parametrize("blocks", [0, 2])
def test_compliance_without_exactly_one_block_action_is_refused_before_sending(
    env: Env, blocks: int
) -> None:
    item = env.item("compliance_policy")
    payload = _with_blocks(item.payload, blocks)
    mark = env.log_mark()
    with pytest.raises(write.InvalidPayloadError, match="exactly one"):
        write.create_object(env.client, type_key=item.type_key, payload=payload)
    missing = {k: v for k, v in item.payload.items() if k != "scheduledActionsForRule"}
    with pytest.raises(write.InvalidPayloadError, match="no scheduled actions"):
        write.create_object(env.client, type_key=item.type_key, payload=missing)
    assert env.requests_since(mark) == []


# --------------------------------------------------------------------------------------------
# OMA-URI secrets
# --------------------------------------------------------------------------------------------


def _plaintext(client: GraphClient, object_id: str, reference: str) -> str:
    body = client.get(
        f"deviceManagement/deviceConfigurations/{object_id}"
        f"/getOmaSettingPlainTextValue(secretReferenceValueId='{reference}')"
    )
    return str(body["value"])


def test_oma_secret_round_trip(env: Env) -> None:
    item = env.item("custom_oma_uri")
    assert item.secrets
    (seeded,) = [
        s["value"]
        for o in env.objects
        if o.get("@odata.type") == "#microsoft.graph.windows10CustomConfiguration"
        for s in o["omaSettings"]
        if s.get("isEncrypted")
    ]
    mark = len(env.recorder.sent)
    new_id = write.create_object(
        env.client, type_key=item.type_key, payload=item.payload, secrets=item.secrets
    )
    (body,) = [b for m, _, b in env.recorder.sent[mark:] if m == "POST"]
    sent = [s for s in body["omaSettings"] if s["value"] == seeded]
    assert sent and all(
        s["isEncrypted"] is False and s["secretReferenceValueId"] is None for s in sent
    )
    live = env.live(item.type_key, new_id)
    assert live is not None
    references = [s["secretReferenceValueId"] for s in live["omaSettings"] if s["isEncrypted"]]
    assert [_plaintext(env.client, new_id, ref) for ref in references] == [seeded]


def test_oma_secret_change_is_reverted(env: Env) -> None:
    item = env.item("custom_oma_uri")
    live = env.live(item.type_key, item.source_id)
    assert live is not None
    for setting in live["omaSettings"]:
        if setting["isEncrypted"]:
            setting["value"] = "rotated-in-the-portal"
            setting["secretReferenceValueId"] = None
    env.tenant.put_object(env.collection(item.type_key), live)
    assert write.update_object(
        env.client,
        type_key=item.type_key,
        target_id=item.source_id,
        payload=item.payload,
        secrets=item.secrets,
    )
    assert _read(env, item.type_key, item.source_id).secrets == item.secrets


def test_missing_oma_secret_names_the_setting_not_the_value(env: Env) -> None:
    item = env.item("custom_oma_uri")
    (key,) = item.secrets
    (uri,) = [s["omaUri"] for s in item.payload["omaSettings"] if s.get("isEncrypted")]
    mark = env.log_mark()
    for secrets in (None, {}):
        with pytest.raises(write.SecretMissingError) as caught:
            write.create_object(
                env.client, type_key=item.type_key, payload=item.payload, secrets=secrets
            )
        assert uri in str(caught.value) and caught.value.oma_uris == [uri]
        assert isinstance(caught.value, normalize.MissingSecretError)
        assert str(caught.value) == caught.value.args[0]  # not quoted like a KeyError
        assert item.secrets[key] not in str(caught.value)
    assert env.requests_since(mark) == []


# --------------------------------------------------------------------------------------------
# Administrative templates never lose settings
# --------------------------------------------------------------------------------------------


def test_admin_template_update_keeps_settings_the_backup_lacks(env: Env) -> None:
    item = env.item("administrative_template")
    smaller = copy.deepcopy(item.payload)
    dropped = smaller["definitionValues"].pop()
    smaller["definitionValues"][0]["enabled"] = not smaller["definitionValues"][0]["enabled"]
    mark = len(env.recorder.sent)
    warnings: list[str] = []
    assert write.update_object(
        env.client,
        type_key=item.type_key,
        target_id=item.source_id,
        payload=smaller,
        warnings=warnings,
    )
    (body,) = [b for m, p, b in env.recorder.sent[mark:] if p.endswith("/updateDefinitionValues")]
    assert body["deletedIds"] == [] and body["added"] == [] and len(body["updated"]) == 1
    live = _read(env, item.type_key, item.source_id)
    assert dropped["definition"]["id"] in {
        v["definition"]["id"] for v in live.payload["definitionValues"]
    }
    assert len(warnings) == 1 and dropped["definition"]["displayName"] in warnings[0]
    assert not [m for m, p, _ in env.recorder.sent[mark:] if m == "PATCH"]


def test_admin_template_update_adds_missing_definition_values(env: Env) -> None:
    item = env.item("administrative_template")
    live = env.live(item.type_key, item.source_id)
    assert live is not None
    live["definitionValues"] = live["definitionValues"][:1]
    env.tenant.put_object(env.collection(item.type_key), live)
    assert write.update_object(
        env.client, type_key=item.type_key, target_id=item.source_id, payload=item.payload
    )
    _assert_same(_read(env, item.type_key, item.source_id), item)


def test_notification_template_update_keeps_extra_locales(env: Env) -> None:
    item = env.item("notification_template")
    live = env.live(item.type_key, item.source_id)
    assert live is not None
    extra = dict(
        live["localizedNotificationMessages"][0],
        locale="fr-fr",
        id=None,
        subject="Bonjour",
        isDefault=False,
    )
    live["localizedNotificationMessages"].append(extra)
    env.tenant.put_object(env.collection(item.type_key), live)
    warnings: list[str] = []
    mark = env.log_mark()
    assert not write.update_object(
        env.client,
        type_key=item.type_key,
        target_id=item.source_id,
        payload=item.payload,
        warnings=warnings,
    )
    assert env.writes_since(mark) == []
    assert warnings and "fr-fr" in warnings[0]


# --------------------------------------------------------------------------------------------
# Assign
# --------------------------------------------------------------------------------------------


def test_assign_sends_only_targets_and_type_settings(env: Env) -> None:
    item = env.item("remediation_script")
    mark = len(env.recorder.sent)
    write.assign_object(
        env.client,
        type_key=item.type_key,
        target_id=item.source_id,
        assignments=item.assignments or [],
    )
    (body,) = [b for m, _, b in env.recorder.sent[mark:] if m == "POST"]
    (sent,) = body.values()
    assert list(body) == ["deviceHealthScriptAssignments"]
    assert sent and all(set(a) == {"target", "runRemediationScript", "runSchedule"} for a in sent)
    assert env.emu.request_log[-1].status == 204

    compliance = env.item("compliance_policy")
    write.assign_object(
        env.client,
        type_key=compliance.type_key,
        target_id=compliance.source_id,
        assignments=compliance.assignments or [],
    )
    method, path, body = env.recorder.sent[-1]
    assert method == "POST"
    assert path.endswith("/assign") and list(body) == ["assignments"]
    assert all(set(a) == {"target"} for a in body["assignments"])
    assert env.emu.request_log[-1].status == 200


def test_assign_replaces_the_list(env: Env) -> None:
    item = env.item("settings_catalog")
    assert item.assignments and len(item.assignments) > 1
    write.assign_object(
        env.client,
        type_key=item.type_key,
        target_id=item.source_id,
        assignments=item.assignments[:1],
    )
    live = _read(env, item.type_key, item.source_id)
    assert normalize.normalize_assignments(
        live.assignments or []
    ) == normalize.normalize_assignments(item.assignments[:1])


def test_autopilot_assignments_are_never_created_twice(env: Env) -> None:
    item = env.item("autopilot_profile")
    assert item.assignments
    env.tenant.delete_object(env.collection(item.type_key), item.source_id)
    new_id = write.create_object(env.client, type_key=item.type_key, payload=item.payload)
    path = f"/beta/deviceManagement/windowsAutopilotDeploymentProfiles/{new_id}/assignments"

    mark = env.log_mark()
    write.assign_object(
        env.client, type_key=item.type_key, target_id=new_id, assignments=item.assignments
    )
    assert env.writes_since(mark) == [("POST", path, 201)] * len(item.assignments)

    mark = env.log_mark()
    write.assign_object(
        env.client, type_key=item.type_key, target_id=new_id, assignments=item.assignments
    )
    assert env.requests_since(mark) == [("GET", path, 200)]
    live = _read(env, item.type_key, new_id)
    assert len(live.assignments or []) == len(item.assignments)
    assert normalize.normalize_assignments(
        live.assignments or []
    ) == normalize.normalize_assignments(item.assignments)


def test_autopilot_keeps_assignments_the_backup_lacks(env: Env) -> None:
    item = env.item("autopilot_profile")
    assert item.assignments
    warnings: list[str] = []
    mark = env.log_mark()
    write.assign_object(
        env.client,
        type_key=item.type_key,
        target_id=item.source_id,
        assignments=item.assignments[:1],
        warnings=warnings,
    )
    assert env.writes_since(mark) == []
    if len(item.assignments) > 1:
        assert warnings and str(item.assignments[1]["target"]["groupId"]) in warnings[0]
    assert len(_read(env, item.type_key, item.source_id).assignments or []) == len(item.assignments)


# --------------------------------------------------------------------------------------------
# What is never written
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_key", ["conditional_access", "enrollment_restriction"])
def test_preview_only_types_refuse_every_write(env: Env, type_key: str) -> None:
    item = env.item(type_key)
    assert not write.is_writable(type_key)
    assert not write.is_writable(type_key, item.payload)
    mark = env.log_mark()
    with pytest.raises(write.NotWritableError, match="preview-only"):
        write.create_object(env.client, type_key=type_key, payload=item.payload)
    with pytest.raises(write.NotWritableError, match="preview-only"):
        write.update_object(
            env.client, type_key=type_key, target_id=item.source_id, payload=item.payload
        )
    with pytest.raises(write.NotWritableError):
        write.assign_object(env.client, type_key=type_key, target_id=item.source_id, assignments=[])
    assert env.requests_since(mark) == []


def test_unsupported_and_unknown_types_are_not_writable() -> None:
    assert not write.is_writable("unsupported")
    assert not write.is_writable("no_such_type")
    with pytest.raises(write.NotWritableError):
        write.create_object(None, type_key="unsupported", payload={"displayName": "x"})  # type: ignore[arg-type]


def test_the_builtin_scope_tag_is_never_written(env: Env) -> None:
    (builtin,) = [i for i in env.items("scope_tag") if i.source_id == "0"]
    custom = next(i for i in env.items("scope_tag") if i.source_id != "0")
    assert write.is_writable("scope_tag")
    assert write.is_writable("scope_tag", custom.payload)
    assert not write.is_writable("scope_tag", builtin.payload)
    assert not write.is_writable("scope_tag", {"displayName": "Default", "isBuiltIn": True})
    mark = env.log_mark()
    with pytest.raises(write.NotWritableError, match="built-in"):
        write.create_object(env.client, type_key="scope_tag", payload=builtin.payload)
    with pytest.raises(write.NotWritableError, match="built-in"):
        write.update_object(
            env.client, type_key="scope_tag", target_id="0", payload=builtin.payload
        )
    assert env.requests_since(mark) == []


def test_a_child_write_failure_after_create_reports_the_new_id(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = env.item("notification_template")
    original_post = env.client.post

    def post(path: str, *, json: Any = None) -> Any:
        if path.endswith("/localizedNotificationMessages"):
            raise ServerError("boom", status=500)
        return original_post(path, json=json)

    monkeypatch.setattr(env.client, "post", post)
    with pytest.raises(write.PartialWriteError) as caught:
        write.create_object(env.client, type_key=item.type_key, payload=item.payload)
    assert env.live(item.type_key, caught.value.target_id) is not None
    assert caught.value.target_id in str(caught.value)


def test_a_child_write_failing_unexpectedly_never_quotes_its_text(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception's text may carry payload values; the message names its type."""
    item = env.item("notification_template")
    original_post = env.client.post

    def post(path: str, *, json: Any = None) -> Any:
        if path.endswith("/localizedNotificationMessages"):
            raise ValueError(f"cannot encode {json!r}")  # quotes the body
        return original_post(path, json=json)

    monkeypatch.setattr(env.client, "post", post)
    with pytest.raises(write.PartialWriteError) as caught:
        write.create_object(env.client, type_key=item.type_key, payload=item.payload)
    message = str(caught.value)
    assert "ValueError" in message and caught.value.target_id in message
    assert "cannot encode" not in message and "messageTemplate" not in message


@pytest.mark.parametrize(
    ("type_key", "gap"),
    [
        ("settings_catalog", {"settings": None}),
        ("endpoint_security", {"settings": None}),
        ("administrative_template", {"definitionValues": None}),
        ("notification_template", {"localizedNotificationMessages": None}),
        ("ios_app_protection", {"apps": None}),
        ("powershell_script", {"scriptContent": None}),
        ("remediation_script", {"detectionScriptContent": None, "remediationScriptContent": None}),
    ],
)
def test_an_item_captured_incompletely_is_never_written(
    env: Env, type_key: str, gap: dict[str, Any]
) -> None:
    """Capture marks a failed per-item read with None: writing that would create (or PUT) a
    policy without its settings or script."""
    item = env.item(type_key)
    payload = {**item.payload, **gap}
    mark = env.log_mark()
    with pytest.raises(write.InvalidPayloadError, match="could not be read"):
        write.create_object(env.client, type_key=type_key, payload=payload)
    with pytest.raises(write.InvalidPayloadError, match="could not be read"):
        write.update_object(
            env.client,
            type_key=type_key,
            target_id=item.source_id,
            payload=payload,
            current=item,
        )
    assert env.requests_since(mark) == []


def test_update_across_kinds_of_profile_is_refused_before_sending(env: Env) -> None:
    first = env.item("device_configuration")
    other = next(
        i
        for i in env.items("device_configuration")
        if i.payload["@odata.type"] != first.payload["@odata.type"]
    )
    mark = env.log_mark()
    with pytest.raises(write.InvalidPayloadError, match="change an object's kind"):
        write.update_object(
            env.client,
            type_key=first.type_key,
            target_id=other.source_id,
            payload=first.payload,
            current=other,
        )
    assert env.requests_since(mark) == []


@pytest.mark.skipif(
    not os.environ.get(CORPUS_ENV), reason=f"set {CORPUS_ENV} to the corpus of real exports"
)
def test_every_corpus_object_is_reproduced_by_a_restore() -> None:
    objects = load_seed_dir(Path(os.environ[CORPUS_ENV]))
    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    tenant = emu.add_tenant(tenant_id="corpus", token=TOKEN, seed_objects=objects)
    with make_client(emu, TOKEN) as client:
        backup = [e for e in iter_capture(client) if isinstance(e, CapturedItem)]
        corpus_ids = {str(obj.get("id")) for _, obj in objects}
        restored = 0
        for item in backup:
            # the corpus's own objects (not what every tenant holds: defaults, settings)
            if item.source_id not in corpus_ids:
                continue
            if not write.is_writable(item.type_key, item.payload):
                continue
            tenant.delete_object(registry.get(item.type_key).collection, item.source_id)
            new_id = write.create_object(
                client, type_key=item.type_key, payload=item.payload, secrets=item.secrets
            )
            write.assign_object(
                client,
                type_key=item.type_key,
                target_id=new_id,
                assignments=item.assignments or [],
            )
            again = target.read_one(client, type_key=item.type_key, object_id=new_id)
            assert again is not None
            _assert_same(again, item)
            restored += 1
    assert restored >= 20
    assert not [e for e in emu.request_log if e.method == "DELETE"]


def test_a_whole_tenant_restore_under_throttling_creates_each_object_once(env: Env) -> None:
    """Delete everything writable, then restore it the way the executor does (foundations
    first, their new ids rewritten into the policies) while half the writes answer 429 (not
    processed): the client's retries complete every write and each object exists once."""
    env.tenant.faults = FaultConfig(
        error_rates={"POST": 0.5, "PATCH": 0.5, "PUT": 0.5}, error_statuses=(429,), seed=7
    )
    clock = FakeClock()
    client = GraphClient(
        graph_url="https://graph.microsoft.com",
        token_provider=StaticTokenProvider(TOKEN),
        transport=env.emu.transport(),
        retry=RetryPolicy(max_attempts=30, budget_seconds=3600),
        clock=clock,
    )
    items = [i for i in env.backup if write.is_writable(i.type_key, i.payload)]
    assert [registry.get(i.type_key).is_foundation for i in items] == sorted(
        (registry.get(i.type_key).is_foundation for i in items), reverse=True
    ), "foundations come first"
    foundation_ids: dict[str, dict[str, str]] = {}

    # Objects TenantGuard never creates (apps with uploaded content or synced from a store)
    # stay, matched in place as the executor matches them in their own tenant.
    # A tenant's defaults (every tenant has them) are updated in place, never created.
    def never_created(item: CapturedItem) -> bool:
        ptype = registry.get(item.type_key)
        return ptype.create_limit_for(item.payload) is not None or ptype.is_tenant_default(
            item.payload
        )

    for item in items:
        if never_created(item):
            foundation_ids.setdefault(item.type_key, {})[item.source_id] = item.source_id
    items = [i for i in items if not never_created(i)]
    for item in items:
        env.tenant.delete_object(env.collection(item.type_key), item.source_id)
    expected: dict[str, CapturedItem] = {}
    with client:
        for item in items:
            rewritten = references.rewrite(
                type_key=item.type_key,
                payload=item.payload,
                assignments=item.assignments,
                scope_tag_ids=item.scope_tag_ids,
                resolver=StaticResolver({}, foundation_ids),
            )
            # Only groups stay as they are (same tenant): every foundation was recreated.
            assert {r.kind for r in rewritten.unresolved} <= {"group"}
            new_id = write.create_object(
                client, type_key=item.type_key, payload=rewritten.payload, secrets=item.secrets
            )
            write.assign_object(
                client,
                type_key=item.type_key,
                target_id=new_id,
                assignments=rewritten.assignments or [],
            )
            if registry.get(item.type_key).is_foundation:
                foundation_ids.setdefault(item.type_key, {})[item.source_id] = new_id
            expected[new_id] = dataclasses.replace(
                item,
                payload=rewritten.payload,
                assignments=rewritten.assignments,
                scope_tag_ids=rewritten.scope_tag_ids,
            )
    assert clock.sleeps and [e for e in env.emu.request_log if e.status == 429]
    env.tenant.faults = FaultConfig()
    for new_id, item in expected.items():
        named = [
            o
            for o in env.tenant.list_objects(env.collection(item.type_key))
            if registry.display_name_of(registry.get(item.type_key), o) == item.display_name
        ]
        assert [o["id"] for o in named] == [new_id], item.display_name
        _assert_same(_read(env, item.type_key, new_id), item)


def test_multi_admin_approval_is_raised_as_approval_required(env: Env) -> None:
    env.tenant.faults = FaultConfig(approval_required=True)
    item = env.item("settings_catalog")
    with pytest.raises(ApprovalRequiredError):
        write.create_object(env.client, type_key=item.type_key, payload=item.payload)


def test_a_lost_autopilot_assignment_answer_waits_before_looking():
    """After an unclear answer Graph may still apply the POST: list only after settling, and
    send nothing again when the assignment is there."""
    from tenantguard.graph import OutcomeUnknownError, RetryPolicy
    from tenantguard.intune import write as write_module

    target = {
        "@odata.type": "#microsoft.graph.groupAssignmentTarget",
        "groupId": "11111111-1111-1111-1111-111111111111",
    }

    class Clock:
        slept: list[float] = []

        def monotonic(self) -> float:
            return 0.0

        def sleep(self, seconds: float) -> None:
            self.slept.append(seconds)

    class Client:
        retry = RetryPolicy()
        clock = Clock()
        posts = 0

        def post(self, path, *, json):
            Client.posts += 1
            raise OutcomeUnknownError("Graph answered 504", status=504, method="POST")

        def iter_collection(self, path):
            # listed after the wait: the late POST was applied meanwhile
            return [{"id": "a1", "target": target}] if Clock.slept else []

    key = write_module._target_key({"target": target})
    write_module._post_assignment_once(Client(), "/beta/x/assignments", {"target": target}, key)

    assert Client.posts == 1
    assert Clock.slept == [write_module.UNCLEAR_ANSWER_SETTLE_SECONDS]
