"""Setting definition labels: reading them from Graph (``$batch``, 20 a request), the per-tenant
and per-cloud cache, and the checks and the preview that fill it (never failing for it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tenantguard.graph import (
    GraphClient,
    RequestPacer,
    RetryPolicy,
    StaticTokenProvider,
    WritePacer,
)
from tenantguard.graph.testing import FakeClock
from tenantguard.intune.setting_definitions import (
    READ_PERMISSION,
    OptionLabel,
    label_from_definition,
    setting_definition_ids,
    setting_definitions_read,
)

GRAPH_ROOT = "https://graph.example.test"
TOKEN = "tok-defs-never-log-me"

EDGE_SSL = (
    "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_sslerroroverrideallowed"
)

#: A choice definition shaped like Graph's answer (beta, ``configurationSettings/{id}``).
EDGE_SSL_DEFINITION: dict[str, Any] = {
    "@odata.context": f"{GRAPH_ROOT}/beta/$metadata#deviceManagement/configurationSettings/$entity",
    "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingDefinition",
    "id": EDGE_SSL,
    "name": "SSLErrorOverrideAllowed",
    "displayName": "Allow users to proceed from the HTTPS warning page",
    "description": "Chrome shows a warning page when users visit sites that have SSL errors.",
    "helpText": "",
    "categoryId": "a1b2c3d4-0000-4000-8000-000000000001",
    "baseUri": "./Device/Vendor/MSFT/Policy/Config",
    "offsetUri": "microsoft_edge~Policy~microsoft_edge/SSLErrorOverrideAllowed",
    "defaultOptionId": f"{EDGE_SSL}_0",
    "options": [
        {
            "itemId": f"{EDGE_SSL}_0",
            "name": "Disabled",
            "displayName": "Disabled",
            "description": "Users cannot click through the warning page.",
            "optionValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                "value": 0,
            },
        },
        {
            "itemId": f"{EDGE_SSL}_1",
            "name": "Enabled",
            "displayName": "Enabled",
            "description": None,
            "optionValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                "value": 1,
            },
        },
    ],
}

FIREWALL_RULE = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}"


def _simple(definition_id: str, value: Any) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
        "settingDefinitionId": definition_id,
        "simpleSettingValue": {"value": value},
    }


def _choice(definition_id: str, option: str, children: list[Any] | None = None) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": definition_id,
        "choiceSettingValue": {"value": f"{definition_id}_{option}", "children": children or []},
    }


def policy_payload(*instances: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "WIN - SC - Test",
        "templateReference": {"templateId": "", "templateFamily": "none"},
        "settings": [
            {"id": str(number), "settingInstance": instance}
            for number, instance in enumerate(instances)
        ],
    }


# --------------------------------------------------------------------------------------------
# A Graph double answering $batch GETs of setting definitions
# --------------------------------------------------------------------------------------------


class DefinitionsGraph:
    """Answers ``POST $batch`` of ``GET /{collection}/{id}`` from ``definitions`` (by collection);
    404 for ids it lacks, ``statuses[id]`` to force a status. Records every batch."""

    def __init__(
        self,
        definitions: Mapping[str, Mapping[str, Mapping[str, Any]]],
        *,
        statuses: Mapping[str, int] | None = None,
        no_route: frozenset[str] = frozenset(),
    ) -> None:
        self.definitions = definitions
        self.statuses = dict(statuses or {})
        #: collections this "cloud" lacks: Intune's 400 "No method match route template"
        self.no_route = no_route
        self.batches: list[list[dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/beta/$batch", request.url
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        subrequests = json.loads(request.content)["requests"]
        self.batches.append(subrequests)
        return httpx.Response(200, json={"responses": [self._answer(r) for r in subrequests]})

    def _answer(self, subrequest: Mapping[str, Any]) -> dict[str, Any]:
        assert subrequest["method"] == "GET"
        _, collection_root, collection, raw_id = subrequest["url"].split("/")
        definition_id = unquote(raw_id)
        if f"{collection_root}/{collection}" in self.no_route:
            body = {
                "error": {
                    "code": "No method match route template",
                    "message": f"No OData route exists that match template for '{collection}'.",
                }
            }
            return {"id": subrequest["id"], "status": 400, "body": body}
        status = self.statuses.get(definition_id)
        if status is not None:
            code = "Forbidden" if status == 403 else "Error"
            body = {"error": {"code": code, "message": f"status {status}"}}
            return {"id": subrequest["id"], "status": status, "body": body}
        found = self.definitions.get(f"{collection_root}/{collection}", {}).get(definition_id)
        if found is None:
            body = {"error": {"code": "ResourceNotFound", "message": "not found"}}
            return {"id": subrequest["id"], "status": 404, "body": body}
        return {"id": subrequest["id"], "status": 200, "body": dict(found)}

    @property
    def urls(self) -> list[str]:
        return [r["url"] for batch in self.batches for r in batch]


def graph_client(handler: Callable[[httpx.Request], httpx.Response]) -> GraphClient:
    return GraphClient(
        graph_url=GRAPH_ROOT,
        token_provider=StaticTokenProvider(TOKEN),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=5.0, budget_seconds=30),
        pacer=WritePacer(max_writes=100, per_seconds=20.0),
        request_pacer=RequestPacer(max_requests=1000, per_seconds=20.0),
        clock=FakeClock(),
    )


def simple_definition(definition_id: str, name: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingDefinition",
        "id": definition_id,
        "displayName": name,
        "description": f"What {name} does.",
        "categoryId": "cat-1",
    }


CONFIGURATION = "deviceManagement/configurationSettings"
COMPLIANCE = "deviceManagement/complianceSettings"
REUSABLE = "deviceManagement/reusableSettings"


# --------------------------------------------------------------------------------------------
# Interface A: ids and parsing
# --------------------------------------------------------------------------------------------


def test_definition_ids_include_nested_children_of_groups_and_choices() -> None:
    payload = policy_payload(
        _choice(EDGE_SSL, "1"),
        {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance",
            "settingDefinitionId": FIREWALL_RULE,
            "groupSettingCollectionValue": [
                {
                    "children": [
                        _simple(f"{FIREWALL_RULE}_name", "Allow RDP"),
                        _choice(
                            f"{FIREWALL_RULE}_enabled",
                            "1",
                            children=[_simple(f"{FIREWALL_RULE}_enabled_note", "x")],
                        ),
                    ]
                }
            ],
        },
    )

    assert setting_definition_ids(payload) == {
        EDGE_SSL,
        FIREWALL_RULE,
        f"{FIREWALL_RULE}_name",
        f"{FIREWALL_RULE}_enabled",
        f"{FIREWALL_RULE}_enabled_note",
    }


def test_definition_ids_of_a_reusable_setting_and_of_a_payload_without_settings() -> None:
    reusable = {
        "displayName": "FW - Admin jump hosts",
        "settingDefinitionId": "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}",
        "settingInstance": _simple(
            "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}_addresses", "10.0.0.1"
        ),
    }
    assert setting_definition_ids(reusable) == {
        "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}",
        "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}_addresses",
    }
    assert setting_definition_ids({"displayName": "x", "settingDefinitionId": None}) == set()


def test_a_choice_definition_becomes_a_label_with_its_options() -> None:
    label = label_from_definition(EDGE_SSL_DEFINITION)

    assert label.definition_id == EDGE_SSL
    assert label.display_name == "Allow users to proceed from the HTTPS warning page"
    assert label.description.startswith("Chrome shows a warning page")
    assert label.category == "a1b2c3d4-0000-4000-8000-000000000001"
    assert label.options == {
        f"{EDGE_SSL}_0": OptionLabel("Disabled", "Users cannot click through the warning page."),
        f"{EDGE_SSL}_1": OptionLabel("Enabled", ""),
    }


def test_a_definition_without_display_name_falls_back_to_name_then_id() -> None:
    assert label_from_definition({"id": "a_b", "name": "TheName"}).display_name == "TheName"
    bare = label_from_definition({}, definition_id="a_b")
    assert (bare.definition_id, bare.display_name, bare.options) == ("a_b", "a_b", {})


# --------------------------------------------------------------------------------------------
# Reading from Graph
# --------------------------------------------------------------------------------------------


def test_read_sends_twenty_gets_per_batch_with_ids_quoted_as_path_segments() -> None:
    ids = [f"setting_{number:02d}" for number in range(44)] + [f"{FIREWALL_RULE}_name", EDGE_SSL]
    known = {i: simple_definition(i, f"Name of {i}") for i in ids}
    known[EDGE_SSL] = EDGE_SSL_DEFINITION
    graph = DefinitionsGraph({CONFIGURATION: known})

    read = setting_definitions_read(graph_client(graph), ids)

    assert [len(batch) for batch in graph.batches] == [20, 20, 6]
    assert read.requests == 3
    assert set(read.labels) == set(ids)
    assert read.labels[EDGE_SSL].options[f"{EDGE_SSL}_1"].display_name == "Enabled"
    assert read.labels[f"{FIREWALL_RULE}_name"].display_name == f"Name of {FIREWALL_RULE}_name"
    assert (read.unknown, read.failed, read.problem) == (frozenset(), frozenset(), "")
    # braces are not allowed raw in a URL path: quoted
    assert (
        "/deviceManagement/configurationSettings/"
        "vendor_msft_firewall_mdmstore_firewallrules_%7Bfirewallrulename%7D_name"
    ) in graph.urls


def test_ids_unknown_to_configuration_settings_are_looked_up_in_compliance_and_reusable() -> None:
    graph = DefinitionsGraph(
        {
            CONFIGURATION: {"a": simple_definition("a", "A")},
            COMPLIANCE: {"linux_x": simple_definition("linux_x", "Linux X")},
            REUSABLE: {"fw_{id}": simple_definition("fw_{id}", "Addresses")},
        }
    )

    read = setting_definitions_read(graph_client(graph), ["a", "linux_x", "fw_{id}", "gone"])

    assert {i: label.display_name for i, label in read.labels.items()} == {
        "a": "A",
        "linux_x": "Linux X",
        "fw_{id}": "Addresses",
    }
    assert read.unknown == {"gone"}
    assert read.failed == frozenset()
    # each collection is asked only about what the previous ones did not know
    assert [sorted(r["url"] for r in batch) for batch in graph.batches] == [
        sorted(f"/{CONFIGURATION}/{i}" for i in ("a", "fw_%7Bid%7D", "gone", "linux_x")),
        sorted(f"/{COMPLIANCE}/{i}" for i in ("fw_%7Bid%7D", "gone", "linux_x")),
        sorted(f"/{REUSABLE}/{i}" for i in ("fw_%7Bid%7D", "gone")),
    ]


def test_ids_of_compliance_and_reusable_types_are_asked_in_their_own_collection_first() -> None:
    graph = DefinitionsGraph(
        {
            CONFIGURATION: {"a": simple_definition("a", "A")},
            COMPLIANCE: {"linux_x": simple_definition("linux_x", "Linux X")},
            REUSABLE: {"fw_{id}": simple_definition("fw_{id}", "Addresses")},
        }
    )

    read = setting_definitions_read(
        graph_client(graph),
        ["a", "linux_x", "fw_{id}"],
        first_collection={"linux_x": COMPLIANCE, "fw_{id}": REUSABLE},
    )

    assert set(read.labels) == {"a", "linux_x", "fw_{id}"}
    assert sorted(graph.urls) == sorted(
        [f"/{CONFIGURATION}/a", f"/{COMPLIANCE}/linux_x", f"/{REUSABLE}/fw_%7Bid%7D"]
    )


def test_forbidden_stops_reading_and_names_the_permission_without_the_token() -> None:
    ids = [f"s{number:02d}" for number in range(30)]
    graph = DefinitionsGraph(
        {CONFIGURATION: {i: simple_definition(i, i) for i in ids}},
        statuses=dict.fromkeys(ids, 403),
    )

    read = setting_definitions_read(graph_client(graph), ids)

    assert read.forbidden
    assert len(graph.batches) == 1  # the second batch would be refused too
    assert read.failed == set(ids)
    assert read.unknown == frozenset() and read.labels == {}
    assert READ_PERMISSION in read.problem
    assert "shown by their ids" in read.problem
    assert TOKEN not in read.problem


def test_a_server_error_leaves_the_id_failed_not_unknown() -> None:
    graph = DefinitionsGraph(
        {CONFIGURATION: {"a": simple_definition("a", "A"), "b": simple_definition("b", "B")}},
        statuses={"b": 500},
    )

    read = setting_definitions_read(graph_client(graph), ["a", "b"])

    assert set(read.labels) == {"a"}
    assert read.failed == {"b"} and read.unknown == frozenset()
    assert not read.forbidden
    assert "read again on the next preview" in read.problem


def test_a_batch_that_gets_no_answer_fails_every_id_without_raising() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    read = setting_definitions_read(graph_client(unreachable), ["a", "b"])

    assert read.failed == {"a", "b"}
    assert read.labels == {} and read.unknown == frozenset()
    assert read.problem


# --------------------------------------------------------------------------------------------
# The cache (per tenant and cloud)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def catalog_graph() -> DefinitionsGraph:
    return DefinitionsGraph(
        {
            CONFIGURATION: {
                EDGE_SSL: EDGE_SSL_DEFINITION,
                "a": simple_definition("a", "Setting A"),
                "b": simple_definition("b", "Setting B"),
            }
        }
    )


@pytest.mark.django_db
def test_ensure_reads_only_missing_ids_and_remembers_unknown_ones(tenant, catalog_graph) -> None:
    from tenantguard.catalog.selectors import setting_labels
    from tenantguard.catalog.services import setting_definitions_ensure

    client = graph_client(catalog_graph)
    first = setting_definitions_ensure(tenant=tenant, definition_ids={"a", "gone"}, client=client)
    # "gone" was looked up in configuration, compliance and reusable settings: 3 batches
    assert first == 3
    urls_after_first = list(catalog_graph.urls)

    again = setting_definitions_ensure(
        tenant=tenant, definition_ids={"a", "gone", EDGE_SSL}, client=client
    )

    assert again == 1  # only EDGE_SSL was missing
    assert catalog_graph.urls[len(urls_after_first) :] == [f"/{CONFIGURATION}/{EDGE_SSL}"]
    assert (
        setting_definitions_ensure(
            tenant=tenant, definition_ids={"a", "gone", EDGE_SSL}, client=client
        )
        == 0
    )
    labels = setting_labels(tenant=tenant, definition_ids={"a", "gone", EDGE_SSL, "never-read"})
    assert set(labels) == {"a", EDGE_SSL}  # unknown and unread ids: callers show the raw id
    assert labels["a"].display_name == "Setting A"
    assert labels[EDGE_SSL].options[f"{EDGE_SSL}_0"] == OptionLabel(
        "Disabled", "Users cannot click through the warning page."
    )


@pytest.mark.django_db
def test_each_tenant_reads_its_own_and_a_changed_cloud_reads_again(
    tenant, prod_tenant, catalog_graph
) -> None:
    from tenantguard.catalog.selectors import setting_labels
    from tenantguard.catalog.services import setting_definitions_ensure

    client = graph_client(catalog_graph)
    assert setting_definitions_ensure(tenant=tenant, definition_ids={"a", "b"}, client=client) == 1
    # another tenant in the same cloud: its own vocabulary (its app, its licence, its cloud)
    assert setting_labels(tenant=prod_tenant, definition_ids={"a"}) == {}
    assert (
        setting_definitions_ensure(tenant=prod_tenant, definition_ids={"a", "b"}, client=client)
        == 1
    )
    assert setting_definitions_ensure(tenant=tenant, definition_ids={"a", "b"}, client=client) == 0

    tenant.cloud = "custom"
    tenant.graph_url = "http://127.0.0.1:8765"
    tenant.save()
    assert setting_labels(tenant=tenant, definition_ids={"a"}) == {}
    assert setting_definitions_ensure(tenant=tenant, definition_ids={"a", "b"}, client=client) == 1
    assert setting_labels(tenant=tenant, definition_ids={"a"})["a"].display_name == "Setting A"


@pytest.mark.django_db
def test_refused_definitions_are_not_remembered(tenant) -> None:
    from tenantguard.catalog.models import SettingDefinition
    from tenantguard.catalog.services import setting_definitions_fetch

    graph = DefinitionsGraph(
        {CONFIGURATION: {"a": simple_definition("a", "A")}}, statuses={"a": 403}
    )
    client = graph_client(graph)

    read = setting_definitions_fetch(tenant=tenant, definition_ids={"a"}, client=client)

    assert read.forbidden and READ_PERMISSION in read.problem
    assert not SettingDefinition.objects.filter(tenant=tenant).exists()
    graph.statuses.clear()  # the permission was granted
    read = setting_definitions_fetch(tenant=tenant, definition_ids={"a"}, client=client)
    assert read.labels["a"].display_name == "A" and read.requests == 1


@pytest.mark.django_db
def test_entries_older_than_the_reread_age_are_read_again(tenant, catalog_graph) -> None:
    from django.utils import timezone

    from tenantguard.catalog.models import SettingDefinition
    from tenantguard.catalog.selectors import REREAD_AFTER
    from tenantguard.catalog.services import setting_definitions_ensure

    client = graph_client(catalog_graph)
    setting_definitions_ensure(tenant=tenant, definition_ids={"a", "b"}, client=client)
    SettingDefinition.objects.filter(definition_id="a").update(
        read_at=timezone.now() - REREAD_AFTER - timezone.timedelta(minutes=1)
    )
    before = len(catalog_graph.urls)

    assert setting_definitions_ensure(tenant=tenant, definition_ids={"a", "b"}, client=client) == 1
    assert catalog_graph.urls[before:] == [f"/{CONFIGURATION}/a"]
    assert SettingDefinition.objects.filter(tenant=tenant, definition_id="a").count() == 1


@pytest.mark.django_db
def test_payload_helper_makes_no_client_when_everything_is_cached(tenant, catalog_graph) -> None:
    from tenantguard.catalog.services import setting_definitions_ensure_for_payloads

    made: list[GraphClient] = []

    def factory() -> GraphClient:
        made.append(graph_client(catalog_graph))
        return made[-1]

    payloads = [
        ("settings_catalog", policy_payload(_choice(EDGE_SSL, "1"), _simple("a", 1))),
        # not a settings catalog type: its ids (if any) are not read
        ("device_configuration", {"settingDefinitionId": "b"}),
    ]
    first = setting_definitions_ensure_for_payloads(
        tenant=tenant, payloads=payloads, client_factory=factory
    )
    second = setting_definitions_ensure_for_payloads(
        tenant=tenant, payloads=payloads, client_factory=factory
    )

    assert (first.graph_requests, first.definition_ids, first.problem) == (
        1,
        {EDGE_SSL, "a"},
        "",
    )
    assert (second.graph_requests, len(made)) == (0, 1)
    assert f"/{CONFIGURATION}/b" not in catalog_graph.urls


@pytest.mark.django_db
def test_payload_helper_turns_any_failure_into_a_problem(tenant) -> None:
    from tenantguard.catalog.services import setting_definitions_ensure_for_payloads

    def broken_factory() -> GraphClient:
        raise RuntimeError(f"secret {TOKEN} in an unexpected message")

    outcome = setting_definitions_ensure_for_payloads(
        tenant=tenant,
        payloads=[("endpoint_security", policy_payload(_simple("a", 1)))],
        client_factory=broken_factory,
    )

    assert outcome.graph_requests == 0
    assert "Setting names could not be read" in outcome.problem
    assert TOKEN not in outcome.problem


# --------------------------------------------------------------------------------------------
# Checks and preview against the emulated demo tenant
# --------------------------------------------------------------------------------------------


def _scoped_definition_ids(backup_set: Any) -> set[str]:
    from tenantguard.intune.setting_definitions import SETTINGS_CATALOG_TYPE_KEYS

    ids: set[str] = set()
    for item in backup_set.items.filter(policy_type__in=SETTINGS_CATALOG_TYPE_KEYS):
        ids |= setting_definition_ids(item.payload)
    return ids


def _analysed(owner: Any, run: Any) -> Any:
    from tenantguard.restores.models import RestoreRun
    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview

    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    return RestoreRun.objects.get(pk=run.pk)


@pytest.mark.django_db
def test_checks_read_the_definitions_once_and_a_second_preview_sends_none(
    tenant, owner, seed_demo, take_backup, start_run, definition_requests
) -> None:
    from tenantguard.catalog.selectors import setting_labels

    seed_demo(tenant)
    backup_set = take_backup(tenant)
    ids = _scoped_definition_ids(backup_set)
    assert len(ids) > 20  # the demo needs more than one batch

    first = _analysed(owner, start_run(tenant, backup_set))

    checks = first.metadata["checks"]["summary"]["setting_definitions"]
    preview = first.metadata["preview"]["summary"]
    assert first.status == "previewed"
    # every id the scoped items (and their target twins) name was read once, 20 per $batch
    assert definition_requests() == len(ids)
    # 20 a $batch, per definition collection (configuration, compliance, reusable settings)
    least = -(-len(ids) // 20)
    assert least <= checks["graph_requests"] <= least + 2
    assert checks["definitions"] == len(ids) and checks["problem"] == ""
    assert preview["setting_definitions"] == {
        "graph_requests": 0,
        "definitions": len(ids),
        "problem": "",
    }
    labels = setting_labels(tenant=tenant, definition_ids=ids)
    assert set(labels) == ids
    assert all(label.display_name for label in labels.values())

    second = _analysed(owner, start_run(tenant, backup_set))

    assert definition_requests() == len(ids)  # nothing asked again
    assert second.metadata["checks"]["summary"]["setting_definitions"]["graph_requests"] == 0
    # the run's request count includes the definitions (the target read is the same)
    first_total = first.metadata["checks"]["summary"]["graph_requests"]
    assert second.metadata["checks"]["summary"]["graph_requests"] == (
        first_total - checks["graph_requests"]
    )
    assert second.metadata["preview"]["summary"]["setting_definitions"]["graph_requests"] == 0


@pytest.mark.django_db
def test_another_tenant_in_the_same_cloud_reads_its_own_definitions(
    tenant, prod_tenant, owner, seed_demo, take_backup, start_run, definition_requests
) -> None:
    seed_demo(tenant)
    seed_demo(prod_tenant)
    backup_set = take_backup(tenant)
    _analysed(owner, start_run(tenant, backup_set))
    read_for_test = definition_requests(tenant.entra_tenant_id)
    assert read_for_test > 0

    run = _analysed(owner, start_run(prod_tenant, backup_set))

    assert run.status == "previewed"
    assert definition_requests(tenant.entra_tenant_id) == read_for_test
    assert definition_requests(prod_tenant.entra_tenant_id) == len(
        _scoped_definition_ids(backup_set)
    )


@pytest.mark.django_db
def test_a_refused_definition_read_never_fails_the_preview_and_names_the_permission(
    tenant, owner, seed_demo, take_backup, start_run, definition_requests
) -> None:
    from tenantguard.catalog.models import SettingDefinition
    from tenantguard.emulator.config import FaultConfig

    emulated = seed_demo(tenant)
    backup_set = take_backup(tenant)
    refused = min(_scoped_definition_ids(backup_set))
    emulated.faults = FaultConfig(failing_ids={refused: 403})

    run = _analysed(owner, start_run(tenant, backup_set))

    assert run.status == "previewed"
    for step in ("checks", "preview"):
        problem = run.metadata[step]["summary"]["setting_definitions"]["problem"]
        assert READ_PERMISSION in problem, step
        assert tenant.static_token not in problem
    assert not SettingDefinition.objects.filter(definition_id=refused).exists()
    # The pages and the CLI say why settings show by their ids.
    from django.test import Client
    from django.urls import reverse
    from rich.console import Console

    from tenantguard.cli_restore_output import render_names_problem

    client = Client()
    client.force_login(owner)
    for page in ("restores:checks", "restores:preview"):
        html = client.get(reverse(page, args=[run.pk])).content.decode()
        assert 'id="setting-names-problem"' in html and READ_PERMISSION in html, page
    console = Console(record=True, width=80)
    render_names_problem(console, run.metadata["preview"]["summary"])
    assert READ_PERMISSION in console.export_text().replace("\n", "")

    emulated.faults = FaultConfig()  # the permission was granted
    asked_before = definition_requests()
    run = _analysed(owner, start_run(tenant, backup_set))

    assert definition_requests() > asked_before  # refused ids are asked again
    assert run.metadata["preview"]["summary"]["setting_definitions"]["problem"] == ""
    assert SettingDefinition.objects.get(definition_id=refused).known


# --------------------------------------------------------------------------------------------
# Review fixes: what counts as unknown, 401 vs 403, options added since, unexpected failures
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bad_request_fails_the_id_and_is_asked_again_not_remembered_as_unknown(tenant) -> None:
    from tenantguard.catalog.models import SettingDefinition
    from tenantguard.catalog.services import setting_definitions_fetch

    graph = DefinitionsGraph(
        {CONFIGURATION: {"a": simple_definition("a", "A"), "b": simple_definition("b", "B")}},
        statuses={"b": 400},
    )
    client = graph_client(graph)

    read = setting_definitions_fetch(tenant=tenant, definition_ids={"a", "b"}, client=client)

    assert set(read.labels) == {"a"}
    assert read.failed == {"b"} and read.unknown == frozenset()
    assert graph.urls == [f"/{CONFIGURATION}/a", f"/{CONFIGURATION}/b"]  # not asked elsewhere
    assert "read again on the next preview" in read.problem
    assert not SettingDefinition.objects.filter(definition_id="b").exists()
    graph.statuses.clear()  # whatever refused the request has passed
    again = setting_definitions_fetch(tenant=tenant, definition_ids={"a", "b"}, client=client)
    assert set(again.labels) == {"b"} and again.requests == 1


def test_a_collection_this_cloud_lacks_counts_as_not_there() -> None:
    graph = DefinitionsGraph(
        {REUSABLE: {"r": simple_definition("r", "Reusable R")}},
        no_route=frozenset({COMPLIANCE}),
    )

    read = setting_definitions_read(graph_client(graph), ["r", "gone"])

    assert read.labels["r"].display_name == "Reusable R"
    assert read.unknown == {"gone"} and read.failed == frozenset()
    assert read.problem == ""


def test_a_rejected_token_is_told_apart_from_a_missing_permission() -> None:
    ids = [f"s{number:02d}" for number in range(30)]
    graph = DefinitionsGraph({CONFIGURATION: {}}, statuses=dict.fromkeys(ids, 401))

    read = setting_definitions_read(graph_client(graph), ids)

    assert len(graph.batches) == 1  # the next batch would be rejected too
    assert read.failed == set(ids) and read.unknown == frozenset()
    assert not read.forbidden
    assert READ_PERMISSION not in read.problem
    assert "401" in read.problem and "tenantguard tenant test" in read.problem
    assert TOKEN not in read.problem


def test_choice_values_of_a_payload_per_definition() -> None:
    from tenantguard.intune.setting_definitions import setting_choice_values

    collection = {
        "settingDefinitionId": "multi",
        "choiceSettingCollectionValue": [{"value": "multi_1"}, {"value": "multi_3"}],
    }
    payload = policy_payload(_choice(EDGE_SSL, "1", children=[_simple("a", 1)]), collection)

    assert setting_choice_values(payload) == {
        EDGE_SSL: {f"{EDGE_SSL}_1"},
        "a": set(),
        "multi": {"multi_1", "multi_3"},
    }


@pytest.mark.django_db
def test_a_definition_lacking_an_option_the_payload_uses_is_read_again_once_a_day(
    tenant,
) -> None:
    from django.utils import timezone

    from tenantguard.catalog.models import SettingDefinition
    from tenantguard.catalog.selectors import OPTIONS_REREAD_AFTER, setting_labels
    from tenantguard.catalog.services import setting_definitions_ensure_for_payloads

    # the definition as Graph had it before Intune added the "Enabled" option
    older = {**EDGE_SSL_DEFINITION, "options": EDGE_SSL_DEFINITION["options"][:1]}
    graph = DefinitionsGraph({CONFIGURATION: {EDGE_SSL: older}})

    def ensure(option: str) -> int:
        return setting_definitions_ensure_for_payloads(
            tenant=tenant,
            payloads=[("settings_catalog", policy_payload(_choice(EDGE_SSL, option)))],
            client_factory=lambda: graph_client(graph),
        ).graph_requests

    def age_the_cache() -> None:
        SettingDefinition.objects.filter(definition_id=EDGE_SSL).update(
            read_at=timezone.now() - OPTIONS_REREAD_AFTER - timezone.timedelta(minutes=1)
        )

    assert ensure("0") == 1
    assert ensure("0") == 0
    # read today: a payload naming an option the cache lacks is not read again at once
    assert ensure("1") == 0
    age_the_cache()
    assert ensure("1") == 1  # read again: Graph still lacks the option
    assert ensure("1") == 0  # not read again on every preview
    graph.definitions = {CONFIGURATION: {EDGE_SSL: EDGE_SSL_DEFINITION}}  # Intune added it
    age_the_cache()
    assert ensure("1") == 1
    labels = setting_labels(tenant=tenant, definition_ids={EDGE_SSL})
    assert labels[EDGE_SSL].options[f"{EDGE_SSL}_1"].display_name == "Enabled"
    assert ensure("1") == 0


@pytest.mark.django_db
def test_an_unexpected_failure_keeps_what_was_read_and_counts_the_requests_sent(tenant) -> None:
    from tenantguard.catalog.selectors import setting_definitions_missing, setting_labels
    from tenantguard.catalog.services import setting_definitions_ensure_for_payloads

    ids = [f"s{number:02d}" for number in range(25)]
    graph = DefinitionsGraph({CONFIGURATION: {i: simple_definition(i, f"Name {i}") for i in ids}})

    def breaks_on_the_second_batch(request: httpx.Request) -> httpx.Response:
        if graph.batches:
            raise RuntimeError(f"something odd with {TOKEN}")
        return graph(request)

    outcome = setting_definitions_ensure_for_payloads(
        tenant=tenant,
        payloads=[("settings_catalog", policy_payload(*(_simple(i, 1) for i in ids)))],
        client_factory=lambda: graph_client(breaks_on_the_second_batch),
    )

    assert outcome.graph_requests == 2  # both $batch requests were sent
    assert "Setting names could not be read" in outcome.problem
    assert "RuntimeError" in outcome.problem and TOKEN not in outcome.problem
    read_first = set(ids[:20])
    assert set(setting_labels(tenant=tenant, definition_ids=ids)) == read_first
    assert setting_definitions_missing(tenant=tenant, definition_ids=ids) == set(ids[20:])


@pytest.mark.django_db
def test_a_failure_after_the_reads_still_reports_the_requests_sent(tenant, monkeypatch) -> None:
    from tenantguard.catalog import services

    graph = DefinitionsGraph({CONFIGURATION: {"a": simple_definition("a", "A")}})

    def broken_store(**kwargs: Any) -> None:
        raise RuntimeError(f"database says {TOKEN}")

    monkeypatch.setattr(services, "_store", broken_store)

    outcome = services.setting_definitions_ensure_for_payloads(
        tenant=tenant,
        payloads=[("settings_catalog", policy_payload(_simple("a", 1)))],
        client_factory=lambda: graph_client(graph),
    )

    assert outcome.graph_requests == 1 and len(graph.batches) == 1
    assert "unexpected RuntimeError" in outcome.problem and TOKEN not in outcome.problem
