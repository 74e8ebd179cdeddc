"""The emulator's HTTP server keeps HTTP/1.1 connections alive, like Microsoft Graph."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import httpx
import pytest

from tenantguard.emulator import EmulatorConfig, FaultConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.http11 import HTTP11WSGIServer
from tenantguard.emulator.server import serve_app
from tenantguard.emulator.testing import FakeClock

TAGS = "/beta/deviceManagement/roleScopeTags"
GROUPS = "/v1.0/groups"
AUTH = {"Authorization": "Bearer tok"}


def _emulator(faults: FaultConfig | None = None, throttle: bool = False) -> GraphEmulator:
    emu = GraphEmulator(
        config=EmulatorConfig(throttle=ThrottleConfig(enabled=throttle), clock=FakeClock())
    )
    emu.add_tenant(tenant_id="t", token="tok", faults=faults)
    return emu


@contextmanager
def _serve(emu: GraphEmulator, **options: float) -> Iterator[HTTP11WSGIServer]:
    server = serve_app(emu, host="127.0.0.1", port=0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        emu.close()


@pytest.fixture
def server() -> Iterator[HTTP11WSGIServer]:
    with _serve(_emulator()) as serving:
        yield serving


def _raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    _readers.pop(sock.fileno(), None)  # a number reused from a closed socket
    return sock


_readers: dict[int, BinaryIO] = {}


def _read_answer(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP answer framed by its Content-Length (fails if the framing is wrong); one
    buffered reader per socket, so pipelined answers read ahead are not lost."""
    reader = _readers.setdefault(sock.fileno(), sock.makefile("rb"))
    status = reader.readline()
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers["content-length"]))
    return status, headers, body


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_requests_on_one_httpx_client_share_one_connection(server: HTTP11WSGIServer) -> None:
    """Several requests (reads, a write, a $batch) over one httpx client are answered on one
    socket: the server accepts one connection and answers HTTP/1.1 with a Content-Length."""
    base = f"http://127.0.0.1:{server.server_port}"
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as c:
        first = c.get(GROUPS)
        assert first.http_version == "HTTP/1.1"
        assert first.headers["content-length"] == str(len(first.content))
        assert "close" not in first.headers.get("connection", "")
        created = c.post(GROUPS, json={"displayName": "Kept alive"})
        assert created.status_code == 201
        batch = c.post(
            "/v1.0/$batch",
            json={"requests": [{"id": "1", "method": "GET", "url": "/groups"}]},
        )
        assert batch.status_code == 200
        assert batch.json()["responses"][0]["status"] == 200
        names = [g["displayName"] for g in c.get(GROUPS).json()["value"]]
        assert names == ["Kept alive"]
    assert server.connections_accepted == 1


def test_an_unread_request_body_does_not_break_the_next_request(
    server: HTTP11WSGIServer,
) -> None:
    """A body sent with a GET (the handler never looks at it) and a chunked POST are read
    off the connection completely: the next request on the same socket parses."""
    sock = _raw(server.server_port)
    with sock:
        junk = b'{"not": "read by the GET handler"}'
        sock.sendall(
            b"GET /v1.0/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n"
            + f"Content-Length: {len(junk)}\r\n\r\n".encode()
            + junk
        )
        status, _, body = _read_answer(sock)
        assert status.startswith(b"HTTP/1.1 200"), status
        chunked = b'{"displayName": "Chunked"}'
        sock.sendall(
            b"POST /v1.0/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(chunked):x}\r\n".encode()
            + chunked
            + b"\r\n0\r\n\r\n"
        )
        status, _, body = _read_answer(sock)
        assert status.startswith(b"HTTP/1.1 201"), (status, body)
        sock.sendall(b"GET /v1.0/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n")
        status, _, body = _read_answer(sock)
        assert status.startswith(b"HTTP/1.1 200"), status
        assert b"Chunked" in body
    assert server.connections_accepted == 1


def test_a_client_asking_to_close_gets_the_connection_closed(server: HTTP11WSGIServer) -> None:
    """`Connection: close` is honoured: the answer says so and the server closes the socket;
    an HTTP/1.0 client without keep-alive is answered and closed the same way."""
    for request_line, extra in (("HTTP/1.1", "Connection: close\r\n"), ("HTTP/1.0", "")):
        sock = _raw(server.server_port)
        with sock:
            sock.sendall(
                f"GET /v1.0/groups {request_line}\r\nHost: x\r\nAuthorization: Bearer tok\r\n"
                f"{extra}\r\n".encode()
            )
            status, headers, _ = _read_answer(sock)
            assert status.startswith(b"HTTP/1.1 200"), status
            assert headers.get("connection") == "close"
            assert sock.recv(1) == b"", "the server kept the connection open"
    assert _wait_for(lambda: server.connections_open == 0)


