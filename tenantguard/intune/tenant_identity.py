"""A tenant's own identifiers (Entra tenant ID, verified domains) inside policy payloads.

Payloads carry the identifiers of the tenant they were captured from: Windows Hello for Business
(``device_vendor_msft_passportforwork_{tenantid}_tenantid`` and OMA-URI paths
``./Device/Vendor/MSFT/PassportForWork/<tenant id>/…``), OneDrive Known Folder Move
(``KFMSilentOptIn`` / ``kfmoptinnowizard`` take the tenant ID), SharePoint URLs
(``https://contoso.sharepoint.com``, ``contoso-my.sharepoint.com``) and ``*.onmicrosoft.com``
names. Restored into another tenant they point at the wrong tenant, so a cross-tenant restore
finds them (``find_identifiers``) and either replaces them with the target's values
(``replace_identifiers``) or keeps them by the user's explicit choice.

Pure functions on plain values, no Django (docs/architecture.md §3b). A tenant's identity comes
from Graph's ``organization`` resource (``read_identity``: ``id`` and ``verifiedDomains``), or,
when that cannot be read, from what TenantGuard knows of the tenant (``identity_from_record``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from tenantguard.graph import GraphClient

#: The permission that reads ``organization`` (application permission, least privileged).
ORGANIZATION_READ_PERMISSION: Final = "Organization.Read.All"

IdentifierKind = Literal[
    "tenant_id", "initial_domain", "default_domain", "domain", "sharepoint", "sharepoint_my"
]

#: Words for each kind, used in messages.
KIND_LABELS: Final[dict[str, str]] = {
    "tenant_id": "tenant ID",
    "initial_domain": "initial domain",
    "default_domain": "default domain",
    "domain": "verified domain",
    "sharepoint": "SharePoint host",
    "sharepoint_my": "OneDrive (SharePoint -my) host",
}

_GUID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_ONMICROSOFT: Final = ".onmicrosoft.com"
_SHAREPOINT: Final = ".sharepoint.com"


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value.strip()))


@dataclass(frozen=True)
class VerifiedDomain:
    name: str
    is_default: bool = False
    is_initial: bool = False


@dataclass(frozen=True)
class TenantIdentity:
    """What identifies a tenant in a payload. ``origin`` says where it was learnt:
    ``organization`` (Graph) or ``tenant_record`` (TenantGuard's own record: the Entra tenant ID
    or domain the tenant was registered with, no other domains)."""

    tenant_id: str = ""
    domains: tuple[VerifiedDomain, ...] = ()
    origin: str = "organization"
    display_name: str = ""

    @property
    def initial_domain(self) -> str:
        for domain in self.domains:
            if domain.is_initial:
                return domain.name
        for domain in self.domains:
            if domain.name.lower().endswith(_ONMICROSOFT):
                return domain.name
        return ""

    @property
    def default_domain(self) -> str:
        for domain in self.domains:
            if domain.is_default:
                return domain.name
        return self.initial_domain

    @property
    def is_empty(self) -> bool:
        return not self.tenant_id and not self.domains

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "display_name": self.display_name,
            "origin": self.origin,
            "verified_domains": [
                {"name": d.name, "isDefault": d.is_default, "isInitial": d.is_initial}
                for d in self.domains
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TenantIdentity:
        data = data or {}
        domains = tuple(
            VerifiedDomain(
                name=str(d.get("name") or ""),
                is_default=bool(d.get("isDefault")),
                is_initial=bool(d.get("isInitial")),
            )
            for d in data.get("verified_domains") or []
            if isinstance(d, Mapping) and d.get("name")
        )
        return cls(
            tenant_id=str(data.get("tenant_id") or ""),
            domains=domains,
            origin=str(data.get("origin") or "organization"),
            display_name=str(data.get("display_name") or ""),
        )


def identity_from_organization(body: Mapping[str, Any]) -> TenantIdentity:
    """The identity in Graph's answer to ``GET /organization`` (``value[0]``) or in one
    ``organization`` entity. An answer without an organization gives an empty identity."""
    entity: Any = body
    if "value" in body:
        values = body.get("value") or []
        entity = values[0] if values and isinstance(values[0], Mapping) else {}
    domains = tuple(
        VerifiedDomain(
            name=str(d.get("name") or "").strip(),
            is_default=bool(d.get("isDefault")),
            is_initial=bool(d.get("isInitial")),
        )
        for d in entity.get("verifiedDomains") or []
        if isinstance(d, Mapping) and str(d.get("name") or "").strip()
    )
    return TenantIdentity(
        tenant_id=str(entity.get("id") or "").strip(),
        domains=domains,
        origin="organization",
        display_name=str(entity.get("displayName") or ""),
    )


def read_identity(client: GraphClient) -> TenantIdentity:
    """The tenant's identity from ``GET /v1.0/organization`` (needs Organization.Read.All;
    raises the client's ``GraphError`` when it cannot be read)."""
    body = client.get("/v1.0/organization", params={"$select": "id,displayName,verifiedDomains"})
    return identity_from_organization(body)


