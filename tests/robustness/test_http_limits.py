"""The HTTP functions under hostile servers: total time, response size, compressed bodies.

A local server in a thread on 127.0.0.1 misbehaves on purpose: it drips a
byte every 0.1 s, accepts and never answers, announces or streams a huge
body, sends a gzip bomb, redirects slowly.  Each test sets small limits
(``httpRequestSeconds``, ``httpResponseBytes``, ``renderSeconds``) in the
workspace's ampc.json or with ``Context(limits=...)`` and checks that the
render stops on time, with the error the limit promises, and (for size)
without reading more than it must.  The limits: `ampscript.limits`; their
enforcement: `ampscript.http_client`.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import threading
import time
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import ampc
from ampscript import Context, ScriptError, Workspace
from ampscript.http_client import HttpSettings, RequestFailed, send
from ampscript.limits import Budget, LimitExceeded, Limits

DRIP_PAUSE = 0.1  # seconds between two bytes of a dripping answer
SERVER_MAX_SECONDS = 10.0  # no handler runs longer than this, whatever the client does
BOMB_DECODED = 64 * 1024 * 1024  # what the gzip bomb inflates to (64 MiB of zeros)
SMALL_LIMIT = 1_000_000  # httpResponseBytes in the size tests


@functools.cache
def _bomb() -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # a gzip stream (~300 KB)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(BOMB_DECODED // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _stopping(self) -> bool:
        return self.server.stop.is_set()

    def _headers(self, status: int, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def _write(self, data: bytes) -> bool:
        """Send bytes; False once the client has gone (it dropped the connection)."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            return False
        self.server.sent[self.path] = self.server.sent.get(self.path, 0) + len(data)
        return True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        started = time.monotonic()

        def in_time() -> bool:
            return not self._stopping() and time.monotonic() - started < SERVER_MAX_SECONDS

        path = self.path
        if path == "/hello":
            self._headers(200, Content_Length="5", Content_Type="text/plain")
            self._write(b"hello")
        elif path == "/drip":  # a complete, honest answer, one byte at a time
            self._headers(200, Content_Length="1000", Content_Type="text/plain")
            for _ in range(1000):
                if not in_time() or not self._write(b"x"):
                    break
                time.sleep(DRIP_PAUSE)
        elif path == "/drip-headers":  # the status line, then headers that never end
            if self._write(b"HTTP/1.1 200 OK\r\nX-Slow: "):
                while in_time() and self._write(b"y"):
                    time.sleep(DRIP_PAUSE)
        elif path == "/hang":  # reads the request, never answers
            while in_time():
                time.sleep(0.05)
        elif path == "/huge-length":  # announces a gigabyte, then sends slowly
            self._headers(200, Content_Length=str(10**9), Content_Type="text/plain")
            while in_time() and self._write(b"z" * 1024):
                time.sleep(DRIP_PAUSE)
        elif path == "/chunked-forever":  # no Content-Length: a chunked body as fast as it goes
            self._headers(200, Transfer_Encoding="chunked", Content_Type="text/plain")
            chunk = b"c" * 65536
            framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
            while in_time() and self.server.sent.get(path, 0) < 256 * 1024 * 1024:
                if not self._write(framed):
                    break
        elif path == "/gzip-bomb":
            bomb = _bomb()
            self._headers(
                200, Content_Length=str(len(bomb)), Content_Encoding="gzip", Content_Type="text/plain"
            )
            self._write(bomb)
        elif path == "/gzip-small":
            body = gzip.compress("small but compressed ✓".encode())
            self._headers(
                200,
                Content_Length=str(len(body)),
                Content_Encoding="gzip",
                Content_Type="text/plain; charset=utf-8",
            )
            self._write(body)
        elif path in ("/deflate", "/deflate-raw"):
            # zlib-wrapped (RFC 9110), and the raw kind some servers send
            window = zlib.MAX_WBITS if path == "/deflate" else -zlib.MAX_WBITS
            packer = zlib.compressobj(6, zlib.DEFLATED, window)
            body = packer.compress(b"deflated " * 20000) + packer.flush()
            self._headers(200, Content_Length=str(len(body)), Content_Encoding="deflate")
            self._write(body)
        elif path.startswith("/slow-redirect/"):  # each hop takes 0.15 s, forever
            hop = int(path.rsplit("/", 1)[1])
            time.sleep(0.15)
            self._headers(302, Location=f"/slow-redirect/{hop + 1}", Content_Length="0")
        else:
            self._headers(404, Content_Length="0")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[str] = []
        self.sent: dict[str, int] = {}
        self.stop = threading.Event()


