"""Preview diffs in the admin center's words (``restores.presentation``, ``property_labels``,
``selectors.with_type_labels`` and ``restores/_diff.html``)."""

from __future__ import annotations

import base64
import re

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenantguard.intune.property_labels import (
    PROPERTY_LABELS,
    duration_label,
    humanize,
    property_label,
    value_label,
)
from tenantguard.intune.setting_definitions import OptionLabel, SettingLabel
from tenantguard.restores import presentation, selectors
from tenantguard.restores.presentation import (
    SEPARATOR as SEP,
)
from tenantguard.restores.presentation import (
    change_setting_ids,
    diff_rows_for_page,
    readable_diff_rows,
    split_path,
)

EDGE = (
    "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_sslerroroverrideallowed"
)
EDGE_PATH = f"settings[{EDGE}].settingInstance.choiceSettingValue.value"
EDGE_LABELS = {
    EDGE: SettingLabel(
        definition_id=EDGE,
        display_name="Allow users to proceed from the HTTPS warning page",
        description="Lets users click through SSL warning pages.",
        options={
            f"{EDGE}_0": OptionLabel("Disabled", "Users cannot click through."),
            f"{EDGE}_1": OptionLabel("Enabled"),
        },
    )
}

RULES = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}"
DIRECTION = f"{RULES}_direction"
RULE_PATH = (
    f"settings[{RULES}].settingInstance.groupSettingCollectionValue[1]"
    f".children[{DIRECTION}].choiceSettingValue.value"
)
RULE_LABELS = {
    RULES: SettingLabel(definition_id=RULES, display_name="Firewall Rules"),
    DIRECTION: SettingLabel(
        definition_id=DIRECTION,
        display_name="Direction",
        description="The rule's direction.",
        options={f"{DIRECTION}_in": OptionLabel("Inbound"), f"{DIRECTION}_out": OptionLabel("Out")},
    ),
}

DEFINITION = "4b0ecab6-6b27-5161-823c-54d2ce862603"
PRESENTATION = "6cca2a23-fec6-55d2-ada7-29de3f9c1c8f"
TEMPLATE_PAYLOAD = {
    "displayName": "WIN - ADMX - Office",
    "definitionValues": [
        {
            "enabled": True,
            "definition": {
                "id": DEFINITION,
                "displayName": "Block macros from running in Office files from the Internet",
                "categoryPath": "\\Microsoft Excel 2016\\Excel Options\\Security\\Trust Center",
                "explainText": "This policy setting allows you to block macros.",
            },
            "presentationValues": [
                {"value": "C:\\Models", "presentation": {"id": PRESENTATION, "label": "Path:"}}
            ],
        }
    ],
}


def _change(path, before, after, **extra):
    return {"changes": [{"path": path, "before": before, "after": after, **extra}]}


def _only(rows):
    assert len(rows) == 1, rows
    return rows[0]


# ---- settings catalog ------------------------------------------------------------------------


def test_a_choice_setting_reads_as_the_admin_center_names_it():
    row = _only(
        readable_diff_rows(_change(EDGE_PATH, f"{EDGE}_1", f"{EDGE}_0"), labels=EDGE_LABELS)
    )
    assert row["setting"] == "Allow users to proceed from the HTTPS warning page"
    assert (row["before"], row["after"]) == ("Enabled", "Disabled")
    assert row["description"] == "Lets users click through SSL warning pages."
    assert row["after_title"] == "Users cannot click through."
    assert row["detail"] == ""
    assert not row["technical"]
    # The raw forms stay available.
    assert row["raw_setting_id"] == EDGE
    assert row["path"] == EDGE_PATH
    assert (row["before_raw"], row["after_raw"]) == (f"{EDGE}_1", f"{EDGE}_0")
    assert row["after_json"] == f'"{EDGE}_0"'


