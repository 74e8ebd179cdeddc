"""Review findings on `tenantguard restore` (issue 9 §4): `targets` needs the prepare role,
`apply` shows every removal and warning before asking, `plan --tenant` names only the user's
tenants, long names and values wrap instead of being cut, "blocked" names each code's own fix,
a PROD operator learns who the admins are, error exit codes, signal-first outcomes, and the
dry-run command named. Through `tenantguard.cli.main` against the in-process Graph emulator."""

from __future__ import annotations

import io
import json
import sys

import pytest
from rich.console import Console

from tenantguard import cli_restore
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.cli import main
from tenantguard.cli_output import cut
from tenantguard.cli_restore_output import cli_words, render_outcomes, render_plan_items
from tenantguard.emulator.demo import apply_demo_drift, demo_tenant_objects
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun
from tenantguard.tenants.graph_access import emulated_tenant
from tenantguard.tenants.models import Tenant


def _seed(emulated, objects):
    for obj in objects:
        emulated.put_object(collection_of(obj, source="test"), obj)


def _backup(actor, tenant):
    return backup_set_capture(
        backup_set=backup_set_start(actor=actor, tenant=tenant, enqueue=False)
    )


def _flat(text: str) -> str:
    """``text`` with its line breaks and indents as single spaces (wrapped output read whole)."""
    return " ".join(text.split())


@pytest.fixture
def as_user(monkeypatch):
    def login(name):
        monkeypatch.setenv("TENANTGUARD_CLI_USER", name)

    return login


@pytest.fixture
def backup_of_test(personas, tenant, emulated, demo_objects):
    _seed(emulated, demo_objects)
    return _backup(personas["owner"], tenant)


@pytest.fixture
def drifted(backup_of_test, emulated):
    apply_demo_drift(emulated, seed=1)
    return backup_of_test


def _plan(*args):
    return main(["restore", "plan", *args])


@pytest.fixture
def planned(drifted, as_user, capsys):
    as_user("operator")
    assert _plan("--tenant", "Contoso Test", "--backup-set", str(drifted.pk)) == 2
    capsys.readouterr()
    return RestoreRun.objects.get()


# ---- 1. targets needs the prepare capability ----------------------------------------------------


