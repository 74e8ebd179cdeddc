"""The WSGI application: authentication, throttling, faults, logging, then the handlers."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote

import httpx

from tenantguard.emulator import admin, auth
from tenantguard.emulator.batch import run_batch
from tenantguard.emulator.config import EmulatorConfig, FaultConfig, ThrottleConfig, wall_time
from tenantguard.emulator.credentials import CredentialInput, load_certificate
from tenantguard.emulator.errors import EmulatorHTTPError
from tenantguard.emulator.handlers import handle, is_write
from tenantguard.emulator.messages import GraphRequest, GraphResponse, path_ids
from tenantguard.emulator.store import ObjectStore, state_file
from tenantguard.emulator.tenant import Tenant
from tenantguard.emulator.throttle import Throttle

logger = logging.getLogger("tenantguard.emulator")

StartResponse = Callable[..., Any]
GRAPH_VERSIONS = ("v1.0", "beta")


class AnswerLost(ConnectionResetError):
    """Raised out of the WSGI app when an applied request's answer is to be lost
    (``FaultConfig.lost_answer_rates``). The emulator's HTTP server (``http11.py``) closes the
    connection without writing anything on it; ``EmulatorTransport`` turns it into the httpx
    error a client sees."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"injected fault: the answer was lost ({kind}) after applying")
        self.kind = kind


class EmulatorTransport(httpx.WSGITransport):
    """``httpx.WSGITransport`` into the emulator where a lost answer looks like on the wire:
    ``"timeout"`` raises ``httpx.ReadTimeout``, ``"drop"`` ``httpx.RemoteProtocolError``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except AnswerLost as exc:
            if exc.kind == "timeout":
                raise httpx.ReadTimeout(
                    "The read operation timed out (injected: applied, answer lost)",
                    request=request,
                ) from None
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response (injected: applied, answer lost).",
                request=request,
            ) from None


class RequestLogEntry(NamedTuple):
    tenant_id: str | None
    method: str
    path: str
    status: int


@dataclass
class Incoming:
    """An HTTP request as the WSGI server handed it over."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes
    base_url: str
    request_id: str
    client_request_id: str
    # Set by an injected fault: the request was applied and its answer is to be lost.
    lost_answer: str | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Incoming:
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = str(environ[key])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw_body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = headers.get("host") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        request_id = str(uuid.uuid4())
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            path=str(environ.get("PATH_INFO", "/")) or "/",
            query=parse_query(str(environ.get("QUERY_STRING", ""))),
            headers=headers,
            raw_body=raw_body,
            base_url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
            request_id=request_id,
            client_request_id=headers.get("client-request-id", request_id),
        )

    def json_body(self) -> Any:
        if not self.raw_body.strip():
            return None
        try:
            return json.loads(self.raw_body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EmulatorHTTPError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure "
                "Content-Type header is set and payload is of valid JSON format.",
            ) from exc