def test_without_labels_a_setting_shows_its_id_and_the_raw_option_ids():
    row = _only(readable_diff_rows(_change(EDGE_PATH, f"{EDGE}_1", f"{EDGE}_0"), labels={}))
    assert row["setting"] == EDGE
    # the raw option ids, never "option 1": an id's suffix says nothing of what it means
    assert (row["before"], row["after"]) == (f"{EDGE}_1", f"{EDGE}_0")
    assert row["description"] == ""
    assert row["detail"] == ""  # no "settingInstance.choiceSettingValue.value" noise


def test_a_nested_child_shows_its_own_name_with_its_parent_and_entry_as_context():
    row = _only(
        readable_diff_rows(_change(RULE_PATH, None, f"{DIRECTION}_out"), labels=RULE_LABELS)
    )
    assert row["setting"] == "Direction"
    assert row["detail"] == "Firewall Rules (entry 2)"
    assert (row["before"], row["after"]) == (None, "Out")
    assert row["description"] == "The rule's direction."
    assert row["raw_setting_id"] == DIRECTION


def test_an_unknown_option_of_a_known_setting_shows_its_raw_option_id():
    row = _only(readable_diff_rows(_change(EDGE_PATH, None, f"{EDGE}_7"), labels=EDGE_LABELS))
    assert row["after"] == f"{EDGE}_7"
    assert "option" not in row["after"].replace(EDGE, "")


def test_graph_plumbing_is_flagged_technical_and_named():
    diff = {
        "changes": [
            {"path": f"settings[{EDGE}].settingInstance.@odata.type", "before": None, "after": "x"},
            {
                "path": f"settings[{EDGE}].settingInstance.settingInstanceTemplateReference"
                ".settingInstanceTemplateId",
                "before": "a",
                "after": "b",
            },
            {"path": f"settings[{EDGE}].@odata.type", "before": None, "after": "y"},
            {"path": EDGE_PATH, "before": None, "after": f"{EDGE}_1"},
        ]
    }
    rows = readable_diff_rows(diff, labels=EDGE_LABELS)
    assert [r["technical"] for r in rows] == [True, True, True, False]
    assert rows[0]["detail"] == "Graph type"
    assert rows[1]["detail"] == "template reference"
    assert rows[2]["setting"] == "Allow users to proceed from the HTTPS warning page"
    page_rows = diff_rows_for_page(diff, labels=EDGE_LABELS)
    assert (page_rows.shown, page_rows.technical_count) == (1, 3)


def test_a_simple_collection_value_is_numbered():
    path = (
        f"settings[{RULES}].settingInstance.groupSettingCollectionValue[0]"
        f".children[{RULES}_localportranges].simpleSettingCollectionValue[1].value"
    )
    labels = {**RULE_LABELS, f"{RULES}_localportranges": SettingLabel(f"{RULES}_x", "Local ports")}
    row = _only(readable_diff_rows(_change(path, None, "5986"), labels=labels))
    assert row["setting"] == "Local ports"
    assert row["detail"] == f"Firewall Rules (entry 1){SEP}value 2"
    assert row["after"] == "5986"


def test_a_reusable_setting_takes_its_top_setting_from_the_payload():
    path = (
        "settingInstance.groupSettingCollectionValue[0]"
        ".children[vendor_addresses_{id}_keyword].simpleSettingValue.value"
    )
    labels = {
        "vendor_addresses_{id}": SettingLabel("vendor_addresses_{id}", "Dynamic keywords"),
        "vendor_addresses_{id}_keyword": SettingLabel("vendor_addresses_{id}_keyword", "Keyword"),
    }
    row = _only(
        readable_diff_rows(
            _change(path, "old", "new"),
            labels=labels,
            source_payload={"settingDefinitionId": "vendor_addresses_{id}"},
        )
    )
    assert (row["setting"], row["detail"]) == ("Keyword", "Dynamic keywords (entry 1)")


def test_change_setting_ids_lists_every_setting_a_diff_names():
    diff = {
        "changes": [
            {"path": RULE_PATH},
            {"path": EDGE_PATH},
            {"path": "osMinimumVersion"},
            {"path": "settings[deviceConfiguration--x_firewallBlockStatefulFTP].valueJson"},
        ],
        "kept": [{"path": "settings[kept_setting]"}],
    }
    assert change_setting_ids(diff) == {RULES, DIRECTION, EDGE, "kept_setting"}


