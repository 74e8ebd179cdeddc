"""Injected failures: per-method error rates, failing ids, latency, the admin endpoint."""

from __future__ import annotations

from collections import Counter

import httpx

from tenantguard.emulator import EmulatorConfig, FaultConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.testing import FakeClock, emulator_client

GROUPS = "/v1.0/groups"


def _emulator(
    clock: FakeClock, faults: FaultConfig | None = None, **config: object
) -> GraphEmulator:
    emu = GraphEmulator(
        config=EmulatorConfig(throttle=ThrottleConfig(enabled=False), clock=clock, **config)  # type: ignore[arg-type]
    )
    emu.add_tenant(
        tenant_id="t",
        token="tok",
        faults=faults,
        seed_objects=[("groups", {"id": "g-1", "displayName": "One"})],
    )
    return emu


def _statuses(c: httpx.Client, count: int) -> list[int]:
    return [c.get(GROUPS).status_code for _ in range(count)]


def test_error_rate_applies_per_method_and_is_reproducible(clock: FakeClock) -> None:
    """Emulator knob: error_rates per HTTP method with a seeded random generator; the same
    seed gives the same sequence of failures (statuses from error_statuses)."""
    faults = FaultConfig(error_rates={"GET": 0.3}, error_statuses=(429, 503, 504), seed=7)
    runs = []
    for _ in range(2):
        with emulator_client(_emulator(clock, FaultConfig(**vars(faults))), "tok") as c:
            runs.append(_statuses(c, 200))
            assert c.post(GROUPS, json={"displayName": "x"}).status_code == 201
    assert runs[0] == runs[1]
    counts = Counter(runs[0])
    assert 30 < sum(counts[s] for s in (429, 503, 504)) < 90
    assert set(counts) == {200, 429, 503, 504}


def test_injected_429_carries_retry_after(clock: FakeClock) -> None:
    """Graph: 429 (and 503) carry Retry-After; the injected ones do too."""
    faults = FaultConfig(error_rates={"GET": 1.0}, error_statuses=(429,), retry_after_seconds=3)
    with emulator_client(_emulator(clock, faults), "tok") as c:
        response = c.get(GROUPS)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"]["code"] == "TooManyRequests"


def test_failing_ids_always_fail(clock: FakeClock) -> None:
    """Emulator knob: failing_ids makes every request naming that object fail with a status."""
    with emulator_client(_emulator(clock, FaultConfig(failing_ids={"g-1": 503})), "tok") as c:
        assert c.get(f"{GROUPS}/g-1").status_code == 503
        assert c.get(f"{GROUPS}('g-1')").status_code == 503
        assert c.get(GROUPS).status_code == 200


def test_latency_is_added_through_the_clock(clock: FakeClock) -> None:
    """Emulator knob: latency_ms delays each request (through the injected clock's sleep)."""
    with emulator_client(_emulator(clock, FaultConfig(latency_ms=250)), "tok") as c:
        c.get(GROUPS)
        c.get(GROUPS)
    assert clock.slept == [0.25, 0.25]


def test_faults_can_be_set_at_runtime_through_the_admin_endpoint(clock: FakeClock) -> None:
    """Emulator admin: POST /_emulator/tenants/{id}/faults replaces that tenant's faults."""
    with emulator_client(_emulator(clock), "tok") as c:
        assert c.get(GROUPS).status_code == 200
        answer = c.post(
            "/_emulator/tenants/t/faults",
            json={"error_rates": {"get": 1.0}, "error_statuses": [504]},
        )
        assert answer.status_code == 200
        assert answer.json()["error_rates"] == {"GET": 1.0}
        assert c.get(GROUPS).status_code == 504
        c.post("/_emulator/tenants/t/faults", json={})
        assert c.get(GROUPS).status_code == 200
        assert c.post("/_emulator/tenants/nope/faults", json={}).status_code == 404


def test_admin_endpoint_requires_the_configured_token(clock: FakeClock) -> None:
    """Emulator admin: with admin_token set, X-Emulator-Admin-Token must match (else 401)."""
    emu = _emulator(clock, admin_token="admin-secret")
    with emulator_client(emu, "tok") as c:
        assert c.post("/_emulator/tenants/t/faults", json={}).status_code == 401
        wrong = {"X-Emulator-Admin-Token": "guess"}
        assert c.post("/_emulator/tenants/t/faults", json={}, headers=wrong).status_code == 401
        right = {"X-Emulator-Admin-Token": "admin-secret"}
        assert c.post("/_emulator/tenants/t/faults", json={}, headers=right).status_code == 200


def test_reset_restores_the_seed(clock: FakeClock) -> None:
    """Emulator admin: POST /_emulator/tenants/{id}/reset forgets changes and reseeds."""
    with emulator_client(_emulator(clock), "tok") as c:
        c.post(GROUPS, json={"displayName": "Extra"})
        c.delete(f"{GROUPS}/g-1")
        assert c.post("/_emulator/tenants/t/reset").status_code == 204
        assert [g["id"] for g in c.get(GROUPS).json()["value"]] == ["g-1"]


def test_multi_admin_approval_rejects_intune_writes(clock: FakeClock) -> None:
    """Graph: Multi Admin Approval tenants reject app-only writes with code ApprovalRequired
    (status 400 or 403); reads and non-Intune writes still work."""
    faults = FaultConfig(approval_required=True, approval_required_status=403)
    with emulator_client(_emulator(clock, faults), "tok") as c:
        url = "/beta/deviceManagement/roleScopeTags"
        response = c.post(url, json={"displayName": "x"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "ApprovalRequired"
        assert c.get(url).status_code == 200
        assert c.post(GROUPS, json={"displayName": "g"}).status_code == 201
