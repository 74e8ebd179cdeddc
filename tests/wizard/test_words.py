"""The words an Intune admin reads (``restores/check_words.py``): check codes as sentences, types
and platforms as the admin center names them, repeated warnings grouped on the checks page,
plurals and relative times."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tenantguard.intune import reference_kinds, registry
from tenantguard.restores import check_words
from tenantguard.restores.check_words import (
    CHECK_TITLES,
    ENDPOINT_SECURITY_FAMILIES,
    ITEM_TYPE_LABELS,
    OPTION_NAMES,
    SKIP_TITLES,
    check_title,
    group_results_by_message,
    item_type_label,
    platform_label,
    skip_title,
)
from tenantguard.restores.forms import OptionsForm
from tenantguard.restores.services import diff
from tenantguard.restores.services.checks import CHECK_CODES
from tenantguard.restores.services.runs import restore_run_record_checks
from tenantguard.restores.services.source import singular
from tenantguard.restores.templatetags.tg_words import relative_time

# ---- check codes -------------------------------------------------------------------------------


def test_every_check_code_has_a_sentence_of_its_own():
    missing = [code for code in CHECK_CODES if code not in CHECK_TITLES]
    assert not missing, f"add a sentence to check_words.CHECK_TITLES for: {missing}"
    for code in CHECK_CODES:
        title = check_title(code)
        assert title[:1].isupper() and "_" not in title, (code, title)
        assert title != code


def test_every_reference_kinds_missing_code_is_a_check_code_with_a_sentence():
    for kind in reference_kinds.all_kinds():
        assert kind.missing_code in CHECK_CODES
        assert kind.missing_code in CHECK_TITLES, kind.missing_code


def test_every_skip_code_of_the_preview_has_a_sentence():
    skip_codes = {
        value
        for name, value in vars(diff).items()
        if name.startswith("SKIP_") and isinstance(value, str)
    }
    assert skip_codes, "diff.py defines its skip codes as SKIP_* constants"
    missing = sorted(skip_codes - set(SKIP_TITLES))
    assert not missing, f"add a sentence to check_words.SKIP_TITLES for: {missing}"
    assert skip_title("create_missing_off").endswith("“Create missing objects” is off")


def test_a_code_nobody_wrote_a_sentence_for_still_reads_as_words():
    assert check_title("brand_new_check") == "Brand new check"
    assert check_title("group_missing") == "A group the backup assigns to is missing in the target"


# ---- types -------------------------------------------------------------------------------------


def test_every_type_has_a_unique_label_and_a_singular_item_label():
    labels = [ptype.label for ptype in registry.all_types()]
    assert len(labels) == len(set(labels))
    for ptype in (*registry.all_types(), registry.UNSUPPORTED):
        assert ptype.key in ITEM_TYPE_LABELS, f"add {ptype.key} to ITEM_TYPE_LABELS"
        assert "_" not in ptype.label, ptype.label
        assert item_type_label(ptype.key, None) == ITEM_TYPE_LABELS[ptype.key]
        # messages name an item with its type's singular label
        assert singular(ptype.label) == ITEM_TYPE_LABELS[ptype.key]


@pytest.mark.parametrize(
    ("key", "label", "item"),
    [
        ("settings_catalog", "Settings catalog", "Settings catalog"),
        ("compliance_policy", "Compliance policies", "Compliance policy"),
        ("device_configuration", "Device configuration profiles", "Device configuration profile"),
        ("powershell_script", "PowerShell scripts", "PowerShell script"),
        ("remediation_script", "Remediations", "Remediation"),
        ("ios_app_protection", "App protection policies (iOS/iPadOS)", None),
    ],
)
def test_types_are_named_as_the_admin_center_names_them(key, label, item):
    assert registry.get(key).label == label
    if item:
        assert item_type_label(key, {}) == item


@pytest.mark.parametrize(
    ("family", "label"),
    [
        ("endpointSecurityAntivirus", "Endpoint security: Antivirus"),
        ("endpointSecurityDiskEncryption", "Endpoint security: Disk encryption"),
        ("endpointSecurityFirewall", "Endpoint security: Firewall"),
        (
            "endpointSecurityEndpointDetectionAndResponse",
            "Endpoint security: Endpoint detection and response",
        ),
        ("endpointSecurityAttackSurfaceReduction", "Endpoint security: Attack surface reduction"),
        ("endpointSecurityAccountProtection", "Endpoint security: Account protection"),
        ("endpointSecurityApplicationControl", "Endpoint security: App Control for Business"),
        (
            "endpointSecurityEndpointPrivilegeManagement",
            "Endpoint security: Endpoint Privilege Management",
        ),
        # a family Graph adds later still reads as words
        ("endpointSecurityNewThing", "Endpoint security: New thing"),
    ],
)
def test_endpoint_security_policies_are_named_by_family(family, label):
    payload = {"name": "P", "templateReference": {"templateFamily": family, "templateId": "x"}}
    assert item_type_label("endpoint_security", payload) == label


def test_every_endpoint_security_family_of_graphs_enum_has_a_name():
    # Graph's deviceManagementConfigurationTemplateFamily, endpoint security members
    enum = {
        "endpointSecurityAntivirus",
        "endpointSecurityDiskEncryption",
        "endpointSecurityFirewall",
        "endpointSecurityEndpointDetectionAndResponse",
        "endpointSecurityAttackSurfaceReduction",
        "endpointSecurityAccountProtection",
        "endpointSecurityApplicationControl",
        "endpointSecurityEndpointPrivilegeManagement",
    }
    assert enum <= set(ENDPOINT_SECURITY_FAMILIES)


def test_intents_are_named_by_their_templates_family_when_known():
    bitlocker = {"templateId": "d1174162-1dd2-4976-affc-6667049ab0ae"}
    baseline = {"templateId": "034ccd46-190c-4afc-adf1-ad7cc11262eb"}
    assert item_type_label("endpoint_security_intent", bitlocker) == (
        "Endpoint security: Disk encryption"
    )
    assert item_type_label("endpoint_security_intent", baseline) == "Security baseline"
    assert item_type_label("endpoint_security_intent", {"templateSubtype": "antivirus"}) == (
        "Endpoint security: Antivirus"
    )
    unknown = {"templateId": "00000000-1111-2222-3333-444444444444"}
    assert (
        item_type_label("endpoint_security_intent", unknown)
        == ITEM_TYPE_LABELS["endpoint_security_intent"]
    )


def test_a_settings_catalog_baseline_is_a_security_baseline_and_others_stay_settings_catalog():
    baseline = {"templateReference": {"templateFamily": "baseline"}}
    plain = {"templateReference": {"templateFamily": "none"}}
    assert item_type_label("settings_catalog", baseline) == "Security baseline"
    assert item_type_label("settings_catalog", plain) == "Settings catalog"


# ---- platforms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("windows10", "Windows"),
        ("windows10AndLater", "Windows"),
        ("windows", "Windows"),
        ("macOS", "macOS"),
        ("iOS", "iOS/iPadOS"),
        ("androidWorkProfile", "Android"),
        ("androidForWork", "Android"),
        ("android", "Android"),
        ("linux", "Linux"),
        ("windows10, macOS", "Windows, macOS"),
        ("windows10,windows10X", "Windows"),
        ("all", "All platforms"),
        ("none", "No platform"),
    ],
)
def test_platforms_are_named_as_the_admin_center_names_them(value, label):
    assert platform_label(value) == label


# ---- options -----------------------------------------------------------------------------------


def test_each_option_has_one_name_and_the_form_labels_start_with_it():
    form = OptionsForm()
    for key, name in OPTION_NAMES.items():
        assert str(form.fields[key].label).startswith(name), key
    assert OPTION_NAMES["include_assignments"] == "Restore assignments"
    assert OPTION_NAMES["create_missing"] == "Create missing objects"


# ---- grouping repeated results -----------------------------------------------------------------


def _preview_only(name: str) -> dict:
    # the checker's own wording (checks.RestoreRiskChecker.check_item)
    return {
        "code": "preview_only_type",
        "severity": "warning",
        "item": {"type": "conditional_access", "source_id": f"ca-{name}", "name": name},
        "message": (
            f"Conditional Access policy '{name}' is preview-only: the preview shows how it "
            "differs in Contoso Test, but TenantGuard never writes it."
        ),
        "resolution": "Apply a change in the Entra admin center, in report-only mode first.",
    }


def test_results_that_differ_only_by_the_items_name_share_one_message():
    rows = [
        SimpleNamespace(**_preview_only(f"CA{n:02d}"), item_name=f"CA{n:02d}") for n in range(3)
    ]
    other = SimpleNamespace(
        code="preview_only_type", item_name="X", message="Something else 'X'.", resolution=""
    )
    groups = group_results_by_message([*rows, other])
    assert [group.total for group in groups] == [3, 1]
    assert "CA00" not in groups[0].message
    assert groups[0].message.startswith("Conditional Access policy (each item listed) is")
    assert groups[0].names == ["CA00", "CA01", "CA02"]
    assert groups[1].message == "Something else 'X'."  # a group of one keeps its own words
    assert check_words.shared_message("Scope tag 'A': fine; it matches 'A' in T.", "A") == (
        "Scope tag (each item listed): fine; it matches its counterpart in T."
    )


@pytest.mark.django_db
def test_the_checks_page_groups_ten_preview_only_items_under_one_message(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    names = [f"CA{n:02d} - Require MFA" for n in range(10)]
    restore_run_record_checks(
        actor=personas["operator"],
        run=run,
        results=[_preview_only(name) for name in names],
        summary={"total": 10},
    )
    page = login(personas["operator"]).get(reverse("restores:checks", args=[run.pk]))
    html = page.content.decode()

    start = html.index('<details class="tg-code-group" data-code="preview_only_type"')
    block = html[start : html.index("</section>", start)]
    # titled by the sentence, the code beside it
    assert check_title("preview_only_type") in block
    assert '<span class="tg-code tg-muted" title="Check code">preview_only_type</span>' in block
    assert "10 items" in block
    # one message and one resolution for the ten
    assert block.count("is preview-only: the preview shows") == 1
    assert block.count("How to resolve:") == 1
    assert 'data-items="10"' in block
    # every name listed, the first five inline, then a count and "show all"
    for name in names:
        assert name in block
    assert "and 5 more" in block and "Show all 10 names" in block


@pytest.mark.django_db
def test_the_real_checks_group_the_demos_preview_only_items_by_type(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="checks")
    ca = run.check_results.filter(code="preview_only_type", item_type="conditional_access")
    assert ca.count() >= 2
    html = login(personas["operator"]).get(reverse("restores:checks", args=[run.pk])).content
    text = html.decode()
    shared = "Conditional Access policy (each item listed) is preview-only"
    assert text.count(shared) == 1
    for result in ca:
        assert result.item_name in text


# ---- plurals and times -------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "words"), [(1, "1 object captured"), (2, "2 objects captured")])
def test_backup_progress_counts_are_plural_only_when_more_than_one(count, words):
    backup_set = SimpleNamespace(pk=1, status="completed", item_count=count, warnings=[])
    html = render_to_string("tenantguard/admin/_backup_progress.html", {"backup_set": backup_set})
    assert f"✅ Backup completed: {words}." in html


def test_a_partial_backup_counts_its_warnings_without_parentheses():
    backup_set = SimpleNamespace(pk=1, status="partial", item_count=1, warnings=["w"])
    html = render_to_string("tenantguard/admin/_backup_progress.html", {"backup_set": backup_set})
    assert "1 object captured; the 1 warning below says what is missing" in html
    assert "(s)" not in html


@pytest.mark.django_db
def test_scope_summary_says_1_item_and_2_items(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    context = {
        "run": run,
        "picking": False,
        "selected_count": 1,
        "search": "",
        "scope": SimpleNamespace(total_items=1),
        "oob": False,
    }
    assert "1 item in the backup set." in render_to_string("restores/_scope_summary.html", context)
    context["scope"] = SimpleNamespace(total_items=2)
    context["search"] = "Edge"
    assert "2 items match “Edge”." in render_to_string("restores/_scope_summary.html", context)
    context["scope"] = SimpleNamespace(total_items=1)
    assert "1 item matches “Edge”." in render_to_string("restores/_scope_summary.html", context)


def test_a_time_under_a_minute_ago_reads_just_now():
    now = timezone.now()
    assert relative_time(now - timedelta(seconds=5), now=now) == "just now"
    assert relative_time(now + timedelta(seconds=2), now=now) == "just now"  # clock skew
    assert relative_time(now - timedelta(minutes=3), now=now) == "3\xa0minutes ago"
    assert relative_time(None, now=now) == ""


@pytest.mark.django_db
def test_a_new_run_says_just_now_with_the_utc_time_never_0_minutes_ago(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    html = login(personas["operator"]).get(reverse("restores:checks", args=[run.pk])).content
    text = html.decode()
    assert "0\xa0minutes ago" not in text and "0 minutes ago" not in text
    assert ">just now</time>" in text
    assert run.created_at.strftime("%Y-%m-%d %H:%M UTC") in text


# ---- backup admin pages ------------------------------------------------------------------------


@pytest.mark.django_db
def test_backup_pages_name_types_and_platforms_as_the_admin_center_does(personas, baseline, login):
    client = login(personas["owner"])
    page = client.get(reverse("admin:backups_backupset_change", args=[baseline.pk]))
    contents = page.content.decode().split("Contents (by category, type and platform)", 1)[1]
    assert ">Device configuration profiles</a>" in contents
    assert ">iOS/iPadOS</td>" in contents
    assert ">device_configuration</a>" not in contents and ">iOS</td>" not in contents

    listing = client.get(reverse("admin:backups_backupitem_changelist") + "?q=iOS").content
    text = listing.decode()
    assert "Device configuration profile" in text and "iOS/iPadOS" in text
    assert ">device_configuration<" not in text


@pytest.mark.django_db
def test_the_scope_step_heads_groups_with_the_admin_centers_platform_names(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="draft")
    page = login(personas["operator"]).get(reverse("restores:scope", args=[run.pk]))
    text = page.content.decode()
    assert "· iOS/iPadOS" in text and "· Windows" in text
    assert not re.search(r"· (windows|iOS|android)\s", text)