# ---- administrative templates ----------------------------------------------------------------


def test_an_administrative_template_value_reads_by_definition_and_category():
    rows = readable_diff_rows(
        {
            "changes": [
                {"path": f"definitionValues[{DEFINITION}].enabled", "before": False, "after": True},
                {
                    "path": f"definitionValues[{DEFINITION}].presentationValues[{PRESENTATION}].value",
                    "before": "D:\\Old",
                    "after": "C:\\Models",
                },
                {
                    "path": f"definitionValues[{DEFINITION}].definition.id",
                    "before": None,
                    "after": DEFINITION,
                },
            ]
        },
        labels={},
        source_payload=TEMPLATE_PAYLOAD,
    )
    enabled, presented, plumbing = rows
    assert enabled["setting"] == "Block macros from running in Office files from the Internet"
    assert (
        enabled["detail"] == f"Microsoft Excel 2016{SEP}Excel Options{SEP}Security{SEP}Trust Center"
    )
    assert (enabled["before"], enabled["after"]) == ("Disabled", "Enabled")
    assert enabled["description"] == "This policy setting allows you to block macros."
    assert enabled["raw_setting_id"] == DEFINITION
    assert presented["setting"] == "Path"
    assert presented["detail"].startswith("Block macros from running in Office files")
    assert "Trust Center" in presented["detail"]
    assert (presented["before"], presented["after"]) == ("D:\\Old", "C:\\Models")
    assert plumbing["technical"] and not enabled["technical"] and not presented["technical"]


def test_a_created_template_without_its_payload_takes_the_name_from_the_diff():
    rows = readable_diff_rows(
        {
            "changes": [
                {"path": f"definitionValues[{DEFINITION}].enabled", "before": None, "after": True},
                {
                    "path": f"definitionValues[{DEFINITION}].definition.displayName",
                    "before": None,
                    "after": "Turn off Autoplay",
                },
            ]
        },
        labels={},
    )
    assert rows[0]["setting"] == "Turn off Autoplay"
    assert rows[0]["after"] == "Enabled"


# ---- other types -----------------------------------------------------------------------------


def test_a_compliance_property_reads_by_its_admin_center_label():
    row = _only(
        readable_diff_rows(_change("osMinimumVersion", "10.0.19045", "10.0.22631"), labels={})
    )
    assert row["setting"] == "Minimum OS version"
    assert row["raw_setting_id"] == "osMinimumVersion"
    assert (row["before"], row["after"]) == ("10.0.19045", "10.0.22631")


def test_actions_for_noncompliance_read_by_action():
    path = "scheduledActionsForRule[PasswordRequired].scheduledActionConfigurations[block].gracePeriodHours"
    row = _only(readable_diff_rows(_change(path, 24, 72), labels={}))
    assert row["setting"] == "Schedule (hours after noncompliance)"
    assert row["detail"] == f"Actions for noncompliance{SEP}Mark device noncompliant"
    action = _only(
        readable_diff_rows(
            _change(
                "scheduledActionsForRule[PasswordRequired].scheduledActionConfigurations[0].actionType",
                "notification",
                "block",
            ),
            labels={},
        )
    )
    assert (action["setting"], action["after"], action["before"]) == (
        "Action",
        "Mark device noncompliant",
        "Send email to end user",
    )


def test_an_oma_uri_setting_keeps_its_uri_readable_and_takes_its_name_from_the_payload():
    uri = "./Device/Vendor/MSFT/Policy/Config/Defender/AllowArchiveScanning"
    payload = {"omaSettings": [{"omaUri": uri, "displayName": "Archive scanning"}]}
    row = _only(
        readable_diff_rows(
            _change(f"omaSettings[{uri}].value", 0, 1), labels={}, source_payload=payload
        )
    )
    assert row["setting"] == f"Archive scanning (OMA-URI {uri})"
    assert row["detail"] == ""
    bare = _only(readable_diff_rows(_change(f"omaSettings[{uri}].value", 0, 1), labels={}))
    assert bare["setting"] == f"OMA-URI {uri}"


