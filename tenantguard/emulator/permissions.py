"""Application permissions: which permission a collection needs, and Graph's 403 answers."""

from __future__ import annotations

from tenantguard.emulator.errors import EmulatorHTTPError
from tenantguard.emulator.resources import ResourceSpec
from tenantguard.emulator.tenant import Tenant


def authorize(spec: ResourceSpec, tenant: Tenant, *, write: bool) -> None:
    denied = tenant.denied_permissions
    missing = spec.read_permission in denied or (
        write and (spec.write_permission in denied or not spec.writable)
    )
    if not missing:
        return
    if spec.directory:
        raise EmulatorHTTPError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    needed = spec.write_permission if write else spec.read_permission
    if spec.collection.startswith("identity/"):
        raise EmulatorHTTPError(
            403,
            "AccessDenied",
            f"You cannot perform the requested operation, required scopes are missing in the "
            f"token: {needed}.",
        )
    scopes = spec.write_permission if write else f"{spec.read_permission}, {spec.write_permission}"
    raise EmulatorHTTPError(
        403,
        "Forbidden",
        "Application is not authorized to perform this operation. Application must have one "
        f"of the following scopes: {scopes}",
        intune=True,
    )
