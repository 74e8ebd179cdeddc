"""Helpers for tests that drive the emulator over raw HTTP (no Django, no network)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tenantguard.emulator.app import GraphEmulator

GRAPH = "https://graph.microsoft.com"


class FakeClock:
    """Monotonic time that only moves when told; ``sleep`` advances it (and is recorded).

    ``time()`` is wall-clock time that moves with it: the real time when the clock was made
    (or ``wall_start``) plus whatever was slept or advanced since, so assertions signed now by a
    real client are valid and ``advance(3600)`` makes them expire."""

    def __init__(self, start: float = 1000.0, *, wall_start: float | None = None) -> None:
        self.now = start
        self.slept: list[float] = []
        self._start = start
        self._wall_start = time.time() if wall_start is None else wall_start

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self._wall_start + (self.now - self._start)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def emulator_client(
    emulator: GraphEmulator, token: str | None, *, base_url: str = GRAPH
) -> httpx.Client:
    """An httpx client into ``emulator``; ``token=None`` sends no Authorization header."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(transport=emulator.transport(), base_url=base_url, headers=headers)


def graph_error(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph error response, after checking its exact shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "innerError"}, body
    assert set(body["error"]["innerError"]) == {"date", "request-id", "client-request-id"}, body
    return dict(body["error"])


def group_target(group_id: str, *, exclude: bool = False) -> dict[str, Any]:
    kind = "exclusionGroupAssignmentTarget" if exclude else "groupAssignmentTarget"
    return {"target": {"@odata.type": f"#microsoft.graph.{kind}", "groupId": group_id}}


def block_rule(*, blocks: int = 1) -> list[dict[str, Any]]:
    """``scheduledActionsForRule`` with ``blocks`` block actions (Graph wants exactly one)."""
    actions = [
        {"actionType": "block", "gracePeriodHours": 0, "notificationMessageCCList": []}
        for _ in range(blocks)
    ]
    actions.append({"actionType": "notification", "gracePeriodHours": 24})
    return [{"ruleName": "PasswordRequired", "scheduledActionConfigurations": actions}]


def custom_configuration(**extra: Any) -> dict[str, Any]:
    """A Windows custom OMA-URI profile with one secret string and one plain integer."""
    return {
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
        "displayName": "Custom OMA",
        "omaSettings": [
            {
                "@odata.type": "#microsoft.graph.omaSettingString",
                "displayName": "Wi-Fi key",
                "omaUri": "./Vendor/MSFT/WiFi/Profile/x/Key",
                "value": "hunter2",
                "isEncrypted": True,
            },
            {
                "@odata.type": "#microsoft.graph.omaSettingInteger",
                "displayName": "Level",
                "omaUri": "./Vendor/MSFT/Policy/Config/Level",
                "value": 3,
                "isEncrypted": False,
            },
        ],
        **extra,
    }
