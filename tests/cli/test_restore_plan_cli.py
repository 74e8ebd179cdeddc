"""`tenantguard restore plan`: steps 1-4 on the command line, exit codes as
`terraform plan -detailed-exitcode` (0 nothing to change, 2 changes ready to apply, 3 planned
but blocked, 1 error), readable checks and diffs, plain when piped, coloured on a terminal, one
JSON document with --json. Through the console script's entry point (`tenantguard.cli.main`)
against the in-process Graph emulator."""

from __future__ import annotations

import json
import os
import pty
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tenantguard.accounts.models import Membership
from tenantguard.audit.models import AuditEvent
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.cli import main
from tenantguard.emulator.demo import apply_demo_drift, demo_tenant_objects
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun
from tenantguard.tenants.graph_access import emulated_tenant
from tenantguard.tenants.models import Tenant

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EDGE_SETTING = (
    "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_sslerroroverrideallowed"
)


def _seed(emulated, objects):
    for obj in objects:
        emulated.put_object(collection_of(obj, source="test"), obj)


def _backup(actor, tenant):
    return backup_set_capture(
        backup_set=backup_set_start(actor=actor, tenant=tenant, enqueue=False)
    )


@pytest.fixture
def as_user(monkeypatch):
    def login(name):
        monkeypatch.setenv("TENANTGUARD_CLI_USER", name)

    return login


@pytest.fixture
def backup_of_test(personas, tenant, emulated, demo_objects):
    """A backup of Contoso Test (the demo tenant); the tenant unchanged since."""
    _seed(emulated, demo_objects)
    return _backup(personas["owner"], tenant)


@pytest.fixture
def drifted(backup_of_test, emulated):
    """The backup, and Contoso Test changed since (the demo's drift)."""
    apply_demo_drift(emulated, seed=1)
    return backup_of_test


def _plan(*args):
    return main(["restore", "plan", *args])


def _lines_fit(text: str) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert not too_wide, too_wide


def test_changes_planned_and_executable_exit_2_with_the_apply_command(drifted, as_user, capsys):
    as_user("operator")

    code = _plan("--tenant", "Contoso Test", "--backup-set", str(drifted.pk))

    out, err = capsys.readouterr()
    assert code == 2, err
    run = RestoreRun.objects.get()
    assert run.status == "previewed" and run.dry_run, "plan writes nothing, dry-run stays on"
    assert f"Next: tenantguard restore apply {run.pk}" in out
    # Piped: plain text, 80 columns, nothing on stderr.
    assert not ANSI.search(out) and err == ""
    _lines_fit(out)
    # Checks grouped by code, with their sentence and the code beside it.
    assert "[target_newer_than_backup]: 9" in out
    assert "--all-checks lists them" in out, "long groups are cut and say how to see the rest"
    # The plan in Intune's words: the setting's display name and the option's, not the ids.
    assert "Allow users to proceed from the HTTP" in out and "Enabled → Disabled" in out
    assert EDGE_SETTING not in out
    assert "10.0.19045 → 10.0.22631" in out
    assert "- assignment SG-Intune-Windows-Broad (removed)" in out
    # Messages name flags, never the web wizard's controls.
    assert "step 2" not in out and "step 3" not in out and "'Restore assignments'" not in out
    assert "--no-assignments" in out


def test_all_checks_lists_every_result(drifted, as_user, capsys):
    as_user("operator")

    assert _plan("--tenant", "Contoso Test", "--backup-set", str(drifted.pk), "--all-checks") == 2

    out = capsys.readouterr().out
    run = RestoreRun.objects.get()
    assert "--all-checks lists them" not in out
    for row in run.check_results.exclude(severity="safe"):
        assert row.item_name in out, row.item_name
    _lines_fit(out)


def test_nothing_to_change_exit_0_without_a_next_step(backup_of_test, as_user, capsys):
    as_user("operator")

    code = _plan("--tenant", "Contoso Test", "--backup-set", str(backup_of_test.pk))

    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "No changes" in out and "Next:" not in out
    assert "Plan: 0 to create, 0 to update" in out


def test_json_is_one_complete_document(drifted, as_user, capsys):
    as_user("operator")

    code = _plan("--tenant", "Contoso Test", "--backup-set", str(drifted.pk), "--json")

    out, _err = capsys.readouterr()
    document = json.loads(out)  # nothing else on stdout
    run = RestoreRun.objects.get()
    assert code == 2 and document["plan"]["exit_code"] == 2
    assert document["plan"]["next"] == f"tenantguard restore apply {run.pk}"
    assert sum(g["count"] for g in document["check_results"]) == run.check_results.count()
    assert sum(len(g["results"]) for g in document["check_results"]) == run.check_results.count()
    assert len(document["preview_items"]) == run.preview_items.count()
    edge = next(
        i
        for i in document["preview_items"]
        if i["display_name"] == "WIN - SC - Microsoft Edge - Security"
    )
    [change] = edge["changes"]
    assert change["raw_setting_id"] == EDGE_SETTING, "raw ids stay available in the JSON"
    assert change["after"] == "Disabled" and change["after_raw"].endswith("_0")


