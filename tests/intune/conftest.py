"""A small fake Microsoft Graph for the capture tests, served through ``httpx.MockTransport`` to
the real ``GraphClient``. It knows only the routes capture needs: collection lists (paged, with
``$expand`` of navigation properties), items, navigation sub-collections (paged at 25, like
settings), ``getOmaSettingPlainTextValue``, ``groups/{id}``, ``groups?$filter=id in (...)`` and ``$batch``.

Objects are stored the way the emulator seed format holds them: one dict per object, navigation
properties expanded; the fake removes what Graph would not return for a given request.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tenantguard.graph import GraphClient, RetryPolicy, StaticTokenProvider
from tenantguard.graph.testing import FakeClock
from tenantguard.intune import registry

ROOT = "https://graph.fake.test"
CORPUS_ENV = "TENANTGUARD_CORPUS_DIR"

# Navigation properties: never in a response unless $expand-ed (or read through their path).
NAVIGATION = {
    "assignments",
    "settings",
    "scheduledActionsForRule",
    "apps",
    "definitionValues",
    "localizedNotificationMessages",
}
# Properties a list returns as null (Graph returns script content only on GET by id).
NULL_ON_LIST = {"scriptContent", "detectionScriptContent", "remediationScriptContent"}

_OMA_FUNCTION = re.compile(r"^getOmaSettingPlainTextValue\(secretReferenceValueId='(.*)'\)$")


def _split_expand(value: str) -> set[str]:
    """Top-level names of an $expand value: "a,b($expand=c)" -> {"a", "b"}."""
    names, depth, current = set(), 0, ""
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(current.strip())
            current = ""
            continue
        if depth == 0 and char not in "()":
            current += char
    if current.strip():
        names.add(current.strip())
    return names


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": message, "innerError": {"request-id": "r"}}}


class FakeGraph:
    def __init__(self) -> None:
        # Every collection the registry knows exists (empty), like in a fresh tenant.
        self.collections: dict[str, list[dict[str, Any]]] = {
            ptype.collection: [] for ptype in registry.all_types()
        }
        self.secrets: dict[str, str] = {}
        self.groups: dict[str, str] = {}
        #: Ids Entra refuses to parse (not GUIDs): 400, for a filter naming one too.
        self.unparsable_group_ids: set[str] = set()
        self.denied: set[str] = set()  # collections answering 403
        self.failing_paths: dict[str, int] = {}  # exact item sub-path -> status
        self.list_page_size = 100
        self.nav_page_size = 25
        self.list_fails_at_skip: int | None = None  # a listing page that answers 500
        self.expand_unsupported: set[str] = set()  # collections answering 400 to $expand
        self.log: list[tuple[str, str]] = []  # (via, path?query) for every (sub-)request
        self.http_requests = 0

    # -- data -----------------------------------------------------------------------------
    def add(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.collections.setdefault(collection, []).append(obj)
        return obj

    # -- transport ------------------------------------------------------------------------
    def handler(self, request: httpx.Request) -> httpx.Response:
        self.http_requests += 1
        url = urlsplit(str(request.url))
        if request.method == "POST" and url.path.endswith("/$batch"):
            version = url.path.split("/")[1]
            payload = json.loads(request.content)
            responses = []
            for sub in payload["requests"]:
                status, body = self.route(f"/{version}{sub['url']}", via="batch")
                responses.append({"id": sub["id"], "status": status, "headers": {}, "body": body})
            return httpx.Response(200, json={"responses": responses})
        target = url.path + (f"?{url.query}" if url.query else "")
        status, body = self.route(target, via="direct")
        return httpx.Response(status, json=body)

    def route(self, target: str, *, via: str) -> tuple[int, dict[str, Any]]:
        self.log.append((via, unquote(target)))
        url = urlsplit(target)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        parts = [unquote(part) for part in url.path.strip("/").split("/")]
        version, rest = parts[0], parts[1:]
        if rest == ["groups"] and params.get("$filter", "").startswith("id in ("):
            asked = re.findall(r"'((?:[^']|'')*)'", params["$filter"])
            if self.unparsable_group_ids & {value.replace("''", "'") for value in asked}:
                return _error(400, "Request_BadRequest", "Invalid object identifier.")
            found = [
                {"id": group_id, "displayName": self.groups[group_id]}
                for group_id in (value.replace("''", "'") for value in asked)
                if group_id in self.groups
            ]
            return 200, {"value": found}
        if rest[:1] == ["groups"] and len(rest) == 2:
            if rest[1] in self.unparsable_group_ids:
                return _error(400, "Request_BadRequest", "Invalid object identifier.")
            if rest[1] in self.groups:
                return 200, {"id": rest[1], "displayName": self.groups[rest[1]]}
            return _error(404, "Request_ResourceNotFound", f"Resource '{rest[1]}' does not exist")
        for collection in sorted(self.collections, key=len, reverse=True):
            segments = collection.split("/")
            if rest[: len(segments)] == segments:
                return self._collection_route(
                    version, collection, rest[len(segments) :], params, target
                )
        return _error(400, "BadRequest", "No method match route template")

    def _collection_route(
        self,
        version: str,
        collection: str,
        tail: list[str],
        params: dict[str, str],
        target: str,
    ) -> tuple[int, dict[str, Any]]:
        if collection in self.denied:
            return _error(
                403, "Forbidden", "Application is not authorized to perform this operation"
            )
        for path, status in self.failing_paths.items():
            if target.split("?")[0].endswith(path):
                return _error(status, "InternalServerError", "boom")
        expand = _split_expand(params.get("$expand", ""))
        if expand and collection in self.expand_unsupported:
            return _error(400, "BadRequest", "Expand not supported")
        objects = self.collections[collection]
        skip = int(params.get("$skiptoken", "0"))
        if not tail:
            if self.list_fails_at_skip is not None and skip >= self.list_fails_at_skip:
                return _error(500, "InternalServerError", "page failed")
            page = objects[skip : skip + self.list_page_size]
            body: dict[str, Any] = {
                "@odata.context": f"{ROOT}/{version}/$metadata#{collection}",
                "value": [self._shape(obj, expand, listing=True) for obj in page],
            }
            if skip + self.list_page_size < len(objects):
                query = f"$skiptoken={skip + self.list_page_size}"
                if "$expand" in params:
                    query += f"&$expand={params['$expand']}"
                body["@odata.nextLink"] = f"{ROOT}/{version}/{collection}?{query}"
            return 200, body
        obj = next((o for o in objects if o.get("id") == tail[0]), None)
        if obj is None:
            return _error(404, "ResourceNotFound", f"{tail[0]} not found")
        if len(tail) == 1:
            return 200, self._shape(obj, expand, listing=False)
        function = _OMA_FUNCTION.match(tail[1])
        if function:
            reference = function.group(1).replace("''", "'")
            if reference not in self.secrets:
                return _error(404, "ResourceNotFound", "secret not found")
            return 200, {"value": self.secrets[reference]}
        if tail[1] in NAVIGATION:
            values = obj.get(tail[1]) or []
            page = values[skip : skip + self.nav_page_size]
            body = {"value": page}
            if skip + self.nav_page_size < len(values):
                body["@odata.nextLink"] = (
                    f"{ROOT}/{version}/{collection}/{tail[0]}/{tail[1]}?$skiptoken="
                    f"{skip + self.nav_page_size}"
                )
            return 200, body
        return _error(400, "BadRequest", "No method match route template")

    @staticmethod
    def _shape(obj: dict[str, Any], expand: set[str], *, listing: bool) -> dict[str, Any]:
        shaped = {
            key: value
            for key, value in obj.items()
            if key.split("@")[0] not in NAVIGATION or key.split("@")[0] in expand
        }
        if listing:
            for key in NULL_ON_LIST & shaped.keys():
                shaped[key] = None
        return shaped

    # -- assertions helpers ---------------------------------------------------------------
    def requests_for(self, fragment: str) -> list[tuple[str, str]]:
        return [entry for entry in self.log if fragment in entry[1]]


@pytest.fixture
def fake_graph() -> FakeGraph:
    return FakeGraph()


@pytest.fixture
def graph_client(fake_graph: FakeGraph) -> GraphClient:
    return GraphClient(
        graph_url=ROOT,
        token_provider=StaticTokenProvider("fake-token"),
        transport=httpx.MockTransport(fake_graph.handler),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, budget_seconds=1),
        clock=FakeClock(),
    )


def _corpus_files() -> list[Path]:
    value = os.environ.get(CORPUS_ENV)
    root = Path(value) if value else None
    if root is None or not root.is_dir():
        return []
    return sorted(root.rglob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _collection_of(obj: dict[str, Any]) -> str:
    """The collection a seed object came from, read from its ``@odata.context``."""
    context = obj["@odata.context"].split("$metadata#", 1)[1].removesuffix("/$entity")
    return re.sub(r"\(.*\)$", "", context)


@dataclass(frozen=True)
class CorpusObject:
    name: str
    collection: str
    obj: dict[str, Any]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``corpus_object``: one test per corpus file (skipped when the corpus is not there)."""
    if "corpus_object" not in metafunc.fixturenames:
        return
    files = _corpus_files()
    if not files:
        metafunc.parametrize(
            "corpus_object",
            [pytest.param(None, marks=pytest.mark.skip(reason=f"set {CORPUS_ENV} to the corpus"))],
        )
        return
    objects = []
    for path in files:
        obj = _load(path)
        objects.append(CorpusObject(path.stem, _collection_of(obj), obj))
    metafunc.parametrize("corpus_object", objects, ids=[o.name for o in objects])


@pytest.fixture
def corpus_objects() -> list[CorpusObject]:
    """Every corpus object (empty list when the corpus is not configured)."""
    result = []
    for path in _corpus_files():
        obj = _load(path)
        result.append(CorpusObject(path.stem, _collection_of(obj), obj))
    return result
