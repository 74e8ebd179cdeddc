"""Restore runs through the API: the whole wizard, personas, and forged executions."""

from __future__ import annotations

import pytest

from tenantguard.audit.models import AuditEvent
from tenantguard.restores.models import RestoreRun, RestoreStatus


def _refusals(run_id: int):
    return AuditEvent.objects.filter(
        subject_type="restores.restorerun", subject_id=str(run_id), action="restore.execute_refused"
    )


def test_full_restore_on_the_test_tenant(
    personas, tenant, baseline, api_as, django_capture_on_commit_callbacks
):
    api = api_as(personas["operator"])
    created = api.post("/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk})
    assert created.status_code == 201
    run = created.json()
    assert run["status"] == "draft" and run["dry_run"] is True
    assert run["environment"] == "test" and run["tenant_label"] == "Contoso Test"
    assert run["decisions"]["execute"]["allowed"] is False
    run_id = run["id"]

    scoped = api.put(f"/restore-runs/{run_id}/scope", {"mode": "all"})
    assert scoped.json()["status"] == "scoped"

    checked = api.post(f"/restore-runs/{run_id}/checks").json()
    assert checked["status"] == "checked"
    assert checked["checks"]["present"] and checked["checks"]["current"]
    assert checked["checks"]["counts"]["blocking"] == 0
    results = api.get(f"/restore-runs/{run_id}/checks", severity="warning", page_size=5).json()
    assert results["count"] == checked["checks"]["counts"]["warning"] > 0
    assert len(results["items"]) == 5 and {r["severity"] for r in results["items"]} == {"warning"}
    assert api.get(f"/restore-runs/{run_id}/mapping-needs").status_code == 200

    previewed = api.post(f"/restore-runs/{run_id}/preview").json()
    assert previewed["status"] == "previewed" and previewed["preview"]["current"]
    creates = api.get(f"/restore-runs/{run_id}/preview", action="create").json()
    assert creates["count"] == previewed["preview"]["actions"]["create"] > 0
    assert {item["action"] for item in creates["items"]} == {"create"}

    assert api.put(f"/restore-runs/{run_id}/dry-run", {"dry_run": False}).json()["dry_run"] is False
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post(
            f"/restore-runs/{run_id}/execute",
            {"acknowledged": True, "typed_label": "Contoso Test"},
        )
    assert queued.status_code == 202, queued.json()
    assert queued.json()["status"] == "queued"

    done = api.get(f"/restore-runs/{run_id}").json()
    assert done["status"] == "completed", done["results"]
    assert done["results"]["dry_run"] is False and done["pre_restore_snapshot_id"]
    assert done["outcome_counts"]["created"] > 0 and done["outcome_counts"]["updated"] > 0
    outcomes = api.get(f"/restore-runs/{run_id}/outcomes", outcome="created").json()
    assert outcomes["count"] == done["outcome_counts"]["created"]
    assert {o["outcome"] for o in outcomes["items"]} == {"created"}
    assert all(o["verified"] for o in outcomes["items"])
    actions = [e["action"] for e in api.get(f"/restore-runs/{run_id}/audit").json()["items"]]
    assert actions[0] == "restore.created" and "restore.queued" in actions
    assert actions[-1] == "restore.finished"

    undo = api.post(f"/restore-runs/{run_id}/undo")
    assert undo.status_code == 201
    # Undo opens ready: scope, mapping and options carried over, checks and preview run (the
    # immediate task backend), dry-run on until an admin confirms it.
    assert undo.json()["undo_of"] == run_id and undo.json()["status"] == "previewed"
    assert undo.json()["dry_run"] is True


@pytest.mark.parametrize("situation", ["dry_run_on", "no_preview", "wrong_case_label", "unticked"])
def test_forged_execute_is_refused_with_reasons_and_audited(
    situation, personas, tenant, baseline, api_as, prepared
):
    operator = personas["operator"]
    api = api_as(operator)
    if situation == "no_preview":
        run_id = api.post(
            "/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk}
        ).json()["id"]
        api.put(f"/restore-runs/{run_id}/scope", {"mode": "all"})
        api.post(f"/restore-runs/{run_id}/checks")
    else:
        run_id = prepared(operator, tenant, baseline)
    if situation != "dry_run_on":
        api.put(f"/restore-runs/{run_id}/dry-run", {"dry_run": False})
    body = {"acknowledged": situation != "unticked", "typed_label": "Contoso Test"}
    if situation == "wrong_case_label":
        body["typed_label"] = "contoso test"
    response = api.post(f"/restore-runs/{run_id}/execute", body)
    assert response.status_code == 403
    reasons = response.json()["reasons"]
    expected = {
        "dry_run_on": "Dry-run is on",
        "no_preview": "No preview yet",
        "wrong_case_label": "does not match 'Contoso Test' exactly (it is case-sensitive)",
        "unticked": "Tick 'I reviewed the impact'",
    }[situation]
    assert any(expected in reason for reason in reasons), reasons
    (refusal,) = _refusals(run_id)
    assert refusal.details["reasons"] == reasons
    assert RestoreRun.objects.get(pk=run_id).status not in (
        RestoreStatus.QUEUED,
        RestoreStatus.RUNNING,
        RestoreStatus.COMPLETED,
    )


def test_operator_cannot_execute_on_prod_but_the_admin_can(
    personas, prod_tenant, prod_baseline, api_as, prepared, django_capture_on_commit_callbacks
):
    run_id = prepared(personas["operator"], prod_tenant, prod_baseline)
    operator = api_as(personas["operator"])
    detail = operator.put(f"/restore-runs/{run_id}/dry-run", {"dry_run": False}).json()
    assert detail["environment"] == "prod"
    assert (
        "Only tenant admins can execute restores on PROD tenants."
        in (detail["decisions"]["execute"]["reasons"])
    )
    response = operator.post(
        f"/restore-runs/{run_id}/execute", {"acknowledged": True, "typed_label": "Contoso"}
    )
    assert response.status_code == 403
    assert "Only tenant admins can execute restores on PROD tenants." in response.json()["reasons"]
    assert _refusals(run_id).count() == 1
    assert RestoreRun.objects.get(pk=run_id).status == RestoreStatus.PREVIEWED

    owner = api_as(personas["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        queued = owner.post(
            f"/restore-runs/{run_id}/execute", {"acknowledged": True, "typed_label": "Contoso"}
        )
    assert queued.status_code == 202
    assert owner.get(f"/restore-runs/{run_id}").json()["status"] == "completed"


def test_viewer_sees_runs_but_every_change_is_refused_with_reasons(
    personas, tenant, baseline, api_as, prepared
):
    run_id = prepared(personas["operator"], tenant, baseline)
    viewer = api_as(personas["viewer"])
    assert viewer.get("/restore-runs").json()["count"] == 1
    detail = viewer.get(f"/restore-runs/{run_id}").json()
    assert detail["status"] == "previewed"
    assert not any(d["allowed"] for d in detail["decisions"].values())
    for path in ("checks", "preview", "outcomes", "audit", "mapping-needs"):
        assert viewer.get(f"/restore-runs/{run_id}/{path}").status_code == 200, path
    for method, path, body in (
        ("put", "scope", {"mode": "all"}),
        ("put", "dry-run", {"dry_run": False}),
        ("post", "checks", None),
        ("post", "cancel", None),
        ("post", "execute", {"acknowledged": True, "typed_label": "Contoso Test"}),
    ):
        response = getattr(viewer, method)(f"/restore-runs/{run_id}/{path}", body)
        assert response.status_code == 403, path
        assert "Viewer" in " ".join(response.json()["reasons"]), response.json()
    created = viewer.post("/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk})
    assert created.status_code == 403 and created.json()["reasons"]
    assert _refusals(run_id).count() == 1


def test_outsider_gets_404_for_everything_of_other_tenants(
    personas, tenant, baseline, api_as, prepared
):
    run_id = prepared(personas["operator"], tenant, baseline)
    outsider = api_as(personas["outsider"])
    assert outsider.get("/restore-runs").json()["count"] == 0
    for path in ("", "/checks", "/preview", "/outcomes", "/audit", "/mapping-needs"):
        assert outsider.get(f"/restore-runs/{run_id}{path}").status_code == 404, path
    for method, path, body in (
        ("put", "scope", {"mode": "all"}),
        ("post", "execute", {"acknowledged": True, "typed_label": "Contoso Test"}),
        ("post", "undo", None),
    ):
        assert getattr(outsider, method)(f"/restore-runs/{run_id}/{path}", body).status_code == 404
    created = outsider.post("/restore-runs", {"tenant_id": tenant.pk})
    assert created.status_code == 404
    assert _refusals(run_id).count() == 0


def test_anonymous_requests_are_unauthorized(db, api_as):
    assert api_as(None).get("/restore-runs").status_code == 401


def test_bad_requests_answer_400_with_the_service_message(personas, tenant, baseline, api_as):
    api = api_as(personas["operator"])
    run_id = api.post("/restore-runs", {"tenant_id": tenant.pk}).json()["id"]
    no_source = api.put(f"/restore-runs/{run_id}/scope", {"mode": "all"})
    assert no_source.status_code == 403
    assert "No backup set yet" in no_source.json()["reasons"][0]
    source = api.put(f"/restore-runs/{run_id}/source", {"backup_set_id": baseline.pk})
    assert source.status_code == 200 and source.json()["backup_set_id"] == baseline.pk
    empty = api.put(f"/restore-runs/{run_id}/scope", {"mode": "selected", "item_ids": []})
    assert empty.status_code == 400
    assert "An empty selection never means all" in empty.json()["detail"]
    unknown = api.put(f"/restore-runs/{run_id}/scope", {"mode": "some"})
    assert unknown.status_code == 400 and "Unknown scope" in unknown.json()["detail"]
    blank = api.put(f"/restore-runs/{run_id}/mapping", {"group": {"g1": "  "}})
    assert blank.status_code == 400 and "skip it explicitly" in blank.json()["detail"]
    bad_kind = api.put(f"/restore-runs/{run_id}/mapping", {"groups": {}})
    assert bad_kind.status_code == 400 and "body.groups" in bad_kind.json()["detail"]


def test_scope_mapping_and_options_are_stored(personas, tenant, baseline, api_as):
    api = api_as(personas["operator"])
    run_id = api.post(
        "/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk}
    ).json()["id"]
    items = api.get(f"/backup-sets/{baseline.pk}/items", page_size=2).json()["items"]
    ids = sorted(item["id"] for item in items)
    scoped = api.put(f"/restore-runs/{run_id}/scope", {"mode": "selected", "item_ids": ids})
    assert scoped.json()["scope_mode"] == "selected" and scoped.json()["requested_items"] == ids
    mapped = api.put(
        f"/restore-runs/{run_id}/mapping", {"group": {"src-1": "dst-1", "src-2": None}}
    ).json()
    assert mapped["mapping"] == {"group": {"src-1": "dst-1", "src-2": None}}
    needs = api.get(f"/restore-runs/{run_id}/mapping-needs").json()
    assert {n["status"] for n in needs["group"]} == {"mapped", "skipped"}
    options = api.put(f"/restore-runs/{run_id}/options", {"include_assignments": False}).json()
    assert options["options"]["include_assignments"] is False


def test_dry_run_can_be_finished_and_a_draft_cancelled(
    personas, tenant, baseline, api_as, prepared
):
    api = api_as(personas["operator"])
    run_id = prepared(personas["operator"], tenant, baseline)
    finished = api.post(f"/restore-runs/{run_id}/finish-dry-run")
    assert finished.status_code == 200
    assert finished.json()["status"] == "completed" and finished.json()["results"]["dry_run"]
    again = api.post(f"/restore-runs/{run_id}/cancel")
    assert again.status_code == 403 and "start a new run" in again.json()["reasons"][0]
    draft = api.post("/restore-runs", {"tenant_id": tenant.pk}).json()["id"]
    assert api.post(f"/restore-runs/{draft}/cancel").json()["status"] == "cancelled"
    resume = api.post(f"/restore-runs/{draft}/resume")
    assert resume.status_code == 403
    no_snapshot = api.post(f"/restore-runs/{run_id}/undo")
    assert (
        no_snapshot.status_code == 400 and "no pre-restore snapshot" in no_snapshot.json()["detail"]
    )


def test_mapping_targets_for_preparers_only(personas, tenant, baseline, api_as):
    operator = api_as(personas["operator"])
    run_id = operator.post(
        "/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk}
    ).json()["id"]
    groups = operator.get(f"/restore-runs/{run_id}/mapping-targets", kind="group", q="SG-Intune")
    assert groups.status_code == 200
    assert groups.json() and all(g["name"].startswith("SG-Intune") for g in groups.json())
    tags = operator.get(f"/restore-runs/{run_id}/mapping-targets", kind="scope_tag").json()
    assert tags and {"id", "name"} <= set(tags[0])
    unknown = operator.get(f"/restore-runs/{run_id}/mapping-targets", kind="device")
    assert unknown.status_code == 400 and "Unknown mapping kind" in unknown.json()["detail"]
    viewer = api_as(personas["viewer"]).get(f"/restore-runs/{run_id}/mapping-targets", kind="group")
    assert viewer.status_code == 403 and "Viewer" in viewer.json()["reasons"][0]


def test_execute_body_cannot_smuggle_other_fields(personas, tenant, baseline, api_as, prepared):
    run_id = prepared(personas["operator"], tenant, baseline)
    api = api_as(personas["operator"])
    forged = api.post(
        f"/restore-runs/{run_id}/execute",
        {"acknowledged": True, "typed_label": "Contoso Test", "dry_run": False},
    )
    assert forged.status_code == 400 and "body.dry_run" in forged.json()["detail"]
    detail = api.get(f"/restore-runs/{run_id}").json()
    assert detail["status"] == "previewed" and detail["dry_run"] is True


def test_a_tenant_without_credentials_answers_400_with_what_to_fix(
    personas, tenant, baseline, api_as
):
    api = api_as(personas["operator"])
    run_id = api.post(
        "/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk}
    ).json()["id"]
    api.put(f"/restore-runs/{run_id}/scope", {"mode": "all"})
    tenant.static_token = ""
    tenant.save()
    response = api.post(f"/restore-runs/{run_id}/checks")
    assert response.status_code == 400, response.json()
    assert "token" in response.json()["detail"].lower()
    assert api.get(f"/restore-runs/{run_id}").json()["status"] == "scoped"


def test_anonymous_unsafe_requests_are_unauthorized(tenant, api_as):
    response = api_as(None).post("/restore-runs", {"tenant_id": tenant.pk})
    assert response.status_code == 401
    assert not RestoreRun.objects.exists()


def test_graph_failure_answers_502_and_records_nothing(
    personas, tenant, baseline, emulated, api_as
):
    from tenantguard.emulator.config import FaultConfig

    api = api_as(personas["operator"])
    run_id = api.post(
        "/restore-runs", {"tenant_id": tenant.pk, "backup_set_id": baseline.pk}
    ).json()["id"]
    api.put(f"/restore-runs/{run_id}/scope", {"mode": "all"})
    emulated.faults = FaultConfig(error_rates={"GET": 1.0}, error_statuses=(500,))
    response = api.post(f"/restore-runs/{run_id}/checks")
    emulated.faults = FaultConfig()
    assert response.status_code == 502, response.json()
    assert "Microsoft Graph" in response.json()["detail"], response.json()
    assert api.get(f"/restore-runs/{run_id}").json()["checks"]["present"] is False
