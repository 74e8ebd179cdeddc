"""Shared fixtures: personas (owner / operator / viewer / outsider) and emulated tenants.

Every test gets a fresh in-process Graph emulator: nothing here touches the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests search the same examples on every run (a CI run never meets a case the last
# one did not) and have no per-example time limit (a loaded 2-core machine is slow, not wrong).
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CORPUS_ENV = "TENANTGUARD_CORPUS_DIR"


def corpus_dir() -> Path | None:
    value = os.environ.get(CORPUS_ENV)
    return Path(value) if value else None


@pytest.fixture(autouse=True)
def _fresh_embedded_emulator():
    from tenantguard.tenants.graph_access import reset_embedded_emulator

    reset_embedded_emulator()
    yield
    reset_embedded_emulator()


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, *, superuser: bool = False):
        return django_user_model.objects.create_user(
            username=username, password="pw-" + username, is_staff=True, is_superuser=superuser
        )

    return make


@pytest.fixture
def superuser(make_user):
    return make_user("root", superuser=True)


def _tenant(name: str, environment: str):
    from tenantguard.tenants.models import Tenant

    return Tenant.objects.create(
        display_name=name,
        entra_tenant_id=f"{name.lower().replace(' ', '-')}.example",
        environment=environment,
        cloud="emulator",
        auth_method="static_token",
        static_token=f"token-{name.lower().replace(' ', '-')}",
    )


@pytest.fixture
def tenant(db):
    return _tenant("Contoso Test", "test")


@pytest.fixture
def prod_tenant(db):
    return _tenant("Contoso", "prod")


@pytest.fixture
def personas(make_user, tenant, prod_tenant):
    """owner = admin on both tenants, operator and viewer on both, outsider on none."""
    from tenantguard.accounts.models import Membership

    people = {name: make_user(name) for name in ("owner", "operator", "viewer", "outsider")}
    for t in (tenant, prod_tenant):
        Membership.objects.create(user=people["owner"], tenant=t, role="admin")
        Membership.objects.create(user=people["operator"], tenant=t, role="operator")
        Membership.objects.create(user=people["viewer"], tenant=t, role="viewer")
    return people


@pytest.fixture
def emulated(tenant):
    """The emulator's state for ``tenant`` (empty)."""
    from tenantguard.tenants.graph_access import emulated_tenant

    return emulated_tenant(tenant)


@pytest.fixture
def demo_objects():
    from tenantguard.emulator.demo import demo_tenant_objects

    return demo_tenant_objects(tenant_label="Contoso Test", seed=101)


class HeldTasks:
    """Stands in for a task: keeps the argument tuples it was enqueued with instead of running
    it, so a test can look at the waiting state and then run the job itself."""

    def __init__(self) -> None:
        self.jobs: list[tuple] = []

    def enqueue(self, *args) -> None:
        self.jobs.append(args)


@pytest.fixture
def held_analysis(monkeypatch) -> HeldTasks:
    """The wizard's background checks/preview task, held (see ``HeldTasks``)."""
    from tenantguard.restores import tasks

    held = HeldTasks()
    monkeypatch.setattr(tasks, "run_restore_analysis_task", held)
    return held
