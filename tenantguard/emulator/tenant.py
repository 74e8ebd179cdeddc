"""One emulated tenant: its objects, app registrations, permissions and fault settings."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tenantguard.emulator import (
    setting_definitions,
    traits_apple_enrollment,
    traits_endpoint,
    traits_enrollment,
)
from tenantguard.emulator.config import FaultConfig
from tenantguard.emulator.credentials import (
    APPLICATIONS,
    AppCertificate,
    AppRegistration,
    CredentialError,
    application_registration,
)
from tenantguard.emulator.faults import FaultInjector
from tenantguard.emulator.odata import project, strip_annotations
from tenantguard.emulator.resources import (
    ALL_DEVICES_ID,
    ALL_USERS_ID,
    BUILTIN_OBJECTS,
    BY_COLLECTION,
    MANAGED_APP_POLICIES,
    ResourceSpec,
)
from tenantguard.emulator.seed import SeedError, collection_of, load_seed_dir
from tenantguard.emulator.store import ObjectStore

# Server-managed properties: ignored when a client sends them (documented in README.md).
SERVER_MANAGED = ("id", "createdDateTime", "lastModifiedDateTime", "version")
INTUNE_READ_ONLY = (
    "supportsScopeTags",
    "isAssigned",
    "creationSource",
    "settingCount",
    "highestAvailableVersion",
    "isGlobalScript",
    "isBuiltIn",
    "deployedAppCount",
)
SEALED_OMA_TYPES = frozenset(
    {"#microsoft.graph.omaSettingString", "#microsoft.graph.omaSettingStringXml"}
)
_ZERO_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass
class ClientApp:
    """An app registration allowed to get tokens for the tenant.

    ``credentials_registered`` False (apps added with only a ``client_secret``): the token
    endpoint checks that secret and accepts any ``client_assertion`` naming the app, unverified.
    True (certificates given, or the app seeded as an ``application``): it checks like Entra ID:
    a secret must be one of ``secrets``, an assertion must be signed by one of ``certificates``.
    """

    client_id: str
    client_secret: str | None
    token: str
    certificates: list[AppCertificate] = field(default_factory=list)
    extra_secrets: list[str] = field(default_factory=list)
    credentials_registered: bool = False

    @property
    def secrets(self) -> list[str]:
        """Every secret the app accepts (``client_secret`` first)."""
        return [s for s in (self.client_secret, *self.extra_secrets) if s]

    def register(self, registration: AppRegistration) -> None:
        """Take the credentials of a seeded application (they replace the app's own)."""
        secrets = list(registration.secrets)
        self.client_secret = secrets.pop(0) if secrets else None
        self.extra_secrets = secrets
        self.certificates = list(registration.certificates)
        self.credentials_registered = True


def resource_spec(collection: str) -> ResourceSpec:
    try:
        return BY_COLLECTION[collection.strip("/")]
    except KeyError:
        known = ", ".join(sorted(BY_COLLECTION))
        raise KeyError(f"unknown collection {collection!r}; known: {known}") from None


GROUP_POLICY_CONFIGURATIONS = "deviceManagement/groupPolicyConfigurations"


class GroupPolicyCatalog:
    """Microsoft's catalogue of administrative-template definitions and presentations.

    In Graph it is global (``deviceManagement/groupPolicyDefinitions``) and the same in every
    tenant, and ``$expand=definition`` returns the whole definition. The emulator learns the
    catalogue from the expanded definitions in seeded and stored configurations, so a value bound
    by ``definition@odata.bind`` expands to the same definition a real tenant would return.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.definitions: dict[str, dict[str, Any]] = {}
        self.presentations: dict[str, dict[str, Any]] = {}

    def learn(self, configuration: dict[str, Any]) -> None:
        with self._lock:
            for value in configuration.get("definitionValues") or []:
                definition = value.get("definition")
                if isinstance(definition, dict) and definition.get("id") and len(definition) > 1:
                    self.definitions[str(definition["id"])] = copy.deepcopy(definition)
                for presentation_value in value.get("presentationValues") or []:
                    presentation = presentation_value.get("presentation")
                    if (
                        isinstance(presentation, dict)
                        and presentation.get("id")
                        and len(presentation) > 1
                    ):
                        self.presentations[str(presentation["id"])] = copy.deepcopy(presentation)

    def definition(self, definition_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.definitions.get(definition_id, {"id": definition_id}))

    def presentation(self, presentation_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.presentations.get(presentation_id, {"id": presentation_id}))


POLICY_CATALOG = GroupPolicyCatalog()


class Tenant:
    """State of one tenant. Python-side methods return the objects as Graph shows them with
    every navigation property expanded (the seed format), never the stored secrets."""

    def __init__(
        self,
        *,
        tenant_id: str,
        store: ObjectStore,
        lock: threading.RLock,
        faults: FaultConfig,
        denied_permissions: Iterable[str] = (),
        seed_dir: Path | None = None,
        seed_objects: Iterable[tuple[str, dict[str, Any]] | dict[str, Any]] | None = None,
        oma_secret_placeholder: str | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.clients: dict[str, ClientApp] = {}
        self.denied_permissions: set[str] = set(denied_permissions)
        self._store = store
        self._lock = lock
        self._seed_dir = seed_dir
        self._seed_objects = list(seed_objects or [])
        self._last_stamp: datetime | None = None
        self._oma_secret_placeholder = oma_secret_placeholder
        self.fault_injector = FaultInjector(faults)
        # The setting definitions its objects name (setting_definitions.py; learnt lazily).
        self.setting_definitions = setting_definitions.TenantDefinitions()
        seed = self._seed_entries(missing_dir_ok=self._store.initialized)
        # App registrations in the seed: credentials, not Graph objects (read on every start).
        self.app_registrations: list[AppRegistration] = [
            _registration(obj) for collection, obj in seed if collection == APPLICATIONS
        ]
        with self._lock, self._store.bulk():
            if not self._store.initialized:
                self._populate(seed)
            for stored in self._store.list(GROUP_POLICY_CONFIGURATIONS):
                POLICY_CATALOG.learn(stored)

    # --- public, Python-side -----------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        return self.fault_injector.config

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self.fault_injector = FaultInjector(config)

    def add_client(
        self,
        *,
        client_id: str,
        client_secret: str | None,
        token: str,
        certificates: Iterable[AppCertificate] = (),
    ) -> ClientApp:
        certificates = list(certificates)
        client = ClientApp(
            client_id=client_id,
            client_secret=client_secret,
            token=token,
            certificates=certificates,
            credentials_registered=bool(certificates),
        )
        self.clients[client_id] = client
        return client

    def get_object(self, collection: str, object_id: str) -> dict[str, Any] | None:
        with self._lock:
            if nested := traits_apple_enrollment.nested_collection(collection):
                return traits_apple_enrollment.nested_get(self, *nested, object_id)
            spec = resource_spec(collection)
            stored = self._store.get(spec.collection, object_id)
            return None if stored is None else project(stored, spec.navigation, spec.navigation)

    def list_objects(self, collection: str) -> list[dict[str, Any]]:
        with self._lock:
            if nested := traits_apple_enrollment.nested_collection(collection):
                return traits_apple_enrollment.nested_list(self, *nested)
            if collection.strip("/") == MANAGED_APP_POLICIES:
                return [
                    obj
                    for name in ("iosManagedAppProtections", "androidManagedAppProtections")
                    for obj in self.list_objects(f"deviceAppManagement/{name}")
                ]
            spec = resource_spec(collection)
            return [
                project(obj, spec.navigation, spec.navigation)
                for obj in self._store.list(spec.collection)
            ]

    def put_object(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (seed format) as if an admin had written it in the portal: a missing
        id is assigned; a new object keeps the stamps it carries (missing ones are filled in),
        a replaced one gets ``lastModifiedDateTime`` = now and the next ``version``."""
        with self._lock:
            if nested := traits_apple_enrollment.nested_collection(collection):
                return traits_apple_enrollment.nested_put(self, *nested, obj)
            spec = resource_spec(collection)
            previous = self._store.get(spec.collection, str(obj.get("id", "")))
            stored = self.ingest(spec, obj, previous=previous)
            if previous is not None:
                self.stamp_write(spec, stored, previous=previous)
            self.save(spec, stored)
            return project(stored, spec.navigation, spec.navigation)

    def delete_object(self, collection: str, object_id: str) -> bool:
        with self._lock:
            if nested := traits_apple_enrollment.nested_collection(collection):
                return traits_apple_enrollment.nested_delete(self, *nested, object_id)
            return self._store.delete(resource_spec(collection).collection, object_id)

    def reset(self) -> None:
        """Forget every object and load the built-ins and the seed again."""
        with self._lock, self._store.bulk():
            self._store.clear()
            self.setting_definitions.forget()
            self._populate(self._seed_entries())

    # --- internals used by the request handlers ------------------------------------------

    def stored(self, spec: ResourceSpec, object_id: str) -> dict[str, Any] | None:
        return self._store.get(spec.collection, object_id)

    def stored_list(self, spec: ResourceSpec) -> list[dict[str, Any]]:
        return self._store.list(spec.collection)

    def save(self, spec: ResourceSpec, obj: dict[str, Any]) -> None:
        if spec.collection == GROUP_POLICY_CONFIGURATIONS:
            POLICY_CATALOG.learn(obj)
        if setting_definitions.TRAITS & spec.traits:
            usage = setting_definitions.usage_of(spec.collection)
            self.setting_definitions.learn(obj, usage=usage)
        self._store.save(spec.collection, obj)

    def remove(self, spec: ResourceSpec, object_id: str) -> bool:
        return self._store.delete(spec.collection, object_id)

    def new_id(self, spec: ResourceSpec) -> str:
        if "singleton" in spec.traits:  # one object per tenant (traits_tenant_admin)
            return spec.collection.rsplit("/", 1)[-1]
        if "scope_tags" in spec.traits:
            numbers = [int(o["id"]) for o in self._store.list(spec.collection) if o["id"].isdigit()]
            return str(max(numbers, default=0) + 1)
        if "app_protection" in spec.traits:
            return f"T_{uuid.uuid4()}"  # Intune's id form for targeted app protections
        return str(uuid.uuid4())

    def now(self) -> str:
        """Graph-style UTC timestamp, strictly increasing within the tenant."""
        stamp = datetime.now(UTC)
        if self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = self._last_stamp + timedelta(microseconds=1)
        self._last_stamp = stamp
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"

    def stamp_new(self, spec: ResourceSpec, obj: dict[str, Any]) -> None:
        now = self.now()
        if spec.has_created:
            obj["createdDateTime"] = now
        if spec.versioned:
            obj["lastModifiedDateTime"] = now
            if spec.has_version:
                obj["version"] = _next_version(None, etag="app_protection" in spec.traits)
            else:
                obj.pop("version", None)

    def stamp_write(
        self, spec: ResourceSpec, obj: dict[str, Any], *, previous: dict[str, Any] | None
    ) -> None:
        if not spec.versioned:
            return
        obj["lastModifiedDateTime"] = self.now()
        if not spec.has_version:
            return
        base = (previous or obj).get("version")
        obj["version"] = _next_version(base, etag="app_protection" in spec.traits)

    def fill_server_properties(
        self, spec: ResourceSpec, obj: dict[str, Any], *, previous: dict[str, Any] | None = None
    ) -> None:
        """The properties Graph fills in on a created (or PUT-replaced) object that its body
        did not carry (``ResourceSpec.server_filled``, per ``@odata.type`` too): a replaced
        object keeps its previous server state, a new one gets the portal's initial values.
        ``isAssigned`` follows the assignments."""
        # The @odata.type's own values first: they win over the collection's.
        filled = list(spec.type_server_filled.get(str(obj.get("@odata.type", "")), ()))
        filled += spec.server_filled
        for name, default in filled:
            if name == "isAssigned":
                obj[name] = bool(obj.get("assignments"))
            elif name not in obj:
                source = previous if previous is not None and name in previous else None
                value = source[name] if source is not None else default
                obj[name] = copy.deepcopy(value)

    def ingest(
        self,
        spec: ResourceSpec,
        obj: dict[str, Any],
        *,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Normalise an object (seed, Python-side put or validated request body) into the
        stored form: annotations stripped, child ids assigned, OMA secrets sealed."""
        stored: dict[str, Any] = strip_annotations(copy.deepcopy(obj))
        for key in [k for k in stored if k.startswith("__")]:
            del stored[key]
        stored.setdefault("id", previous["id"] if previous else self.new_id(spec))
        stored["id"] = str(stored["id"])
        if previous is None:
            if "createdDateTime" not in stored and spec.has_created:
                stored["createdDateTime"] = self.now()
            if spec.versioned:
                stored.setdefault("lastModifiedDateTime", stored.get("createdDateTime", self.now()))
                if spec.has_version:
                    stored.setdefault(
                        "version", _next_version(None, etag="app_protection" in spec.traits)
                    )
        for nav in spec.navigation:
            value = stored.get(nav)
            if value is None:
                value = copy.deepcopy(previous.get(nav, [])) if previous else []
            stored[nav] = value
        self._normalise_children(spec, stored)
        if "oma_secrets" in spec.traits:
            seal_oma_settings(stored, previous, placeholder=self._oma_secret_placeholder)
        return stored

    def _normalise_children(self, spec: ResourceSpec, obj: dict[str, Any]) -> None:
        object_id = obj["id"]
        if "assignments" in spec.navigation:
            obj["assignments"] = [
                self.make_assignment(spec, object_id, a) for a in obj["assignments"]
            ]
        if "settings_catalog" in spec.traits:
            for index, setting in enumerate(obj["settings"]):
                setting.setdefault("id", str(index))
            obj["settingCount"] = len(obj["settings"])
        if "compliance_actions" in spec.traits:
            for rule in obj["scheduledActionsForRule"]:
                rule.setdefault("id", str(uuid.uuid4()))
                for item in rule.setdefault("scheduledActionConfigurations", []):
                    item.setdefault("id", str(uuid.uuid4()))
                    item.setdefault("notificationTemplateId", _ZERO_GUID)
                    item.setdefault("notificationMessageCCList", [])
        if "admin_templates" in spec.traits:
            for value in obj["definitionValues"]:
                value.setdefault("id", str(uuid.uuid4()))
                for presentation in value.setdefault("presentationValues", []):
                    presentation.setdefault("id", str(uuid.uuid4()))
        if "app_protection" in spec.traits:
            obj["apps"] = [normalise_app(app, spec) for app in obj["apps"]]
            obj["deployedAppCount"] = len(obj["apps"])
        if "localizedNotificationMessages" in spec.navigation:
            for message in obj["localizedNotificationMessages"]:
                message.setdefault("id", f"{object_id}_{message.get('locale', uuid.uuid4())}")
        traits_endpoint.normalise(self, spec, obj)  # intents, settings catalog compliance

    def make_assignment(
        self, spec: ResourceSpec, object_id: str, item: dict[str, Any]
    ) -> dict[str, Any]:
        target = item.get("target") or {}
        out: dict[str, Any] = {"id": item.get("id") or assignment_id(spec, object_id, target)}
        defaults = {"source": "direct", "sourceId": object_id, "intent": "apply"}
        for name in spec.assignment_fields:
            out[name] = item.get(name) or defaults[name]
        for key, value in item.items():
            if key not in out and key not in ("source", "sourceId", "intent"):
                out[key] = value
        return out

    def _seed_entries(self, *, missing_dir_ok: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """``(collection, object)`` of the seed directory, then of ``seed_objects``."""
        entries: list[tuple[str, dict[str, Any]]] = []
        if self._seed_dir is not None and not (missing_dir_ok and not self._seed_dir.is_dir()):
            entries.extend(load_seed_dir(self._seed_dir))
        for entry in self._seed_objects:
            if isinstance(entry, tuple):
                entries.append(entry)
            else:
                entries.append((collection_of(entry, source="seed_objects"), entry))
        return entries

    def _populate(self, seed: list[tuple[str, dict[str, Any]]]) -> None:
        # Intune's default enrollment configurations carry the tenant's own account id.
        builtins = traits_enrollment.builtins_for_tenant(
            BUILTIN_OBJECTS, self.tenant_id, seed, traits_enrollment.COLLECTIONS
        )
        for collection, obj in builtins:
            spec = BY_COLLECTION[collection]
            self.save(spec, self.ingest(spec, obj))
        children = []
        for collection, obj in seed:
            if collection == APPLICATIONS:
                continue
            if nested := traits_apple_enrollment.nested_collection(collection):
                children.append((nested, obj))  # after their parents
                continue
            spec = resource_spec(collection)
            self.save(spec, self.ingest(spec, obj))
        for (parent_spec, nav), obj in children:
            traits_apple_enrollment.nested_put(self, parent_spec, nav, obj)
        self._store.mark_initialized()


def _registration(obj: dict[str, Any]) -> AppRegistration:
    try:
        return application_registration(obj, source=f"application {obj.get('appId')!r}")
    except CredentialError as exc:
        raise SeedError(str(exc)) from exc


def _next_version(previous: Any, *, etag: bool) -> Any:
    if isinstance(previous, bool):
        previous = None
    if isinstance(previous, int):
        return previous + 1
    if isinstance(previous, str) or etag:
        return f'"{uuid.uuid4().hex[:8]}-0000-0d00-0000-{uuid.uuid4().hex[:12]}"'
    return 1


def assignment_id(spec: ResourceSpec, object_id: str, target: dict[str, Any]) -> str:
    target_type = str(target.get("@odata.type", ""))
    if "allDevices" in target_type:
        key = ALL_DEVICES_ID
    elif "allLicensedUsers" in target_type:
        key = ALL_USERS_ID
    else:
        key = str(target.get("groupId") or target.get("collectionId") or uuid.uuid4())
    if "exclusion" in target_type:
        key += "_exclude"
    separator = ":" if spec.assign and "Script" in spec.assign.body_key else "_"
    return f"{object_id}{separator}{key}"


def normalise_app(app: dict[str, Any], spec: ResourceSpec) -> dict[str, Any]:
    out = dict(app)
    if not out.get("id"):
        identifier = out.get("mobileAppIdentifier") or {}
        # Graph names a targeted app "<bundle or package id>.<platform>"; a collection of one
        # platform (iOS/Android protections) says it, else the identifier's kind does.
        kind = str(identifier.get("@odata.type") or "").lower()
        if "ios" in spec.collection.lower() or "ios" in kind:
            suffix = "ios"
        elif "windows" in spec.collection.lower() or "windows" in kind:
            suffix = "windows"
        else:
            suffix = "android"
        name = (
            identifier.get("bundleId")
            or identifier.get("packageId")
            or identifier.get("windowsAppId")
            or uuid.uuid4()
        )
        out["id"] = f"{name}.{suffix}"
    return out


def seal_oma_settings(
    obj: dict[str, Any], previous: dict[str, Any] | None, *, placeholder: str | None = None
) -> None:
    """Store OMA-URI secret plaintexts privately and show the reference form.

    A string setting (or any with ``isEncrypted: true``) comes back as
    ``{"isEncrypted": true, "secretReferenceValueId": "<id>", "value": null}`` (or the
    configured placeholder, e.g. ``"****"``, instead of null); the plaintext
    is served by ``getOmaSettingPlainTextValue``. Sending the reference form back keeps the
    secret; sending the same plaintext again keeps the same reference id.
    """
    old_secrets: dict[str, str] = dict((previous or {}).get("__secrets", {}))
    old_by_uri = {
        s.get("omaUri"): s for s in (previous or {}).get("omaSettings") or [] if isinstance(s, dict)
    }
    secrets: dict[str, str] = {}
    for setting in obj.get("omaSettings") or []:
        if not isinstance(setting, dict):
            continue
        sealed = (
            setting.get("isEncrypted") is True or setting.get("@odata.type") in SEALED_OMA_TYPES
        )
        if not sealed:
            continue
        value = setting.get("value")
        ref = setting.get("secretReferenceValueId")
        if value is not None and value not in ("****", placeholder):
            old = old_by_uri.get(setting.get("omaUri")) or {}
            old_ref = old.get("secretReferenceValueId")
            ref = old_ref if old_ref and old_secrets.get(old_ref) == value else str(uuid.uuid4())
            secrets[ref] = str(value)
        elif ref and ref in old_secrets:
            secrets[ref] = old_secrets[ref]
        setting["isEncrypted"] = True
        setting["secretReferenceValueId"] = ref
        setting["value"] = placeholder
    obj["__secrets"] = secrets