def test_blocked_exit_3_names_the_flags_then_accept_suggestions(
    personas, tenant, prod_tenant, backup_of_test, as_user, capsys
):
    # Contoso (PROD) has the directory's groups under other ids, none of the policies.
    _seed(
        emulated_tenant(prod_tenant),
        [
            o
            for o in demo_tenant_objects(tenant_label="Contoso", seed=202)
            if "#groups/" in o["@odata.context"]
        ],
    )
    as_user("owner")
    scope = ["--tenant", "Contoso", "--backup-set", str(backup_of_test.pk)]
    scope += ["--type", "settings_catalog"]

    code = _plan(*scope)

    out, err = capsys.readouterr()
    assert code == 3, err
    first = RestoreRun.objects.get()
    assert first.check_results.filter(code="group_missing", severity="blocking").exists()
    assert "Next:" not in out and "Blocked:" in out
    assert "--map group:SOURCE_ID=TARGET_ID" in out and "--accept-suggestions" in out
    assert f"tenantguard restore targets {first.pk} --kind group" in out
    _lines_fit(out)
    assert _plan(*scope, "--json") == 3
    blocking = [
        result
        for group in json.loads(capsys.readouterr().out)["check_results"]
        if group["severity"] == "blocking"
        for result in group["results"]
    ]
    groups = {
        r["details"]["source_id"]: r["details"] for r in blocking if r["details"]["kind"] == "group"
    }
    assert groups and all(d.get("suggested_target_id") for d in groups.values())
    skips = sorted(
        {
            f"{r['details']['kind']}:{r['details']['source_id']}=skip"
            for r in blocking
            if r["details"]["kind"] != "group"
        }
    )

    code = _plan(
        *scope, "--accept-suggestions", *(arg for skip in skips for arg in ("--map", skip))
    )

    out, err = capsys.readouterr()
    assert code == 2, out + err
    run = RestoreRun.objects.latest("pk")
    # (A group used only by assignments whose filter is skipped is not needed any more.)
    mapped = run.group_mapping["group"]
    assert mapped and set(mapped) <= set(groups)
    assert all(target == groups[source]["suggested_target_id"] for source, target in mapped.items())
    assert not run.check_results.filter(severity="blocking").exists()
    assert f"--accept-suggestions mapped {len(mapped)}" in out
    assert f"Next: tenantguard restore apply {run.pk}" in out
    assert AuditEvent.objects.filter(
        action="restore.mapping_updated", subject_id=str(run.pk)
    ).exists()

    # An explicit --map decision wins over the same-name suggestion.
    kept = sorted(mapped)[0]
    code = _plan(
        *scope,
        "--accept-suggestions",
        "--map",
        f"group:{kept}=skip",
        *(arg for skip in skips for arg in ("--map", skip)),
    )

    assert code == 2, capsys.readouterr()
    decided = RestoreRun.objects.latest("pk").group_mapping["group"]
    assert decided[kept] is None
    assert {source: target for source, target in decided.items() if source != kept} == {
        source: target for source, target in mapped.items() if source != kept
    }


def test_no_create_missing_blocks_the_missing_items(drifted, as_user, capsys):
    as_user("operator")

    code = _plan("--tenant", "Contoso Test", "--backup-set", str(drifted.pk), "--no-create-missing")

    out = capsys.readouterr().out
    assert code == 3
    run = RestoreRun.objects.get()
    assert run.check_results.filter(code="target_missing", severity="blocking").count() == 4
    assert "[target_missing]: 4" in out and "Plan without --no-create-missing" in out
    assert "Create missing objects" not in out and "step 2" not in out
    assert "Next:" not in out


def test_an_operator_on_prod_is_blocked_with_the_reason(personas, prod_tenant, as_user, capsys):
    prod = emulated_tenant(prod_tenant)
    _seed(prod, demo_tenant_objects(tenant_label="Contoso", seed=202))
    backup_set = _backup(personas["owner"], prod_tenant)
    apply_demo_drift(prod, seed=1)
    as_user("operator")

    code = _plan("--tenant", "Contoso", "--backup-set", str(backup_set.pk))

    out = capsys.readouterr().out
    assert code == 3
    assert "PROD" in out and "Only tenant admins can execute restores on PROD tenants." in out
    assert "Next:" not in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--tenant", "Nowhere", "--backup-set", "{pk}"], "No tenant named 'Nowhere'"),
        (["--tenant", "Contoso Test", "--backup-set", "999"], "No backup set #999"),
        (["--tenant", "Contoso Test", "--backup-set", "{pk}", "--map", "group:x"], "--map"),
        (["--tenant", "Contoso Test", "--backup-set", "{pk}", "--map", "gizmo:a=b"], "gizmo"),
        (["--tenant", "Contoso Test", "--backup-set", "{pk}", "--type", "nope"], "no item of type"),
    ],
)
def test_errors_exit_1_with_one_clear_line(backup_of_test, as_user, capsys, args, words):
    as_user("operator")

    code = _plan(*(a.format(pk=backup_of_test.pk) for a in args))

    out, err = capsys.readouterr()
    assert code == 1
    assert out == "" and words in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1


