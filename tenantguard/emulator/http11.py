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
- ``server_close()`` closes the idle connections still open, lets a request running in the
  application finish and send its answer (with ``Connection: close``), and waits (up to
  ``close_timeout`` seconds) for the connection threads to end, so no thread outlives the
  server and the caller can close the emulator's stores afterwards;
- request framing is strict: a ``Content-Length`` is decimal digits, a chunk size hex digits
  (other forms answer 400), a body over the cap answers 413 (also before ``100 Continue``);
- an answer head the application got wrong (a bad status, a header that is not latin-1 or
  carries CR/LF) answers 500 instead of a silent close;
- an application raising ``ConnectionResetError`` (the emulator's ``AnswerLost`` fault: the
  request was applied and its answer is lost) gets the connection closed without a byte
  written, as ``wsgiref`` did.
"""

from __future__ import annotations

import io
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

logger = logging.getLogger("tenantguard.emulator")

# Longer than httpx's idle expiry of pooled connections (5 s), so a client never sends on a
# connection the server is closing at the same moment; short enough not to pile up threads.
IDLE_TIMEOUT = 30.0
# How long server_close() waits for requests still running to answer and threads to end.
CLOSE_TIMEOUT = 5.0
MAX_BODY_BYTES = 64 * 1024 * 1024
_MAX_LINE = 65536
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


_DECIMAL = re.compile(rb"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_STATUS = re.compile(r"[1-9][0-9]{2}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_HEADER = re.compile(r"[\r\n\x00]")


def _content_length(text: str) -> int:
    """The declared body length: decimal digits only (no sign, ``_``, ``0x``, spaces inside)."""
    raw = text.strip(" \t").encode("latin-1", "replace")
    if not _DECIMAL.fullmatch(raw):
        raise _BadRequest(HTTPStatus.BAD_REQUEST, f"Bad Content-Length {text!r}.")
    return int(raw)


def _chunk_size(line: bytes) -> int:
    """A chunk size line: hex digits, optionally followed by ``;extensions``."""
    digits = line.split(b";", 1)[0].strip(b" \t\r\n")
    if not _HEX.fullmatch(digits):
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "Bad chunk size line.")
    return int(digits, 16)


def _connection_tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def _over_cap(length: int) -> _BadRequest:
    return _BadRequest(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"The body ({length} bytes) is over the emulator's {MAX_BODY_BYTES} bytes; send a "
        "smaller one.",
    )


class _BadAnswer(Exception):
    """The application's status or headers cannot be sent as an HTTP head."""


