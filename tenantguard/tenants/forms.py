from __future__ import annotations

from typing import Any

from django import forms

from tenantguard.tenants.models import AuthMethod, Cloud, Tenant
from tenantguard.tenants.services import (
    CONNECTION_FIELDS,
    CREDENTIAL_OF_METHOD,
    SECRET_FIELDS,
    credentials_required_message,
)


class TenantForm(forms.ModelForm):
    """Tenant settings. Secret fields are write-only: left blank, the stored value is kept,
    unless the cloud, Graph URL, login URL, client ID or Entra tenant ID changes: then the
    stored secrets are discarded and the login method's credential must be entered again."""

    confirm_prune = forms.BooleanField(
        required=False,
        label="Delete them",
        help_text="Confirms that lowering “Scheduled backups to keep” may delete older "
        "scheduled backups (manual backups and pre-restore snapshots are never deleted).",
    )

    class Meta:
        model = Tenant
        fields = (
            "display_name",
            "entra_tenant_id",
            "environment",
            "cloud",
            "graph_url",
            "login_url",
            "auth_method",
            "client_id",
            "client_secret",
            "certificate_private_key",
            "certificate_thumbprint",
            "static_token",
            "backup_schedule",
            "backup_hour_utc",
            "keep_scheduled_backups",
        )
        widgets = {
            "client_secret": forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            ),
            "static_token": forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            ),
            "certificate_private_key": forms.Textarea(
                attrs={"rows": 4, "placeholder": "Paste a new PEM key to replace the stored one"}
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if name not in self.fields:
                continue
            field = self.fields[name]
            field.required = False
            stored = bool(self.instance.pk and getattr(self.instance, name))
            field.help_text = (
                "A value is stored (hidden). Leave blank to keep it; changing the cloud, Graph "
                "or login URL, client ID or tenant ID discards it."
                if stored
                else "Not set."
            )
            self.initial[name] = ""

    def moved_connection_fields(self) -> list[str]:
        """Connection fields this submission changes (``CONNECTION_FIELDS``); each discards
        the stored secrets (see ``tenant_update``)."""
        if not self.instance.pk:
            return []
        data = self.cleaned_data
        return [
            name
            for name in CONNECTION_FIELDS
            if name in data and data[name] != getattr(self.instance, name)
        ]

    def _has(self, name: str, *, moved: list[str]) -> bool:
        """Whether secret ``name`` will be set: typed now, or stored and kept (only kept while
        no connection field changes)."""
        return bool(
            self.cleaned_data.get(name)
            or (not moved and self.instance.pk and getattr(self.instance, name))
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        # A blank secret field is not a value: ``cleaned_data`` keeps only secrets typed now.
        for name in SECRET_FIELDS:
            if name in data and not data[name]:
                del data[name]
        moved = self.moved_connection_fields()
        cloud, method = data.get("cloud"), data.get("auth_method")
        if cloud == Cloud.CUSTOM and not data.get("graph_url"):
            self.add_error(
                "graph_url", "A custom cloud needs its Graph URL, e.g. http://127.0.0.1:8765."
            )
        credential = CREDENTIAL_OF_METHOD.get(method) if method else None
        if moved and credential in self.fields and not data.get(credential):
            self.add_error(
                credential, credentials_required_message(moved=moved, credential=credential)
            )
        elif method == AuthMethod.CLIENT_SECRET and not self._has("client_secret", moved=moved):
            self.add_error("client_secret", "Enter the app registration's client secret.")
        elif method == AuthMethod.CERTIFICATE and not (
            self._has("certificate_private_key", moved=moved) and data.get("certificate_thumbprint")
        ):
            self.add_error(
                "certificate_private_key",
                "A certificate login needs the private key (PEM) and its thumbprint.",
            )
        elif method == AuthMethod.STATIC_TOKEN and not self._has("static_token", moved=moved):
            self.add_error("static_token", "Enter the bearer token to use.")
        if method in (AuthMethod.CLIENT_SECRET, AuthMethod.CERTIFICATE) and not data.get(
            "client_id"
        ):
            self.add_error("client_id", "Enter the app registration's application (client) ID.")
        self._confirm_retention(data)
        return data

    def _confirm_retention(self, data: dict[str, Any]) -> None:
        """Lowering "Scheduled backups to keep" deletes backups: say how many, ask to confirm."""
        keep = data.get("keep_scheduled_backups")
        if not self.instance.pk or not keep or data.get("confirm_prune"):
            return
        if keep == self.instance.keep_scheduled_backups:
            return
        from tenantguard.backups.scheduling import scheduled_backups_beyond

        doomed = len(scheduled_backups_beyond(tenant=self.instance, keep=keep))
        if doomed:
            noun = "backup" if doomed == 1 else "backups"
            self.add_error(
                "keep_scheduled_backups",
                f"Keeping {keep} deletes {doomed} older scheduled {noun} of this tenant at the "
                "scheduler's next pass (within a minute). Tick “Delete them” below to confirm, "
                "or keep a larger number.",
            )
