"""`ampc serve`: the real server, started on 127.0.0.1 on a free port, spoken to over HTTP with httpx."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette", reason="ampc serve needs starlette")
pytest.importorskip("uvicorn", reason="ampc serve needs uvicorn")

SAMPLE = Path(__file__).parents[1] / "samples" / "cloudpage-form"
STARTUP_SECONDS = 30
REQUEST_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    folder = root / "site"
    shutil.copytree(SAMPLE, folder)
    (root / "secret.amp").write_text("SECRET-CONTENT", encoding="utf-8")
    (folder / "echo.amp").write_text(
        "q=%%=RequestParameter('q')=%% ua=%%=HTTPRequestHeader('User-Agent')=%%"
        " cookie=%%=HTTPRequestHeader('Cookie')=%% lang=%%=HTTPRequestHeader('accept-language')=%%",
        encoding="utf-8",
    )
    (folder / "broken.amp").write_text(
        '<p>fine</p>\n%%[ set @x = "<script>alert(1)</script>" set @y = Divide(1, "zero") ]%%\n', encoding="utf-8"
    )
    (folder / "typo.amp").write_text("%%=Concatt('a', '<b>')=%%", encoding="utf-8")
    (folder / "wrap.amp").write_text(
        "%%=WrapLongURL(Concat('https://example.com/', Replace(Format(0, '"
        + "0" * 990
        + "'), '0', 'x')))=%%",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def server(workspace: Path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ampc", "serve", str(workspace), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"ampc serve exited with {process.returncode}: {process.stdout.read()}")
            try:
                httpx.get(base + "/echo", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"ampc serve did not answer within {STARTUP_SECONDS} s")
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=REQUEST_SECONDS, follow_redirects=False) as client:
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_get_with_query_string_and_headers(server):
    response = server.get(
        "/echo",
        params={"q": "shoes & socks"},
        headers={"User-Agent": "pytest-ua", "Accept-Language": "fr-CA"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "q=shoes & socks ua=pytest-ua cookie= lang=fr-CA"


def test_cookies_reach_the_page(server):
    response = server.get("/echo.amp", headers={"Cookie": "session=abc; theme=dark"})
    assert "cookie=session=abc; theme=dark" in response.text


def test_form_post_and_redirect_to_the_cloudpagesurl_link(server):
    response = server.post(
        "/signup", data={"submitted": "1", "firstName": "ana", "email": "ana@example.com", "newsletter": "on"}
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(str(server.base_url).rstrip("/") + "/thanks?qs=")
    thanks = server.get(location)  # the encrypted link decodes on the local server
    assert thanks.status_code == 200
    assert "<h1>Thank you, Ana!</h1>" in thanks.text
    assert "<p>Sign-ups so far: 2</p>" in thanks.text  # the upsert persisted across requests


def test_invalid_form_post_shows_the_error_without_redirecting(server):
    response = server.post("/signup", data={"submitted": "1", "firstName": "Bo", "email": "nope"})
    assert response.status_code == 200
    assert '<p class="error">nope is not a valid email address.</p>' in response.text


def test_page_ids_of_ampc_json_are_urls(server):
    response = server.get("/1001")
    assert response.status_code == 200
    assert "<h1>Sign up for our newsletter</h1>" in response.text


def test_runtime_error_is_an_escaped_html_error_page(server):
    response = server.get("/broken")
    assert response.status_code == 500
    assert "broken.amp, line 2" in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>" not in response.text
    assert "<p>fine</p>" not in response.text.split("<table")[0]  # the page's own output is not shown


def test_compile_error_is_an_error_page(server):
    response = server.get("/typo")
    assert response.status_code == 500
    assert "typo.amp, line 1" in response.text
    assert "unknown function" in response.text
    assert "&lt;b&gt;" in response.text


def test_an_edited_page_is_recompiled_without_restart(server, workspace):
    page = workspace / "edited.amp"
    page.write_text("version %%=Add(0, 1)=%%", encoding="utf-8")
    assert server.get("/edited").text == "version 1"
    page.write_text("version %%=Add(1, 1)=%%", encoding="utf-8")
    later = page.stat().st_mtime_ns + 2_000_000_000  # a coarse file system clock must still see a change
    os.utime(page, ns=(later, later))
    assert server.get("/edited").text == "version 2"


@pytest.mark.parametrize(
    "path", ["/%2e%2e/secret.amp", "/..%2fsecret", "/%2e%2e/%2e%2e/etc/passwd", "/.hidden"]
)
def test_paths_outside_the_workspace_are_refused(server, path):
    response = server.get(path)
    assert response.status_code == 403
    assert "SECRET-CONTENT" not in response.text


@pytest.mark.parametrize("path", ["/DataExtensions/Signups.csv", "/ampc.json", "/nothing", "/4242"])
def test_only_amp_pages_are_served(server, path):
    assert server.get(path).status_code == 404


def test_long_urls_are_not_wrapped_on_a_page(server):
    # Marketing Cloud shortens only in a send; a page gets the URL back unchanged
    # (https://sfmc.guide/engagement/differs-from-docs/#wraplongurl-no-shortening-outside-a-send).
    assert server.get("/wrap").text == "https://example.com/" + "x" * 990


def test_unknown_wrapped_links_are_404(server):
    assert server.get("/ampc/wrap/0123456789abcdef0123").status_code == 404