def identity_from_record(entra_tenant_id: str, *, display_name: str = "") -> TenantIdentity:
    """What TenantGuard's own record says: a GUID is the tenant ID; a domain is the initial
    domain (``*.onmicrosoft.com``) or a default domain."""
    value = (entra_tenant_id or "").strip()
    if not value:
        return TenantIdentity(origin="tenant_record", display_name=display_name)
    if is_guid(value):
        return TenantIdentity(
            tenant_id=value.lower(), origin="tenant_record", display_name=display_name
        )
    if "." in value:
        initial = value.lower().endswith(_ONMICROSOFT)
        domain = VerifiedDomain(name=value, is_default=True, is_initial=initial)
        return TenantIdentity(domains=(domain,), origin="tenant_record", display_name=display_name)
    return TenantIdentity(origin="tenant_record", display_name=display_name)


# --------------------------------------------------------------------------------------------
# The identifiers of a tenant and their counterparts in another
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identifier:
    """One value that identifies the tenant (lower case) and its kind."""

    kind: IdentifierKind
    value: str


def _sharepoint_label(initial_domain: str) -> str:
    """``contoso.onmicrosoft.com`` -> ``contoso`` (SharePoint hosts derive from it)."""
    name = initial_domain.lower()
    return name[: -len(_ONMICROSOFT)] if name.endswith(_ONMICROSOFT) else ""


def identifiers_of(identity: TenantIdentity) -> list[Identifier]:
    """The tenant ID, every verified domain (initial and default named as such) and the
    SharePoint hosts derived from the initial domain, longest first (so a longer identifier wins
    where two overlap)."""
    found: dict[str, Identifier] = {}
    if identity.tenant_id:
        found[identity.tenant_id.lower()] = Identifier("tenant_id", identity.tenant_id.lower())
    initial = identity.initial_domain.lower()
    default = identity.default_domain.lower()
    for domain in identity.domains:
        name = domain.name.lower()
        kind: IdentifierKind = "domain"
        if name == initial:
            kind = "initial_domain"
        elif name == default:
            kind = "default_domain"
        found.setdefault(name, Identifier(kind, name))
    label = _sharepoint_label(initial)
    if label:
        for kind, host in (
            ("sharepoint", f"{label}{_SHAREPOINT}"),
            ("sharepoint_my", f"{label}-my{_SHAREPOINT}"),
        ):
            found.setdefault(host, Identifier(kind, host))  # type: ignore[arg-type]
    return sorted(found.values(), key=lambda ident: (-len(ident.value), ident.value))


