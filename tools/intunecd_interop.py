"""IntuneCD, an independent Graph client, against TenantGuard's emulator (issue 8 §3; run by CI).

For each seed directory: start ``tenantguard emulator serve`` on loopback with it, run IntuneCD
2.6.0's backup through ``../shared/tools/intunecd_loopback.py`` (IntuneCD hard-codes Graph's
host; the launcher sends its requests to the emulator), then its update in report mode against
the same tenant. The run passes when:

- every seeded object of every collection IntuneCD backs up is in IntuneCD's backup (found by
  the ``__{id}`` suffix ``--append-id`` gives each file), and no settings catalog settings list
  is shorter than the seeded one;
- neither run prints an error line (``[ERROR]``, a traceback);
- the update in report mode finds nothing to change or create.

IntuneCD runs from its own virtual environment (``--intunecd-python``): its dependencies are
not TenantGuard's. Usage (from the repository root)::

    python tools/intunecd_interop.py --intunecd-python /tmp/intunecd/bin/python \\
        --loopback ../shared/tools/intunecd_loopback.py \\
        --seed demo=tenantguard/emulator/seeds/demo --seed corpus=../shared/corpus

Exit status 0 when every seed passes, 1 otherwise (the report says what is missing).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tenantguard.emulator.seed import load_seed_dir

#: Collections IntuneCD 2.6.0 backs up by default (its backup/Intune modules' endpoints).
INTUNECD_COLLECTIONS = frozenset(
    {
        "deviceAppManagement/androidManagedAppProtections",
        "deviceAppManagement/iosManagedAppProtections",
        "deviceAppManagement/windowsManagedAppProtections",
        "deviceAppManagement/mobileAppConfigurations",
        "deviceAppManagement/targetedManagedAppConfigurations",
        "deviceAppManagement/mobileApps",
        "deviceManagement/assignmentFilters",
        "deviceManagement/compliancePolicies",
        "deviceManagement/configurationPolicies",
        "deviceManagement/deviceCategories",
        "deviceManagement/deviceCompliancePolicies",
        "deviceManagement/deviceComplianceScripts",
        "deviceManagement/deviceConfigurations",
        "deviceManagement/deviceCustomAttributeShellScripts",
        "deviceManagement/deviceEnrollmentConfigurations",
        "deviceManagement/deviceHealthScripts",
        "deviceManagement/deviceManagementScripts",
        "deviceManagement/deviceShellScripts",
        "deviceManagement/groupPolicyConfigurations",
        "deviceManagement/intents",
        "deviceManagement/notificationMessageTemplates",
        "deviceManagement/reusablePolicySettings",
        "deviceManagement/roleDefinitions",
        "deviceManagement/roleScopeTags",
        "deviceManagement/windowsAutopilotDeploymentProfiles",
        "deviceManagement/windowsDriverUpdateProfiles",
        "deviceManagement/windowsFeatureUpdateProfiles",
        "deviceManagement/windowsQualityUpdateProfiles",
        "deviceManagement/applePushNotificationCertificate",
        "deviceManagement/androidManagedStoreAccountEnterpriseSettings",
        "deviceManagement/deviceManagementPartners",
        "deviceManagement/remoteAssistancePartners",
        "deviceManagement/complianceManagementPartners",
        "deviceAppManagement/vppTokens",
        "identity/conditionalAccess/policies",
    }
)

#: Collections below each object of another one that IntuneCD backs up (parent -> navigation):
#: Apple enrollment profiles live under each DEP onboarding token.
INTUNECD_NESTED = {"deviceManagement/depOnboardingSettings": "enrollmentProfiles"}

APNS = "deviceManagement/applePushNotificationCertificate"
GOOGLE_PLAY = "deviceManagement/androidManagedStoreAccountEnterpriseSettings"
REUSABLE = "deviceManagement/reusablePolicySettings"

TOKEN = "intunecd-interop-token"
ERROR_MARKS = ("[ERROR]", "Traceback (most recent call last)")
CHANGE_MARKS = ("Updating ", "not found, creating")


@dataclass
class SeedReport:
    name: str
    expected: int = 0
    found: int = 0
    missing: list[str] = field(default_factory=list)
    short_settings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    known_defects: list[str] = field(default_factory=list)
    by_collection: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.short_settings or self.errors or self.changes)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tenantguard_command() -> list[str]:
    script = Path(sys.executable).with_name("tenantguard")
    if not script.exists():
        raise SystemExit(f"{script} is missing: install TenantGuard (make install) first.")
    return [str(script)]


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the emulator exited with status {process.returncode}")
        try:
            answer = httpx.get(
                f"{base_url}/beta/organization",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=2,
            )
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the emulator did not answer on {base_url} within 60 s")


def _run_intunecd(args: argparse.Namespace, base_url: str, mode: str, out: Path) -> list[str]:
    # The update compares assignments too (-u): in report mode nothing is written either way.
    extra = ["--append-id"] if mode == "backup" else ["--report", "--update-assignments"]
    command = [
        args.intunecd_python,
        str(args.loopback),
        base_url,
        mode,
        "-t",
        TOKEN,
        "-p",
        str(out),
        *extra,
    ]
    env = {key: value for key, value in os.environ.items() if key != "EXIT_ON_ERROR"}
    # The command is built here from this script's own arguments (no shell).
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=900, env=env
    )
    lines = _messages(result.stdout + result.stderr)
    if result.returncode != 0:
        lines.append(f"[ERROR] IntuneCD {mode} exited with status {result.returncode}")
    return lines


#: Where one IntuneCD message starts: its timestamp ("Mon Dec  7 14:09:45 2026 [INFO] ") or a
#: bare "[ERROR] " line. IntuneCD prints from several threads, so messages can share a line.
_MESSAGE_START = re.compile(
    r"(?=[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} \[)|(?=\[ERROR\] )"
)


def _messages(output: str) -> list[str]:
    """IntuneCD's output, one message per entry."""
    messages: list[str] = []
    for line in output.splitlines():
        messages.extend(part.strip() for part in _MESSAGE_START.split(line) if part.strip())
    return messages


