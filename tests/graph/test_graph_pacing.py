"""Write pacing: never more than N writes in any T-second window, no needless waiting."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantguard.graph import WritePacer
from tenantguard.graph.testing import FakeClock


def assert_window_respected(
    timestamps: list[float], *, max_writes: int, per_seconds: float
) -> None:
    ordered = sorted(timestamps)
    for first, later in zip(ordered, ordered[max_writes:], strict=False):
        # the (max_writes+1)-th write after any write starts at least per_seconds later
        assert later - first >= per_seconds - 1e-9


def test_250_patches_never_exceed_100_in_any_20_seconds(make_client, clock):
    sent_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            sent_at.append(clock.monotonic())
        return httpx.Response(204)

    client = make_client(handler)
    for index in range(250):
        client.patch(f"deviceManagement/deviceConfigurations/{index}", json={"x": index})

    assert len(sent_at) == 250
    assert_window_respected(sent_at, max_writes=100, per_seconds=20.0)
    # and no needless waiting: 3 bursts at 0 s, 20 s and 40 s
    assert sent_at[-1] - sent_at[0] == pytest.approx(40.0)
    assert sent_at[99] == sent_at[0]


def test_reads_are_not_paced(make_client, clock):
    client = make_client(lambda request: httpx.Response(200, json={}), pacer=WritePacer(1, 20.0))
    for _ in range(50):
        client.get("deviceManagement/deviceConfigurations")
    assert clock.sleeps == []


def test_every_write_verb_counts(make_client, clock):
    client = make_client(lambda request: httpx.Response(204), pacer=WritePacer(2, 10.0))
    client.post("a", json={})
    client.put("a", json={})
    client.delete("a")  # third write in the window: waits
    assert clock.slept == pytest.approx(10.0)


def test_writes_spread_over_time_do_not_wait(clock):
    pacer = WritePacer(max_writes=3, per_seconds=10.0)
    for _ in range(10):
        pacer.acquire(clock)
        clock.advance(4.0)
    assert clock.sleeps == []


def test_a_batch_of_writes_acquires_all_its_slots_at_once(clock):
    pacer = WritePacer(max_writes=5, per_seconds=10.0)
    pacer.acquire(clock, 3)
    pacer.acquire(clock, 3)  # 6 > 5: waits for the first three to leave the window
    assert clock.sleeps == [10.0]
    with pytest.raises(ValueError, match="split the request"):
        pacer.acquire(clock, 6)


def test_invalid_limits_are_rejected():
    with pytest.raises(ValueError):
        WritePacer(max_writes=0)
    with pytest.raises(ValueError):
        WritePacer(per_seconds=0)


@settings(max_examples=200, deadline=None)
@given(
    max_writes=st.integers(min_value=1, max_value=8),
    per_seconds=st.floats(min_value=0.5, max_value=30.0),
    steps=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=15.0), st.integers(min_value=1, max_value=8)),
        max_size=60,
    ),
)
def test_window_is_never_exceeded_and_waits_are_minimal(max_writes, per_seconds, steps):
    clock = FakeClock()
    pacer = WritePacer(max_writes=max_writes, per_seconds=per_seconds)
    sent_at: list[float] = []
    for pause, writes in steps:
        writes = min(writes, max_writes)
        clock.advance(pause)
        before = clock.monotonic()
        waited = pacer.acquire(clock, writes)
        now = clock.monotonic()
        assert now - before == pytest.approx(waited)
        if waited > 1e-6:
            # it only waited because, just before now, the window was too full
            recent = [t for t in sent_at if t > now - per_seconds - 1e-3]
            assert len(recent) + writes > max_writes
        sent_at.extend([now] * writes)
    assert_window_respected(sent_at, max_writes=max_writes, per_seconds=per_seconds)