def test_values_show_as_words_a_person_reads():
    rows = readable_diff_rows(
        {
            "changes": [
                {"path": "passwordRequired", "before": False, "after": True},
                {"path": "restrictedApps", "before": [], "after": ["a", "b"]},
                {"path": "notes", "before": None, "after": {"omitted": True, "bytes": 90000}},
            ]
        },
        labels={},
    )
    assert [(r["before"], r["after"]) for r in rows] == [
        ("false", "true"),
        ("(empty list)", "a, b"),
        (None, "(not shown: 90000 bytes)"),
    ]
    assert rows[0]["setting"] == "Require a password to unlock mobile devices"


def test_the_humanizer_spells_acronyms_and_products_as_the_field_does():
    assert humanize("wiFiProxyServer") == "Wi-Fi proxy server"
    assert humanize("iOSBlockAppStore") == "iOS block app store"
    assert humanize("macOSRequireFileVault") == "macOS require file vault"
    assert humanize("allowedOSVersions") == "Allowed OS versions"
    assert humanize("defenderScanURLs") == "Defender scan URLs"
    assert humanize("trustedRootCertificateIDs") == "Trusted root certificate IDs"
    assert humanize("usbBlocked") == PROPERTY_LABELS["usbBlocked"]
    assert humanize("someNewProperty") == "Some new property"
    assert humanize("iMessageAndFaceTimeScreenDisabled") == "iMessage and FaceTime screen disabled"
    assert humanize("sharedIPadMaximumUserCount") == "Shared iPad maximum user count"
    assert humanize("iTunesPairingMode") == "iTunes pairing mode"
    assert humanize("v10_0") == "Version 10.0"
    assert property_label("pinRequired") == "PIN for access"
    assert len(PROPERTY_LABELS) >= 80


def test_split_path_keeps_annotations_and_dotted_identities_whole():
    assert split_path("omaSettings[./Device/a.b[1]].@odata.type") == [
        ("prop", "omaSettings"),
        ("key", "./Device/a.b[1]"),
        ("prop", "@odata.type"),
    ]
    assert split_path("a.b[0].c") == [("prop", "a"), ("prop", "b"), ("key", "0"), ("prop", "c")]


# ---- the page --------------------------------------------------------------------------------


def test_the_diff_template_shows_names_with_descriptions_and_raw_ids_only_on_demand():
    diff = {
        **_change(EDGE_PATH, f"{EDGE}_1", f"{EDGE}_0"),
        "assignments": {},
        "scope_tags": {},
    }
    diff["changes"].append(
        {"path": f"settings[{EDGE}].settingInstance.@odata.type", "before": "a", "after": "b"}
    )
    html = render_to_string(
        "restores/_diff.html", {"diff": diff, "rows": diff_rows_for_page(diff, labels=EDGE_LABELS)}
    )
    visible, _, raw = html.partition("<details")
    assert "Allow users to proceed from the HTTPS warning page" in visible
    assert 'title="Lets users click through SSL warning pages."' in visible
    assert ">Enabled<" in visible and ">Disabled<" in visible
    assert EDGE_PATH not in visible and "option 1" not in visible
    assert "1 technical detail" in visible
    assert "data-graph-ids" in raw and EDGE_PATH in raw and "@odata.type" in raw
    assert f"&quot;{EDGE}_0&quot;" in raw


def test_kept_elements_read_by_name():
    diff = {"changes": [], "kept": [{"path": f"settings[{EDGE}]", "note": "kept"}]}
    html = render_to_string(
        "restores/_diff.html", {"diff": diff, "rows": diff_rows_for_page(diff, labels=EDGE_LABELS)}
    )
    assert "Allow users to proceed from the HTTPS warning page" in html
    assert 'data-kept="true"' in html