#: Single-object kinds IntuneCD saves without the id suffix (it drops ``id`` first), named by
#: this property: found by the file name's start instead.
SINGLE_OBJECT_NAMES = {APNS: "appleIdentifier", GOOGLE_PLAY: "ownerUserPrincipalName"}


def _backed_up(out: Path) -> dict[str, dict]:
    """id -> IntuneCD's file content, for every file named ``<name>__<id>.<ext>``; files of
    single-object kinds under ``name:<file name>``."""
    found: dict[str, dict] = {}
    for path in out.rglob("*.json"):
        stem = path.stem
        object_id = stem.rsplit("__", 1)[1] if "__" in stem else f"name:{stem}"
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            content = {}
        found[object_id] = content if isinstance(content, dict) else {}
    return found


def _seeded_objects(seed_dir: Path) -> list[tuple[str, dict]]:
    """The seeded objects IntuneCD backs up, nested ones (Apple profiles) included."""
    found: list[tuple[str, dict]] = []
    for collection, obj in load_seed_dir(seed_dir):
        if collection in INTUNECD_COLLECTIONS:
            found.append((collection, obj))
        navigation = INTUNECD_NESTED.get(collection)
        if navigation:
            for child in obj.get(navigation) or []:
                if isinstance(child, dict):
                    found.append((f"{collection}/{{id}}/{navigation}", child))
    return found