@pytest.fixture(scope="module")
def server():
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server) -> str:
    server.hits.clear()
    server.sent.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _workspace(path, server, limits: dict | None = None, timeout: float = 5):
    settings = {"http": {"allow": [f"127.0.0.1:{server.server_address[1]}"], "timeout": timeout}}
    if limits:
        settings["limits"] = limits
    (path / "ampc.json").write_text(json.dumps(settings), encoding="utf-8")
    return path


def render(source: str, workspace, **limits) -> str:
    return ampc.render(source, context=Context(workspace=workspace, limits=limits or None))


class _Timer:
    def __enter__(self) -> _Timer:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.monotonic() - self.started


# --- total time: httpRequestSeconds ---------------------------------------------------------------


def test_a_dripping_answer_stops_at_http_request_seconds(tmp_path, server, base):
    # Each byte comes well within the 5-second read timeout: only the total limit can stop it.
    ws = _workspace(tmp_path, server, {"httpRequestSeconds": 0.5})
    with _Timer() as timer, pytest.raises(ScriptError) as raised:
        render(f'%%=HTTPGet("{base}/drip")=%%', ws)
    assert 0.4 < timer.seconds < 2
    message = str(raised.value)
    assert f"HTTPGet() failed for '{base}/drip': no complete answer within 0.5 seconds" in message
    assert "httpRequestSeconds" in message and '"limits": {"httpRequestSeconds": 5}' in message  # the hint
    assert not isinstance(raised.value, LimitExceeded)  # a request without an answer


def test_over_time_is_a_request_error_when_the_script_continues(tmp_path, server, base):
    ws = _workspace(tmp_path, server)
    out = render(
        f'%%[ set @c = HTTPGet("{base}/drip", true, 0, @s) ]%%[%%=v(@c)=%%] %%=v(@s)=%%',
        ws,
        httpRequestSeconds=0.3,  # Context(limits=...) this time
    )
    assert out == "[] -2"
    post2 = (
        f'%%[ set @c = HTTPPost2("{base}/drip", "text/plain", "", false, @r, @h) ]%%'
        "%%=v(@c)=%% [%%=v(@r)=%%] %%=RowCount(@h)=%%"
    )
    assert render(post2, ws, httpRequestSeconds=0.3) == "-2 [] 0"


def test_headers_that_never_end_are_cut_by_the_watchdog(tmp_path, server, base):
    # The whole header drip happens inside httpx, where no chunk loop can look at the clock.
    ws = _workspace(tmp_path, server, {"httpRequestSeconds": 0.5})
    with _Timer() as timer, pytest.raises(ScriptError, match="no complete answer within 0.5 seconds"):
        render(f'%%=HTTPGet("{base}/drip-headers")=%%', ws)
    assert timer.seconds < 2


def test_a_server_that_never_answers(tmp_path, server, base):
    ws = _workspace(tmp_path, server, {"httpRequestSeconds": 0.4}, timeout=30)
    with _Timer() as timer, pytest.raises(ScriptError, match="no complete answer within 0.4 seconds"):
        render(f'%%=HTTPGet("{base}/hang")=%%', ws)
    assert timer.seconds < 2


def test_the_timeout_setting_still_bounds_each_wait(tmp_path, server, base):
    # http.timeout below httpRequestSeconds: the per-read timeout speaks, as before.
    ws = _workspace(tmp_path, server, {"httpRequestSeconds": 20}, timeout=0.3)
    with _Timer() as timer, pytest.raises(ScriptError, match=r"no answer within 0.3 seconds \(the timeout\)"):
        render(f'%%=HTTPGet("{base}/hang")=%%', ws)
    assert timer.seconds < 2


def test_a_connect_that_hangs_is_bounded(tmp_path):
    # A listening socket whose backlog is full: the kernel leaves further connects unanswered.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):  # fill the backlog (its real size is a little above the one asked for)
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.05)
            (tmp_path / "ampc.json").write_text(
                json.dumps({"http": {"allow": [f"127.0.0.1:{port}"], "timeout": 30}}), encoding="utf-8"
            )
            with _Timer() as timer, pytest.raises(ScriptError, match="no complete answer within 0.4 seconds"):
                render(f'%%=HTTPGet("http://127.0.0.1:{port}/")=%%', tmp_path, httpRequestSeconds=0.4)
            assert timer.seconds < 2
        finally:
            for filler in fillers:
                filler.close()


def test_redirects_count_in_the_total_time(tmp_path, server, base):
    ws = _workspace(tmp_path, server, {"httpRequestSeconds": 0.5})
    with _Timer() as timer, pytest.raises(ScriptError, match="no complete answer within 0.5 seconds"):
        render(f'%%=HTTPGet("{base}/slow-redirect/0")=%%', ws)
    assert timer.seconds < 2
    hops = [hit for hit in server.hits if hit.startswith("/slow-redirect/")]
    assert 2 <= len(hops) <= 5  # 0.15 s each: the limit came after a few hops, not after 50


