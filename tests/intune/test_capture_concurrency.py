"""The capture keeps several requests in flight (``workers``), within the pool's bound and the
client's pacers, and still yields the same items in the same order as one request at a time;
a failing ``$batch`` still ends up as warnings on the items it carried."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import httpx
import pytest

from tenantguard.graph import GraphClient, RequestPacer, RetryPolicy, StaticTokenProvider
from tenantguard.graph.client import graph_requests_counted
from tenantguard.graph.testing import FakeClock
from tenantguard.intune import capture
from tenantguard.intune.capture import CapturedItem, CaptureWarning

CP = "deviceManagement/configurationPolicies"
SCRIPTS = "deviceManagement/deviceManagementScripts"
DC = "deviceManagement/deviceConfigurations"
TYPES = ["settings_catalog", "powershell_script", "device_configuration", "custom_oma_uri"]


def _policy(index: int) -> dict[str, Any]:
    return {
        "id": f"cat-{index:03d}",
        "name": f"Catalog {index}",
        "platforms": "windows10",
        "technologies": "mdm",
        "roleScopeTagIds": ["0"],
        "templateReference": {"templateId": "", "templateFamily": "none"},
        "assignments": [],
        "settings": [
            {
                "id": str(n),
                "settingInstance": {
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                    "settingDefinitionId": f"setting_{n:03d}",
                },
            }
            for n in range(1 + index % 3)
        ],
    }


def _populate(fake, *, policies: int = 60, scripts: int = 45, configurations: int = 30) -> None:
    for index in range(policies):
        fake.add(CP, _policy(index))
    for index in range(scripts):
        fake.add(
            SCRIPTS,
            {"id": f"ps-{index:03d}", "displayName": f"S{index}", "scriptContent": "eA=="},
        )
    # two types sharing one collection: device_configuration and custom_oma_uri, alternating
    odata_types = ["windows10GeneralConfiguration", "windows10CustomConfiguration"]
    for index in range(configurations):
        fake.add(
            DC,
            {
                "@odata.type": f"#microsoft.graph.{odata_types[index % 2]}",
                "id": f"dc-{index:03d}",
                "displayName": f"D{index}",
                "assignments": [],
            },
        )


class _Tracking:
    """Wraps the fake Graph's handler: counts requests in flight at once and answers after a
    random short delay, so that concurrent requests finish in a different order each run."""

    def __init__(self, fake, *, seed: int | None = None) -> None:
        self.fake = fake
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.random = random.Random(seed)

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            delay = self.random.uniform(0.0, 0.004)
        try:
            time.sleep(delay)
            with self.lock:  # the fake Graph is not written for threads
                return self.fake.handler(request)
        finally:
            with self.lock:
                self.in_flight -= 1


def _client(handler, **options: Any) -> GraphClient:
    return GraphClient(
        graph_url="https://graph.fake.test",
        token_provider=StaticTokenProvider("fake-token"),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0, budget_seconds=1),
        **({"clock": FakeClock()} | options),
    )


def _entries(client: GraphClient, **kwargs: Any) -> list[tuple[str, str | None, str]]:
    out: list[tuple[str, str | None, str]] = []
    for entry in capture.iter_capture(client, type_keys=TYPES, **kwargs):
        if isinstance(entry, CaptureWarning):
            out.append(("warning", entry.source_id, entry.message))
        else:
            out.append((entry.type_key, entry.source_id, ";".join(entry.warnings)))
    return out


def test_requests_in_flight_never_exceed_the_workers_and_do_overlap(fake_graph):
    _populate(fake_graph)
    fake_graph.list_page_size = 10
    tracking = _Tracking(fake_graph, seed=1)
    entries = _entries(_client(tracking.handler), workers=3)
    assert len(entries) == 135
    assert 1 < tracking.most <= 3  # concurrent, and never more than asked


def test_the_order_is_the_same_whatever_finishes_first(fake_graph):
    _populate(fake_graph)
    fake_graph.list_page_size = 10
    one_at_a_time = _entries(_client(fake_graph.handler), workers=1)
    runs = [
        _entries(_client(_Tracking(fake_graph, seed=seed).handler), workers=4) for seed in (1, 2, 3)
    ]
    assert all(run == one_at_a_time for run in runs)
    # collections in registry order, pages in Graph's order, within a page the types of a
    # shared collection one after the other (registry order), each in Graph's order
    ids = [source_id for _, source_id, _ in one_at_a_time]
    # collections read by listing alone before those needing reads per object, so that the
    # last requests carry about one object each
    assert ids.index("dc-000") < ids.index("ps-000") and ids.index("dc-000") < ids.index("cat-000")
    assert [i for i in ids if i.startswith("cat-")] == [f"cat-{n:03d}" for n in range(60)]
    assert [i for i in ids if i.startswith("ps-")] == [f"ps-{n:03d}" for n in range(45)]
    configurations = [(key, i) for key, i, _ in one_at_a_time if i.startswith("dc-")]
    expected = []
    for page in range(3):
        numbers = range(page * 10, page * 10 + 10)
        expected += [("device_configuration", f"dc-{n:03d}") for n in numbers if n % 2 == 0]
        expected += [("custom_oma_uri", f"dc-{n:03d}") for n in numbers if n % 2 == 1]
    assert configurations == expected


def test_a_failing_batch_ends_as_warnings_on_its_items_only(fake_graph):
    _populate(fake_graph)
    batches = {"count": 0}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            if request.url.path.endswith("/$batch"):
                batches["count"] += 1
                payload = request.content.decode()
                if "ps-007" in payload:  # the whole $batch carrying ps-007 fails
                    return httpx.Response(500, json={"error": {"code": "boom", "message": "x"}})
            return fake_graph.handler(request)

    items, warnings = {}, []
    for entry in capture.iter_capture(_client(handler), type_keys=TYPES, workers=4):
        if isinstance(entry, CaptureWarning):
            warnings.append(entry)
        else:
            items[entry.source_id] = entry
    assert warnings == [] and len(items) == 135
    failed = {source_id for source_id, item in items.items() if item.warnings}
    assert "ps-007" in failed and 1 <= len(failed) <= 20  # that chunk, nothing else
    assert all(source_id.startswith("ps-") for source_id in failed)
    assert all("could not be read" in items[source_id].warnings[0] for source_id in failed)
    assert items["ps-030"].payload["scriptContent"] == "eA=="


def test_the_request_pacer_holds_with_requests_in_flight_at_once(fake_graph):
    _populate(fake_graph, policies=120, scripts=80, configurations=0)
    fake_graph.list_page_size = 25
    clock = FakeClock()
    counted_at: list[float] = []
    lock = threading.Lock()
    original_route = fake_graph.route

    def route(target: str, *, via: str):
        with lock:
            counted_at.append(clock.monotonic())  # each request and each $batch part counts
        clock.advance(0.01)
        return original_route(target, via=via)

    fake_graph.route = route
    tracking = _Tracking(fake_graph, seed=4)
    pacer = RequestPacer(max_requests=40, per_seconds=20.0)
    entries = _entries(_client(tracking.handler, clock=clock, request_pacer=pacer), workers=4)
    assert len(entries) == 200
    assert len(counted_at) > 200  # it had to wait for the window several times
    ordered = sorted(counted_at)
    assert all(later - first >= 20.0 for first, later in zip(ordered, ordered[40:], strict=False))
    assert pacer.in_flight() == 0


def test_requests_sent_by_workers_count_for_the_caller(fake_graph):
    _populate(fake_graph, policies=30, scripts=30, configurations=10)
    client = _client(_Tracking(fake_graph, seed=5).handler)
    with graph_requests_counted() as counted:
        entries = _entries(client, workers=4)
    assert len(entries) == 70
    assert counted[0] == client.request_count > 3


def test_listed_objects_waiting_to_be_yielded_stay_bounded(fake_graph, monkeypatch):
    monkeypatch.setattr(capture, "CAPTURE_LOOKAHEAD", 30)
    _populate(fake_graph, policies=0, scripts=0, configurations=200)
    fake_graph.list_page_size = 10
    listed = {"count": 0}
    original_route = fake_graph.route

    def route(target: str, *, via: str):
        status, body = original_route(target, via=via)
        if via == "direct" and isinstance(body, dict):
            listed["count"] += len(body.get("value") or [])
        return status, body

    fake_graph.route = route
    client = _client(_Tracking(fake_graph, seed=6).handler)
    most_waiting = 0
    yielded = 0
    wanted = ["device_configuration", "custom_oma_uri"]
    for entry in capture.iter_capture(client, type_keys=wanted, workers=4):
        assert isinstance(entry, CapturedItem)
        yielded += 1
        time.sleep(0.0005)  # a consumer slower than the reads
        most_waiting = max(most_waiting, listed["count"] - yielded)
    assert yielded == 200
    # the lookahead plus the page being read (and the one in flight)
    assert most_waiting <= 30 + 2 * 10


def test_closing_the_capture_early_stops_it(fake_graph):
    _populate(fake_graph)
    fake_graph.list_page_size = 10
    client = _client(_Tracking(fake_graph, seed=7).handler)
    stream = capture.iter_capture(client, type_keys=TYPES, workers=4)
    first = next(stream)
    assert isinstance(first, CapturedItem)
    stream.close()  # cancels what has not started, does not wait for the rest
    with pytest.raises(StopIteration):
        next(stream)