class _CutOffGraph(BaseHTTPRequestHandler):
    """A Graph whose every answer is JSON cut off in the middle."""

    def do_GET(self):
        body = b'{"value": [{"id": "a", "displayNa'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format, *args):
        pass


def test_a_graph_failure_exits_1_with_one_line(personas, backup_of_test, as_user, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CutOffGraph)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lab = Tenant.objects.create(
        display_name="Lab",
        entra_tenant_id="lab",
        environment="test",
        cloud="custom",
        graph_url=f"http://127.0.0.1:{server.server_port}",
        auth_method="static_token",
        static_token="lab-token-123",
    )
    Membership.objects.create(user=personas["owner"], tenant=lab, role="admin")
    as_user("owner")
    try:
        code = _plan("--tenant", "Lab", "--backup-set", str(backup_of_test.pk), "--json")
    finally:
        server.shutdown()
        server.server_close()

    out, err = capsys.readouterr()
    assert code == 1
    assert out == "" and "Traceback" not in err and "lab-token-123" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    assert "Graph" in err


def test_a_refusal_exits_1(backup_of_test, as_user, capsys):
    as_user("viewer")

    assert _plan("--tenant", "Contoso Test", "--backup-set", str(backup_of_test.pk)) == 1

    assert "refused" in capsys.readouterr().err
    assert not RestoreRun.objects.exists()


def test_a_usage_error_exits_1_not_2(capsys):
    """2 would read as "changes planned" to a script."""
    for argv in (["--tenant", "X"], ["--tenant", "X", "--backup-set", "1", "--bogus"]):
        with pytest.raises(SystemExit) as stopped:
            _plan(*argv)
        assert stopped.value.code == 1, argv
        assert "error" in capsys.readouterr().err


def _on_a_terminal(run_command):
    """Run ``run_command`` with stdout on a pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    received = bytearray()

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    terminal = open(slave, "w", encoding="utf-8", closefd=True)
    saved, sys.stdout = sys.stdout, terminal
    try:
        code = run_command()
        terminal.flush()
    finally:
        sys.stdout = saved
        terminal.close()
        reader.join(timeout=5)
        os.close(master)
    return code, received.decode("utf-8", "replace")


def test_colour_on_a_terminal_unless_no_color(drifted, as_user, monkeypatch):
    as_user("operator")
    argv = ["--tenant", "Contoso Test", "--backup-set", str(drifted.pk)]

    monkeypatch.delenv("NO_COLOR", raising=False)
    code, shown = _on_a_terminal(lambda: _plan(*argv))
    assert code == 2 and ANSI.search(shown), "coloured on a terminal"
    assert "Next: " in ANSI.sub("", shown)

    monkeypatch.setenv("NO_COLOR", "1")
    code, shown = _on_a_terminal(lambda: _plan(*argv))
    assert code == 2 and "Next: " in shown
    assert "\x1b[1m" in shown, "still a terminal: bold, only no colour"
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m|\x1b\[[0-9;]*38;", shown), "NO_COLOR: no colour"


def test_a_setting_only_the_target_has_is_shown_by_its_name(drifted, emulated, as_user, capsys):
    """A setting the target's policy has and the backup's has not is in the diff only (no backup
    payload names it): its row still reads by the definition's name."""
    from tenantguard.catalog.models import SettingDefinition

    target_only = "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_tgcli_only"
    collection = "deviceManagement/configurationPolicies"
    edge = next(
        obj
        for obj in emulated.list_objects(collection)
        if obj.get("name") == "WIN - SC - Microsoft Edge - Security"
    )
    edge["settings"] = [
        *edge["settings"],
        {
            "id": str(len(edge["settings"])),
            "settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                "settingDefinitionId": target_only,
                "choiceSettingValue": {"value": f"{target_only}_1", "children": []},
            },
        },
    ]
    emulated.put_object(collection, edge)
    as_user("operator")

    code = _plan("--tenant", "Contoso Test", "--backup-set", str(drifted.pk), "--json")

    out, err = capsys.readouterr()
    assert code == 2, out + err
    name = SettingDefinition.objects.get(definition_id=target_only).display_name
    assert name and name != target_only
    rows = next(
        i["changes"]
        for i in json.loads(out)["preview_items"]
        if i["display_name"] == "WIN - SC - Microsoft Edge - Security"
    )
    only = [r for r in rows if r["raw_setting_id"] == target_only]
    assert only and all(r["setting"] == name for r in only), only
    run = RestoreRun.objects.get()
    assert main(["restore", "show", str(run.pk), "--json"]) == 0
    shown = next(
        i["changes"]
        for i in json.loads(capsys.readouterr().out)["preview_items"]
        if i["display_name"] == "WIN - SC - Microsoft Edge - Security"
    )
    assert {r["setting"] for r in shown if r["raw_setting_id"] == target_only} == {name}
