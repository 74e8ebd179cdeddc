from __future__ import annotations

from typing import Any

from django import forms

from tenantguard.tenants.models import AuthMethod, Cloud, Tenant
from tenantguard.tenants.services import SECRET_FIELDS


class TenantForm(forms.ModelForm):
    """Tenant settings. Secret fields are write-only: left blank, the stored value is kept."""

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
                "A value is stored (hidden). Leave blank to keep it." if stored else "Not set."
            )
            self.initial[name] = ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in SECRET_FIELDS:
            if name in self.fields and not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        cloud, method = data.get("cloud"), data.get("auth_method")
        if cloud == Cloud.CUSTOM and not data.get("graph_url"):
            self.add_error(
                "graph_url", "A custom cloud needs its Graph URL, e.g. http://127.0.0.1:8765."
            )
        if method == AuthMethod.CLIENT_SECRET and not data.get("client_secret"):
            self.add_error("client_secret", "Enter the app registration's client secret.")
        if method in (AuthMethod.CLIENT_SECRET, AuthMethod.CERTIFICATE) and not data.get(
            "client_id"
        ):
            self.add_error("client_id", "Enter the app registration's application (client) ID.")
        if method == AuthMethod.CERTIFICATE and not (
            data.get("certificate_private_key") and data.get("certificate_thumbprint")
        ):
            self.add_error(
                "certificate_private_key",
                "A certificate login needs the private key (PEM) and its thumbprint.",
            )
        if method == AuthMethod.STATIC_TOKEN and not data.get("static_token"):
            self.add_error("static_token", "Enter the bearer token to use.")
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
