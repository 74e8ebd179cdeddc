"""``graph_client_for`` hands every client of one tenant the same pacers: Intune's limits (1000
requests and 100 writes per app per tenant in any 20 s) hold for all of them together."""

from __future__ import annotations

import pytest

from tenantguard.graph import RequestPacer, WritePacer
from tenantguard.graph.testing import FakeClock
from tenantguard.tenants.graph_access import (
    graph_client_for,
    reset_embedded_emulator,
    reset_shared_pacers,
    shared_pacer_for,
    shared_request_pacer_for,
)


def test_two_clients_of_one_tenant_share_both_pacers(tenant):
    first, second = graph_client_for(tenant), graph_client_for(tenant)
    assert first is not second
    assert first.request_pacer is second.request_pacer
    assert first.pacer is second.pacer
    assert first.request_pacer is shared_request_pacer_for(tenant)
    assert first.pacer is shared_pacer_for(tenant)
    assert isinstance(first.request_pacer, RequestPacer)
    assert (first.request_pacer.limit, first.request_pacer.per_seconds) == (1000, 20.0)
    assert (first.pacer.limit, first.pacer.per_seconds) == (100, 20.0)
    assert first.request_pacer is not first.pacer


def test_clients_of_two_tenants_have_different_pacers(tenant, prod_tenant):
    ours, theirs = graph_client_for(tenant), graph_client_for(prod_tenant)
    assert ours.request_pacer is not theirs.request_pacer
    assert ours.pacer is not theirs.pacer


def test_a_pacer_given_by_the_caller_wins(tenant):
    own_requests, own_writes = RequestPacer(max_requests=5), WritePacer(max_writes=5)
    client = graph_client_for(tenant, request_pacer=own_requests, pacer=own_writes)
    assert client.request_pacer is own_requests and client.pacer is own_writes
    assert graph_client_for(tenant).request_pacer is not own_requests


def test_resetting_forgets_the_shared_pacers(tenant):
    before = graph_client_for(tenant).request_pacer
    reset_shared_pacers()
    after = graph_client_for(tenant).request_pacer
    assert after is not before
    reset_embedded_emulator()  # tests reset it between tests: the pacers go with it
    assert graph_client_for(tenant).request_pacer is not after


@pytest.mark.django_db
def test_two_clients_of_one_tenant_stay_under_the_limit_together(tenant):
    clock = FakeClock()
    clients = [graph_client_for(tenant, clock=clock) for _ in range(2)]
    done_at = []
    for index in range(1200):  # 600 reads each, alternating
        clients[index % 2].get("deviceManagement/deviceConfigurations")
        done_at.append(clock.monotonic())
    assert done_at[999] == done_at[0]  # 1000 together went at once
    assert done_at[1000] == pytest.approx(done_at[0] + 20.0)  # the 1001st waited
    assert clock.slept == pytest.approx(20.0)