@pytest.mark.django_db
def test_the_preview_page_loads_labels_and_payloads_once_for_all_its_items(
    personas, tenant, baseline, walk, login
):
    run = walk(personas["owner"], tenant, baseline)
    items = list(run.preview_items.all())
    assert len(items) > 20
    named = ["WIN - SC - Microsoft Edge - Security", "WIN - Compliance - Baseline"]
    with CaptureQueriesContext(connection) as few:
        selectors.with_type_labels(run.preview_items.filter(display_name__in=named))
    with CaptureQueriesContext(connection) as many:
        rows = selectors.with_type_labels(run.preview_items.all())
    # The same queries for 2 items and for all of them (items, labels): none per row.
    assert len(many.captured_queries) == len(few.captured_queries) <= 3
    edge = next(r for r in rows if r.display_name == "WIN - SC - Microsoft Edge - Security")
    (change,) = [c for c in edge.rows if not c["technical"]]
    assert change["setting"] == "Allow users to proceed from the HTTPS warning page"
    assert (change["before"], change["after"]) == ("Enabled", "Disabled")
    compliance = next(r for r in rows if r.display_name == "WIN - Compliance - Baseline")
    assert [c["setting"] for c in compliance.rows] == ["Minimum OS version"]
    page = login(personas["owner"]).get(reverse("restores:preview", args=[run.pk]))
    html = page.content.decode()
    assert "Allow users to proceed from the HTTPS warning page" in html
    assert re.search(
        r'class="tg-before"[^>]*>Enabled</td><td class="tg-after"[^>]*>Disabled<', html
    )


def test_diff_rows_keeps_its_old_signature_for_other_callers():
    rows = selectors.diff_rows(_change(EDGE_PATH, f"{EDGE}_1", f"{EDGE}_0"))
    assert (rows[0]["setting"], rows[0]["after"]) == (EDGE, f"{EDGE}_0")
    labelled = selectors.diff_rows(_change(EDGE_PATH, f"{EDGE}_1", f"{EDGE}_0"), labels=EDGE_LABELS)
    assert labelled[0]["after"] == "Disabled"


# ---- identifier places (preview table, check messages) --------------------------------------


def test_a_place_in_a_payload_reads_by_the_setting_it_sits_in():
    from tenantguard.restores.presentation import payload_place_label

    payload = {
        "settings": [
            {
                "settingInstance": {
                    "settingDefinitionId": RULES,
                    "groupSettingCollectionValue": [
                        {
                            "children": [
                                {
                                    "settingDefinitionId": DIRECTION,
                                    "simpleSettingValue": {"value": "x"},
                                }
                            ]
                        }
                    ],
                }
            }
        ]
    }
    path = "settings[0].settingInstance.groupSettingCollectionValue[0].children[0].simpleSettingValue.value"
    assert payload_place_label(payload, path, labels=RULE_LABELS) == f"Firewall Rules{SEP}Direction"
    assert payload_place_label(payload, path, labels={}) == f"{RULES}{SEP}{DIRECTION}"
    template = payload_place_label(
        TEMPLATE_PAYLOAD, "definitionValues[0].presentationValues[0].value", labels={}
    )
    assert template == f"Block macros from running in Office files from the Internet{SEP}Path"
    assert payload_place_label({}, "passwordMinimumLength", labels={}) == "Minimum password length"


def test_the_identifier_table_names_each_place_and_keeps_its_path():
    payload = {"omaSettings": [{"omaUri": "./Vendor/x", "displayName": "Home page"}]}
    diff = {
        "changes": [],
        "tenant_identifiers": {
            "choice": "replace",
            "places": [
                {"path": "omaSettings[0].value", "kind": "sharepoint", "found": "a", "written": "b"}
            ],
        },
    }
    rows = diff_rows_for_page(diff, labels={}, source_payload=payload)
    html = render_to_string(
        "restores/_diff.html", {"diff": diff, "rows": rows, "run": {"tenant_label": "Fabrikam"}}
    )
    assert "Home page (OMA-URI ./Vendor/x)" in html
    assert "omaSettings[0].value" in html


