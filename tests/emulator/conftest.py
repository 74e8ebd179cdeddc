"""Fixtures for the Graph emulator tests: raw HTTP through ``emu.transport()``, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tenantguard.emulator import EmulatorConfig, GraphEmulator, Tenant, ThrottleConfig
from tenantguard.emulator.testing import FakeClock, emulator_client

TOKEN = "static-token-1"
TENANT = "contoso-test"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[GraphEmulator]:
    emulator = GraphEmulator(
        config=EmulatorConfig(throttle=ThrottleConfig(enabled=False), clock=clock)
    )
    yield emulator
    emulator.close()


@pytest.fixture
def tenant(emu: GraphEmulator) -> Tenant:
    return emu.add_tenant(tenant_id=TENANT, token=TOKEN)


@pytest.fixture
def client(emu: GraphEmulator, tenant: Tenant) -> Iterator[httpx.Client]:
    with emulator_client(emu, TOKEN) as c:
        yield c