def check_seed(args: argparse.Namespace, name: str, seed_dir: Path) -> SeedReport:
    report = SeedReport(name)
    seeded = _seeded_objects(seed_dir)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - our own console script, no shell
        [
            *_tenantguard_command(),
            "emulator",
            "serve",
            "--port",
            str(port),
            "--no-throttle",
            "--tenant",
            f"{name}:{TOKEN}:{seed_dir}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(base_url, server)
        with tempfile.TemporaryDirectory(prefix=f"intunecd-{name}-") as scratch:
            out = Path(scratch) / "backup"
            backup_lines = _run_intunecd(args, base_url, "backup", out)
            found = _backed_up(out)
            for collection, obj in seeded:
                report.expected += 1
                # A single-object kind (APNs, managed Google Play) is seeded without an id;
                # the emulator gives it the last segment of its path, as its id.
                object_id = str(obj.get("id") or collection.rsplit("/", 1)[-1])
                name_key = SINGLE_OBJECT_NAMES.get(collection)
                if name_key and obj.get(name_key):
                    named = [key for key in found if key.startswith(f"name:{obj[name_key]}_")]
                    object_id = named[0] if named else object_id
                label = f"{collection} '{obj.get('displayName') or obj.get('name')}' ({object_id})"
                if object_id not in found:
                    report.missing.append(label)
                    continue
                report.found += 1
                report.by_collection[collection] += 1
                wanted = obj.get("settings")
                got = found[object_id].get("settings")
                if isinstance(wanted, list) and isinstance(got, list) and len(got) < len(wanted):
                    report.short_settings.append(f"{label}: {len(got)} of {len(wanted)} settings")
            update_lines = _run_intunecd(args, base_url, "update", out)
    finally:
        server.terminate()
        server.wait(timeout=30)
    for line in backup_lines + update_lines:
        if any(mark in line for mark in ERROR_MARKS):
            if _known_error(line, seeded):
                report.known_defects.append(line.strip())
            else:
                report.errors.append(line.strip())
    report.changes, report.known_defects = _changes(update_lines)
    return report


#: IntuneCD 2.6.0's backup decodes an app configuration's base64 ``payloadJson`` into JSON and
#: its update compares that with Graph's base64 string without encoding it again
#: (IntuneCD/backup/Intune/AppConfiguration.py decodes; update/Intune/AppConfiguration.py and
#: intunecdlib never re-encode), so against real Graph too every app configuration with a
#: payload reports "type changed" on payloadJson alone. Reported apart, not counted as a change.
_KNOWN_DEFECT_HEAD = "Updating App Configuration: "
_KNOWN_DEFECT_SETTING = "Setting: payloadJson, "


def _holds(seeded: list[tuple[str, dict]], collection: str, test=lambda obj: True) -> bool:
    return any(place == collection and test(obj) for place, obj in seeded)


#: Error lines IntuneCD 2.6.0 prints against real Graph too, each with the seed condition that
#: triggers it (so the same line for any other reason still fails the run):
#: - its reusable-settings update reads ``settingInstance.simpleSettingValue.value`` of every
#:   reusable setting (update/Intune/ReusableSettings.py ``_script_diff_check``); only Linux
#:   discovery scripts have one, a firewall keyword group or device control group raises;
#: - ``make_graph_request`` tests ``if response and response.status_code == 404``, but a
#:   ``requests`` Response is falsy for a 404, so Graph's 404 for a tenant without an APNs
#:   certificate (intunecdlib/BaseGraphModule.py) is logged as an error;
#: - its managed Google Play backup concatenates the owner's name, which an unbound account
#:   does not have (backup/Intune/ManagedGooglePlay.py).
KNOWN_ERRORS: tuple[tuple[str, Callable[[list[tuple[str, dict]]], bool]], ...] = (
    (
        "ReusablePolicySettings failed with exception: 'simpleSettingValue'",
        lambda seeded: _holds(
            seeded,
            REUSABLE,
            lambda obj: "simpleSettingValue" not in (obj.get("settingInstance") or {}),
        ),
    ),
    (
        "Error getting APNs data from https://graph.microsoft.com/beta/" + APNS + ": Request "
        "failed after 5 retries with no response - no response",
        lambda seeded: not _holds(seeded, APNS),
    ),
    (
        'Error processing Managed Google Play data: can only concatenate str (not "NoneType") '
        "to str",
        lambda seeded: (
            not _holds(seeded, GOOGLE_PLAY, lambda obj: bool(obj.get("ownerUserPrincipalName")))
        ),
    ),
)


def _known_error(line: str, seeded: list[tuple[str, dict]]) -> bool:
    """True for an error line IntuneCD prints because of its own defect (``KNOWN_ERRORS``)."""
    return any(text in line and applies(seeded) for text, applies in KNOWN_ERRORS)


def _changes(lines: list[str]) -> tuple[list[str], list[str]]:
    """(changes, known IntuneCD defects) among the update's lines: an "Updating" block whose
    only changed setting is an app configuration's payloadJson is IntuneCD's own defect."""
    changes: list[str] = []
    known: list[str] = []
    for index, line in enumerate(lines):
        if not any(mark in line for mark in CHANGE_MARKS):
            continue
        # Its settings: the "Setting:" messages up to the report-mode notice of that update
        # (other threads' messages may come in between).
        settings = []
        for following in lines[index + 1 :]:
            if "Running in report mode" in following or any(m in following for m in CHANGE_MARKS):
                break
            if "Setting: " in following:
                settings.append(following)
        defect = (
            _KNOWN_DEFECT_HEAD in line
            and line.rstrip().endswith("type changed:")
            and settings
            and all(_KNOWN_DEFECT_SETTING in setting for setting in settings)
        )
        entry = line.strip() + "".join(f" | {setting.strip()}" for setting in settings)
        (known if defect else changes).append(entry)
    return changes, known


def _print(report: SeedReport) -> None:
    verdict = "ok" if report.ok else "FAILED"
    print(
        f"== IntuneCD against the emulator seeded with {report.name}: {verdict}: "
        f"{report.found} of {report.expected} seeded objects backed up, "
        f"{len(report.errors)} error lines, {len(report.changes)} reported changes "
        f"({len(report.known_defects)} more lines from known IntuneCD defects)"
    )
    for collection, count in sorted(report.by_collection.items()):
        print(f"   {collection}: {count}")
    for title, lines in (
        ("missing from IntuneCD's backup", report.missing),
        ("settings lists cut short", report.short_settings),
        ("error lines", report.errors),
        ("changes reported by the update in report mode", report.changes),
        (
            "IntuneCD's own defects (not counted; see tools/intunecd_interop.py)",
            report.known_defects,
        ),
    ):
        if lines:
            print(f"   {title}:")
            for line in lines[:50]:
                print(f"     - {line}")
            if len(lines) > 50:
                print(f"     ... and {len(lines) - 50} more")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intunecd-python", required=True, help="python of IntuneCD's venv")
    parser.add_argument("--loopback", required=True, type=Path, help="intunecd_loopback.py")
    parser.add_argument(
        "--seed", action="append", required=True, metavar="NAME=DIR", help="a seed directory"
    )
    args = parser.parse_args(argv)
    reports = []
    for spec in args.seed:
        name, _, directory = spec.partition("=")
        if not directory or not Path(directory).is_dir():
            parser.error(f"--seed {spec}: give NAME=DIR with an existing seed directory")
        report = check_seed(args, name, Path(directory).resolve())
        _print(report)
        reports.append(report)
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
