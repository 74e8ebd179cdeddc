"""Forms of the restore wizard: they parse what the browser sends into service arguments.

No form decides anything: whether a value is allowed is the services' and the policy's call.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms

from tenantguard.common.ids import parse_ids
from tenantguard.restores.check_words import OPTION_NAMES
from tenantguard.restores.models import RestoreRun, ScopeMode
from tenantguard.restores.services.fingerprint import (
    CHOICE_OPTIONS,
    DEFAULT_OPTIONS,
    MAPPING_KINDS,
)


def _model_choices(form: forms.Form, name: str, queryset: Any) -> forms.ModelChoiceField[Any]:
    """Give the model choice field ``name`` of ``form`` its queryset (known per request)."""
    field = cast("forms.ModelChoiceField[Any]", form.fields[name])
    field.queryset = queryset
    return field


class _TenantChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.get_environment_display()})"


class _BackupSetChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.tenant.display_name} · {obj.name}"


class NewRunForm(forms.Form):
    tenant = _TenantChoiceField(
        queryset=None, label="Target tenant", help_text="The tenant the restore writes to."
    )
    backup_set = _BackupSetChoiceField(
        queryset=None,
        required=False,
        label="Backup set",
        help_text="You can also pick it in step 1.",
    )

    def __init__(self, *args: Any, tenants: Any, backup_sets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choices(self, "tenant", tenants)
        _model_choices(self, "backup_set", backup_sets)


class SourceForm(forms.Form):
    backup_set: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, label="Backup set"
    )
    confirm_reset = forms.BooleanField(
        required=False,
        label="I understand that scope, mapping, checks, preview and confirmation are reset",
    )

    def __init__(self, *args: Any, backup_sets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choices(self, "backup_set", backup_sets)


def _ids(values: list[str]) -> set[int]:
    """Item ids ticked or shown on the page; anything that cannot be an id is ignored."""
    return parse_ids(str(value) for value in values)


def scope_request(run: RestoreRun, data: Any, *, group_ids: Any) -> tuple[str, list[int]]:
    """Turn a scope POST into ``(mode, item_ids)`` for ``restore_run_set_scope``.

    ``op=all``: every item. ``group_action=add|<type>|<platform>`` (or ``remove|…``): every item
    of a group matching the search, via ``group_ids(policy_type, platform)`` (an empty type means
    every matching item). ``op=page``: the items shown on the page (``shown``) are replaced by the
    ticked ones (``item``). What the browser did not show stays as the run has it.
    """
    if data.get("op") == "all" and not data.get("group_action"):
        return ScopeMode.ALL, []
    current = set(run.requested_items or []) if run.scope_mode == ScopeMode.SELECTED else set()
    group_action = data.get("group_action", "")
    if group_action:
        verb, _, rest = group_action.partition("|")
        policy_type, _, platform = rest.partition("|")
        if verb not in ("add", "remove"):
            raise ValueError("Unknown group action: reload the page.")
        ids = set(group_ids(policy_type or None, platform if policy_type else None))
        return ScopeMode.SELECTED, sorted(current | ids if verb == "add" else current - ids)
    if data.get("op") == "page":
        shown = _ids(data.getlist("shown"))
        ticked = _ids(data.getlist("item")) & shown
        return ScopeMode.SELECTED, sorted((current - shown) | ticked)
    raise ValueError("Unknown scope change: reload the page.")


class MappingEntryForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in MAPPING_KINDS])
    source_id = forms.CharField(max_length=200)
    decision = forms.ChoiceField(
        choices=[("map", "Map"), ("skip", "Skip"), ("clear", "Clear")], label="Decision"
    )
    target_id = forms.CharField(max_length=200, required=False, label="Target object")

    def mapping_for(self, run: RestoreRun) -> dict[str, dict[str, str | None]]:
        """The run's whole mapping with this one entry changed (the service replaces it)."""
        data = self.cleaned_data
        mapping = {kind: dict(entries) for kind, entries in (run.group_mapping or {}).items()}
        entries = mapping.setdefault(data["kind"], {})
        if data["decision"] == "clear":
            entries.pop(data["source_id"], None)
        elif data["decision"] == "skip":
            entries[data["source_id"]] = None
        else:
            entries[data["source_id"]] = data["target_id"]
        return mapping


class OptionsForm(forms.Form):
    # Labels start with the option's one name (``check_words.OPTION_NAMES``): messages, the
    # API and the CLI help say the same words.
    create_missing = forms.BooleanField(
        required=False,
        label=f"{OPTION_NAMES['create_missing']} (off: an item missing in the target blocks)",
        help_text="Create the objects of the backup that do not exist in the target tenant.",
    )
    include_assignments = forms.BooleanField(
        required=False,
        label=f"{OPTION_NAMES['include_assignments']} (off: the target's assignments stay as they are)",
        help_text="Write the backup's assignments (groups, filters) with each item.",
    )
    assignment_mode = forms.ChoiceField(
        required=False,
        label=f"{OPTION_NAMES['assignment_mode']}: what happens to the target's other assignments",
        choices=[
            ("merge", "Merge: keep the target's other assignments and add the backup's"),
            (
                "replace",
                "Replace: write the backup's assignments; the target's others are removed "
                "(each removal is listed in the preview and on step 5)",
            ),
        ],
    )
    source_identifiers = forms.ChoiceField(
        required=False,
        label=(
            f"{OPTION_NAMES['source_identifiers']}: the source tenant's own tenant ID and "
            "domains found in payloads"
        ),
        choices=[
            ("undecided", "Not decided (blocks the restore where they are found)"),
            ("replace", "Replace them with the target tenant's values"),
            ("keep", "Keep them as they are in the backup"),
        ],
    )

    def options(self) -> dict[str, Any]:
        """The yes/no options always (an unticked box is ``False``); a choice only when the
        browser sent one, so a form without it leaves it as it is."""
        options: dict[str, Any] = {key: bool(self.cleaned_data.get(key)) for key in DEFAULT_OPTIONS}
        for key in CHOICE_OPTIONS:
            if self.cleaned_data.get(key):
                options[key] = self.cleaned_data[key]
        return options


class ConfirmForm(forms.Form):
    acknowledged = forms.BooleanField(required=False, label="I reviewed the impact")
    typed_label = forms.CharField(required=False, max_length=200, strip=False)


class DryRunForm(forms.Form):
    dry_run = forms.BooleanField(required=False)
