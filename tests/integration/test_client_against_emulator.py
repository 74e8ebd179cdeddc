"""The Graph client against the emulator, sharing one fake clock: time only passes when the
client sleeps, so Retry-After, backoff and pacing are measured exactly and the tests are fast."""

from __future__ import annotations

import uuid

import pytest

from tenantguard.emulator import EmulatorConfig, FaultConfig, GraphEmulator, ThrottleConfig
from tenantguard.graph import (
    BadRequestError,
    BatchRequest,
    GraphClient,
    NotFoundError,
    PermissionDeniedError,
    RequestPacer,
    RetryPolicy,
    StaticTokenProvider,
    ThrottledError,
    WritePacer,
)
from tenantguard.graph.testing import FakeClock

GRAPH = "https://graph.microsoft.com"


def _policy(n: int) -> dict:
    return {
        "@odata.context": f"{GRAPH}/beta/$metadata#deviceManagement/configurationPolicies/$entity",
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicy",
        "id": str(uuid.UUID(int=n + 1)),
        "name": f"Policy {n:03d}",
        "description": "",
        "platforms": "windows10",
        "technologies": "mdm",
        "roleScopeTagIds": ["0"],
        "settings": [],
    }


@pytest.fixture
def clock():
    return FakeClock()


def _setup(
    clock, *, throttle=None, faults=None, objects=(), pacer=None, request_pacer=None, retry=None
):
    emulator = GraphEmulator(
        config=EmulatorConfig(throttle=throttle or ThrottleConfig(enabled=False), clock=clock)
    )
    tenant = emulator.add_tenant(
        tenant_id="t1", token="tok", seed_objects=list(objects), faults=faults
    )
    client = GraphClient(
        graph_url=GRAPH,
        token_provider=StaticTokenProvider("tok"),
        transport=emulator.transport(),
        clock=clock,
        pacer=pacer or WritePacer(max_writes=100, per_seconds=20.0),
        request_pacer=request_pacer or RequestPacer(max_requests=1000, per_seconds=20.0),
        retry=retry
        or RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=60.0, budget_seconds=300),
    )
    return emulator, tenant, client


def test_paging_follows_next_links_of_25(clock):
    _, _, client = _setup(clock, objects=[_policy(n) for n in range(60)])
    names = [p["name"] for p in client.iter_collection("deviceManagement/configurationPolicies")]
    assert len(names) == 60 and len(set(names)) == 60
    assert client.request_count == 3  # 25 + 25 + 10


def test_batch_with_200_404_and_429_answers(clock):
    objects = [_policy(n) for n in range(3)]
    faults = FaultConfig(failing_ids={objects[2]["id"]: 429}, retry_after_seconds=2)
    _emulator, tenant, client = _setup(clock, objects=objects, faults=faults)
    missing = str(uuid.uuid4())
    requests = [
        BatchRequest(
            id="ok", method="GET", url=f"/deviceManagement/configurationPolicies/{objects[0]['id']}"
        ),
        BatchRequest(
            id="gone", method="GET", url=f"/deviceManagement/configurationPolicies/{missing}"
        ),
        BatchRequest(
            id="busy",
            method="GET",
            url=f"/deviceManagement/configurationPolicies/{objects[2]['id']}",
        ),
    ]
    with pytest.raises(ThrottledError):
        # 'busy' answers 429 forever: retried with its own Retry-After until the budget ends.
        responses = client.batch(requests)
        responses[2].raise_for_status()
    assert clock.sleeps and min(clock.sleeps) >= 2
    tenant.faults = FaultConfig()
    responses = client.batch(requests)
    assert [r.id for r in responses] == ["ok", "gone", "busy"]
    assert responses[0].status == 200 and responses[0].body["name"] == "Policy 000"
    assert responses[1].status == 404
    with pytest.raises(NotFoundError):
        responses[1].raise_for_status()


def test_throttled_batch_sub_request_is_retried_after_its_retry_after(clock):
    objects = [_policy(n) for n in range(30)]
    throttle = ThrottleConfig(
        enabled=True, window_seconds=20.0, app_request_limit=20, tenant_request_limit=2000
    )
    _, _, client = _setup(clock, objects=objects, throttle=throttle)
    requests = [
        BatchRequest(
            id=str(i), method="GET", url=f"/deviceManagement/configurationPolicies/{o['id']}"
        )
        for i, o in enumerate(objects)
    ]
    responses = client.batch(requests)
    assert all(r.status == 200 for r in responses)
    assert clock.slept > 0  # the second chunk hit the limit and waited for the window


