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


# ---- lost answers: applied, then 504 / dropped connection ---------------------------------------

TAGS = "/beta/deviceManagement/roleScopeTags"


def _tag_names(c: httpx.Client) -> list[str]:
    return [t["displayName"] for t in c.get(TAGS).json()["value"]]


def test_lost_answer_504_applies_the_create_then_answers_gateway_timeout(clock: FakeClock) -> None:
    """Emulator knob: lost_answer_rates / lost_answers "504": the POST is applied, the client
    gets 504 GatewayTimeout; other methods are answered normally."""
    faults = FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=("504",))
    with emulator_client(_emulator(clock, faults), "tok") as c:
        response = c.post(TAGS, json={"displayName": "Paris"})
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "GatewayTimeout"
        assert _tag_names(c).count("Paris") == 1  # applied once, GET not affected


def test_lost_answer_drop_in_process_raises_after_applying(clock: FakeClock) -> None:
    """In process, a dropped connection is httpx.RemoteProtocolError, a timeout
    httpx.ReadTimeout, each raised after the request was applied."""
    for kind, error in (("drop", httpx.RemoteProtocolError), ("timeout", httpx.ReadTimeout)):
        emu = _emulator(clock, FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=(kind,)))
        with emulator_client(emu, "tok") as c:
            try:
                c.post(TAGS, json={"displayName": f"Lost {kind}"})
            except error:
                pass
            else:  # pragma: no cover - the assertion below explains
                raise AssertionError(f"{kind}: expected {error.__name__}")
            emu.tenants["t"].faults = FaultConfig()
            assert _tag_names(c).count(f"Lost {kind}") == 1


def test_lost_answer_on_loopback_closes_the_connection_without_an_answer(
    clock: FakeClock,
) -> None:
    """Over HTTP the server really closes the connection without writing a byte."""
    import threading

    from tenantguard.emulator.server import serve_app

    emu = _emulator(clock, FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=("drop",)))
    server = serve_app(emu, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        headers = {"Authorization": "Bearer tok"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            try:
                c.post(TAGS, json={"displayName": "Over the wire"})
            except httpx.RemoteProtocolError:
                pass
            else:  # pragma: no cover
                raise AssertionError("expected the server to close without an answer")
            emu.tenants["t"].faults = FaultConfig()
            assert _tag_names(c).count("Over the wire") == 1
    finally:
        server.shutdown()
        server.server_close()


def test_lost_answer_rate_is_per_method_and_reproducible(clock: FakeClock) -> None:
    faults = FaultConfig(lost_answer_rates={"POST": 0.3}, lost_answers=("504",), seed=5)
    runs = []
    for _ in range(2):
        emu = _emulator(clock, FaultConfig(**vars(faults)))
        with emulator_client(emu, "tok") as c:
            runs.append(
                [c.post(GROUPS, json={"displayName": f"g{i}"}).status_code for i in range(100)]
            )
            assert _statuses(c, 20) == [200] * 20
            # every POST was applied, whatever its answer
            assert len(c.get(GROUPS, params={"$top": 999}).json()["value"]) == 101
    assert runs[0] == runs[1]
    assert 15 < runs[0].count(504) < 45 and set(runs[0]) == {201, 504}


def test_lost_answer_in_a_batch(clock: FakeClock) -> None:
    """A $batch part answered "504" gets a 504 sub-response after being applied; "drop" loses
    the whole $batch answer after every part ran."""
    body = {
        "requests": [
            {
                "id": str(i),
                "method": "POST",
                "url": "/deviceManagement/roleScopeTags",
                "body": {"displayName": f"B{i}"},
                "headers": {"Content-Type": "application/json"},
            }
            for i in range(3)
        ]
    }
    emu = _emulator(clock, FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=("504",)))
    with emulator_client(emu, "tok") as c:
        answer = c.post("/beta/$batch", json=body)
        assert answer.status_code == 200
        assert {r["status"] for r in answer.json()["responses"]} == {504}
        assert sorted(n for n in _tag_names(c) if n.startswith("B")) == ["B0", "B1", "B2"]
    emu = _emulator(clock, FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=("drop",)))
    with emulator_client(emu, "tok") as c:
        try:
            c.post("/beta/$batch", json=body)
        except httpx.RemoteProtocolError:
            pass
        else:  # pragma: no cover
            raise AssertionError("expected the $batch answer to be lost")
        emu.tenants["t"].faults = FaultConfig()
        assert sorted(n for n in _tag_names(c) if n.startswith("B")) == ["B0", "B1", "B2"]


def test_lost_answers_are_set_through_the_admin_endpoint(clock: FakeClock) -> None:
    with emulator_client(_emulator(clock), "tok") as c:
        answer = c.post(
            "/_emulator/tenants/t/faults",
            json={"lost_answer_rates": {"post": 1.0}, "lost_answers": ["504"]},
        )
        assert answer.status_code == 200
        assert answer.json()["lost_answer_rates"] == {"POST": 1.0}
        assert answer.json()["lost_answers"] == ["504"]
        assert c.post(TAGS, json={"displayName": "Admin"}).status_code == 504
        bad = c.post("/_emulator/tenants/t/faults", json={"lost_answers": ["never"]})
        assert bad.status_code == 400 and "lost_answers" in bad.text