def test_a_place_label_never_fails_when_a_definition_or_presentation_is_a_string():
    from tenantguard.restores.presentation import payload_place_label

    # an odd (hand-edited, or another tool's) payload: references as strings, not objects
    payload = {
        "definitionValues": [
            {
                "definition": "https://graph/definitions('d1')",
                "presentation": "p1",
                "presentationValues": [{"presentation": "p2", "value": "x"}],
            }
        ]
    }

    label = payload_place_label(
        payload, "definitionValues[d1].presentationValues[p2].value", labels={}
    )

    assert isinstance(label, str) and label


# ---- scripts (base64 in Graph) -----------------------------------------------------------------

DEMO_DETECTION = (
    "$free = (Get-PSDrive -Name C).Free / 1GB\n"
    "if ($free -lt 10) {\n"
    '    Write-Output "Low disk space: $([math]::Round($free, 1)) GB free"\n'
    "    exit 1\n"
    "}\n"
    'Write-Output "OK: $([math]::Round($free, 1)) GB free"\n'
    "exit 0\n"
)


def _b64(text: str, encoding: str = "utf-8") -> str:
    return base64.b64encode(text.encode(encoding)).decode()


def test_a_script_change_reads_as_its_changed_lines_not_base64():
    """The demo's drift: the target's detection script says "-lt 2" (and a comment line more),
    the backup's "-lt 10"."""
    target = DEMO_DETECTION.replace("-lt 10", "-lt 2") + "# threshold lowered\n"
    diff = _change("detectionScriptContent", _b64(target), _b64(DEMO_DETECTION))
    row = _only(readable_diff_rows(diff, labels={}))
    assert row["setting"] == "Detection script"
    # places in the backup's script (the one written): line 2 changed, a line removed after 7
    assert row["detail"] == "lines 2, 7"
    assert row["before"] == "if ($free -lt 2) { \u23ce # threshold lowered"
    assert row["after"] == "if ($free -lt 10) {"
    lines = row["script"]["lines"]
    assert [(x["sign"], x["text"]) for x in lines if x["kind"] in ("removed", "added")] == [
        ("-", "if ($free -lt 2) {"),
        ("+", "if ($free -lt 10) {"),
        ("-", "# threshold lowered"),
    ]
    assert {x["kind"] for x in lines} >= {"context", "removed", "added"}
    assert row["script"]["hidden"] == 0
    # the raw base64 stays in the raw view
    assert row["before_raw"] == _b64(target)
    assert row["after_json"] == f'"{_b64(DEMO_DETECTION)}"'

    html = render_to_string(
        "restores/_diff.html", {"diff": diff, "rows": diff_rows_for_page(diff, labels={})}
    )
    visible, _, raw = html.partition("<details")
    assert "data-script-diff" in visible
    assert "if ($free -lt 2) {" in visible and "if ($free -lt 10) {" in visible
    assert _b64(DEMO_DETECTION) not in visible and _b64(target) not in visible
    assert _b64(DEMO_DETECTION) in raw and _b64(target) in raw


def test_utf16_scripts_and_every_script_property_decode():
    text = "Write-Output 'a'\nexit 0\n"
    for prop in ("scriptContent", "remediationScriptContent", "detectionScriptContent"):
        for encoded in (_b64(text, "utf-16"), _b64(text, "utf-16-le"), _b64("\ufeff" + text)):
            row = _only(readable_diff_rows(_change(prop, None, encoded), labels={}))
            assert row["after"] == "Write-Output 'a' \u23ce exit 0", (prop, encoded)
            assert row["before"] is None
    nested = "detectionRules[0].scriptContent"  # a Win32 app's detection script
    row = _only(readable_diff_rows(_change(nested, _b64("a\n"), _b64("b\n")), labels={}))
    assert (row["before"], row["after"]) == ("a", "b")