def parse_query(query: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


class GraphEmulator:
    """A Microsoft Graph emulator for the Intune surface (see README.md in this package)."""

    def __init__(
        self, config: EmulatorConfig | None = None, state_dir: Path | str | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.tenants: dict[str, Tenant] = {}
        self.request_log: list[RequestLogEntry] = []
        self.throttle = Throttle(self.config.throttle, self.config.clock)
        self._tokens: dict[str, tuple[str, str]] = {}  # token -> (tenant id, client id)
        self._stores: list[ObjectStore] = []
        self._lock = threading.RLock()

    # --- set-up --------------------------------------------------------------------------

    def add_tenant(
        self,
        *,
        tenant_id: str,
        token: str,
        seed_dir: Path | str | None = None,
        seed_objects: Iterable[Any] | None = None,
        client_id: str = "tenantguard-app",
        client_secret: str | None = "s3cret",  # noqa: S107 - emulator test credential
        denied_permissions: Iterable[str] = (),
        faults: FaultConfig | None = None,
        certificates: Iterable[CredentialInput] = (),
    ) -> Tenant:
        """Register a tenant. With ``state_dir`` its state is loaded from (and written to)
        ``<state_dir>/<tenant_id>.sqlite3``; built-ins and the seed are loaded only when that
        file holds no state yet.

        ``certificates`` (PEM/DER certificates) registers them on the first app, which then
        verifies client assertions like Entra ID. Applications in the seed register their
        credentials (README.md, "App registrations and credentials"): the one whose ``appId``
        is ``client_id`` replaces the first app's, others become apps with token
        ``"{token}.{appId}"``."""
        with self._lock:
            if tenant_id in self.tenants:
                raise ValueError(f"tenant {tenant_id!r} is already registered")
            db_path = state_file(self.state_dir, tenant_id) if self.state_dir else None
            store = ObjectStore(db_path)
            self._stores.append(store)
            tenant = Tenant(
                tenant_id=tenant_id,
                store=store,
                lock=self._lock,
                faults=faults if faults is not None else FaultConfig(**vars(self.config.faults)),
                denied_permissions=denied_permissions,
                seed_dir=Path(seed_dir) if seed_dir is not None else None,
                seed_objects=seed_objects,
                oma_secret_placeholder=self.config.oma_secret_placeholder,
            )
            self.tenants[tenant_id] = tenant
            try:
                self.add_client(
                    tenant_id=tenant_id,
                    client_id=client_id,
                    client_secret=client_secret,
                    token=token,
                    certificates=certificates,
                )
                for registration in tenant.app_registrations:
                    if registration.app_id not in tenant.clients:
                        self.add_client(
                            tenant_id=tenant_id,
                            client_id=registration.app_id,
                            client_secret=None,
                            token=f"{token}.{registration.app_id}",
                        )
                    tenant.clients[registration.app_id].register(registration)
            except Exception:
                del self.tenants[tenant_id]
                for known, owner in list(self._tokens.items()):
                    if owner[0] == tenant_id:
                        del self._tokens[known]
                raise
            return tenant

    def ensure_tenant(self, *, tenant_id: str, token: str, **options: Any) -> Tenant:
        """The tenant ``tenant_id``, added with ``options`` (as :meth:`add_tenant`) on first
        use; a new ``token`` for an existing tenant is accepted for its first app."""
        with self._lock:
            tenant = self.tenants.get(tenant_id)
            if tenant is None:
                return self.add_tenant(tenant_id=tenant_id, token=token, **options)
            if token not in self._tokens:
                client = next(iter(tenant.clients.values()))
                self._tokens[token] = (tenant_id, client.client_id)
            return tenant

    def add_client(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str | None,
        token: str,
        certificates: Iterable[CredentialInput] = (),
    ) -> None:
        """Another app registration for a tenant (each app has its own throttling budget).
        With ``certificates`` the app verifies client assertions like Entra ID (README.md)."""
        loaded = [load_certificate(certificate) for certificate in certificates]
        with self._lock:
            owner = self._tokens.get(token)
            if owner is not None and owner != (tenant_id, client_id):
                raise ValueError("this token is already used by another tenant or app")
            self.tenants[tenant_id].add_client(
                client_id=client_id, client_secret=client_secret, token=token, certificates=loaded
            )
            self._tokens[token] = (tenant_id, client_id)

    def set_throttle(self, config: ThrottleConfig) -> None:
        with self._lock:
            self.config.throttle = config
            self.throttle.config = config
            self.throttle.reset()

    def transport(self) -> httpx.WSGITransport:
        """An httpx transport that sends requests into this emulator, in process."""
        return EmulatorTransport(app=self)

    def close(self) -> None:
        with self._lock:
            for store in self._stores:
                store.close()

    # --- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        incoming = Incoming.from_environ(environ)
        try:
            status, body, headers = self._route(incoming)
        except EmulatorHTTPError as exc:
            status, body, headers = exc.status, self._error_body(exc, incoming), exc.headers
        except Exception:
            logger.exception("emulator failure on %s %s", incoming.method, incoming.path)
            failure = EmulatorHTTPError(500, "InternalServerError", "The emulator failed.")
            status, body, headers = 500, self._error_body(failure, incoming), {}
        if incoming.lost_answer is not None:
            raise AnswerLost(incoming.lost_answer)  # applied: close without an answer
        out_headers = [
            ("request-id", incoming.request_id),
            ("client-request-id", incoming.client_request_id),
        ]
        payload = b""
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            out_headers.append(("Content-Type", "application/json"))
        out_headers += [(k, v) for k, v in headers.items()]
        out_headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {HTTPStatus(status).phrase}", out_headers)
        return [payload]

    def _error_body(self, exc: EmulatorHTTPError, incoming: Incoming) -> dict[str, Any]:
        return exc.body(
            request_id=incoming.request_id,
            client_request_id=incoming.client_request_id,
            url=incoming.path,
        )

    def _route(self, incoming: Incoming) -> tuple[int, Any, dict[str, str]]:
        parts = [p for p in incoming.path.split("/") if p]
        if parts and parts[0] == "_emulator":
            return admin.handle(self, incoming, parts[1:])
        if parts and parts[0] in GRAPH_VERSIONS:
            return self._graph(incoming, parts[0], "/".join(parts[1:]))
        if parts == ["common", "discovery", "instance"] and incoming.method == "GET":
            endpoint = incoming.query.get("authorization_endpoint")
            return 200, auth.instance_discovery(incoming.base_url, endpoint), {}
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            if incoming.method != "POST":
                raise EmulatorHTTPError(405, "MethodNotAllowed", "Use POST.")
            return self._token(incoming, parts[0])
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            known = parts[0] in self.tenants or parts[0] in auth.MULTI_TENANT_AUTHORITIES
            if not known:
                status, body = auth.unknown_tenant(parts[0], base_url=incoming.base_url)
                return status, body, {}
            return 200, auth.openid_configuration(incoming.base_url, parts[0]), {}
        raise EmulatorHTTPError(404, "NotFound", f"No endpoint at '{incoming.path}'.")

    def _token(self, incoming: Incoming, tenant_id: str) -> tuple[int, Any, dict[str, str]]:
        form = parse_query(incoming.raw_body.decode("utf-8", "replace"))
        basic = incoming.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode("utf-8", "replace")
            user, _, password = decoded.partition(":")
            form.setdefault("client_id", unquote(user))
            form.setdefault("client_secret", unquote(password))
        with self._lock:
            tenant = self.tenants.get(tenant_id)
            status, body = auth.issue_token(
                tenant,
                tenant_id,
                form,
                base_url=incoming.base_url,
                now=wall_time(self.config.clock),
            )
        return status, body, {"Cache-Control": "no-store"}

    def _graph(
        self, incoming: Incoming, version: str, path: str
    ) -> tuple[int, Any, dict[str, str]]:
        header = incoming.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        owner = self._tokens.get(token) if token else None
        if owner is None:
            message = "Access token is empty." if not token else "Access token validation failure."
            self._log(None, incoming.method, f"/{version}/{path}", 401)
            raise EmulatorHTTPError(401, "InvalidAuthenticationToken", message)
        tenant = self.tenants[owner[0]]
        latency = tenant.faults.latency_ms
        if latency > 0:
            sleep = getattr(self.config.clock, "sleep", time.sleep)
            sleep(latency / 1000.0)
        is_batch = path.lower() == "$batch"
        try:
            body = incoming.json_body() if incoming.method in ("POST", "PUT", "PATCH") else None
        except EmulatorHTTPError as exc:
            if is_batch:
                self._log_rejected_batch(tenant.tenant_id, version, exc)
            raise

        def run(method: str, url: str, headers: dict[str, str], sub_body: Any) -> GraphResponse:
            sub_path, _, query = url.lstrip("/").partition("?")
            sub_path = unquote(sub_path)  # as a WSGI server decodes PATH_INFO
            return self.execute(
                tenant=tenant,
                client_id=owner[1],
                method=method,
                version=version,
                path=sub_path,
                query=parse_query(query),
                headers=headers,
                body=sub_body,
                incoming=incoming,
            )

        if is_batch:
            if incoming.method != "POST":
                raise EmulatorHTTPError(405, "MethodNotAllowed", "$batch takes POST.")
            try:
                result = run_batch(
                    body,
                    run=run,
                    render=lambda exc: self._render(exc, incoming, path),
                    reverse=self.config.shuffle_batch_responses,
                )
            except EmulatorHTTPError as exc:
                self._log_rejected_batch(tenant.tenant_id, version, exc)
                raise
            self._log(tenant.tenant_id, "POST", f"/{version}/$batch", 200)
            return 200, result, {}
        response = self.execute(
            tenant=tenant,
            client_id=owner[1],
            method=incoming.method,
            version=version,
            path=path,
            query=incoming.query,
            headers=incoming.headers,
            body=body,
            incoming=incoming,
        )
        return response.status, response.body, response.headers

    def execute(
        self,
        *,
        tenant: Tenant,
        client_id: str,
        method: str,
        version: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        incoming: Incoming,
    ) -> GraphResponse:
        """One Graph request (direct or from a batch): throttle, faults, then the handler."""
        with self._lock:
            try:
                write = is_write(method, path)
                retry_after = self.throttle.check(
                    tenant_id=tenant.tenant_id, app_id=client_id, is_write=write
                )
                if retry_after is not None:
                    raise EmulatorHTTPError(
                        429,
                        "TooManyRequests",
                        f"Too many requests. Retry after {retry_after} seconds.",
                        headers={"Retry-After": str(retry_after)},
                    )
                intune = path.lower().startswith(("devicemanagement", "deviceappmanagement"))
                fault = tenant.fault_injector.check(
                    method, path_ids(path), intune_write=write and intune
                )
                if fault is not None:
                    raise fault
                request = GraphRequest(
                    method=method,
                    version=version,
                    path=path,
                    query=query,
                    headers=headers,
                    body=body,
                    base_url=incoming.base_url,
                    tenant=tenant,
                    default_page_size=self.config.default_page_size,
                    validate_references=self.config.validate_references,
                )
                response = handle(request)
            except EmulatorHTTPError as exc:
                response = self._render(exc, incoming, f"/{version}/{path}")
            except Exception:
                logger.exception("emulator failure on %s /%s/%s", method, version, path)
                failure = EmulatorHTTPError(500, "InternalServerError", "The emulator failed.")
                response = self._render(failure, incoming, f"/{version}/{path}")
            lost = tenant.fault_injector.lost_answer(method) if response.status < 400 else None
            if lost == "504":
                timed_out = EmulatorHTTPError(
                    504,
                    "GatewayTimeout",
                    "The gateway timed out waiting for the service (injected: the request was "
                    "applied).",
                )
                response = self._render(timed_out, incoming, f"/{version}/{path}")
            elif lost is not None:
                incoming.lost_answer = lost
            self._log(tenant.tenant_id, method, f"/{version}/{path}", response.status)
            return response

    def _render(self, exc: EmulatorHTTPError, incoming: Incoming, url: str) -> GraphResponse:
        body = exc.body(
            request_id=incoming.request_id, client_request_id=incoming.client_request_id, url=url
        )
        return GraphResponse(exc.status, body, dict(exc.headers))

    def _log_rejected_batch(self, tenant_id: str, version: str, exc: EmulatorHTTPError) -> None:
        """A ``$batch`` envelope answered with an error: in the request log and, with the
        reason, in the ``tenantguard.emulator`` logger."""
        self._log(tenant_id, "POST", f"/{version}/$batch", exc.status)
        logger.warning(
            "rejected $batch envelope for tenant %s: %s %s: %s",
            tenant_id,
            exc.status,
            exc.code,
            exc.message,
        )

    def _log(self, tenant_id: str | None, method: str, path: str, status: int) -> None:
        with self._lock:
            self.request_log.append(RequestLogEntry(tenant_id, method, path, status))
            excess = len(self.request_log) - self.config.request_log_limit
            if excess > 0:
                del self.request_log[:excess]
