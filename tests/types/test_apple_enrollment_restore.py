"""Apple enrollment profiles end to end: captured under their DEP token, restored into the
target's token of the same name (or its only token), never written without one; the tokens
themselves are kept for the record and never written."""

from __future__ import annotations

import pytest

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.intune import normalize
from tenantguard.intune.typespec import PARENT_ID_KEY, PARENT_NAME_KEY
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import embedded_emulator, emulated_tenant

from ..restores_exec.conftest import prepare_run, seed

TOKENS = "deviceManagement/depOnboardingSettings"
PROFILES = f"{TOKENS}/enrollmentProfiles"
KEYS = ["apple_enrollment_profile", "dep_onboarding_setting"]
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture
def seeded(emulated, demo_objects):
    seed(emulated, demo_objects)
    return emulated


def _backup(actor, tenant, type_keys=KEYS):
    return backup_set_capture(
        backup_set=backup_set_start(actor=actor, tenant=tenant, enqueue=False),
        type_keys=type_keys,
    )


def _state(backup_set):
    return {
        (item.policy_type, item.display_name): (
            normalize.normalize_payload(item.policy_type, item.payload),
            item.payload.get(PARENT_NAME_KEY),
        )
        for item in backup_set.items.filter(policy_type__in=KEYS)
    }


def _profile(emulated, name):
    return next(p for p in emulated.list_objects(PROFILES) if p["displayName"] == name)


def _token_of(emulated, profile_id):
    return next(
        t["tokenName"]
        for t in emulated.list_objects(TOKENS)
        if any(p["id"] == profile_id for p in t.get("enrollmentProfiles") or [])
    )


def _writes_since(start):
    return [e for e in embedded_emulator().request_log[start:] if e.method in WRITES]


def test_profiles_come_back_under_their_own_token(personas, tenant, seeded):
    owner = personas["owner"]
    baseline = _backup(owner, tenant)
    expected = _state(baseline)
    assert expected[("apple_enrollment_profile", "iOS - Training iPads")][1] == (
        "Contoso ASM (Training)"
    )
    training = _profile(seeded, "iOS - Training iPads")
    seeded.delete_object(PROFILES, training["id"])
    corporate = _profile(seeded, "iOS - Corporate (supervised)")
    seeded.put_object(PROFILES, {**corporate, "supportPhoneNumber": "+1 425 555 0199"})
    token = next(t for t in seeded.list_objects(TOKENS) if t["tokenName"] == "Contoso ABM")
    seeded.put_object(TOKENS, {**token, "appleIdentifier": "someone-else@contoso.com"})
    start = len(embedded_emulator().request_log)

    run = prepare_run(owner, tenant, baseline)
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    writes = _writes_since(start)

    assert _state(_backup(owner, tenant)) == {
        **expected,
        # the token is never written: it keeps the change made after the backup
        ("dep_onboarding_setting", "Contoso ABM"): _state(_backup(owner, tenant))[
            ("dep_onboarding_setting", "Contoso ABM")
        ],
    }
    restored = _profile(seeded, "iOS - Training iPads")
    assert restored["id"] != training["id"]
    assert _token_of(seeded, restored["id"]) == "Contoso ASM (Training)"
    assert (
        _profile(seeded, "iOS - Corporate (supervised)")["supportPhoneNumber"]
        == (corporate["supportPhoneNumber"])
    )
    assert not [e for e in writes if e.path.rstrip("/").endswith(TOKENS)]
    assert not [e for e in writes if e.method == "PATCH" and "enrollmentProfiles" not in e.path]
    assert "DELETE" not in {e.method for e in writes}
    assert run.preview_items.filter(policy_type="dep_onboarding_setting", action="skip").exists()


def _prod_with_tokens(prod_tenant, *names):
    prod = emulated_tenant(prod_tenant)
    for index, name in enumerate(names):
        prod.put_object(
            TOKENS,
            {
                "@odata.type": "#microsoft.graph.depOnboardingSetting",
                "id": f"7d3c1b2a-0000-4000-8000-00000000000{index}",
                "tokenName": name,
                "tokenType": "dep",
                "roleScopeTagIds": ["0"],
                "enrollmentProfiles": [],
            },
        )
    return prod


def _run_one_profile(owner, prod_tenant, source, name):
    item = source.items.get(policy_type="apple_enrollment_profile", display_name=name)
    run = prepare_run(owner, prod_tenant, source, item_ids=[item.pk])
    return restore_run_execute(run_id=run.pk)


def test_another_tenants_only_token_takes_the_profile(personas, tenant, prod_tenant, seeded):
    owner = personas["owner"]
    prod = _prod_with_tokens(prod_tenant, "Fabrikam ABM")
    source = _backup(owner, tenant)
    run = _run_one_profile(owner, prod_tenant, source, "iOS - Training iPads")
    assert run.status == "completed", run.results
    (created,) = prod.list_objects(PROFILES)
    assert created["displayName"] == "iOS - Training iPads"
    assert created["id"].startswith("7d3c1b2a-0000-4000-8000-000000000000_")
    assert _token_of(prod, created["id"]) == "Fabrikam ABM"


def test_the_token_of_the_same_name_is_chosen_among_several(personas, tenant, prod_tenant, seeded):
    owner = personas["owner"]
    prod = _prod_with_tokens(prod_tenant, "Fabrikam ABM", "Contoso ASM (Training)")
    source = _backup(owner, tenant)
    run = _run_one_profile(owner, prod_tenant, source, "iOS - Training iPads")
    assert run.status == "completed", run.results
    (created,) = prod.list_objects(PROFILES)
    assert _token_of(prod, created["id"]) == "Contoso ASM (Training)"


def test_without_a_token_the_profile_is_not_written_and_the_reason_is_given(
    personas, tenant, prod_tenant, seeded
):
    owner = personas["owner"]
    prod = emulated_tenant(prod_tenant)
    source = _backup(owner, tenant)
    item = source.items.get(
        policy_type="apple_enrollment_profile", display_name="iOS - Training iPads"
    )
    assert item.payload[PARENT_ID_KEY]
    start = len(embedded_emulator().request_log)
    run = _run_one_profile(owner, prod_tenant, source, "iOS - Training iPads")
    planned = run.preview_items.get(policy_type="apple_enrollment_profile")
    assert planned.action == "skip" and planned.diff["skip_code"] == "no_parent"
    assert "no Apple enrollment program (DEP) token" in planned.reason
    # Nothing else in scope: the plan writes nothing, so the run is not even executable.
    assert run.status == "previewed" and not run.item_outcomes.exists()
    assert prod.list_objects(PROFILES) == []
    assert not [e for e in _writes_since(start) if TOKENS in e.path]


def test_several_tokens_none_of_the_same_name_is_not_guessed(personas, tenant, prod_tenant, seeded):
    owner = personas["owner"]
    prod = _prod_with_tokens(prod_tenant, "Fabrikam ABM", "Fabrikam ASM")
    source = _backup(owner, tenant)
    run = _run_one_profile(owner, prod_tenant, source, "iOS - Training iPads")
    planned = run.preview_items.get(policy_type="apple_enrollment_profile")
    assert planned.action == "skip" and planned.diff["skip_code"] == "no_parent"
    assert "'Fabrikam ABM', 'Fabrikam ASM'" in planned.reason
    assert "'Contoso ASM (Training)'" in planned.reason
    assert prod.list_objects(PROFILES) == []
