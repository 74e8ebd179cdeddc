"""A Graph request as the handlers see it, its answer, and OData path parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tenantguard.emulator.errors import EmulatorHTTPError, no_route
from tenantguard.emulator.tenant import Tenant

_SEGMENT = re.compile(r"^(?P<name>[^()]+)(?:\((?P<args>.*)\))?$")


@dataclass
class GraphRequest:
    method: str
    version: str  # "beta" or "v1.0"
    path: str  # below the version, no leading slash
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any
    base_url: str  # scheme://host of the emulator as the client sees it
    tenant: Tenant
    default_page_size: int = 100
    validate_references: bool = True

    def __post_init__(self) -> None:
        # A doubled "?" (``path??$expand=x``, as IntuneCD sends through requests' string
        # params) reaches Graph as an option named "?$expand"; Graph honours it (IntuneCD reads
        # the expanded navigation), so leading "?"s of option names are dropped.
        self.query = {key.lstrip("?"): value for key, value in self.query.items()}

    def context(self, fragment: str) -> str:
        return f"{self.base_url}/{self.version}/$metadata#{fragment}"

    def option(self, name: str) -> str | None:
        return self.query.get(f"${name}", self.query.get(name))


@dataclass
class GraphResponse:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Segment:
    name: str
    params: dict[str, str] | None = None


def parse_path(path: str) -> list[Segment]:
    """``a/b('id')/fn(x='y')`` -> ``[a, b, id, fn{x: y}]`` (OData key syntax or plain ids)."""
    segments: list[Segment] = []
    for raw in path.split("/"):
        if not raw:
            continue
        match = _SEGMENT.match(raw)
        if not match:
            raise no_route(path)
        name, args = match.group("name"), match.group("args")
        if args is None:
            segments.append(Segment(name))
        elif "=" in args:
            params = {}
            for part in args.split(","):
                key, _, value = part.partition("=")
                params[key.strip()] = value.strip().strip("'")
            segments.append(Segment(name, params))
        else:
            segments.append(Segment(name))
            segments.append(Segment(args.strip().strip("'")))
    return segments


def path_ids(path: str) -> list[str]:
    """Every segment and key of a path, for fault injection by object id."""
    try:
        return [segment.name for segment in parse_path(path)]
    except EmulatorHTTPError:
        return []