def test_a_lost_answer_drops_the_kept_alive_connection() -> None:
    """AnswerLost on a kept-alive connection: the request is applied, nothing is written, the
    socket is closed; the client's next request goes out on a new connection."""
    emu = _emulator(FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=("drop",)))
    with _serve(emu) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as c:
            assert c.get(GROUPS).status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                c.post(GROUPS, json={"displayName": "Applied, answer lost"})
            emu.tenants["t"].faults = FaultConfig()
            names = [g["displayName"] for g in c.get(GROUPS).json()["value"]]
        assert names == ["Applied, answer lost"]
        assert server.connections_accepted == 2

    emu = _emulator(FaultConfig(lost_answer_rates={"POST": 1.0}, lost_answers=("drop",)))
    with _serve(emu) as server:
        sock = _raw(server.server_port)
        with sock:
            body = b'{"displayName": "raw"}'
            sock.sendall(
                b"POST /v1.0/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n"
                + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            assert sock.recv(1024) == b"", "the server wrote something for a lost answer"


def test_throttled_answers_keep_the_connection_and_say_retry_after() -> None:
    """A 429 (Intune throttling) is an ordinary answer: Retry-After, a Content-Length, and
    the connection stays usable."""
    faults = FaultConfig(error_rates={"GET": 1.0}, error_statuses=(429,), retry_after_seconds=3)
    with _serve(_emulator(faults)) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as c:
            for _ in range(3):
                response = c.get(GROUPS)
                assert response.status_code == 429
                assert response.headers["retry-after"] == "3"
                assert response.json()["error"]["code"] == "TooManyRequests"
        assert server.connections_accepted == 1


def test_an_idle_connection_is_closed_after_the_timeout() -> None:
    """A connection left idle is closed by the server after ``idle_timeout`` and its thread
    ends; the server counts no open connection afterwards."""
    with _serve(_emulator(), idle_timeout=0.3) as server:
        sock = _raw(server.server_port)
        with sock:
            sock.sendall(
                b"GET /v1.0/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n"
            )
            status, _, _ = _read_answer(sock)
            assert status.startswith(b"HTTP/1.1 200")
            assert server.connections_open == 1
            sock.settimeout(5)
            started = time.monotonic()
            assert sock.recv(1) == b""
            assert 0.2 < time.monotonic() - started < 4
        assert _wait_for(lambda: server.connections_open == 0)


def test_closing_the_server_closes_kept_alive_connections() -> None:
    """`server_close()` does not leave a thread serving a kept-alive client."""
    with _serve(_emulator()) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        client = httpx.Client(base_url=base, headers=AUTH, timeout=10)
        assert client.get(GROUPS).status_code == 200
        assert server.connections_open == 1
        server.shutdown()
        server.server_close()
        assert _wait_for(lambda: server.connections_open == 0)
        client.close()


def test_the_token_endpoint_answers_over_a_kept_alive_connection() -> None:
    """The client-credentials token endpoint (form body) and Graph reads with the token it
    issued share one connection."""
    emu = _emulator()
    with _serve(emu) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base, timeout=10) as c:
            token = c.post(
                "/t/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "tenantguard-app",
                    "client_secret": "s3cret",
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
            assert token.status_code == 200, token.text
            bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert c.get(GROUPS, headers=bearer).status_code == 200
            assert c.get(GROUPS, headers=bearer).status_code == 200
        assert server.connections_accepted == 1


def test_a_body_the_application_never_reads_is_drained_before_the_next_request() -> None:
    """An application that answers without reading ``wsgi.input`` (Content-Length or chunked
    body) leaves nothing on the connection: the next request parses and is answered."""
    seen: list[str] = []

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        seen.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = HTTP11WSGIServer(("127.0.0.1", 0))
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with _raw(server.server_port) as sock:
            body = b"x" * 5000
            sock.sendall(
                b"POST /first HTTP/1.1\r\nHost: x\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
                + b"POST /second HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"5\r\nhello\r\n0\r\n\r\n"
                + b"GET /third HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            answers = [_read_answer(sock) for _ in range(3)]
        assert [a[0].split()[1] for a in answers] == [b"200"] * 3
        assert [a[2] for a in answers] == [b"ok"] * 3
        assert seen == ["POST /first", "POST /second", "GET /third"]
        assert server.connections_accepted == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_requests_session_reuses_its_connection() -> None:
    """requests (urllib3), as IntuneCD and /work/shared/tools/intunecd_loopback.py use it:
    reads, a JSON write and a PATCH over one session go out on one kept-alive connection."""
    requests = pytest.importorskip("requests")
    with _serve(_emulator()) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        with requests.Session() as session:
            session.headers.update(AUTH)
            assert session.get(base + GROUPS, timeout=10).status_code == 200
            created = session.post(base + GROUPS, json={"displayName": "IntuneCD"}, timeout=10)
            assert created.status_code == 201
            group_id = created.json()["id"]
            patched = session.patch(
                f"{base}{GROUPS}/{group_id}", json={"displayName": "IntuneCD 2"}, timeout=10
            )
            assert patched.status_code == 204
            assert "content-length" not in patched.headers
            listed = session.get(base + GROUPS, timeout=10).json()["value"]
        assert [g["displayName"] for g in listed] == ["IntuneCD 2"]
        assert server.connections_accepted == 1


WsgiApp = Callable[[dict[str, object], Callable[..., object]], list[bytes]]


@contextmanager
def _serve_wsgi(app: WsgiApp) -> Iterator[HTTP11WSGIServer]:
    server = HTTP11WSGIServer(("127.0.0.1", 0))
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _ok_app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    body = environ["wsgi.input"].read()  # type: ignore[attr-defined]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"got " + body]


def test_closing_the_server_lets_a_running_request_answer_and_waits_for_it() -> None:
    """`server_close()` during a request the application is running: the idle connection is
    closed at once, the running request still gets its whole answer (saying `Connection:
    close`, then the socket closes), and `server_close()` returns only after it, so the
    caller (`serve()`) closes the emulator's stores after the last request."""
    entered = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            entered.set()
            release.wait(10)
            finished.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"answered " + str(environ["PATH_INFO"]).encode()]

    server = HTTP11WSGIServer(("127.0.0.1", 0), close_timeout=10)
    server.set_app(app)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    with _raw(server.server_port) as idle, _raw(server.server_port) as busy:
        idle.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_answer(idle)[2] == b"answered /fast"
        busy.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert entered.wait(5)
        server.shutdown()
        serving.join(timeout=5)
        returned_after_the_request: list[bool] = []

        def close() -> None:
            server.server_close()
            returned_after_the_request.append(finished.is_set())

        closer = threading.Thread(target=close)
        closer.start()
        assert idle.recv(1) == b"", "the idle connection was not closed"
        time.sleep(0.3)
        assert closer.is_alive(), "server_close() returned with a request still running"
        release.set()
        closer.join(timeout=5)
        assert not closer.is_alive()
        assert returned_after_the_request == [True]
        status, headers, body = _read_answer(busy)
        assert status.startswith(b"HTTP/1.1 200"), status
        assert body == b"answered /slow"
        assert headers.get("connection") == "close"
        assert busy.recv(1) == b""
    assert server.connections_open == 0


def test_closing_the_server_waits_for_a_stuck_request_only_up_to_the_close_timeout() -> None:
    """A request that never finishes does not hold `server_close()` past `close_timeout`."""
    entered = threading.Event()
    release = threading.Event()

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        entered.set()
        release.wait(10)
        start_response("200 OK", [])
        return [b""]

    server = HTTP11WSGIServer(("127.0.0.1", 0), close_timeout=0.5)
    server.set_app(app)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        with _raw(server.server_port) as sock:
            sock.sendall(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
            assert entered.wait(5)
            server.shutdown()
            started = time.monotonic()
            server.server_close()
            assert 0.4 < time.monotonic() - started < 3
    finally:
        release.set()


def _expect_100(port: int, length: str) -> tuple[bytes, dict[str, str], bytes]:
    with _raw(port) as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
        )
        answer = _read_answer(sock)
        assert sock.recv(1) == b"", "the connection stayed open after a refused body"
        return answer


def test_expect_100_continue_with_a_body_over_the_cap_is_refused_before_continue() -> None:
    """`Expect: 100-continue` with a declared length over the cap answers 413 (no `100
    Continue` inviting the body first), a bad length 400; both close the connection. A
    length under the cap is still invited and answered."""
    from tenantguard.emulator.http11 import MAX_BODY_BYTES

    with _serve_wsgi(_ok_app) as server:
        status, headers, body = _expect_100(server.server_port, str(MAX_BODY_BYTES + 1))
        assert status.startswith(b"HTTP/1.1 413"), status
        assert headers.get("connection") == "close"
        assert b"over the emulator's" in body
        status, headers, _ = _expect_100(server.server_port, "-5")
        assert status.startswith(b"HTTP/1.1 400"), status
        assert headers.get("connection") == "close"
        with _raw(server.server_port) as sock:
            sock.sendall(
                b"POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Length: 5\r\n\r\n"
            )
            reader = _readers.setdefault(sock.fileno(), sock.makefile("rb"))
            assert reader.readline().startswith(b"HTTP/1.1 100")
            assert reader.readline() == b"\r\n"
            sock.sendall(b"hello")
            status, _, body = _read_answer(sock)
            assert status.startswith(b"HTTP/1.1 200"), status
            assert body == b"got hello"


@pytest.mark.parametrize("size", [b"-1", b"0x5", b"+5", b"0_5", b" ", b"5 5"])
def test_a_chunk_size_other_than_hex_digits_is_a_bad_request(size: bytes) -> None:
    """Chunk sizes Python's `int(x, 16)` would take (`-1` would read until the client hangs
    up) answer 400 and close; `5;name=value` (an extension) is still read."""
    with _serve_wsgi(_ok_app) as server:
        with _raw(server.server_port) as sock:
            sock.sendall(
                b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + size
                + b"\r\nhello\r\n0\r\n\r\n"
            )
            status, headers, _ = _read_answer(sock)
            assert status.startswith(b"HTTP/1.1 400"), status
            assert headers.get("connection") == "close"
        with _raw(server.server_port) as sock:
            sock.sendall(
                b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5;name=value\r\nhello\r\n0\r\n\r\n"
            )
            status, _, body = _read_answer(sock)
            assert status.startswith(b"HTTP/1.1 200"), status
            assert body == b"got hello"


@pytest.mark.parametrize("length", ["+5", "0x5", "5_0", "-0", "5 5"])
def test_a_content_length_other_than_decimal_digits_is_a_bad_request(length: str) -> None:
    with _serve_wsgi(_ok_app) as server, _raw(server.server_port) as sock:
        sock.sendall(
            f"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\nhello".encode()
        )
        status, headers, _ = _read_answer(sock)
        assert status.startswith(b"HTTP/1.1 400"), status
        assert headers.get("connection") == "close"


@pytest.mark.parametrize(
    ("status_line", "headers"),
    [
        ("200 OK", [("X-Name", "caf\u20ac")]),  # not latin-1
        ("200 OK", [("X-Name", "a\r\nX-Injected: 1")]),
        ("200 OK", [("X-Bad Name", "a")]),
        ("200 OK", [("X-Name:", "a")]),
        ("2xx OK", []),
        ("OK", []),
        ("200 OK\r\nX-Injected: 1", []),
    ],
)
def test_an_answer_head_the_application_got_wrong_is_a_500(
    status_line: str, headers: list[tuple[str, str]]
) -> None:
    """A status or header the server cannot send as HTTP answers 500 with `Connection: close`
    (not a silent close, not a header injected into the answer)."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response(status_line, headers)
        return [b"body"]

    with _serve_wsgi(app) as server, _raw(server.server_port) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        status, answer_headers, _ = _read_answer(sock)
        assert status.startswith(b"HTTP/1.1 500"), status
        assert answer_headers.get("connection") == "close"
        assert "x-injected" not in answer_headers
        assert sock.recv(1) == b""


def test_connection_close_among_other_tokens_closes_and_hop_by_hop_headers_are_dropped() -> None:
    """`Connection: close, TE` (a token list, any case) closes the connection like `close`;
    the application's `Trailer` header (hop-by-hop) is not passed on."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("Trailer", "Expires"), ("X-Kept", "1")])
        return [b"ok"]

    with _serve_wsgi(app) as server:
        for value in ("close, TE", "TE, Close", "keep-alive,close"):
            with _raw(server.server_port) as sock:
                sock.sendall(f"GET /x HTTP/1.1\r\nHost: x\r\nConnection: {value}\r\n\r\n".encode())
                status, headers, _ = _read_answer(sock)
                assert status.startswith(b"HTTP/1.1 200"), status
                assert headers.get("connection") == "close", value
                assert "trailer" not in headers
                assert headers.get("x-kept") == "1"
                assert sock.recv(1) == b"", f"Connection: {value} kept the connection open"