def test_retry_after_is_honoured(clock):
    objects = [_policy(0)]
    _emulator, tenant, client = _setup(clock, objects=objects)
    tenant.faults = FaultConfig(
        error_rates={"GET": 1.0}, error_statuses=(429,), retry_after_seconds=7
    )
    path = f"deviceManagement/configurationPolicies/{objects[0]['id']}"
    with pytest.raises(ThrottledError) as excinfo:
        client.get(path)
    assert clock.sleeps[0] >= 7
    assert "attempt" in str(excinfo.value).lower()


def test_retry_budget_exhausted_gives_a_clear_error(clock):
    _emulator, tenant, client = _setup(
        clock,
        objects=[_policy(0)],
        retry=RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=5.0, budget_seconds=10),
    )
    tenant.faults = FaultConfig(
        error_rates={"GET": 1.0}, error_statuses=(429,), retry_after_seconds=4
    )
    with pytest.raises(ThrottledError) as excinfo:
        client.get("deviceManagement/configurationPolicies")
    message = str(excinfo.value)
    assert "429" in message or "throttl" in message.lower()
    assert clock.slept <= 10 + 4


def test_writes_are_paced_under_the_intune_limit_and_never_throttled(clock):
    objects = [_policy(n) for n in range(250)]
    throttle = ThrottleConfig(enabled=True)  # Intune's limits: 100 writes per app per 20 s
    emulator, _, client = _setup(clock, objects=objects, throttle=throttle)
    write_times = []
    for obj in objects:
        client.put(
            f"deviceManagement/configurationPolicies/{obj['id']}",
            json={
                **{k: v for k, v in obj.items() if not k.startswith("@odata.c") and k != "id"},
                "description": "changed",
            },
        )
        write_times.append(clock.monotonic())
    statuses = [entry.status for entry in emulator.request_log]
    assert 429 not in statuses
    for i, start in enumerate(write_times):
        in_window = [t for t in write_times[i:] if t < start + 20.0]
        assert len(in_window) <= 100


def test_reads_are_paced_under_the_intune_limit_and_never_throttled(clock):
    objects = [_policy(n) for n in range(3)]
    throttle = ThrottleConfig(enabled=True)  # Intune's limits: 1000 requests per app per 20 s
    emulator, _, client = _setup(clock, objects=objects, throttle=throttle)
    start = clock.monotonic()
    done_at = []
    for index in range(1200):
        client.get(f"deviceManagement/configurationPolicies/{objects[index % 3]['id']}")
        done_at.append(clock.monotonic())
    statuses = [entry.status for entry in emulator.request_log]
    assert statuses == [200] * 1200  # every read answered, none throttled
    assert client.request_count == 1200  # so none retried either
    assert done_at[999] == start  # the first 1000 went at once
    assert done_at[1000] == pytest.approx(start + 20.0)  # the 1001st waited for the window
    assert clock.slept == pytest.approx(20.0)


def test_batched_reads_are_paced_per_sub_request_and_never_throttled(clock):
    objects = [_policy(n) for n in range(20)]
    throttle = ThrottleConfig(enabled=True)
    emulator, _, client = _setup(clock, objects=objects, throttle=throttle)
    requests = [
        BatchRequest(
            id=str(i), method="GET", url=f"/deviceManagement/configurationPolicies/{o['id']}"
        )
        for i, o in enumerate(objects)
    ]
    for _ in range(60):  # 1200 sub-requests
        assert all(response.status == 200 for response in client.batch(requests))
    sub_statuses = [e.status for e in emulator.request_log if not e.path.endswith("$batch")]
    assert sub_statuses == [200] * 1200
    assert clock.slept == pytest.approx(20.0)


def test_exception_types_from_the_emulator(clock):
    _emulator, tenant, client = _setup(clock, objects=[_policy(0)])
    with pytest.raises(NotFoundError):
        client.get(f"deviceManagement/configurationPolicies/{uuid.uuid4()}")
    with pytest.raises(BadRequestError):
        client.post(
            "deviceManagement/deviceCompliancePolicies",
            json={"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "x"},
        )
    tenant.denied_permissions = {
        "DeviceManagementConfiguration.Read.All",
        "DeviceManagementConfiguration.ReadWrite.All",
    }
    with pytest.raises(PermissionDeniedError):
        client.get("deviceManagement/configurationPolicies")
