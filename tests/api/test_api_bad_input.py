"""Bad input and bad stored data through the API: 400 saying what to change, 404, or the item's
problem shown in its place; never a 500 and never a stored ciphertext in an answer."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.db.models import TextField, Value

from tenantguard.backups.models import BackupItem
from tenantguard.crypto import UNDECRYPTABLE_MESSAGE
from tenantguard.tenants.models import Tenant

TOO_BIG = "99999999999999999999"  # beyond the signed 64-bit range of every id column
LARGEST_ID = 2**63 - 1


def foreign_ciphertext(value: object) -> str:
    """``value`` stored the way TenantGuard stores secrets, with a key this install lacks."""
    text = value if isinstance(value, str) else json.dumps(value)
    return "enc:v1:" + Fernet(Fernet.generate_key()).encrypt(text.encode()).decode()


def store_raw(queryset, **columns: str) -> None:
    """Write column values as they are (an encrypted field would encrypt them again)."""
    queryset.update(**{name: Value(raw, output_field=TextField()) for name, raw in columns.items()})


@pytest.fixture
def broken_items(baseline):
    """Three items of the baseline: payload a string, payload a list, secrets undecryptable."""
    first, second, third = baseline.items.order_by("pk")[:3]
    stored = BackupItem.objects.get(pk=first.pk)
    stored.payload = "not an object"
    stored.save(update_fields=["payload"])
    stored = BackupItem.objects.get(pk=second.pk)
    stored.payload = [1, 2]
    stored.save(update_fields=["payload"])
    ciphertext = foreign_ciphertext({"omaSettings[0].value": "pre-shared-key"})
    store_raw(BackupItem.objects.filter(pk=third.pk), secrets=ciphertext)
    return {"string": first.pk, "list": second.pk, "secrets": third.pk, "ciphertext": ciphertext}


# ---- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/backup-sets", "/restore-runs"])
@pytest.mark.parametrize("value", [TOO_BIG, "²", "0", "-1"])
def test_list_filters_with_an_impossible_tenant_id_answer_400_naming_it(
    personas, tenant, api_as, path, value
):
    response = api_as(personas["owner"]).get(path, tenant=value)
    assert response.status_code == 400, response.content
    body = response.json()
    assert "tenant" in body["detail"]
    assert any("tenant" in reason for reason in body["reasons"])


def test_largest_id_is_simply_not_found(personas, tenant, api_as):
    api = api_as(personas["owner"])
    assert api.get("/backup-sets", tenant=str(LARGEST_ID)).json()["count"] == 0
    assert api.get(f"/restore-runs/{LARGEST_ID}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"/restore-runs/{TOO_BIG}",
        f"/backup-sets/{TOO_BIG}",
        f"/backup-sets/{TOO_BIG}/items",
        f"/restore-runs/{TOO_BIG}/checks",
        f"/restore-runs/{TOO_BIG}/audit",
    ],
)
def test_ids_beyond_64_bits_in_paths_are_not_found(personas, api_as, path):
    response = api_as(personas["owner"]).get(path)
    assert response.status_code == 404, response.content
    assert response.json()["detail"]


def test_writes_with_ids_beyond_64_bits_are_not_found(personas, tenant, baseline, api_as):
    api = api_as(personas["owner"])
    assert api.post(f"/restore-runs/{TOO_BIG}/cancel").status_code == 404
    assert api.put(f"/restore-runs/{TOO_BIG}/dry-run", {"dry_run": True}).status_code == 404
    assert api.post(f"/tenants/{TOO_BIG}/backups").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"tenant_id": int(TOO_BIG)},
        {"tenant_id": 1, "backup_set_id": int(TOO_BIG)},
        {"tenant_id": 0},
    ],
)
def test_creating_a_run_with_an_impossible_id_answers_400(personas, tenant, api_as, body):
    response = api_as(personas["owner"]).post("/restore-runs", body)
    assert response.status_code == 400, response.content
    assert "_id" in response.json()["detail"]


def test_scope_item_ids_beyond_64_bits_answer_400_naming_item_ids(
    personas, tenant, baseline, api_as
):
    api = api_as(personas["owner"])
    run_id = api.post("/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk})
    run_id = run_id.json()["id"]
    response = api.put(
        f"/restore-runs/{run_id}/scope", {"mode": "selected", "item_ids": [int(TOO_BIG)]}
    )
    assert response.status_code == 400, response.content
    assert "item_ids" in response.json()["detail"]
    # The largest possible id is accepted as input and refused as not in the backup set.
    response = api.put(
        f"/restore-runs/{run_id}/scope", {"mode": "selected", "item_ids": [LARGEST_ID]}
    )
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    "value",
    [
        "target\\ud800",  # a lone surrogate: valid JSON, no text (nothing can encode it)
        "target\\u0000",  # NUL: PostgreSQL refuses it in jsonb and text (a 500 there)
    ],
)
def test_a_body_that_no_database_can_store_answers_400_and_changes_nothing(
    personas, tenant, baseline, api_as, value
):
    # Schema fuzzing on SQLite never sends these; a client can.
    api = api_as(personas["owner"])
    run_id = api.post("/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk})
    run_id = run_id.json()["id"]
    response = api.client.put(
        f"/api/restore-runs/{run_id}/mapping",
        data='{"group": {"source-group": "' + value + '"}}',
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert api.get(f"/restore-runs/{run_id}").json()["mapping"] == {}


def test_a_query_value_with_a_nul_character_answers_400_naming_it(personas, baseline, api_as):
    # PostgreSQL refuses NUL in a query's text parameters: this was a 500 there.
    response = api_as(personas["owner"]).get(
        f"/backup-sets/{baseline.pk}/items", search="Wi-Fi\x00"
    )
    assert response.status_code == 400, response.content
    assert response.json()["reasons"] == ["query.search: contains a NUL character"]


def test_validation_errors_answer_400_with_what_to_change_not_422(personas, tenant, api_as):
    api = api_as(personas["owner"])
    response = api.get("/restore-runs", page="two")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("The request is not valid")
    assert any(reason.startswith("query.page:") for reason in body["reasons"])

    response = api.post("/restore-runs", {"tenant": tenant.pk})
    assert response.status_code == 400
    reasons = response.json()["reasons"]
    assert any("body.payload.tenant_id" in r or "tenant_id" in r for r in reasons), reasons


def test_every_operation_declares_400_and_401(personas, api_as):
    document = api_as(personas["owner"]).get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            assert {"400", "401"} <= declared, (method, path, declared)
            if "{" in path:
                assert "404" in declared, (method, path, declared)


# ---- bad stored data -------------------------------------------------------------------------


def test_a_tenant_whose_credential_cannot_be_decrypted_is_listed_with_the_others(
    personas, tenant, api_as
):
    from tenantguard.accounts.models import Membership

    rotated = Tenant.objects.create(
        display_name="Fabrikam", entra_tenant_id="fabrikam.example", cloud="emulator"
    )
    ciphertext = foreign_ciphertext("old-token")
    store_raw(Tenant.objects.filter(pk=rotated.pk), static_token=ciphertext)
    Membership.objects.create(user=personas["owner"], tenant=rotated, role="admin")

    api = api_as(personas["owner"])
    response = api.get("/tenants")
    assert response.status_code == 200, response.content
    assert {"Contoso Test", "Fabrikam"} <= {t["display_name"] for t in response.json()}
    assert ciphertext[10:40] not in response.content.decode()

    tested = api.post(f"/tenants/{rotated.pk}/test-connection")
    assert tested.status_code in (200, 400), tested.content
    assert ciphertext[10:40] not in tested.content.decode()


def test_item_list_shows_each_broken_items_problem_and_lists_the_rest(
    personas, baseline, broken_items, api_as
):
    response = api_as(personas["owner"]).get(
        f"/backup-sets/{baseline.pk}/items", include="payload", page_size=200
    )
    assert response.status_code == 200, response.content
    assert broken_items["ciphertext"][10:40] not in response.content.decode()
    items = {item["id"]: item for item in response.json()["items"]}
    assert len(items) == baseline.items.count()
    for key in ("string", "list"):
        broken = items[broken_items[key]]
        assert broken["payload"] is None
        assert any(
            "payload" in warning and "JSON object" in warning for warning in broken["warnings"]
        )
    secret_item = items[broken_items["secrets"]]
    assert secret_item["has_secret_values"] is True
    assert UNDECRYPTABLE_MESSAGE in secret_item["warnings"]
    healthy = [item for pk, item in items.items() if pk not in broken_items.values()]
    assert all(isinstance(item["payload"], dict) for item in healthy)


def test_checks_report_a_payload_that_is_not_an_object_and_the_preview_goes_on(
    personas, tenant, baseline, broken_items, api_as
):
    api = api_as(personas["owner"])
    run_id = api.post("/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk})
    run_id = run_id.json()["id"]
    assert api.put(f"/restore-runs/{run_id}/scope", {"mode": "all"}).status_code == 200
    assert api.post(f"/restore-runs/{run_id}/checks").status_code == 200
    results = api.get(f"/restore-runs/{run_id}/checks", code="payload_integrity", page_size=200)
    flagged = {row["item_source_id"] for row in results.json()["items"]}
    bad_sources = set(
        BackupItem.objects.filter(
            pk__in=[broken_items["string"], broken_items["list"]]
        ).values_list("source_id", flat=True)
    )
    assert bad_sources <= flagged
    response = api.post(f"/restore-runs/{run_id}/preview")
    assert response.status_code == 200, response.content
    assert api.get(f"/restore-runs/{run_id}/preview").status_code == 200


def test_checks_block_only_the_item_whose_secret_values_cannot_be_decrypted(
    personas, tenant, baseline, api_as
):
    secret_item = next(item for item in baseline.items.all() if item.secrets)
    ciphertext = foreign_ciphertext(dict(secret_item.secrets))
    store_raw(BackupItem.objects.filter(pk=secret_item.pk), secrets=ciphertext)

    api = api_as(personas["owner"])
    run_id = api.post("/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk})
    run_id = run_id.json()["id"]
    assert api.put(f"/restore-runs/{run_id}/scope", {"mode": "all"}).status_code == 200
    checked = api.post(f"/restore-runs/{run_id}/checks")
    assert checked.status_code == 200, checked.content
    results = api.get(f"/restore-runs/{run_id}/checks", severity="blocking", page_size=200)
    blocked = {row["item_source_id"] for row in results.json()["items"] if "secret" in row["code"]}
    assert blocked == {secret_item.source_id}
    [row] = [row for row in results.json()["items"] if "secret" in row["code"]]
    # The backup does hold the values: the way out is the old key, not a new capture only.
    assert "no longer has" in row["message"] and "TENANTGUARD_ENCRYPTION_KEY" in row["resolution"]
    previewed = api.post(f"/restore-runs/{run_id}/preview")
    assert previewed.status_code == 200, previewed.content
    assert ciphertext[10:40] not in previewed.content.decode()
