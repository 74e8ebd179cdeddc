"""Intune throttling: sliding window per tenant and per app, 429 + Retry-After."""

from __future__ import annotations

import httpx

from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.testing import FakeClock, emulator_client, graph_error

DC = "/beta/deviceManagement/deviceConfigurations"


def _emulator(clock: FakeClock, **throttle: object) -> GraphEmulator:
    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(**throttle), clock=clock))  # type: ignore[arg-type]
    emu.add_tenant(tenant_id="t", token="tok")
    return emu


def _write(c: httpx.Client, i: int) -> httpx.Response:
    return c.post("/v1.0/groups", json={"displayName": f"G{i}"})


def test_defaults_are_the_intune_limits() -> None:
    """Graph (Intune): per 20 s, 200 writes / 2000 requests per tenant, 100 / 1000 per app."""
    config = ThrottleConfig()
    assert (config.enabled, config.window_seconds) == (True, 20.0)
    assert (config.tenant_write_limit, config.tenant_request_limit) == (200, 2000)
    assert (config.app_write_limit, config.app_request_limit) == (100, 1000)


def test_101st_write_of_an_app_is_429_with_retry_after() -> None:
    """Graph (Intune): over 100 writes per app in 20 s -> 429 TooManyRequests with
    Retry-After (whole seconds until the window frees)."""
    clock = FakeClock()
    emu = _emulator(clock)
    with emulator_client(emu, "tok") as c:
        for i in range(100):
            assert _write(c, i).status_code == 201
        clock.advance(5)
        throttled = _write(c, 100)
        assert throttled.status_code == 429
        assert graph_error(throttled)["code"] == "TooManyRequests"
        assert throttled.headers["Retry-After"] == "15"  # the writes leave the window at t0 + 20
        assert c.get("/v1.0/groups").status_code == 200, "reads still pass"
        clock.advance(15.1)
        assert _write(c, 101).status_code == 201


def test_throttled_requests_do_not_count() -> None:
    """Graph: a refused request does not use up the budget; the window slides."""
    clock = FakeClock()
    emu = _emulator(clock, app_write_limit=2)
    with emulator_client(emu, "tok") as c:
        assert _write(c, 1).status_code == 201
        clock.advance(10)
        assert _write(c, 2).status_code == 201
        for _ in range(5):
            assert _write(c, 3).status_code == 429
        clock.advance(10)  # the first write leaves the window
        assert _write(c, 4).status_code == 201
        assert _write(c, 5).headers["Retry-After"] == "10"


def test_each_app_has_its_own_budget_within_the_tenant_limit() -> None:
    """Graph (Intune): the per-app limit applies per app; the tenant limit across all apps."""
    clock = FakeClock()
    emu = _emulator(clock, app_write_limit=2, tenant_write_limit=3)
    emu.add_client(tenant_id="t", client_id="other-app", client_secret="x", token="tok-2")
    with emulator_client(emu, "tok") as first, emulator_client(emu, "tok-2") as second:
        assert [_write(first, i).status_code for i in range(3)] == [201, 201, 429]
        assert _write(second, 9).status_code == 201
        assert _write(second, 10).status_code == 429  # tenant-wide: 3 writes used


def test_scaled_window_keeps_the_counts() -> None:
    """Emulator knob: window_seconds=2 with the same counts; Retry-After follows the window."""
    clock = FakeClock()
    emu = _emulator(clock, window_seconds=2, app_request_limit=5)
    with emulator_client(emu, "tok") as c:
        statuses = [c.get(DC).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        assert c.get(DC).headers["Retry-After"] == "2"
        clock.advance(2.01)
        assert c.get(DC).status_code == 200


def test_disabled_throttling_never_answers_429() -> None:
    """Emulator knob: ThrottleConfig(enabled=False) switches throttling off."""
    clock = FakeClock()
    emu = _emulator(clock, enabled=False, app_write_limit=1)
    with emulator_client(emu, "tok") as c:
        assert {_write(c, i).status_code for i in range(5)} == {201}


def test_throttle_can_be_changed_through_the_admin_endpoint() -> None:
    """Emulator admin: POST /_emulator/throttle replaces the throttle configuration."""
    clock = FakeClock()
    emu = _emulator(clock, enabled=False)
    with emulator_client(emu, "tok") as c:
        answer = c.post("/_emulator/throttle", json={"enabled": True, "app_request_limit": 1})
        assert answer.status_code == 200
        assert answer.json()["app_request_limit"] == 1
        assert [c.get(DC).status_code for _ in range(2)] == [200, 429]
        assert c.post("/_emulator/throttle", json={"bogus": 1}).status_code == 400
