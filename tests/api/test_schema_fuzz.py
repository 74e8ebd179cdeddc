"""The API under schema fuzzing: schemathesis against the app's own OpenAPI document.

A throwaway database (the test database, flushed afterwards) is seeded with the demo tenant
backed up and drifted, prepared restore runs, a prod tenant, and the bad data real installs
collect: a payload stored as a string or a list, captured secret values and a tenant credential
encrypted with a key that is no longer configured. The app is served on loopback
(``live_server``); schemathesis (its CLI, as CI and people run it) sends what the document
allows and what it does not, as a superuser and as a user with partial roles, once with free
ids and once with the seeded objects' ids. Every answer must be no server error, a status code
the document declares for that operation, and the content type it declares.

Run it alone with ``pytest -m fuzz tests/api/test_schema_fuzz.py`` (``.ci/run`` does). The
random examples per operation are scaled by ``TENANTGUARD_FUZZ_SCALE`` (default 1: about 2,000
requests, 3 minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db.models import TextField, Value

from tenantguard.accounts.models import Membership
from tenantguard.accounts.tokens import api_token_create
from tenantguard.backups.models import BackupItem
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.tenants.models import Tenant

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance"
SCALE = float(os.environ.get("TENANTGUARD_FUZZ_SCALE", "1"))
#: A key no installation is configured with: what it encrypted cannot be decrypted here.
FOREIGN_KEY = "Q2hhbmdlZC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyE="


@dataclass
class Scenario:
    label: str
    token: str
    #: Path parameters fixed to seeded objects (else any value the document allows, and more).
    pinned: dict[str, int]
    #: The same for the operations that end a run.
    pinned_ending: dict[str, int]
    #: "coverage" sends every boundary and invalid value of each parameter (ids beyond 64 bits,
    #: wrong types, missing fields); "fuzzing" sends random valid and invalid requests.
    phases: str
    examples: int

    @property
    def max_examples(self) -> int:
        return max(1, round(self.examples * SCALE))


def _foreign_ciphertext(value: Any) -> str:
    """``value`` encrypted as TenantGuard stores it, with a key this installation lacks."""
    from cryptography.fernet import Fernet

    from tenantguard.crypto import _PREFIX

    text = value if isinstance(value, str) else json.dumps(value)
    return _PREFIX + Fernet(FOREIGN_KEY.encode()).encrypt(text.encode()).decode()


def _raw(stored: str) -> Any:
    """``stored`` written as is (an encrypted field would encrypt it again)."""
    return Value(stored, output_field=TextField())


def _seed(
    *, superuser, personas, tenant, prod_tenant, emulated, demo_objects, make_user
) -> dict[str, Any]:
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    owner = personas["owner"]
    baseline = backup_set_capture(
        backup_set=backup_set_start(actor=owner, tenant=tenant, enqueue=False)
    )
    apply_demo_drift(emulated, seed=1)

    draft = runs.restore_run_create(actor=owner, tenant=tenant)
    prepared = runs.restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    prepared = runs.restore_run_set_scope(actor=owner, run=prepared, mode="all")
    prepared = restore_run_run_checks(actor=owner, run=prepared)
    prepared = restore_run_run_preview(actor=owner, run=prepared)
    runs.restore_run_create(actor=owner, tenant=prod_tenant, backup_set=baseline)

    # What broke listings and pages: payloads that are not objects, undecryptable secrets.
    first, second = baseline.items.order_by("pk")[:2]
    stored = BackupItem.objects.get(pk=first.pk)
    stored.payload = "a string, not an object"
    stored.save(update_fields=["payload"])
    stored = BackupItem.objects.get(pk=second.pk)
    stored.payload = [1, "two", {"three": 3}]
    stored.save(update_fields=["payload"])
    with_secrets = next(item for item in baseline.items.all() if item.secrets)
    BackupItem.objects.filter(pk=with_secrets.pk).update(
        secrets=_raw(_foreign_ciphertext(dict(with_secrets.secrets)))
    )
    broken = Tenant.objects.create(
        display_name="Fabrikam Rotated Key",
        entra_tenant_id="fabrikam-rotated.example",
        environment="test",
        cloud="emulator",
        auth_method="static_token",
    )
    Tenant.objects.filter(pk=broken.pk).update(static_token=_raw(_foreign_ciphertext("old-token")))

    limited = make_user("partial")
    Membership.objects.create(user=limited, tenant=tenant, role="operator")
    Membership.objects.create(user=limited, tenant=broken, role="viewer")
    Membership.objects.create(user=owner, tenant=broken, role="admin")

    return {
        "superuser_token": api_token_create(actor=superuser, name="fuzz").plaintext,
        "limited_token": api_token_create(actor=limited, name="fuzz").plaintext,
        "ids": {
            "tenant_id": tenant.pk,
            "backup_set_id": baseline.pk,
            "run_id": prepared.pk,
        },
        # Ending a run (cancel, finish) would leave the prepared run useless for the rest.
        "ending_ids": {"run_id": draft.pk},
    }


def _openapi_document() -> dict[str, Any]:
    """What ``/api/openapi.json`` serves (built the same way, without logging in)."""
    from tenantguard.api.main import api

    return json.loads(json.dumps(api.get_openapi_schema(path_params={}), default=str))


def _run_schemathesis(
    *, schema_path: Path, base_url: str, scenario: Scenario, workdir: Path
) -> dict[str, Any]:
    """One schemathesis run; returns its JSON report (and prints its output on failure)."""
    config = workdir / f"{scenario.label}.toml"
    lines = ["[parameters]"] + [
        f'"path.{name}" = {value}' for name, value in scenario.pinned.items()
    ]
    if scenario.pinned_ending:
        pinned = ", ".join(f'"path.{k}" = {v}' for k, v in scenario.pinned_ending.items())
        lines += [
            "[[operations]]",
            'include-path-regex = "/(cancel|finish-dry-run|execute|resume|undo)$"',
            f"parameters = {{ {pinned} }}",
        ]
    config.write_text("\n".join(lines) + "\n")
    report = workdir / f"{scenario.label}.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(schema_path),
        "--url",
        base_url,
        "--header",
        f"Authorization: Bearer {scenario.token}",
        "--checks",
        CHECKS,
        "--phases",
        scenario.phases,
        "--max-examples",
        str(scenario.max_examples),
        "--workers",
        "1",
        "--seed",
        "7",
        "--no-shrink",
        "--request-timeout",
        "60",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--output-truncate",
        "false",
    ]
    completed = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )
    print(f"---- schemathesis as {scenario.label}\n{completed.stdout[-20000:]}{completed.stderr}")
    assert report.exists(), f"schemathesis wrote no report (exit {completed.returncode})"
    data = json.loads(report.read_text())
    data["_exit_code"] = completed.returncode
    return data


def test_api_answers_fuzzed_requests_without_errors_or_undeclared_statuses(
    live_server,
    superuser,
    personas,
    tenant,
    prod_tenant,
    emulated,
    demo_objects,
    make_user,
    tmp_path,
):
    seeded = _seed(
        superuser=superuser,
        personas=personas,
        tenant=tenant,
        prod_tenant=prod_tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        make_user=make_user,
    )
    document = _openapi_document()
    schema_path = tmp_path / "openapi.json"
    schema_path.write_text(json.dumps(document))
    operations = sum(
        1 for methods in document["paths"].values() for method in methods if method != "parameters"
    )
    superuser_token, limited_token = seeded["superuser_token"], seeded["limited_token"]
    ids, ending = seeded["ids"], seeded["ending_ids"]
    scenarios = [
        Scenario("superuser-any-id", superuser_token, {}, {}, "coverage,fuzzing", 5),
        Scenario("superuser-seeded-ids", superuser_token, ids, ending, "fuzzing", 15),
        Scenario("partial-roles-seeded-ids", limited_token, ids, ending, "fuzzing", 10),
        Scenario("partial-roles-any-id", limited_token, {}, {}, "fuzzing", 4),
    ]
    reports = {
        scenario.label: _run_schemathesis(
            schema_path=schema_path, base_url=live_server.url, scenario=scenario, workdir=tmp_path
        )
        for scenario in scenarios
    }
    lines: list[str] = []
    problems: list[str] = []
    thin: list[str] = []
    cases = 0
    for scenario in scenarios:
        label, report = scenario.label, reports[scenario.label]
        tested = report["operations"]["tested"]
        generated = report["test_cases"]["generated"]
        cases += generated
        lines.append(
            f"{label}: {tested} of {operations} operations, {generated} requests, "
            f"{report['test_cases']['with_failures']} with failures"
        )
        problems += [
            f"{label}: {failure['title']} ({failure['count']}) in {', '.join(failure['operations'])}"
            for failure in report["failures"]
        ]
        problems += [f"{label}: {error}" for error in report["errors"]]
        # Not vacuous: every operation exercised, each with several requests ...
        if tested != operations or generated < min(3, scenario.max_examples) * operations:
            thin.append(f"{label}: {report['operations']} {report['test_cases']}")
        if "seeded" in label:
            # ... and, with the seeded ids, past the lookups: answered 2xx.
            answered = [
                operation
                for operation, rates in report["valid_rates"].items()
                if any(phase.get("accepted", 0) for phase in rates.values())
            ]
            if len(answered) < 10:
                thin.append(f"{label}: only {len(answered)} operations answered 2xx")
    print("\n".join(["schema fuzz:", *lines, f"total {cases} requests"]))
    assert not problems, "\n".join(problems)
    assert all(report["_exit_code"] == 0 for report in reports.values())
    assert operations >= 25
    assert not thin, "\n".join(thin)