def test_the_render_deadline_wins_when_it_is_sooner(tmp_path, server, base):
    ws = _workspace(tmp_path, server, {"httpRequestSeconds": 30, "renderSeconds": 0.5})
    with _Timer() as timer, pytest.raises(LimitExceeded) as raised:
        # continueOnError cannot keep a render past its own deadline
        render(f'%%=HTTPGet("{base}/drip", true)=%%', ws)
    assert timer.seconds < 2
    assert raised.value.limit == "render_seconds"
    assert "HTTPGet() was still waiting for" in str(raised.value)
    assert "renderSeconds" in str(raised.value)


def _settings(tmp_path, server) -> HttpSettings:
    return HttpSettings.from_workspace(Workspace(_workspace(tmp_path, server)))


def test_a_render_already_out_of_time_sends_nothing(tmp_path, server, base):
    budget = Budget(Limits(render_seconds=0.01))
    time.sleep(0.02)
    with pytest.raises(LimitExceeded):
        send("GET", f"{base}/hello", _settings(tmp_path, server), "HTTPGet", budget=budget)
    assert server.hits == []


# --- size: httpResponseBytes ----------------------------------------------------------------------


def test_an_oversize_content_length_is_refused_without_reading(tmp_path, server, base):
    ws = _workspace(tmp_path, server, {"httpResponseBytes": SMALL_LIMIT})
    with _Timer() as timer, pytest.raises(LimitExceeded) as raised:
        # continueOnError does not cover a local limit
        render(f'%%[ set @c = HTTPGet("{base}/huge-length", true, 0, @s) ]%%', ws)
    assert timer.seconds < 1  # refused on the headers, not after a read or the time limit
    assert raised.value.limit == "http_response_bytes"
    message = str(raised.value)
    assert "Content-Length 1,000,000,000 bytes" in message and "httpResponseBytes = 1,000,000" in message
    assert '"limits": {"httpResponseBytes": 10000000}' in message  # how to raise it


def test_an_oversize_chunked_body_is_aborted(tmp_path, server, base):
    ws = _workspace(tmp_path, server, {"httpResponseBytes": SMALL_LIMIT})
    source = f'%%[ set @c = HTTPPost2("{base}/chunked-forever", "text/plain", "", false, @r, @h) ]%%'
    with pytest.raises(LimitExceeded, match="more than 1,000,000 bytes received") as raised:
        render(source, ws)
    assert raised.value.limit == "http_response_bytes"
    # The server notices the dropped connection: it sent the limit plus what the socket buffers
    # held, not the 256 MiB it would have sent to a client reading on.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        before = server.sent.get("/chunked-forever", 0)
        time.sleep(0.2)
        if server.sent.get("/chunked-forever", 0) == before:
            break
    assert server.sent.get("/chunked-forever", 0) < 64 * 1024 * 1024


def test_a_gzip_bomb_is_bounded_in_memory(tmp_path, server, base):
    ws = _workspace(tmp_path, server, {"httpResponseBytes": SMALL_LIMIT})
    assert len(_bomb()) < SMALL_LIMIT  # the compressed body itself is within the limit
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded, match="more than 1,000,000 bytes once decoded"):
            render(f'%%=HTTPGet("{base}/gzip-bomb", true)=%%', ws)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # a few times the limit, nowhere near the bomb's 64 MiB


def test_a_compressed_body_within_the_limit_is_decoded(tmp_path, server, base):
    ws = _workspace(tmp_path, server, {"httpResponseBytes": SMALL_LIMIT})
    assert render(f'%%=HTTPGet("{base}/gzip-small")=%%', ws) == "small but compressed ✓"


@pytest.mark.parametrize("path", ["/deflate", "/deflate-raw"])
def test_deflate_bodies_are_decoded(tmp_path, server, base, path):
    ws = _workspace(tmp_path, server, {"httpResponseBytes": SMALL_LIMIT})
    assert render(f'%%=HTTPGet("{base}{path}")=%%', ws) == "deflated " * 20000


def test_the_limits_apply_to_direct_calls_with_a_budget(tmp_path, server, base):
    settings = _settings(tmp_path, server)
    budget = Budget(Limits(http_response_bytes=SMALL_LIMIT))
    with pytest.raises(LimitExceeded):
        send("GET", f"{base}/huge-length", settings, "HTTPGet", budget=budget)
    reply = send("GET", f"{base}/hello", settings, "HTTPGet", budget=budget)
    assert (reply.status, reply.body) == (200, "hello")
    with pytest.raises(RequestFailed, match="httpRequestSeconds"):
        send("GET", f"{base}/drip", settings, "HTTPGet", budget=Budget(Limits(http_request_seconds=0.3)))
