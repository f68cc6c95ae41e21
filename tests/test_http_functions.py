"""HTTPGet, HTTPPost, HTTPPost2 and HTTPPostWithRetry against a local server.

The server runs in a thread on 127.0.0.1 (a free port); each workspace
allows it in ampc.json.  Scripts go through ``ampc.render`` so the compiled
code path is what is tested; a few tests call the functions directly.

Reference pages (the facts these tests check):
GET:   https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-get.html
POST:  https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-post.html
POST2: https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-post2.html
RETRY: https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-post-with-retry.html
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import ampc
from ampscript import Context, RaisedError, Ref, ScriptError
from ampscript.functions import http as http_functions
from ampscript.functions import HTTPGet, HTTPPost2
from ampscript.rendering import Page

SLOW_SECONDS = 3.0
TIMEOUT = 0.4


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def _answer(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "text/plain; charset=utf-8",
        **headers,
    ):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        )
        return body

    def do_GET(self) -> None:
        self._record()
        self._route()

    def do_POST(self) -> None:
        body = self._record()
        if self.path == "/echo":
            answer = {
                "contentType": self.headers.get("Content-Type"),
                "body": body.decode("utf-8", "replace"),
                "token": self.headers.get("X-Token"),
            }
            self._answer(201, json.dumps(answer).encode(), "application/json", X_Reply="yes")
        else:
            self._route()

    def _route(self) -> None:
        path = self.path
        if path == "/hello":
            self._answer(200, f"hello {self.headers.get('X-Token') or 'anonymous'}".encode())
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._answer(code, f"status {code} body".encode())
        elif path == "/redirect":
            self._answer(302, b"", None, Location="/hello")
        elif path == "/redirect-away":
            self._answer(302, b"", None, Location="http://elsewhere.invalid/")
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._answer(200, b"too late")
        elif path == "/empty":
            self._answer(200, b"")
        elif path.startswith("/flaky/"):
            _, _, key, failures = path.split("/")
            self.server.calls[key] += 1
            if self.server.calls[key] <= int(failures):
                self._answer(503, b"busy")
            else:
                self._answer(200, f"ok after {self.server.calls[key]}".encode())
        elif path == "/latin1":
            self._answer(200, "Café Zoë".encode("iso-8859-1"), "text/plain; charset=ISO-8859-1")
        elif path == "/no-charset":
            self._answer(200, "Café – naïve".encode("cp1252"), "text/plain")
        elif path == "/syndicated":
            self._answer(200, b'Hi %%FirstName%% %%=Uppercase("x")=%%')
        elif path.startswith("/who?"):
            self._answer(200, path.encode())
        elif path == "/utf8":
            self._answer(200, "Zürich ✓ 東京".encode("utf-8"), "text/html; charset=utf-8")
        else:
            self._answer(404, b"no such page")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping in /slow must not block shutdown

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict] = []
        self.calls: defaultdict[str, int] = defaultdict(int)


@pytest.fixture(scope="module")
def server():
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server):
    server.seen.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _workspace(tmp_path, **http):
    (tmp_path / "ampc.json").write_text(json.dumps({"http": http}), encoding="utf-8")
    return tmp_path


@pytest.fixture
def ws(tmp_path, server):
    return _workspace(tmp_path, allow=[f"127.0.0.1:{server.server_address[1]}"], timeout=TIMEOUT)


def render(source: str, workspace) -> str:
    return ampc.render(source, workspace=workspace)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- HTTPGet ------------------------------------------------------------------------------------


def test_get_returns_the_content(ws, base):
    assert render(f'%%=HTTPGet("{base}/hello")=%%', ws) == "hello anonymous"


def test_get_sets_status_0_on_success(ws, base, server):
    out = render(f'%%[ set @c = HTTPGet("{base}/hello", false, 0, @s) ]%%%%=v(@c)=%% %%=v(@s)=%%', ws)
    assert out == "hello anonymous 0"
    assert server.seen[0]["method"] == "GET" and server.seen[0]["path"] == "/hello"


def test_get_follows_redirects(ws, base, server):
    assert render(f'%%=HTTPGet("{base}/redirect")=%%', ws) == "hello anonymous"
    assert [hit["path"] for hit in server.seen] == ["/redirect", "/hello"]


def test_get_refuses_a_redirect_to_a_host_not_allowed(ws, base, server):
    with pytest.raises(ScriptError, match="'elsewhere.invalid' is not in the workspace's HTTP allow-list"):
        render(f'%%=HTTPGet("{base}/redirect-away", true)=%%', ws)


@pytest.mark.parametrize("code", [404, 500])
def test_get_error_status_stops_the_script_by_default(ws, base, code):
    # boolContinueOnError defaults to false: "the function exits when it encounters an error".
    with pytest.raises(
        ScriptError, match=rf"HTTPGet\(\) failed for '{base}/status/{code}': the server answered {code}"
    ):
        render(f'%%=HTTPGet("{base}/status/{code}")=%%', ws)


@pytest.mark.parametrize("code", [404, 500])
def test_get_error_status_with_continue_on_error_gives_status_minus_2(ws, base, code):
    out = render(
        f'%%[ set @c = HTTPGet("{base}/status/{code}", true, 0, @s) ]%%[%%=v(@c)=%%] %%=v(@s)=%%', ws
    )
    assert out == "[] -2"


def test_get_empty_content_status_minus_3(ws, base):
    out = render(f'%%[ set @c = HTTPGet("{base}/empty", false, 0, @s) ]%%[%%=v(@c)=%%] %%=v(@s)=%%', ws)
    assert out == "[] -3"


def test_get_empty_content_1_is_an_error(ws, base):
    with pytest.raises(ScriptError, match="the response is empty"):
        render(f'%%=HTTPGet("{base}/empty", false, 1)=%%', ws)


def test_get_empty_content_2_skips_the_subscriber(ws, base):
    with pytest.raises(RaisedError) as raised:
        render(f'%%=HTTPGet("{base}/empty", false, 2)=%%', ws)
    assert raised.value.skip_send


def test_get_connection_refused(ws):
    url = f"http://127.0.0.1:{_free_port()}/x"
    allowed = _workspace(ws, allow=[url.split("/")[2]], timeout=TIMEOUT)
    with pytest.raises(ScriptError, match=rf"HTTPGet\(\) failed for '{url}'"):
        render(f'%%=HTTPGet("{url}")=%%', allowed)
    assert (
        render(f'%%[ set @c = HTTPGet("{url}", true, 0, @s) ]%%[%%=v(@c)=%%] %%=v(@s)=%%', allowed) == "[] -2"
    )


def test_slow_endpoint_times_out_quickly(ws, base):
    started = time.monotonic()
    with pytest.raises(ScriptError, match=rf"no answer within {TIMEOUT:g} seconds"):
        render(f'%%=HTTPGet("{base}/slow")=%%', ws)
    assert time.monotonic() - started < SLOW_SECONDS - 1


def test_slow_endpoint_with_continue_on_error(ws, base):
    out = render(f'%%[ set @c = HTTPGet("{base}/slow", true, 0, @s) ]%%[%%=v(@c)=%%] %%=v(@s)=%%', ws)
    assert out == "[] -2"


# --- charsets: "The function honors any character set returned in the content-type HTTP header" ---


def test_charset_from_the_content_type(ws, base):
    assert render(f'%%=HTTPGet("{base}/latin1")=%%', ws) == "Café Zoë"
    assert render(f'%%=HTTPGet("{base}/utf8")=%%', ws) == "Zürich ✓ 東京"


def test_no_charset_uses_the_workspace_default(tmp_path, server, base):
    # Older accounts assume Windows-1252 where the header names no charset (HttpGet page).
    port = server.server_address[1]
    older = _workspace(tmp_path, allow=[f"127.0.0.1:{port}"], charset="windows-1252")
    assert render(f'%%=HTTPGet("{base}/no-charset")=%%', older) == "Café – naïve"


def test_no_charset_defaults_to_utf8_replacing_bad_bytes(ws, base):
    assert render(f'%%=HTTPGet("{base}/no-charset")=%%', ws) == "Caf\ufffd \ufffd na\ufffdve"


def test_non_ascii_post_body_is_sent_in_the_content_types_charset(ws, base, server):
    render(f'%%[ set @c = HTTPPost("{base}/echo", "text/plain; charset=utf-8", "Jörg ✓", @r) ]%%', ws)
    assert server.seen[-1]["body"] == "Jörg ✓".encode("utf-8")
    render(f'%%[ set @c = HTTPPost("{base}/echo", "text/plain; charset=iso-8859-1", "Jörg ✓", @r) ]%%', ws)
    assert server.seen[-1]["body"] == "Jörg ?".encode("iso-8859-1")  # unencodable characters become "?"


# --- HTTPPost ---------------------------------------------------------------------------------


def test_post_sends_content_type_body_and_headers(ws, base, server):
    source = (
        f'%%[ set @code = HTTPPost("{base}/echo", "application/json", \'{{"a":1}}\', @response,'
        ' "X-Token", "t0k", "Host", "spoofed.example", "Content-Length", "1") ]%%%%=v(@code)=%% %%=v(@response)=%%'
    )
    out = render(source, ws)
    code, body = out.split(" ", 1)
    assert code == "201"
    assert json.loads(body) == {"contentType": "application/json", "body": '{"a":1}', "token": "t0k"}
    sent = server.seen[-1]["headers"]
    # "You can't set the host and content-length headers": they are the URL's host and the body's length.
    assert sent["Host"] == base.split("//")[1] and sent["Content-Length"] == "7"


def test_post_error_status_stops_the_script(ws, base):
    with pytest.raises(
        ScriptError, match=rf"HTTPPost\(\) failed for '{base}/status/500': the server answered 500"
    ):
        render(f'%%[ set @c = HTTPPost("{base}/status/500", "text/plain", "x", @r) ]%%', ws)


# --- HTTPPost2 --------------------------------------------------------------------------------


def test_post2_out_parameters(ws, base):
    source = (
        f'%%[ set @code = HTTPPost2("{base}/echo", "text/plain", "hi", true, @response, @headers, "X-Token", "abc")'
        ' set @reply = "" for @i = 1 to RowCount(@headers) do set @row = Row(@headers, @i)'
        ' if Field(@row, "Name") == "X-Reply" then set @reply = Field(@row, "Value") endif next @i ]%%'
        "%%=v(@code)=%%|%%=v(@reply)=%%|%%=v(@response)=%%"
    )
    code, reply, body = render(source, ws).split("|")
    assert (code, reply) == ("201", "yes")
    assert json.loads(body)["token"] == "abc"


@pytest.mark.parametrize("code", [404, 500])
def test_post2_without_exception_returns_the_error_status_and_body(ws, base, code):
    source = f'%%[ set @c = HTTPPost2("{base}/status/{code}", "text/plain", "", false, @r, @h) ]%%%%=v(@c)=%% %%=v(@r)=%%'
    assert render(source, ws) == f"{code} status {code} body"


def test_post2_with_exception_stops_on_error_status(ws, base):
    with pytest.raises(
        ScriptError, match=r"HTTPPost2\(\) failed for .*/status/404': the server answered 404 Not Found"
    ):
        render(f'%%[ set @c = HTTPPost2("{base}/status/404", "text/plain", "", true, @r, @h) ]%%', ws)


def test_post2_connection_refused_without_exception(ws):
    url = f"http://127.0.0.1:{_free_port()}/x"
    allowed = _workspace(ws, allow=[url.split("/")[2]], timeout=TIMEOUT)
    source = f'%%[ set @c = HTTPPost2("{url}", "text/plain", "", false, @r, @h) ]%%%%=v(@c)=%% [%%=v(@r)=%%] %%=RowCount(@h)=%%'
    assert render(source, allowed) == "-2 [] 0"
    with pytest.raises(ScriptError, match=rf"HTTPPost2\(\) failed for '{url}'"):
        render(f'%%[ set @c = HTTPPost2("{url}", "text/plain", "", true, @r, @h) ]%%', allowed)


def test_post_answered_with_302_follows_with_a_get(ws, base, server):
    # .NET's HttpWebRequest, like browsers and httpx, turns a POST answered with 302 into a GET.
    source = f'%%[ set @c = HTTPPost2("{base}/redirect", "text/plain", "x", true, @r, @h) ]%%%%=v(@c)=%% %%=v(@r)=%%'
    assert render(source, ws) == "200 hello anonymous"
    assert [(hit["method"], hit["path"]) for hit in server.seen] == [("POST", "/redirect"), ("GET", "/hello")]


# --- HTTPPostWithRetry: "The first retry occurs immediately ...; later ones 1 to 4 seconds after" ---


class _Clock:
    def __init__(self) -> None:
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = _Clock()
    monkeypatch.setattr(http_functions, "time", fake)
    return fake


def test_retry_succeeds_after_failures(ws, base, server, clock):
    source = (
        f'%%[ set @c = HTTPPostWithRetry("{base}/flaky/a/2", "text/plain", "x", 3, false, true, @r, @h) ]%%'
        "%%=v(@c)=%% %%=v(@r)=%%"
    )
    assert render(source, ws) == "200 ok after 3"
    assert server.calls["a"] == 3
    assert len(clock.pauses) == 1 and 1 <= clock.pauses[0] <= 4  # the first retry went at once


def test_retry_gives_up_after_num_retries(ws, base, server, clock):
    source = f'%%[ set @c = HTTPPostWithRetry("{base}/flaky/b/9", "text/plain", "x", 2, false, false, @r, @h) ]%%%%=v(@c)=%%'
    assert render(source, ws) == "503"
    assert server.calls["b"] == 3  # the request and two retries
    with pytest.raises(ScriptError, match="the server answered 503"):
        render(source.replace("false, false", "false, true").replace("/b/", "/c/"), ws)


def test_retry_defaults_to_three_retries(ws, base, server, clock):
    render(f'%%[ set @c = HTTPPostWithRetry("{base}/flaky/d/9", "text/plain", "x") ]%%', ws)
    assert server.calls["d"] == 4


def test_retry_does_not_repeat_a_client_error(ws, base, server, clock):
    source = f'%%[ set @c = HTTPPostWithRetry("{base}/status/404", "text/plain", "x", 3) ]%%%%=v(@c)=%%'
    assert render(source, ws) == "404"
    assert len(server.seen) == 1 and clock.pauses == []


def test_retry_reschedule_cannot_happen_locally(ws, base, clock):
    with pytest.raises(ScriptError, match="would pause the send and try again in 15 minutes"):
        render(f'%%[ set @c = HTTPPostWithRetry("{base}/flaky/e/9", "text/plain", "x", 1, true) ]%%', ws)


def test_retry_after_connection_refused(ws, clock):
    url = f"http://127.0.0.1:{_free_port()}/x"
    allowed = _workspace(ws, allow=[url.split("/")[2]], timeout=TIMEOUT)
    source = (
        f'%%[ set @c = HTTPPostWithRetry("{url}", "text/plain", "x", 2, false, false, @r, @h) ]%%%%=v(@c)=%%'
    )
    assert render(source, allowed) == "-2"
    assert len(clock.pauses) == 1


# --- the allow-list -----------------------------------------------------------------------------


def test_no_allow_list_refuses_with_instructions(tmp_path, base):
    with pytest.raises(ScriptError) as raised:
        render(f'%%=HTTPGet("{base}/hello", true)=%%', tmp_path)
    message = str(raised.value)
    assert "is not in the workspace's HTTP allow-list" in message
    assert '"allow": ["127.0.0.1:' in message


def test_a_host_entry_without_port_allows_only_the_standard_ports(tmp_path, base):
    standard_only = _workspace(tmp_path, allow=["127.0.0.1"])
    with pytest.raises(ScriptError, match="only calls http on port 80 and https on port 443"):
        render(f'%%=HTTPGet("{base}/hello")=%%', standard_only)


def test_wildcards(tmp_path):
    def allowed(url: str, *entries: str) -> bool:
        settings = http_functions.HttpSettings.from_workspace(
            Context(workspace=_workspace(tmp_path, allow=list(entries))).workspace
        )
        try:
            http_functions.http_client.check_allowed(url, settings, "HTTPGet")
        except ScriptError:
            return False
        return True

    assert allowed("https://api.example.org/x", "*.example.org")
    assert allowed("http://a.b.example.org/x", "*.example.org")
    assert not allowed("https://example.org/x", "*.example.org")
    assert not allowed("https://badexample.org/x", "*.example.org")
    assert allowed("https://API.Example.com/x", "api.example.com")
    assert not allowed("https://api.example.com:8443/x", "api.example.com")
    assert allowed("https://api.example.com:8443/x", "api.example.com:8443")
    assert allowed("https://anything.test/", "*")
    assert not allowed("https://anything.test:8443/", "*")


@pytest.mark.parametrize(
    "http, message",
    [
        ({"allow": "api.example.com"}, "must be a list of host names"),
        ({"allow": ["https://api.example.com/"]}, "is not a host name"),
        ({"allow": ["api.example.com"], "timeout": 0}, "timeout must be a number of seconds above 0"),
        ({"allow": ["api.example.com"], "charset": "klingon"}, "not a known character set"),
    ],
)
def test_bad_settings_are_explained(tmp_path, http, message):
    with pytest.raises(ScriptError, match=message):
        render('%%=HTTPGet("https://api.example.com/")=%%', _workspace(tmp_path, **http))


# --- direct calls ---------------------------------------------------------------------------------


def _direct(workspace, function, *args):
    with Page.start(Context(workspace=workspace), "direct.amp"):
        return function(*args)


def test_direct_httpget_with_status_cell(ws, base):
    status = Ref()
    assert _direct(ws, HTTPGet, f"{base}/hello", False, 0, status) == "hello anonymous"
    assert status.value == 0


def test_direct_httppost2_fills_both_cells(ws, base):
    response, headers = Ref(), Ref()
    assert (
        _direct(
            ws, HTTPPost2, f"{base}/echo", "application/json", "{}", True, response, headers, "X-Token", "z"
        )
        == 201
    )
    assert json.loads(response.value)["token"] == "z"
    names = [row["Name"] for row in headers.value]
    assert "X-Reply" in names and "Content-Type" in names


def test_registered_arities():
    from ampscript.registry import lookup

    assert (lookup("HTTPGet").min_args, lookup("HTTPGet").max_args, lookup("HTTPGet").out_params) == (
        1,
        4,
        {3},
    )
    assert (lookup("HTTPPost").min_args, lookup("HTTPPost").max_args, lookup("HTTPPost").out_params) == (
        3,
        None,
        {3},
    )
    assert (lookup("HTTPPost2").min_args, lookup("HTTPPost2").out_params) == (6, {4, 5})
    assert (lookup("HTTPPostWithRetry").min_args, lookup("HTTPPostWithRetry").out_params) == (3, {6, 7})


# ---- content syndication: %%httpget "URL"%% and %%before; httpget "URL"%% (issue 10) ----------


def test_httpget_string_inserts_the_body_as_it_is(ws, base):
    source = f'<p>%%httpget "{base}/syndicated"%%</p>'
    assert ampc.render(source, context=Context(workspace=ws, subscriber={"FirstName": "Ana"})) == (
        '<p>Hi %%FirstName%% %%=Uppercase("x")=%%</p>'
    )


def test_before_httpget_renders_the_fetched_content(ws, base):
    source = f'<p>%%before; httpget "{base}/syndicated"%%</p>|%%BEFORE;HTTPGET\n"{base}/syndicated"%%'
    assert ampc.render(source, context=Context(workspace=ws, subscriber={"FirstName": "Ana"})) == (
        "<p>Hi Ana X</p>|Hi Ana X"
    )


def test_httpget_url_takes_the_subscribers_attributes(ws, base, server):
    source = f'%%httpget "{base}/who?id=[Email Address]&n=[n]"%%'
    context = Context(workspace=ws, subscriber={"Email Address": "ana@example.com", "n": 7})
    assert ampc.render(source, context=context) == "/who?id=ana@example.com&n=7"


def test_httpget_error_status_is_a_located_error(ws, base):
    with pytest.raises(ScriptError) as raised:
        ampc.render(f'line\n  %%httpget "{base}/status/404"%%', context=Context(workspace=ws), filename="s.amp")
    assert str(raised.value).startswith(f"s.amp:2:3: error: httpget() failed for '{base}/status/404': ")


def test_httpget_needs_the_host_allowed(tmp_path, base):
    with pytest.raises(ScriptError, match="not in the workspace's HTTP allow-list"):
        ampc.render(f'%%httpget "{base}/syndicated"%%', context=Context(workspace=tmp_path))
