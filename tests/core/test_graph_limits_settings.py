"""The per-tenant Graph limits come from the environment, with Intune's as defaults."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import _env_int
from tenantguard.tenants.graph_access import shared_pacer_for, shared_request_pacer_for


def test_defaults_are_intunes_per_app_limits(tenant):
    assert shared_pacer_for(tenant).max_writes == 100
    assert shared_request_pacer_for(tenant).max_requests == 1000
    assert shared_request_pacer_for(tenant).per_seconds == 20.0


def test_settings_lower_the_limits(tenant, settings):
    settings.TENANTGUARD_GRAPH_WRITES_PER_20S = 40
    settings.TENANTGUARD_GRAPH_REQUESTS_PER_20S = 400
    assert shared_pacer_for(tenant).max_writes == 40
    assert shared_request_pacer_for(tenant).max_requests == 400


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_bad_limit_is_refused_with_what_to_set(monkeypatch, value):
    monkeypatch.setenv("TENANTGUARD_GRAPH_WRITES_PER_20S", value)
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        _env_int("TENANTGUARD_GRAPH_WRITES_PER_20S", 100, minimum=1)