def test_targets_refuses_a_viewer_and_an_outsider(planned, as_user, capsys):
    as_user("viewer")

    code = main(["restore", "targets", str(planned.pk), "--kind", "group"])

    out, err = capsys.readouterr()
    assert code == cli_restore.EXIT_REFUSED
    assert out == "" and "refused" in err and "Viewer" in err, err
    assert "SG-" not in err, "no group of the target is listed"

    as_user("outsider")
    code = main(["restore", "targets", str(planned.pk), "--kind", "group", "--json"])

    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert f"No restore run #{planned.pk}" in err

    as_user("operator")
    assert main(["restore", "targets", str(planned.pk), "--kind", "group", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["targets"], "an operator still gets them"


# ---- 2. apply shows every removal and every warning before asking -------------------------------


def test_apply_shows_every_removal_and_warning_before_the_prompt(
    drifted, as_user, monkeypatch, capsys
):
    from tenantguard.restores.selectors import preview_removals
    from tenantguard.restores.services import diff

    # The preview summary keeps the first removals only (100): here none.
    monkeypatch.setattr(diff, "MAX_REMOVAL_ITEMS", 0)
    as_user("operator")
    assert _plan("--tenant", "Contoso Test", "--backup-set", str(drifted.pk)) == 2
    capsys.readouterr()
    run = RestoreRun.objects.get()
    removals = preview_removals(run)
    assert removals and not run.metadata["preview"]["summary"]["assignments"].get("removals")
    monkeypatch.setattr(cli_restore, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))  # nothing typed: cancelled

    code = main(["restore", "apply", str(run.pk)])

    out, err = capsys.readouterr()
    assert code == 1 and "Type the tenant's name" in err
    shown = _flat(out)
    assert "Assignments this restore removes" in shown
    for removal in removals:
        for assignment in removal["removed"]:
            name = assignment.get("group") or assignment.get("group_id")
            assert f"{removal['name']}: " in shown and name in shown, (removal, shown)
    warnings = run.check_results.filter(severity="warning")
    assert warnings.count() > 5, "more than `plan` lists per code"
    assert "Warnings of the checks" in shown
    for row in warnings:
        assert row.item_name in shown, row.item_name
    run.refresh_from_db()
    assert run.dry_run and run.status == "previewed"


# ---- 3. plan --tenant: only the user's tenants ---------------------------------------------------


def test_plan_names_only_the_tenants_the_user_has_a_role_on(backup_of_test, as_user, capsys):
    Tenant.objects.create(
        display_name="Fabrikam Secret", entra_tenant_id="fabrikam", environment="test"
    )
    as_user("operator")

    assert _plan("--tenant", "Nowhere", "--backup-set", str(backup_of_test.pk)) == 1

    err = capsys.readouterr().err
    assert "No tenant named 'Nowhere'" in err and "Contoso Test" in err
    assert "Fabrikam" not in err

    assert _plan("--tenant", "Fabrikam Secret", "--backup-set", str(backup_of_test.pk)) == 1

    err = capsys.readouterr().err
    assert "No tenant named 'Fabrikam Secret' that you have a role on" in err
    assert not RestoreRun.objects.exists()


# ---- 4. long names and values wrap, never cut -----------------------------------------------------


def _item(changes):
    return {
        "policy_type": "settings_catalog",
        "type_label": "Settings catalog",
        "source_id": "s1",
        "display_name": "WIN - SC - A policy whose name is long enough to need a second line here",
        "action": "update",
        "reason": "",
        "target_id": "t1",
        "changes": changes,
        "assignments": {},
        "scope_tags": {},
        "diff_truncated": False,
    }


def _row(setting, before, after, detail=""):
    return {"setting": setting, "detail": detail, "path": "p", "before": before, "after": after}


def _rendered(items):
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None, highlight=False)
    render_plan_items(console, items, run_id=7)
    return buffer.getvalue()


def test_plan_wraps_long_setting_names_and_shows_where_long_values_differ():
    long_name = (
        "Allow users to proceed from the HTTPS warning page, and also from every other warning "
        "page this browser may ever show"
    )
    script = "UGFyYW0oKQ0KV3JpdGUtSG9zdCAiSGVsbG8i" * 6
    changed = script[:150] + "X" + script[151:]

    out = _rendered(
        [_item([_row(long_name, "Enabled", "Disabled"), _row("Detection script", script, changed)])]
    )

    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "…" not in out.split("Detection script")[0], "the name and setting are not cut"
    shown = _flat(out)
    assert f"{long_name}: Enabled → Disabled" in shown
    assert "A policy whose name is long enough to need a second line here" in shown
    line = shown.split("Detection script:")[1]
    before, _, after = line.partition(" → ")
    assert "from character 151" in before
    assert before.split(": ", 1)[1].strip("…") != after.split()[0].strip("…"), line
    assert "X" in after.split()[0] and "X" not in before


def test_a_value_too_long_even_around_its_difference_says_see_json():
    before, after = "a" * 90, "a" * 30 + "b" * 60
    buffer = io.StringIO()
    console = Console(file=buffer, width=40, color_system=None)  # 30 columns for values

    render_plan_items(console, [_item([_row("Script", before, after)])])

    shown = _flat(buffer.getvalue())
    assert "(changed; see --json)" in shown and "(90 → 90 characters)" in shown


# ---- 5. blocked: each blocking code's own fix -----------------------------------------------------