def counterparts(source: TenantIdentity, target: TenantIdentity) -> dict[str, str | None]:
    """``{source identifier (lower case): target value or None}``: tenant ID -> tenant ID,
    initial domain -> initial domain, default domain -> default domain, SharePoint hosts ->
    the hosts derived from the target's initial domain. Other verified domains have no
    counterpart (``None``)."""
    target_label = _sharepoint_label(target.initial_domain)
    by_kind: dict[str, str] = {}
    if target.tenant_id:
        by_kind["tenant_id"] = target.tenant_id.lower()
    if target.initial_domain:
        by_kind["initial_domain"] = target.initial_domain.lower()
    if target.default_domain:
        by_kind["default_domain"] = target.default_domain.lower()
    if target_label:
        by_kind["sharepoint"] = f"{target_label}{_SHAREPOINT}"
        by_kind["sharepoint_my"] = f"{target_label}-my{_SHAREPOINT}"
    result: dict[str, str | None] = {}
    for ident in identifiers_of(source):
        replacement = by_kind.get(ident.kind)
        if ident.kind == "default_domain" and source.default_domain.lower() == (
            source.initial_domain.lower()
        ):
            replacement = by_kind.get("initial_domain")
        result[ident.value] = replacement
    return result


# --------------------------------------------------------------------------------------------
# Finding and replacing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a source identifier appears: ``path`` (``settings[0].settingInstance…value``),
    what it is, the value found (lower case) and what it becomes (``None``: no counterpart)."""

    path: str
    kind: IdentifierKind
    found: str
    replacement: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "found": self.found,
            "replacement": self.replacement,
        }


#: Before an identifier: not a letter, digit or hyphen (else it is part of a longer name),
#: except the URL-encoded ``/``, ``@``, ``=`` and ``{`` (``webUrl=https%3A%2F%2Fcontoso…``).
_BEFORE: Final = r"(?:(?<![0-9A-Za-z-])|(?<=%2[Ff])|(?<=%40)|(?<=%3[Dd])|(?<=%7[Bb]))"
#: After a GUID: no more hex or hyphen; after a domain also no further label (``.com.au``).
_AFTER_GUID: Final = r"(?![0-9A-Za-z-])"
_AFTER_DOMAIN: Final = r"(?![0-9A-Za-z-]|\.[0-9A-Za-z])"


def _pattern(identifiers: Sequence[Identifier]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every identifier, on name boundaries: a GUID not inside
    a longer hex run, a domain not inside a longer name (``mail.contoso.com`` contains the
    domain ``contoso.com``; ``notcontoso.com`` and ``contoso.com.au`` do not)."""
    if not identifiers:
        return None
    # One boundary test, then the literals grouped by kind (longest first, as given): with a
    # boundary per literal the engine tests every literal at every position, which made a
    # tenant with a few hundred verified domains take minutes over a large backup.
    guids = [re.escape(i.value) for i in identifiers if i.kind == "tenant_id"]
    names = [re.escape(i.value) for i in identifiers if i.kind != "tenant_id"]
    parts = []
    if guids:
        parts.append(f"(?:{'|'.join(guids)}){_AFTER_GUID}")
    if names:
        parts.append(f"(?:{'|'.join(names)}){_AFTER_DOMAIN}")
    return re.compile(f"{_BEFORE}(?:{'|'.join(parts)})", re.IGNORECASE)


