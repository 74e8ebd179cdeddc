"""``/_emulator/...``: runtime knobs for loopback tests (faults, throttling, permissions, reset).

When ``EmulatorConfig.admin_token`` is set, every admin request needs the header
``X-Emulator-Admin-Token`` with that value.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from tenantguard.emulator.config import FaultConfig, ThrottleConfig
from tenantguard.emulator.errors import EmulatorHTTPError

if TYPE_CHECKING:
    from tenantguard.emulator.app import GraphEmulator, Incoming

Result = tuple[int, Any, dict[str, str]]


def _throttle_dict(config: ThrottleConfig) -> dict[str, Any]:
    return dict(vars(config))


def _json_object(incoming: Incoming) -> dict[str, Any]:
    body = incoming.json_body()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise EmulatorHTTPError(400, "BadRequest", "The admin endpoint expects a JSON object.")
    return body


def handle(emulator: GraphEmulator, incoming: Incoming, parts: list[str]) -> Result:
    expected = emulator.config.admin_token
    if expected is not None:
        given = incoming.headers.get("x-emulator-admin-token", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise EmulatorHTTPError(
                401, "Unauthorized", "Missing or wrong X-Emulator-Admin-Token header."
            )
    method = incoming.method
    try:
        if parts == ["throttle"]:
            if method == "POST":
                config = ThrottleConfig.from_dict(_json_object(incoming))
                emulator.set_throttle(config)
            return 200, _throttle_dict(emulator.config.throttle), {}
        if parts == ["tenants"] and method == "GET":
            return 200, {"value": sorted(emulator.tenants)}, {}
        if parts == ["requests"] and method == "GET":
            log = [entry._asdict() for entry in emulator.request_log]
            return 200, {"value": log}, {}
        if len(parts) == 3 and parts[0] == "tenants":
            tenant = emulator.tenants.get(parts[1])
            if tenant is None:
                raise EmulatorHTTPError(404, "NotFound", f"No tenant '{parts[1]}'.")
            action = parts[2]
            if action == "faults":
                if method == "POST":
                    tenant.faults = FaultConfig.from_dict(_json_object(incoming))
                return 200, tenant.faults.to_dict(), {}
            if action == "permissions":
                if method == "POST":
                    denied = _json_object(incoming).get("denied_permissions", [])
                    tenant.denied_permissions = {str(p) for p in denied}
                return 200, {"denied_permissions": sorted(tenant.denied_permissions)}, {}
            if action == "reset" and method == "POST":
                tenant.reset()
                return 204, None, {}
    except (TypeError, ValueError) as exc:
        raise EmulatorHTTPError(400, "BadRequest", str(exc)) from exc
    raise EmulatorHTTPError(404, "NotFound", f"No admin endpoint at '{incoming.path}'.")
