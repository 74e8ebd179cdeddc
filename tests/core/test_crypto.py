from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from tenantguard.crypto import DecryptionError, decrypt_str, encrypt_str
from tenantguard.tenants.models import Tenant


def test_round_trip_and_ciphertext_differs_from_plaintext():
    stored = encrypt_str("client-secret-value")
    assert "client-secret-value" not in stored
    assert decrypt_str(stored) == "client-secret-value"


def test_rotation_old_key_still_decrypts_after_a_new_key_is_prepended():
    old = "3q2nT9Gqf9l1oJ0uZ4pK8m2Xc6Vb5Nw7Yr1Ts0Qe4Lk="
    new = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FyYnk="
    with override_settings(TENANTGUARD_ENCRYPTION_KEYS=[old]):
        stored = encrypt_str("s3cret")
    with override_settings(TENANTGUARD_ENCRYPTION_KEYS=[new, old]):
        assert decrypt_str(stored) == "s3cret"
    with (
        override_settings(TENANTGUARD_ENCRYPTION_KEYS=[new]),
        pytest.raises(DecryptionError, match="previous key"),
    ):
        decrypt_str(stored)


@pytest.mark.django_db
def test_tenant_secret_is_not_stored_in_plaintext():
    Tenant.objects.create(
        display_name="Fabrikam",
        entra_tenant_id="fabrikam.example",
        client_id="app",
        client_secret="very-secret-client-secret",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM tenants_tenant")
        (raw,) = cursor.fetchone()
    assert "very-secret-client-secret" not in raw
    assert Tenant.objects.get().client_secret == "very-secret-client-secret"


def test_serializing_a_tenant_writes_its_secret_encrypted_and_loads_it_back(db):
    from django.core import serializers

    from tenantguard.tenants.models import Tenant

    tenant = Tenant.objects.create(
        display_name="Serialized",
        entra_tenant_id="serialized.example",
        environment="test",
        cloud="emulator",
        auth_method="static_token",
        static_token="plaintext-token-value",
    )
    dumped = serializers.serialize("json", Tenant.objects.filter(pk=tenant.pk))
    assert "plaintext-token-value" not in dumped
    [loaded] = list(serializers.deserialize("json", dumped))
    assert loaded.object.static_token == "plaintext-token-value"


def test_serializing_a_backup_item_writes_its_secrets_encrypted_and_loads_them_back(db, tenant):
    from django.core import serializers

    from tenantguard.backups.models import BackupItem, BackupSet

    backup_set = BackupSet.objects.create(tenant=tenant, name="With secrets", status="completed")

    def add(name: str, secrets: dict) -> BackupItem:
        return BackupItem.objects.create(
            backup_set=backup_set,
            policy_type="device_configuration",
            source_id=name,
            display_name=name,
            payload={"displayName": name},
            content_hash="0" * 64,
            secrets=secrets,
        )

    item = add("VPN", {"omaSettings[0].value": "vpn-pre-shared-key"})
    other = add("Plain", {})
    dumped = serializers.serialize("json", BackupItem.objects.filter(pk__in=[item.pk, other.pk]))
    assert "vpn-pre-shared-key" not in dumped
    loaded = {obj.object.pk: obj.object for obj in serializers.deserialize("json", dumped)}
    assert loaded[item.pk].secrets == {"omaSettings[0].value": "vpn-pre-shared-key"}
    assert loaded[other.pk].secrets == {}
