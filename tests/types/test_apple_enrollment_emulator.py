"""Apple DEP tokens and the enrollment profiles under each, as the emulator serves them.

Sources: learn.microsoft.com Graph beta ``intune-enrollment-deponboardingsetting`` and
``intune-enrollment-enrollmentprofile-*`` / ``depiosenrollmentprofile`` (list, get, create 201,
update, delete under ``depOnboardingSettings/{id}/enrollmentProfiles``); IntuneCD 2.6.0
(``backup/Intune/AppleEnrollmentProfiles.py``: list tokens, batch ``{id}/enrollmentProfiles``;
``update/Intune/AppleEnrollmentProfile.py``: PATCH answered 204, token id = the profile id's
prefix before ``_``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tenantguard.emulator import EmulatorConfig, GraphEmulator, Tenant, ThrottleConfig
from tenantguard.emulator.demo import DEMO_SEED_DIR
from tenantguard.emulator.testing import emulator_client
from tenantguard.graph import GraphClient, StaticTokenProvider
from tenantguard.intune import capture, normalize, registry
from tenantguard.intune.typespec import PARENT_ID_KEY, PARENT_NAME_KEY, odata

TOKENS = "/beta/deviceManagement/depOnboardingSettings"
PROFILES = "deviceManagement/depOnboardingSettings/enrollmentProfiles"
SEED = DEMO_SEED_DIR / "deviceManagement" / "depOnboardingSettings"


@pytest.fixture
def emu() -> Iterator[GraphEmulator]:
    emulator = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    yield emulator
    emulator.close()


@pytest.fixture
def graph_tenant(emu: GraphEmulator) -> Tenant:
    return emu.add_tenant(tenant_id="apple-test", token="tok-apple", seed_dir=Path(SEED))


@pytest.fixture
def client(emu: GraphEmulator, graph_tenant: Tenant) -> Iterator[httpx.Client]:
    with emulator_client(emu, "tok-apple") as c:
        yield c


def _token_id(client: httpx.Client, name: str) -> str:
    tokens = client.get(TOKENS).json()["value"]
    return next(t["id"] for t in tokens if t["tokenName"] == name)


def _profile(name: str) -> dict:
    return {
        "@odata.type": odata("depIOSEnrollmentProfile"),
        "displayName": name,
        "description": "",
        "supervisedModeEnabled": True,
        "isDefault": True,
        "enabledSkipKeys": ["Siri"],
    }


def test_tokens_list_without_their_profiles_unless_expanded(client):
    tokens = client.get(TOKENS).json()["value"]
    assert {t["tokenName"] for t in tokens} == {"Contoso ABM", "Contoso ASM (Training)"}
    assert all("enrollmentProfiles" not in t for t in tokens)
    expanded = client.get(TOKENS, params={"$expand": "enrollmentProfiles"}).json()["value"]
    assert sum(len(t["enrollmentProfiles"]) for t in expanded) == 4


def test_profiles_are_listed_got_and_ids_start_with_their_token(client):
    token = _token_id(client, "Contoso ABM")
    listed = client.get(f"{TOKENS}/{token}/enrollmentProfiles").json()
    assert listed["@odata.context"].endswith(
        f"deviceManagement/depOnboardingSettings('{token}')/enrollmentProfiles"
    )
    assert len(listed["value"]) == 3
    assert all(p["id"].startswith(f"{token}_") for p in listed["value"])
    one = listed["value"][0]
    got = client.get(f"{TOKENS}/{token}/enrollmentProfiles/{one['id']}").json()
    assert got["displayName"] == one["displayName"]
    missing = client.get(f"{TOKENS}/{token}/enrollmentProfiles/{token}_nope")
    assert missing.status_code == 404


def test_create_answers_201_with_an_id_under_the_token(client):
    token = _token_id(client, "Contoso ASM (Training)")
    response = client.post(f"{TOKENS}/{token}/enrollmentProfiles", json=_profile("iOS - New"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith(f"{token}_")
    assert created["isDefault"] is False  # set with setDefaultProfile only
    assert "createdDateTime" not in created and "version" not in created
    names = [
        p["displayName"] for p in client.get(f"{TOKENS}/{token}/enrollmentProfiles").json()["value"]
    ]
    assert "iOS - New" in names
    abstract = client.post(f"{TOKENS}/{token}/enrollmentProfiles", json={"displayName": "No type"})
    assert abstract.status_code == 400


def test_patch_answers_204_ignores_is_default_and_refuses_no_change(client):
    token = _token_id(client, "Contoso ABM")
    profile = client.get(f"{TOKENS}/{token}/enrollmentProfiles").json()["value"][0]
    path = f"{TOKENS}/{token}/enrollmentProfiles/{profile['id']}"
    response = client.patch(path, json={"description": "Changed", "isDefault": True})
    assert response.status_code == 204
    after = client.get(path).json()
    assert (after["description"], after["isDefault"]) == ("Changed", profile["isDefault"])
    assert client.patch(path, json={"description": "Changed"}).status_code == 400
    wrong_type = client.patch(path, json={"@odata.type": odata("depMacOSEnrollmentProfile")})
    assert wrong_type.status_code == 400
    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404


def test_intunecd_batches_each_tokens_profiles(client):
    """IntuneCD: ``GET …/depOnboardingSettings/`` then ``$batch`` of relative urls
    ``deviceManagement/depOnboardingSettings/{id}/enrollmentProfiles`` with numeric ids."""
    tokens = client.get(f"{TOKENS}/").json()["value"]
    requests = [
        {
            "id": index + 1,
            "method": "GET",
            "url": f"deviceManagement/depOnboardingSettings/{t['id']}/enrollmentProfiles",
        }
        for index, t in enumerate(tokens)
    ]
    answer = client.post("/beta/$batch", json={"requests": requests}).json()
    assert all(r["status"] == 200 for r in answer["responses"]), answer
    profiles = [p for r in answer["responses"] for p in r["body"]["value"]]
    assert len(profiles) == 4
    # IntuneCD finds a profile's token as the id's prefix
    token_ids = {t["id"] for t in tokens}
    assert all(p["id"].split("_")[0] in token_ids for p in profiles)


def test_python_side_nested_collection(graph_tenant):
    profiles = graph_tenant.list_objects(PROFILES)
    assert len(profiles) == 4
    first = profiles[0]
    assert graph_tenant.get_object(PROFILES, first["id"]) == first
    graph_tenant.put_object(PROFILES, {**first, "description": "edited"})
    assert graph_tenant.get_object(PROFILES, first["id"])["description"] == "edited"
    assert graph_tenant.delete_object(PROFILES, first["id"])
    assert graph_tenant.get_object(PROFILES, first["id"]) is None
    assert len(graph_tenant.list_objects(PROFILES)) == 3


def test_capture_records_each_profiles_token(emu, graph_tenant):
    with GraphClient(
        graph_url="https://graph.microsoft.com",
        token_provider=StaticTokenProvider("tok-apple"),
        transport=emu.transport(),
    ) as graph_client:
        items = [
            entry
            for entry in capture.iter_capture(
                graph_client, type_keys=["apple_enrollment_profile", "dep_onboarding_setting"]
            )
            if isinstance(entry, capture.CapturedItem)
        ]
    tokens = {i.source_id: i.display_name for i in items if i.type_key == "dep_onboarding_setting"}
    profiles = [i for i in items if i.type_key == "apple_enrollment_profile"]
    assert set(tokens.values()) == {"Contoso ABM", "Contoso ASM (Training)"}
    assert len(profiles) == 4
    for item in profiles:
        assert tokens[item.payload[PARENT_ID_KEY]] == item.payload[PARENT_NAME_KEY]
        assert item.source_id.startswith(item.payload[PARENT_ID_KEY] + "_")
        assert item.assignments == [] and item.scope_tag_ids == []
    ptype = registry.get("apple_enrollment_profile")
    # the parent annotations are never compared nor written; isDefault is not written
    assert PARENT_ID_KEY not in normalize.normalize_payload(ptype.key, profiles[0].payload)
    assert PARENT_ID_KEY not in normalize.strip_for_write(ptype.key, profiles[0].payload)
    assert "isDefault" not in normalize.strip_for_write(ptype.key, profiles[0].payload)


def test_a_profile_seeded_on_its_own_lands_under_the_token_its_id_names(emu):
    tokens = [
        {
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/"
            "depOnboardingSettings/$entity",
            "@odata.type": odata("depOnboardingSetting"),
            "id": token_id,
            "tokenName": name,
        }
        for token_id, name in (("tok-a", "A"), ("tok-b", "B"))
    ]
    profile = {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/"
        "depOnboardingSettings('tok-b')/enrollmentProfiles/$entity",
        **_profile("Seeded alone"),
        "id": "tok-b_0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b",
    }
    # the profile comes first: it is loaded after the tokens all the same
    seeded = emu.add_tenant(
        tenant_id="apple-seeded", token="tok-seeded", seed_objects=[profile, *tokens]
    )
    holders = {
        t["tokenName"]: [p["id"] for p in t["enrollmentProfiles"]]
        for t in seeded.list_objects("deviceManagement/depOnboardingSettings")
    }
    assert holders == {"A": [], "B": [profile["id"]]}