def _strings(
    node: Any, path: str, leave: Collection[str] = ()
) -> Iterator[tuple[str, Any, Any, str]]:
    """``(path, container, key, text)`` for every string value under ``node`` (``leave``: keys
    of ``node`` itself not looked into)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if str(key).startswith("@odata.") or key in leave:
                continue
            here = f"{path}.{key}" if path else str(key)
            if isinstance(value, str):
                yield here, node, key, value
            else:
                yield from _strings(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            here = f"{path}[{index}]"
            if isinstance(value, str):
                yield here, node, index, value
            else:
                yield from _strings(value, here)


@dataclass
class IdentifierScan:
    """What ``replace_identifiers`` produced: the payload to write and every place found."""

    payload: dict[str, Any]
    places: list[Place] = field(default_factory=list)

    @property
    def unreplaced(self) -> list[Place]:
        return [place for place in self.places if place.replacement is None]


def _scan(
    payload: Mapping[str, Any],
    source: TenantIdentity,
    replacements: Mapping[str, str | None] | None,
    leave: Collection[str] = (),
) -> IdentifierScan:
    result: dict[str, Any] = copy.deepcopy(dict(payload))
    identifiers = identifiers_of(source)
    pattern = _pattern(identifiers)
    if pattern is None:
        return IdentifierScan(payload=result)
    kinds = {ident.value: ident.kind for ident in identifiers}
    places: list[Place] = []
    for path, container, key, text in list(_strings(result, "", leave)):
        found_here: list[Place] = []

        def substitute(
            match: re.Match[str], path: str = path, found: list[Place] = found_here
        ) -> str:
            value = match.group(0).lower()
            replacement = (replacements or {}).get(value)
            found.append(Place(path, kinds[value], value, replacement))
            if replacements is None or replacement is None:
                return match.group(0)
            return replacement.upper() if match.group(0).isupper() else replacement

        new_text = pattern.sub(substitute, text)
        places.extend(found_here)
        if replacements is not None and new_text != text:
            container[key] = new_text
    return IdentifierScan(payload=result, places=places)


def find_identifiers(
    payload: Mapping[str, Any],
    source: TenantIdentity,
    target: TenantIdentity | None = None,
    *,
    leave: Collection[str] = (),
) -> list[Place]:
    """Every place in ``payload`` where ``source``'s tenant ID or one of its domains (or a
    SharePoint host derived from its initial domain) appears, case-insensitively, inside longer
    strings too (URLs, OMA-URI paths, ADMX presentation values, settings catalog values).
    With ``target``, each place says what it would become (``Place.replacement``). Top-level
    keys in ``leave`` are not looked into (the object's name: see ``intended_item``).

    Not found: identifiers inside base64 content (script bodies, certificates), in dictionary
    keys, or written another way (a tenant ID without hyphens)."""
    scan = _scan(payload, source, None, leave)
    if target is None:
        return scan.places
    mapping = counterparts(source, target)
    return [
        Place(place.path, place.kind, place.found, mapping.get(place.found))
        for place in scan.places
    ]


def replace_identifiers(
    payload: Mapping[str, Any],
    source: TenantIdentity,
    target: TenantIdentity,
    *,
    leave: Collection[str] = (),
) -> IdentifierScan:
    """A copy of ``payload`` with every source identifier that has a counterpart in ``target``
    replaced by it (an all-upper-case occurrence stays upper case); identifiers without one are
    left as they are and reported in ``IdentifierScan.unreplaced``. The input is not changed;
    top-level keys in ``leave`` are neither looked into nor changed."""
    return _scan(payload, source, counterparts(source, target), leave)


def scan_secrets(
    secrets: Mapping[str, str],
    source: TenantIdentity,
    target: TenantIdentity,
    *,
    replace: bool,
) -> tuple[dict[str, str], list[Place]]:
    """The same for captured secret values (``{secret key: plaintext}``, e.g. OMA-URI strings
    Graph keeps encrypted): places are named ``<secret key> (encrypted value)`` and say only
    which identifier is there, never the value. With ``replace`` the plaintexts and the keys
    (they carry the OMA-URI, which may hold the tenant ID) are replaced like the payload."""
    mapping = counterparts(source, target)
    result: dict[str, str] = {}
    places: list[Place] = []
    for key, value in secrets.items():
        where = f"{key} (encrypted value)"
        found = _scan({"v": value}, source, mapping if replace else None)
        places.extend(
            Place(where, place.kind, place.found, mapping.get(place.found))
            for place in found.places
        )
        new_key = _scan({"k": key}, source, mapping).payload["k"] if replace else key
        result[new_key] = found.payload["v"] if replace else value
    return result, places


__all__ = [
    "KIND_LABELS",
    "ORGANIZATION_READ_PERMISSION",
    "Identifier",
    "IdentifierScan",
    "Place",
    "TenantIdentity",
    "VerifiedDomain",
    "counterparts",
    "find_identifiers",
    "identifiers_of",
    "identity_from_organization",
    "identity_from_record",
    "is_guid",
    "read_identity",
    "replace_identifiers",
    "scan_secrets",
]