class _Connection:
    """What the server knows about one open connection (guarded by the server's lock)."""

    __slots__ = ("busy", "thread")

    def __init__(self) -> None:
        self.busy = False  # a request is being read, run or answered
        self.thread: threading.Thread | None = None


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
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.close_timeout = close_timeout
        self._connections: dict[Any, _Connection] = {}
        self._connections_lock = threading.Lock()
        self._closing = False
        self.connections_accepted = 0
        super().__init__(server_address, handler_class or HTTP11RequestHandler)

    @property
    def connections_open(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    @property
    def closing(self) -> bool:
        return self._closing

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn's, with the thread recorded so server_close() can wait for it.
        state = _Connection()
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        state.thread = thread
        with self._connections_lock:
            self._connections[request] = state
            self.connections_accepted += 1
            if self._closing:  # accepted as the server closes: the thread just ends
                _shutdown(request)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def request_begin(self, request: Any) -> bool:
        """A request line arrived on ``request``: mark it busy. False when the server is
        closing (the connection is then closed without running the request)."""
        with self._connections_lock:
            state = self._connections.get(request)
            if self._closing or state is None:
                return False
            state.busy = True
            return True

    def request_end(self, request: Any) -> bool:
        """The answer on ``request`` is sent: mark it idle. False when the server is closing
        (the connection must close now)."""
        with self._connections_lock:
            state = self._connections.get(request)
            if state is not None:
                state.busy = False
            return not self._closing

    def server_close(self) -> None:
        """Stop accepting, close idle connections, let running requests answer (then their
        connections close) and wait up to ``close_timeout`` seconds for every thread."""
        super().server_close()
        with self._connections_lock:
            self._closing = True
            states = list(self._connections.items())
            for connection, state in states:
                if not state.busy:
                    _shutdown(connection)
        deadline = time.monotonic() + self.close_timeout
        for _connection, state in states:
            if state.thread is not None and state.thread is not threading.current_thread():
                state.thread.join(max(0.0, deadline - time.monotonic()))
        with self._connections_lock:
            left = list(self._connections)
        if left:
            logger.warning(
                "emulator server: %d connection(s) still busy %.1f s after close; closing "
                "them (their requests lose their answers)",
                len(left),
                self.close_timeout,
            )
            for connection in left:
                _shutdown(connection)


def _shutdown(connection: Any) -> None:
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
            if not self.server.request_begin(self.request):  # the server is closing
                self.close_connection = True
                return
        except TimeoutError:  # idle: close
            self.close_connection = True
            return
        except (ConnectionError, OSError):  # the client went away (or server_close shut it)
            self.close_connection = True
            return
        try:
            if len(self.raw_requestline) > _MAX_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.parse_request():  # answered with an error and Connection: close
                return
            self._connection_header()
            self._answer()
        except TimeoutError:  # a client stalling mid-request: close
            self.close_connection = True
        except (ConnectionError, OSError):  # the client went away
            self.close_connection = True
        finally:
            if not self.server.request_end(self.request):
                self.close_connection = True

    def _connection_header(self) -> None:
        # parse_request() only knows a Connection header that is exactly "close" or
        # "keep-alive"; the header is a comma-separated list of tokens ("close, TE").
        tokens = _connection_tokens(self.headers.get("Connection", ""))
        if "close" in tokens:
            self.close_connection = True
        elif "keep-alive" in tokens and self.request_version == "HTTP/1.0":
            self.close_connection = False

    def handle_expect_100(self) -> bool:
        """Called by parse_request() for ``Expect: 100-continue``: refuse a body the server
        would refuse anyway (over the cap: 413; a bad length: 400) before the client sends it,
        instead of inviting it with ``100 Continue``."""
        length_text = self.headers.get("Content-Length")
        if length_text is not None and not self.headers.get("Transfer-Encoding"):
            try:
                length = _content_length(length_text)
                if length > MAX_BODY_BYTES:
                    raise _over_cap(length)
            except _BadRequest as exc:
                self.close_connection = True
                self._send(exc.status, [("Content-Type", "text/plain")], exc.reason.encode())
                return False
        return super().handle_expect_100()

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
        if not _STATUS.fullmatch(code_text):
            logger.error(
                "emulator server: the application answered %s %s with a bad status %r",
                self.command,
                self.path,
                status_line,
            )
            self._send_bad_answer()
            return
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
        length = _content_length(length_text)
        if length > MAX_BODY_BYTES:
            raise _over_cap(length)
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
            size = _chunk_size(size_line)
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
        if self.server.closing:  # the last answer on this connection
            self.close_connection = True
        try:
            head = self._head(code, headers, len(body), phrase=phrase)
        except _BadAnswer as exc:  # nothing is sent yet: a 500 instead of a silent close
            logger.error(
                "emulator server: the answer to %s %s cannot be sent (%s)",
                self.command,
                self.path,
                exc,
            )
            self._send_bad_answer()
            return
        no_body = code < 200 or code in (204, 304) or self.command == "HEAD"
        self.wfile.write(head if no_body else head + body)
        self.wfile.flush()
        self.log_request(code, len(body))

    def _send_bad_answer(self) -> None:
        self.close_connection = True
        self._send(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            [("Content-Type", "text/plain")],
            b"The emulator's application gave an answer that cannot be sent as HTTP.",
        )

    def _head(
        self, code: int, headers: Iterable[tuple[str, str]], length: int, *, phrase: str | None
    ) -> bytes:
        if phrase is None:
            phrase = HTTPStatus(code).phrase
        if not isinstance(phrase, str) or _FORBIDDEN_IN_HEADER.search(phrase):
            raise _BadAnswer(f"bad reason phrase {phrase!r}")
        lines = [f"{self.protocol_version} {code} {phrase}\r\n"]
        lines.append(f"Server: {self.version_string()}\r\n")
        lines.append(f"Date: {self.date_time_string()}\r\n")
        try:
            for name, value in headers:
                if not isinstance(name, str) or not _TOKEN.fullmatch(name):
                    raise _BadAnswer(f"bad header name {name!r}")
                if not isinstance(value, str) or _FORBIDDEN_IN_HEADER.search(value):
                    raise _BadAnswer(f"bad value for the header {name!r}")
                if name.lower() not in _HOP_BY_HOP:
                    lines.append(f"{name}: {value}\r\n")
        except (TypeError, ValueError) as exc:  # not a list of (name, value) pairs
            raise _BadAnswer(f"bad headers ({exc})") from exc
        if code >= 200 and code != 204:
            lines.append(f"Content-Length: {length}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        try:
            return "".join(lines).encode("latin-1")
        except UnicodeEncodeError as exc:
            raise _BadAnswer(f"a header is not latin-1 ({exc.reason})") from exc
