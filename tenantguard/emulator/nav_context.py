"""``<navigation>@odata.context`` next to an expanded collection in a GET of one object.

Graph answers ``GET {collection}/{id}?$expand=assignments`` with the expanded list preceded by
its own context annotation, e.g. ``"assignments@odata.context":
"https://graph.microsoft.com/beta/$metadata#deviceManagement/deviceCompliancePolicies('…')/
microsoft.graph.macOSCompliancePolicy/assignments"`` (the derived type's cast segment appears when
the object's ``@odata.type`` is not the collection's entity type; exports of real tenants show
both forms). IntuneCD reads that annotation for the scripts it expands
(``deviceShellScripts``, ``deviceCustomAttributeShellScripts``).
"""

from __future__ import annotations

from typing import Any

from tenantguard.emulator.messages import GraphRequest
from tenantguard.emulator.odata import ExpandTree
from tenantguard.emulator.resources import ResourceSpec


def annotate_expanded(
    req: GraphRequest,
    spec: ResourceSpec,
    obj: dict[str, Any],
    body: dict[str, Any],
    expand: ExpandTree,
) -> dict[str, Any]:
    """``body`` with ``<name>@odata.context`` before each expanded collection-valued navigation
    (single-valued ones and unexpanded ones get none)."""
    expanded = {
        name
        for name, value in body.items()
        if name in spec.navigation and isinstance(value, list) and (name in expand or "*" in expand)
    }
    if not expanded:
        return body
    odata_type = str(obj.get("@odata.type") or "")
    cast = ""
    if odata_type and spec.entity_type and odata_type.lower() != spec.entity_type.lower():
        cast = "/" + odata_type.removeprefix("#")
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in expanded:
            fragment = f"{spec.collection}('{obj['id']}'){cast}/{name}"
            out[f"{name}@odata.context"] = req.context(fragment)
        out[name] = value
    return out