def test_what_is_not_base64_text_is_never_decoded():
    binary = base64.b64encode(bytes(range(256))).decode()
    diff = {
        "changes": [
            {"path": "scriptContent", "before": "not base64 !", "after": _b64("x\n")},
            {"path": "scriptContent", "before": binary, "after": _b64("x\n")},
            {"path": "scriptContent", "before": None, "after": {"omitted": True, "bytes": 9000}},
            # not a script property: a base64-looking value stays as it is
            {"path": "description", "before": None, "after": _b64("x\n")},
            # nothing under OMA-URI settings is decoded (secrets live there)
            {"path": "omaSettings[./Vendor/x].scriptContent", "before": None, "after": _b64("s")},
        ]
    }
    rows = readable_diff_rows(diff, labels={})
    assert [row["script"] for row in rows] == [None] * 5
    assert rows[0]["before"] == "not base64 !" and rows[0]["after"] == _b64("x\n")
    assert rows[1]["before"] == binary
    assert rows[2]["after"] == "(not shown: 9000 bytes)"
    assert rows[3]["after"] == _b64("x\n")
    assert rows[4]["after"] == _b64("s")


def test_a_script_line_diff_is_bounded():
    old = "".join(f"line {n}\n" for n in range(400))
    new = "".join(f"line {n}{' changed' if n % 5 == 0 else ''}\n" for n in range(400))
    row = _only(readable_diff_rows(_change("scriptContent", _b64(old), _b64(new)), labels={}))
    script = row["script"]
    assert len(script["lines"]) == presentation.SCRIPT_DIFF_MAX_LINES
    assert script["hidden"] > 0
    changed = sum(1 for x in script["lines"] if x["kind"] in ("removed", "added"))
    assert changed + script["hidden"] == 160  # 80 lines changed: each removed and added
    assert row["before"].endswith("(+77 more)")
    long_line = "x" * 5000
    row = _only(readable_diff_rows(_change("scriptContent", None, _b64(long_line)), labels={}))
    assert len(row["script"]["lines"][0]["text"]) == presentation.SCRIPT_LINE_MAX_CHARS
    html = render_to_string(
        "restores/_diff.html",
        {
            "diff": _change("scriptContent", _b64(old), _b64(new)),
            "rows": diff_rows_for_page(_change("scriptContent", _b64(old), _b64(new)), labels={}),
        },
    )
    assert f"{script['hidden']} more changed lines not shown" in html


def test_same_script_text_in_another_encoding_says_so():
    row = _only(
        readable_diff_rows(
            _change("scriptContent", _b64("a\nb\n", "utf-16"), _b64("a\nb\n")), labels={}
        )
    )
    assert row["script"]["lines"] == []
    assert "only its encoding differs" in row["note"]


@pytest.mark.parametrize(
    "target, backup", [("a\r\nb\r\n", "a\nb\n"), ("a\nb", "a\nb\n")], ids=["crlf", "final-newline"]
)
def test_line_endings_or_final_newline_are_never_called_an_encoding(target, backup):
    row = _only(readable_diff_rows(_change("scriptContent", _b64(target), _b64(backup)), labels={}))
    assert "only its encoding differs" not in row["note"]
    assert "line endings (CRLF / LF) or the final newline differ" in row["note"]


# ---- enum values and durations ---------------------------------------------------------------