def test_blocked_names_each_codes_own_fix(
    personas, tenant, prod_tenant, backup_of_test, as_user, capsys
):
    """Into another tenant without --source-identifiers: the blocker says to pass it, not to
    --map references (none is missing here: the target has every group under the same id)."""
    from tenantguard.restores.services.checks import SOURCE_TENANT_IDENTIFIER

    prod = emulated_tenant(prod_tenant)
    _seed(prod, [o for o in demo_tenant_objects(tenant_label="Contoso Test", seed=101)])
    as_user("owner")

    code = _plan("--tenant", "Contoso", "--backup-set", str(backup_of_test.pk))

    out = capsys.readouterr().out
    run = RestoreRun.objects.get()
    codes = set(
        run.check_results.filter(severity="blocking").values_list("code", flat=True).distinct()
    )
    assert code == 3, out
    assert SOURCE_TENANT_IDENTIFIER in codes, codes
    blocked = _flat(out.split("this plan cannot be applied yet.")[1])
    reasons = [r for r in blocked.split(" - ") if r.strip()]
    assert len(reasons) == len(codes), reasons
    identifiers = next(r for r in reasons if f"[{SOURCE_TENANT_IDENTIFIER}]" in r)
    assert "--source-identifiers replace" in identifiers and "--map" not in identifiers
    if codes == {SOURCE_TENANT_IDENTIFIER}:
        assert "--map" not in blocked and "--accept-suggestions" not in blocked
    # An item skipped because of blocking checks is told its own codes' fixes.
    assert "decide them with --map" not in out
    assert (
        "Blocked by the check group_missing: map or skip the missing group with "
        "--map group:SOURCE_ID=TARGET_ID|skip." in _flat(out)
    )


def test_an_item_blocked_by_checks_gets_each_codes_own_fix():
    text = cli_words(
        "Blocked by the check source_tenant_identifier: resolve it in step 3.", run_id=4
    )
    assert "--source-identifiers replace or keep" in text and "--map" not in text
    text = cli_words(
        "Blocked by the checks group_missing, secret_values_need_source_admin: resolve them "
        "in step 3.",
        run_id=4,
    )
    assert "--map group:SOURCE_ID=TARGET_ID|skip" in text
    assert "see secret_values_need_source_admin under Checks (`tenantguard restore show 4`)" in text
    assert cli_words(text) == text, "said once, however often it is rewritten"
    # a reference that cannot be skipped is never told to be skipped
    text = cli_words(
        "Blocked by the check role_definition_missing: resolve it in step 3.", run_id=4
    )
    assert "--map role_definition:SOURCE_ID=TARGET_ID, or put it in the plan" in text
    assert "skip" not in text


# ---- 6. an operator on PROD learns who the admins are --------------------------------------------


def test_an_operator_on_prod_is_told_who_can_apply(personas, prod_tenant, as_user, capsys):
    personas["owner"].first_name, personas["owner"].last_name = "Olivia", "Owner"
    personas["owner"].save()
    prod = emulated_tenant(prod_tenant)
    _seed(prod, demo_tenant_objects(tenant_label="Contoso", seed=202))
    backup_set = _backup(personas["owner"], prod_tenant)
    apply_demo_drift(prod, seed=1)
    as_user("operator")

    code = _plan("--tenant", "Contoso", "--backup-set", str(backup_set.pk))

    shown = _flat(capsys.readouterr().out)
    run = RestoreRun.objects.get()
    assert code == 3
    assert "Only tenant admins can execute restores on PROD tenants." in shown
    assert (
        f"Its admin is Olivia Owner (owner): ask one of them to run "
        f"`tenantguard restore apply {run.pk}`." in shown
    ), shown


# ---- 7. exit codes --------------------------------------------------------------------------------


def test_errors_of_show_and_targets_exit_1(personas, as_user, capsys):
    as_user("operator")

    assert main(["restore", "show", "999"]) == 1
    assert "No restore run #999" in capsys.readouterr().err
    assert main(["restore", "show", "999", "--json"]) == 1
    assert main(["restore", "targets", "999", "--kind", "group"]) == 1
    assert main(["restore", "undo", "999"]) == 1
    assert main(["restore", "dry-run", "999"]) == 1
    err = capsys.readouterr().err
    assert err.count("No restore run #999") == 4


