"""`ampc serve` under hostile requests and pages: body size, render time, header injection.

The server runs in this process (uvicorn in a thread, on a socket bound to
127.0.0.1), so a test can stand in for a render that is stuck where nothing
checks the clock.  Requests go over raw sockets where what matters is what
a client receives byte for byte (a complete answer, a 413 before the body
is sent), and through httpx elsewhere.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette", reason="ampc serve needs starlette")
uvicorn = pytest.importorskip("uvicorn", reason="ampc serve needs uvicorn")

from ampc import server as server_module  # noqa: E402

BODY_LIMIT = 100_000
RENDER_SECONDS = 0.5


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve-limits")
    limits = {"requestBodyBytes": BODY_LIMIT, "renderSeconds": RENDER_SECONDS, "loopIterations": 10**10}
    (root / "ampc.json").write_text(json.dumps({"limits": limits}), encoding="utf-8")
    (root / "echo.amp").write_text(
        "%%=Length(RequestParameter('text'))=%% <%%=RequestParameter('text')=%%>", encoding="utf-8"
    )
    (root / "hello.amp").write_text("hello", encoding="utf-8")
    (root / "loop.amp").write_text(
        "%%[ set @n = 0 for @i = 1 to 1000000000 do set @n = Add(@n, 1) next @i ]%%<p>finished</p>",
        encoding="utf-8",
    )
    (root / "stuck.amp").write_text("never rendered by the real renderer", encoding="utf-8")
    (root / "crlf.amp").write_text(
        "%%[ Redirect(Concat('https://example.com/next?a=1', Char(13), Char(10), 'Set-Cookie: evil=1',"
        " Char(13), Char(10), Char(13), Char(10), '<script>x</script>')) ]%%",
        encoding="utf-8",
    )
    (root / "unicode.amp").write_text(
        "%%[ Redirect('https://example.com/café?q=a b&t=a\tb') ]%%", encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def base(workspace, tmp_path_factory):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    state = tmp_path_factory.mktemp("serve-state") / "state.db"
    config = uvicorn.Config(server_module.create_app(workspace, state), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the in-process ampc serve did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    listener.close()


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _exchange(base: str, head: bytes, body_chunks=(), read_seconds: float = 5) -> bytes:
    """Send raw bytes (stopping quietly if the server has closed), then read until it closes."""
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=read_seconds) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:  # the server answered and closed while we were still sending: expected
            pass
        received = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except ConnectionResetError:  # the unread upload makes the close a reset; what came first counts
            pass
        return received


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return status, headers, body


# --- requestBodyBytes: 413 -------------------------------------------------------------------------


def test_a_body_within_the_limit_is_read_and_parsed(base):
    text = "x" * 1000 + " & ünïcode"
    urlencoded = httpx.post(f"{base}/echo", data={"text": text}, timeout=10)
    assert urlencoded.status_code == 200 and urlencoded.text == f"{len(text)} <{text}>"
    multipart = httpx.post(f"{base}/echo", data={"text": text}, files={"f": ("a.txt", b"abc")}, timeout=10)
    assert multipart.status_code == 200 and multipart.text == f"{len(text)} <{text}>"


def test_an_oversize_content_length_is_answered_413_before_the_body(base):
    head = (
        b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 50000000\r\n\r\n"
    )
    started = time.monotonic()
    raw = _exchange(base, head)  # not one byte of the body is sent
    assert time.monotonic() - started < 3
    status, headers, body = _parse(raw)
    assert status == 413
    assert headers["connection"] == "close"
    assert headers["content-type"].startswith("text/html")
    assert b"requestBodyBytes = 100,000 bytes (Content-Length 50,000,000)" in body
    assert b"&quot;requestBodyBytes&quot;: 1000000" in body  # how to raise it, HTML-escaped
    assert len(body) == int(headers["content-length"])  # a complete answer


def test_an_oversize_chunked_upload_is_answered_413(base):
    head = (
        b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"u" * 16384
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    count = BODY_LIMIT // len(chunk) + 2  # just past the limit, and no terminating chunk
    status, headers, body = _parse(_exchange(base, head, [framed] * count))
    assert status == 413
    assert b"larger than requestBodyBytes = 100,000 bytes." in body


# --- renderSeconds: 503 ----------------------------------------------------------------------------


def test_a_render_past_render_seconds_answers_503(base):
    started = time.monotonic()
    response = httpx.get(f"{base}/loop", timeout=10)
    assert time.monotonic() - started < RENDER_SECONDS + 2
    assert response.status_code == 503
    assert "the render took too long" in response.text
    assert "loop.amp, line 1" in response.text
    assert "renderSeconds = 0.5" in response.text
    assert "<p>finished</p>" not in response.text  # the page's output is not shown


def test_a_stuck_render_is_abandoned_with_503(base, monkeypatch):
    release = threading.Event()
    real_render = server_module._render

    def stuck_or_real(module, workspace, state, request, limits):
        if request.path == "/stuck":
            release.wait(10)  # stuck where nothing checks the clock
            return "too late"
        return real_render(module, workspace, state, request, limits)

    monkeypatch.setattr(server_module, "_render", stuck_or_real)
    monkeypatch.setattr(server_module, "RENDER_GRACE_SECONDS", 0.2)
    monkeypatch.setattr(server_module, "MAX_OVERRUNNING_RENDERS", 1)
    try:
        started = time.monotonic()
        response = httpx.get(f"{base}/stuck", timeout=10)
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert RENDER_SECONDS + 0.2 <= elapsed < RENDER_SECONDS + 2
        assert "stuck.amp did not finish within its time limit" in response.text
        assert "too late" not in response.text
        # While the abandoned render still runs, the server takes no new render.
        busy = httpx.get(f"{base}/hello", timeout=10)
        assert busy.status_code == 503 and "still running" in busy.text
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while httpx.get(f"{base}/hello", timeout=10).status_code == 503:
        assert time.monotonic() < deadline, "the abandoned render's end was not noticed"
        time.sleep(0.05)
    assert httpx.get(f"{base}/hello", timeout=10).text == "hello"


# --- Redirect() with CR/LF ---------------------------------------------------------------------------


def test_redirect_with_cr_lf_gets_a_complete_answer(base):
    raw = _exchange(base, b"GET /crlf HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 302 ")
    status, headers, body = _parse(raw)
    # CR and LF are percent-encoded (as ASP.NET's header checking does): one header line, no injection.
    assert headers["location"] == (
        "https://example.com/next?a=1%0D%0ASet-Cookie:%20evil=1%0D%0A%0D%0A<script>x</script>"
    )
    assert "set-cookie" not in headers  # nothing was injected
    assert b"<script>" not in body
    assert len(body) == int(headers.get("content-length", "0"))


def test_redirect_with_spaces_tabs_and_non_ascii(base):
    response = httpx.get(f"{base}/unicode", timeout=10, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/caf%C3%A9?q=a%20b&t=a%09b"


def test_headers_and_cookies_a_response_carries_are_made_safe():
    # No AMPscript function sets them today, but a Python caller's Response may: the server
    # encodes what would split the response, and refuses names HTTP cannot carry.
    from ampscript import ScriptError
    from ampscript.request import Request

    request = Request("GET", "http://127.0.0.1:8000/page")
    request.response.headers.extend([("X-Note", "a\r\nSet-Cookie: evil=1"), ("X-Name", " café € ")])
    request.response.cookies["session"] = "v\r\nX-Evil: 1"
    response = server_module._answer(request, "body", head=False)
    sent = [(name.decode(), value.decode("latin-1")) for name, value in response.raw_headers]
    assert ("x-note", "a%0D%0ASet-Cookie: evil=1") in sent
    assert ("x-name", "café %E2%82%AC") in sent
    cookie = next(value for name, value in sent if name == "set-cookie")
    assert "\r" not in cookie and "\n" not in cookie and cookie.startswith("session=")
    request.response.headers.extend([("Bad\r\nName", "x")])
    with pytest.raises(ScriptError, match="name is not valid in HTTP"):
        server_module._answer(request, "body", head=False)