def test_app_protection_values_read_as_the_admin_center_words_them_and_keep_the_raw():
    diff = {
        "changes": [
            {
                "path": "allowedOutboundClipboardSharingLevel",
                "before": "managedAppsWithPasteIn",
                "after": "blocked",
            },
            {"path": "allowedInboundDataTransferSources", "before": "allApps", "after": "none"},
            {
                "path": "allowedOutboundDataTransferDestinations",
                "before": "allApps",
                "after": "managedApps",
            },
            {"path": "appGroupType", "before": "allApps", "after": "selectedPublicApps"},
            {"path": "managedBrowser", "before": "notConfigured", "after": "microsoftEdge"},
            {
                "path": "allowedDataStorageLocations",
                "before": ["oneDriveForBusiness"],
                "after": ["oneDriveForBusiness", "sharePoint"],
            },
            {"path": "pinCharacterSet", "before": "numeric", "after": "alphanumericAndSymbol"},
            {"path": "periodOfflineBeforeAccessCheck", "before": "PT12H", "after": "PT0S"},
            {"path": "periodOfflineBeforeWipeIsEnforced", "before": "P90D", "after": "P1DT12H"},
            {"path": "mobileThreatDefenseRemediationAction", "before": "block", "after": "wipe"},
            {"path": "notificationRestriction", "before": "allow", "after": "block"},
            {"path": "someNewEnum", "before": "fooBar", "after": "fooBaz"},
        ]
    }
    rows = readable_diff_rows(diff, labels={})
    assert [(r["before"], r["after"]) for r in rows] == [
        ("Policy managed apps with paste in", "Blocked"),
        ("All apps", "None"),
        ("All apps", "Policy managed apps"),
        ("All apps", "Selected apps"),
        ("Not configured", "Microsoft Edge"),
        ("OneDrive for Business", "OneDrive for Business, SharePoint"),
        ("Numeric", "Passcode"),
        ("12 hours", "0 seconds"),
        ("90 days", "1 day 12 hours"),
        ("Block access", "Wipe data"),
        ("Allow", "Block"),
        ("fooBar", "fooBaz"),  # unknown members as Graph names them
    ]
    assert rows[0]["before_raw"] == "managedAppsWithPasteIn"
    assert rows[7]["after_json"] == '"PT0S"'


def test_wifi_security_type_and_durations_read_everywhere():
    rows = readable_diff_rows(
        {
            "changes": [
                {"path": "wiFiSecurityType", "before": "wpaPersonal", "after": "open"},
                {"path": "someSetting.timeout", "before": "PT30M", "after": "P1W"},
            ]
        },
        labels={},
    )
    assert rows[0]["setting"] == "Security type"
    assert (rows[0]["before"], rows[0]["after"]) == ("WPA-Personal", "Open (no authentication)")
    assert (rows[1]["before"], rows[1]["after"]) == ("30 minutes", "1 week")
    assert duration_label("PT0S") == "0 seconds"
    assert duration_label("PT1H30M") == "1 hour 30 minutes"
    assert duration_label("P") is None and duration_label("PT") is None
    assert duration_label("Period") is None
    assert value_label("wiFiSecurityType", "somethingNew") == "somethingNew"
    assert value_label("runAsAccount", "user") == "Yes"  # logged on credentials: Yes
    assert value_label("runAsAccount", "system") == "No"


def test_keyboard_restriction_and_the_approved_keyboard_list_have_distinct_labels():
    assert property_label("keyboardsRestricted") != property_label("approvedKeyboards")
    rows = readable_diff_rows(
        {
            "changes": [
                {"path": "keyboardsRestricted", "before": False, "after": True},
                {"path": "approvedKeyboards", "before": [], "after": ["com.example.kb"]},
            ]
        },
        labels={},
    )
    assert rows[0]["setting"] == "Approved keyboards"
    assert (rows[0]["before"], rows[0]["after"]) == ("Not required", "Require")
    assert rows[1]["setting"] == "Select keyboards to approve"


def test_a_win32_apps_install_behavior_is_not_read_as_a_script_setting():
    diff = {
        "changes": [{"path": "installExperience.runAsAccount", "before": "system", "after": "user"}]
    }
    row = _only(readable_diff_rows(diff, labels={}))
    assert (row["setting"], row["before"], row["after"]) == ("Install behavior", "System", "User")
    script = _only(readable_diff_rows(_change("runAsAccount", "system", "user"), labels={}))
    assert script["setting"] == "Run this script using the logged on credentials"


def test_two_raw_values_never_read_as_the_same_words():
    from tenantguard.intune.property_labels import VALUE_LABELS

    for name, labels in VALUE_LABELS.items():
        words = list(labels.values())
        assert len(words) == len(set(words)), f"{name}: two values read alike: {labels}"
