"""A small threaded HTTP/1.1 WSGI server for the emulator: persistent connections like Graph's.

``wsgiref`` answers HTTP/1.0 and closes the connection after every request, so a client opens
a new TCP connection per request (real Microsoft Graph keeps HTTP/1.1 connections alive, and
httpx, requests, the Graph SDKs and IntuneCD reuse them). This server keeps them alive:

- one thread per connection (``ThreadingMixIn``), requests on a connection answered in order;
- every answer framed by a ``Content-Length`` the server computes from the body it sends (none
  on 1xx/204, and no body on ``HEAD``/204/304);
- ``Connection: close`` from the client (or an HTTP/1.0 client without ``keep-alive``) closes
  the connection after the answer, which then says ``Connection: close`` too;
- a request body is read completely (``Content-Length`` or ``chunked``) before the application
  runs, so what the application leaves unread cannot be taken for the next request;
- a connection idle for ``idle_timeout`` seconds is closed (its thread ends);
- ``server_close()`` also closes the connections still open, so no thread outlives the server
  waiting on an idle client;
- an application raising ``ConnectionResetError`` (the emulator's ``AnswerLost`` fault: the
  request was applied and its answer is lost) gets the connection closed without a byte
  written, as ``wsgiref`` did.
"""

from __future__ import annotations

import io
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

logger = logging.getLogger("tenantguard.emulator")

# Longer than httpx's idle expiry of pooled connections (5 s), so a client never sends on a
# connection the server is closing at the same moment; short enough not to pile up threads.
IDLE_TIMEOUT = 30.0
MAX_BODY_BYTES = 64 * 1024 * 1024
_MAX_LINE = 65536
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class HTTP11WSGIServer(ThreadingMixIn, WSGIServer):
    """Threaded WSGI server speaking persistent HTTP/1.1; see the module docstring."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        server_address: tuple[str, int],
        handler_class: type[HTTP11RequestHandler] | None = None,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.idle_timeout = idle_timeout
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.connections_accepted = 0
        super().__init__(server_address, handler_class or HTTP11RequestHandler)

    @property
    def connections_open(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HTTP11RequestHandler(WSGIRequestHandler):
    """Answers the requests of one connection until it closes, goes idle or asks to close."""

    protocol_version = "HTTP/1.1"
    server_version = "TenantGuardGraphEmulator/1.1"
    server: HTTP11WSGIServer

    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # every read: idle or stalled

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def handle(self) -> None:
        # BaseHTTPRequestHandler's loop (WSGIRequestHandler.handle answers one request).
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(_MAX_LINE + 1)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > _MAX_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.parse_request():  # answered with an error and Connection: close
                return
            self._answer()
        except TimeoutError:  # idle (or a client stalling mid-request): close
            self.close_connection = True
        except (ConnectionError, OSError):  # the client went away
            self.close_connection = True

    # --- one request -----------------------------------------------------------------------

    def _answer(self) -> None:
        try:
            body = self._read_body()
        except _BadRequest as exc:
            self.close_connection = True
            self._send(exc.status, [("Content-Type", "text/plain")], exc.reason.encode())
            return
        environ = self._environ(body)
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            # Nothing is sent before the app returns, so a second call (PEP 3333: with
            # exc_info, after an error) simply replaces the status and headers.
            del exc_info
            started[:] = [status, list(headers)]
            return written.append

        written: list[bytes] = []
        app = self.server.get_app()
        assert app is not None
        try:
            result = app(environ, start_response)
            try:
                chunks = [bytes(chunk) for chunk in result]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except ConnectionResetError as exc:
            # The emulator's AnswerLost: applied, answer lost. Close without writing anything.
            logger.debug("%s %s: closing without an answer (%s)", self.command, self.path, exc)
            self.close_connection = True
            return
        except Exception:
            logger.exception(
                "emulator server: the application failed on %s %s", self.command, self.path
            )
            self.close_connection = True
            self._send(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                [("Content-Type", "text/plain")],
                b"The emulator's application failed.",
            )
            return
        if not started:
            logger.error("emulator server: no start_response for %s %s", self.command, self.path)
            self.close_connection = True
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, [], b"")
            return
        status_line, headers = started
        code_text, _, phrase = str(status_line).partition(" ")
        self._send(int(code_text), headers, b"".join(written + chunks), phrase=phrase)

    def _read_body(self) -> bytes:
        transfer_encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if transfer_encoding:
            if transfer_encoding != "chunked":
                raise _BadRequest(
                    HTTPStatus.NOT_IMPLEMENTED,
                    f"Transfer-Encoding {transfer_encoding!r} is not supported; send chunked "
                    "or a Content-Length.",
                )
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0:
            raise _BadRequest(HTTPStatus.BAD_REQUEST, f"Bad Content-Length {length_text!r}.")
        if length > MAX_BODY_BYTES:
            raise _BadRequest(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"The body ({length} bytes) is over the emulator's {MAX_BODY_BYTES} bytes.",
            )
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConnectionResetError("the client closed the connection inside a body")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(_MAX_LINE + 1)
            if not size_line:
                raise ConnectionResetError("the client closed the connection inside a body")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(HTTPStatus.BAD_REQUEST, "Bad chunk size line.") from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequest(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"The body is over the emulator's {MAX_BODY_BYTES} bytes.",
                )
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n"):
                raise _BadRequest(HTTPStatus.BAD_REQUEST, "Bad chunk framing.")
            parts.append(chunk)
        while True:  # trailers up to the empty line
            line = self.rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(parts)

    def _environ(self, body: bytes) -> dict[str, Any]:
        environ: dict[str, Any] = self.get_environ()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["CONTENT_LENGTH"] = str(len(body)) if body else ""
        environ.update(
            {
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": "http",
                "wsgi.multithread": True,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
        )
        return environ

    def _send(
        self,
        code: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        phrase: str | None = None,
    ) -> None:
        if phrase is None:
            phrase = HTTPStatus(code).phrase
        no_body = code < 200 or code in (204, 304) or self.command == "HEAD"
        lines = [f"{self.protocol_version} {code} {phrase}\r\n"]
        lines.append(f"Server: {self.version_string()}\r\n")
        lines.append(f"Date: {self.date_time_string()}\r\n")
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                lines.append(f"{name}: {value}\r\n")
        if code >= 200 and code != 204:
            lines.append(f"Content-Length: {len(body)}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        self.wfile.write(head if no_body else head + body)
        self.wfile.flush()
        self.log_request(code, len(body))