def test_apply_without_a_terminal_is_not_confirmed_not_refused(planned, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Contoso Test\n"))

    code = main(["restore", "apply", str(planned.pk)])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("not confirmed:") and "refused" not in err
    assert "Nothing was written" in err


# ---- 8. outcomes, signal first --------------------------------------------------------------------


def _outcome(name, outcome, **extra):
    return {
        "display_name": name,
        "outcome": outcome,
        "verified": True if outcome in ("created", "updated") else None,
        "reason": "",
        "skip_code": "",
        "error_message": "",
        "differences": [],
        "written": [],
        **extra,
    }


def test_outcomes_list_what_changed_first_and_group_skipped_ones():
    outcomes = [
        _outcome("Quiet A", "unchanged", verified=True),
        _outcome("Skipped A", "skipped", reason="Left out of the plan. More words."),
        _outcome("Created A", "created", written=["settings"]),
        _outcome("Skipped B", "skipped", reason="Left out of the plan. Other words."),
        _outcome("Failed A", "failed", error_message="Graph said 400."),
        _outcome("Assigned A", "updated", written=["assignments"]),
        _outcome("Skipped C", "skipped", reason="A preview-only type."),
    ]
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None)

    render_outcomes(console, outcomes)

    out = buffer.getvalue()
    order = [out.index(name) for name in ("Failed A", "Created A", "Assigned A", "Skipped A")]
    assert order == sorted(order), out
    assert "1 failed, 1 created, 1 updated" in out
    assert "wrote assignments" in out
    assert "2 items: Left out of the plan. (Skipped A, Skipped B)" in _flat(out)
    assert "1 item: A preview-only type. (Skipped C)" in _flat(out)
    assert "1 item already as in the backup" in out and "Quiet A" not in out


@pytest.mark.django_db(transaction=True)
def test_an_item_whose_assignments_were_written_counts_as_updated(planned, capsys):
    code = main(
        ["restore", "apply", str(planned.pk), "--confirm-tenant", "Contoso Test", "--reviewed"]
    )

    out, err = capsys.readouterr()
    assert code == 0, out + err
    assigned_only = list(
        planned.item_outcomes.filter(outcome="unchanged", assignments_written=True).values_list(
            "display_name", flat=True
        )
    )
    assert assigned_only, "the demo drift re-assigns policies without changing them"
    assert main(["restore", "show", str(planned.pk), "--json"]) == 0
    outcomes = {o["display_name"]: o for o in json.loads(capsys.readouterr().out)["outcomes"]}
    for name in assigned_only:
        assert outcomes[name]["outcome"] == "updated", outcomes[name]
        assert outcomes[name]["recorded_outcome"] == "unchanged"
        assert "assignments" in outcomes[name]["written"]
        row = next(line for line in out.splitlines() if line.startswith(f"│ {cut(name, 28)} "))
        assert "updated" in row and "wrote assignments" in row, row


# ---- 9. the dry-run command named ----------------------------------------------------------------


def test_nothing_to_restore_names_the_dry_run_command(backup_of_test, as_user, capsys):
    as_user("owner")
    assert _plan("--tenant", "Contoso Test", "--backup-set", str(backup_of_test.pk)) == 0
    run = RestoreRun.objects.get()
    capsys.readouterr()

    code = main(["restore", "apply", str(run.pk), "--confirm-tenant", "Contoso Test", "--reviewed"])

    err = _flat(capsys.readouterr().err)
    assert code == cli_restore.EXIT_REFUSED
    assert "Nothing to restore" in err and f"`tenantguard restore dry-run {run.pk}`" in err
    assert "Finish it as a dry run" not in err
    assert main(["restore", "dry-run", str(run.pk)]) == 0
