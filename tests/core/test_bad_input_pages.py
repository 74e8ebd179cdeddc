"""Bad input and bad stored data on the admin pages and the wizard: the page answers (or says
what is wrong), never a 500, and never shows a stored ciphertext."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.db.models import TextField, Value
from django.test import Client
from django.urls import reverse

from tenantguard.accounts.models import Membership
from tenantguard.backups.models import BackupItem
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.common.ids import MAX_ID, parse_id, parse_ids
from tenantguard.crypto import UNDECRYPTABLE_MESSAGE
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.tenants.models import Tenant

TOO_BIG = "99999999999999999999"
BAD_IDS = [TOO_BIG, "²", "٣", "0", "-5", "1e3", " "]


def foreign_ciphertext(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return "enc:v1:" + Fernet(Fernet.generate_key()).encrypt(text.encode()).decode()


def store_raw(queryset, **columns: str) -> None:
    queryset.update(**{name: Value(raw, output_field=TextField()) for name, raw in columns.items()})


def read_raw(model, pk: int, column: str) -> str:
    """The column as stored (the field would decrypt it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def baseline(personas, tenant, emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )


@pytest.fixture
def owner_client(personas) -> Client:
    client = Client()
    client.force_login(personas["owner"])
    return client


@pytest.fixture
def broken_items(baseline):
    first, second, third = baseline.items.order_by("pk")[:3]
    stored = BackupItem.objects.get(pk=first.pk)
    stored.payload = "not an object"
    stored.save(update_fields=["payload"])
    stored = BackupItem.objects.get(pk=second.pk)
    stored.payload = [1, 2]
    stored.save(update_fields=["payload"])
    ciphertext = foreign_ciphertext({"omaSettings[0].value": "pre-shared-key"})
    store_raw(BackupItem.objects.filter(pk=third.pk), secrets=ciphertext)
    return {"string": first, "list": second, "secrets": third, "ciphertext": ciphertext}


# ---- the shared id parser ----------------------------------------------------------------------


def test_parse_id_takes_ascii_digits_within_64_bits_only():
    assert parse_id("42") == 42
    assert parse_id(" 42 ") == 42
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id(7) == 7
    for bad in [*BAD_IDS, str(MAX_ID + 1), "", None, True, 4.0, MAX_ID + 1, -1]:
        assert parse_id(bad) is None, bad
    assert parse_ids(["1,²,3", TOO_BIG, "4"]) == {1, 3, 4}


# ---- ids in query strings and forms ----------------------------------------------------------


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize(
    "changelist, parameter",
    [
        ("admin:backups_backupset_changelist", "tenant__id__exact"),
        ("admin:backups_backupitem_changelist", "backup_set__id__exact"),
        ("admin:restores_restorerun_changelist", "tenant__id__exact"),
        ("admin:audit_auditevent_changelist", "tenant__id__exact"),
        ("admin:backups_backupset_changelist", "tenant"),
        ("admin:backups_backupitem_changelist", "backup_set"),
    ],
)
def test_admin_changelists_survive_impossible_ids(
    owner_client, baseline, changelist, parameter, value
):
    response = owner_client.get(reverse(changelist), {parameter: value})
    assert response.status_code in (200, 302), response.status_code


OTHER_AREAS_CHANGELISTS = [
    "admin:restores_restorerun_changelist",
    "admin:audit_auditevent_changelist",
    "admin:accounts_membership_changelist",
]


@pytest.mark.parametrize("value", BAD_IDS[1:])
@pytest.mark.parametrize("changelist", OTHER_AREAS_CHANGELISTS)
def test_other_changelists_survive_invalid_tenant_filters(owner_client, changelist, value):
    response = owner_client.get(reverse(changelist), {"tenant": value})
    assert response.status_code in (200, 302), response.status_code


@pytest.mark.parametrize("changelist", OTHER_AREAS_CHANGELISTS)
def test_other_changelists_survive_a_tenant_id_beyond_64_bits(owner_client, changelist):
    response = owner_client.get(reverse(changelist), {"tenant": TOO_BIG})
    assert response.status_code in (200, 302), response.status_code


@pytest.mark.parametrize("value", BAD_IDS)
def test_new_restore_page_ignores_impossible_ids(owner_client, baseline, value):
    response = owner_client.get(reverse("restores:new"), {"backup_set": value, "tenant": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", BAD_IDS)
def test_source_step_ignores_an_impossible_backup_set(
    owner_client, personas, tenant, baseline, value
):
    run = restore_run_create(actor=personas["owner"], tenant=tenant)
    response = owner_client.get(reverse("restores:source", args=[run.pk]), {"backup_set": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", BAD_IDS)
def test_scope_step_ignores_an_impossible_page(owner_client, personas, tenant, baseline, value):
    run = restore_run_create(actor=personas["owner"], tenant=tenant, backup_set=baseline)
    url = reverse("restores:scope", args=[run.pk])
    assert owner_client.get(url, {"page": value}).status_code == 200


def test_scope_step_searching_for_a_nul_character_finds_nothing(
    owner_client, personas, tenant, baseline
):
    # PostgreSQL refuses a NUL even as a query parameter: the search was a 500 there.
    run = restore_run_create(actor=personas["owner"], tenant=tenant, backup_set=baseline)
    url = reverse("restores:scope", args=[run.pk])
    response = owner_client.get(url, {"q": "Wi-Fi\x00"})
    assert response.status_code == 200
    assert response.context["scope"].total_items == 0


@pytest.mark.parametrize(
    "value",
    BAD_IDS,
)
def test_scope_step_refuses_an_impossible_item_with_a_message(
    owner_client, personas, tenant, baseline, value
):
    run = restore_run_create(actor=personas["owner"], tenant=tenant, backup_set=baseline)
    kept = baseline.items.order_by("pk").first()
    response = owner_client.post(
        reverse("restores:scope", args=[run.pk]),
        {"op": "page", "mode": "selected", "shown": f"{kept.pk},{value}", "item": [value]},
    )
    assert response.status_code == 302


def test_admin_object_pages_with_impossible_ids_are_not_found(owner_client, baseline):
    for name in ("admin:backups_backupset_change", "admin:tenants_tenant_change"):
        url = reverse(name, args=[1]).replace("/1/", f"/{TOO_BIG}/")
        assert owner_client.get(url).status_code in (302, 404), name


# ---- bad stored data -------------------------------------------------------------------------


def test_backup_item_pages_show_each_items_problem(owner_client, baseline, broken_items):
    listing = owner_client.get(
        reverse("admin:backups_backupitem_changelist"), {"backup_set__id__exact": baseline.pk}
    )
    assert listing.status_code == 200
    assert broken_items["ciphertext"][10:40] not in listing.content.decode()
    for key in ("string", "list"):
        page = owner_client.get(
            reverse("admin:backups_backupitem_change", args=[broken_items[key].pk])
        )
        assert page.status_code == 200
        assert "not a JSON object" in page.content.decode()
    page = owner_client.get(
        reverse("admin:backups_backupitem_change", args=[broken_items["secrets"].pk])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "could not be decrypted" in html
    assert broken_items["ciphertext"][10:40] not in html
    backup_page = owner_client.get(reverse("admin:backups_backupset_change", args=[baseline.pk]))
    assert backup_page.status_code == 200


def test_tenant_pages_list_a_tenant_whose_credential_cannot_be_decrypted(
    owner_client, personas, tenant
):
    rotated = Tenant.objects.create(
        display_name="Fabrikam", entra_tenant_id="fabrikam.example", cloud="emulator"
    )
    ciphertext = foreign_ciphertext("old-token")
    store_raw(Tenant.objects.filter(pk=rotated.pk), static_token=ciphertext)
    Membership.objects.create(user=personas["owner"], tenant=rotated, role="admin")

    listing = owner_client.get(reverse("admin:tenants_tenant_changelist"))
    assert listing.status_code == 200
    assert "Fabrikam" in listing.content.decode() and "Contoso Test" in listing.content.decode()
    page = owner_client.get(reverse("admin:tenants_tenant_change", args=[rotated.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert ciphertext[10:40] not in html
    assert "Static token: A stored secret could not be decrypted" in html


def test_a_tenant_saved_with_an_undecryptable_secret_keeps_the_stored_value(tenant):
    ciphertext = foreign_ciphertext("old-token")
    store_raw(Tenant.objects.filter(pk=tenant.pk), static_token=ciphertext)
    loaded = Tenant.objects.get(pk=tenant.pk)
    assert not loaded.static_token  # never usable as a credential
    loaded.display_name = "Contoso Renamed"
    loaded.save()
    assert read_raw(Tenant, tenant.pk, "static_token") == ciphertext


def test_an_item_with_undecryptable_secrets_reads_as_stored_but_unreadable(broken_items):
    from tenantguard.crypto import decryption_problem

    item = BackupItem.objects.get(pk=broken_items["secrets"].pk)
    assert item.secrets  # something is stored ...
    assert dict(item.secrets) == {}  # ... but no value can be read or written anywhere
    assert decryption_problem(item.secrets) == UNDECRYPTABLE_MESSAGE
    item.save()
    assert read_raw(BackupItem, item.pk, "secrets") == broken_items["ciphertext"]


def test_a_damaged_ciphertext_with_non_ascii_characters_reads_as_undecryptable(
    owner_client, personas, tenant
):
    # A value damaged in the database (here: a non-ASCII character in the token) is as
    # unreadable as one encrypted with another key: the tenant pages still answer.
    damaged = foreign_ciphertext("old-token")[:20] + "é" + "x" * 20
    store_raw(Tenant.objects.filter(pk=tenant.pk), static_token=damaged)
    from tenantguard.crypto import decryption_problem

    loaded = Tenant.objects.get(pk=tenant.pk)
    assert not loaded.static_token
    assert decryption_problem(loaded.static_token) == UNDECRYPTABLE_MESSAGE
    assert owner_client.get(reverse("admin:tenants_tenant_changelist")).status_code == 200
    page = owner_client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert page.status_code == 200
    assert "could not be decrypted" in page.content.decode()


def test_wizard_steps_show_items_whose_payload_is_not_an_object(
    owner_client, personas, tenant, baseline, broken_items
):
    run = restore_run_create(actor=personas["owner"], tenant=tenant, backup_set=baseline)
    run = restore_run_set_scope(actor=personas["owner"], run=run, mode="all")
    assert owner_client.get(reverse("restores:scope", args=[run.pk])).status_code == 200
    response = owner_client.get(reverse("restores:source", args=[run.pk]))
    assert response.status_code == 200
    ran = owner_client.post(reverse("restores:checks_run", args=[run.pk]))
    assert ran.status_code == 302
    checks = owner_client.get(reverse("restores:checks", args=[run.pk]), {"all": "1"})
    assert checks.status_code == 200
    html = checks.content.decode()
    assert broken_items["string"].display_name in html
    assert broken_items["ciphertext"][10:40] not in html
    ran = owner_client.post(reverse("restores:preview_run", args=[run.pk]))
    assert ran.status_code == 302
    assert owner_client.get(reverse("restores:preview", args=[run.pk])).status_code == 200
    assert owner_client.get(reverse("restores:run", args=[run.pk])).status_code == 200


@pytest.mark.parametrize("value", BAD_IDS)
def test_forms_choosing_a_tenant_or_backup_set_refuse_impossible_ids(
    owner_client, personas, tenant, baseline, value
):
    response = owner_client.post(reverse("restores:new"), {"tenant": value, "backup_set": value})
    assert response.status_code == 200  # the form again, with what to correct
    run = restore_run_create(actor=personas["owner"], tenant=tenant)
    response = owner_client.post(reverse("restores:source", args=[run.pk]), {"backup_set": value})
    assert response.status_code == 200


def test_connecting_with_an_undecryptable_credential_says_so(tenant):
    from tenantguard.tenants.graph_access import TenantConfigurationError, graph_client_for

    ciphertext = foreign_ciphertext("static-token-from-another-install")
    store_raw(Tenant.objects.filter(pk=tenant.pk), static_token=ciphertext)
    with pytest.raises(TenantConfigurationError) as caught:
        graph_client_for(Tenant.objects.get(pk=tenant.pk))
    message = str(caught.value)
    assert "static token cannot be decrypted" in message
    assert "has no static token" not in message
    assert ciphertext[7:40] not in message
