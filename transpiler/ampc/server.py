"""`ampc serve`: a local CloudPages server over a workspace.

Every ``.amp`` file in the workspace is a page, rendered afresh for each
request (GET, HEAD or form POST) with a `ampscript.request.Request` built
from it, so RequestParameter(), HTTPRequestHeader(), Redirect() and the
CloudPagesURL() links between local pages work as on Marketing Cloud.

URLs -> files: ``/`` is ``index.amp``; ``/signup`` is ``signup.amp`` (or
``signup/index.amp``); ``/signup.amp`` works too; ``/314`` is the page with
ID 314 in ampc.json's ``pages``.  Only ``.amp`` pages are served (never data
extensions, keys or settings), and no path leaves the workspace: ``..`` and
hidden folders are refused with 403.

A page is compiled once and recompiled when its file's modification time or
size changes, so edits show on the next request without a restart.  AMPscript
errors (compile or runtime) answer 500 with an HTML page naming the file and
line, with the source around it.  Data extension writes persist while the
server runs (in ``--state FILE.db``, or a temporary state file).

Limits, from the served workspace's ``ampc.json`` ``"limits"`` (re-read for
every request; `ampscript.limits`):

* ``requestBodyBytes`` (default 10,000,000): a larger request body answers
  413 before it is read: a Content-Length over the limit at once, a chunked
  upload as soon as the bytes counted pass it.  The 413 closes the
  connection (``Connection: close``), since the rest of the body is unread.
* ``renderSeconds`` (default 60): a page renders under it.  When a loop or
  an include notices the deadline the runtime raises `LimitExceeded`, and
  the answer is 503 with the error page (file, line, how to raise the
  limit).  A render stuck where nothing checks the clock is not waited for
  past the deadline plus `RENDER_GRACE_SECONDS`: the answer is 503 all the
  same.  Python cannot stop a thread, so that render's worker thread is
  abandoned: it runs on until the render ends by itself (its output is then
  dropped, but what it wrote to data extensions stays), and while
  `MAX_OVERRUNNING_RENDERS` (8) or more such threads still run, every new
  page request answers 503 at once instead of starting another (choice).

Headers a page sets (Redirect()'s Location, and any header or cookie a
`Response` carries) are made safe before they are sent, so a script value
with CR or LF cannot split the response or make the server drop the
connection: control characters are percent-encoded (choice, as ASP.NET
does; `ampscript.request.safe_location` and `safe_header_value`).  A header
or cookie *name* that is not an HTTP token answers 500 with an error page.

Built on Starlette (the application) and uvicorn (the HTTP server).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sys
import tempfile
import threading
import types
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ampscript import Context, Workspace
from ampscript.errors import AMPscriptError, ScriptError
from ampscript.functions.sites import unwrap
from ampscript.limits import LimitExceeded, Limits
from ampscript.request import Request, pages, safe_header_value, safe_location

from .compiler import attach_source, compile_module
from .errors import SourceFile

# How long past a render's deadline the server still waits for it (the runtime
# notices the deadline at its next loop or include; this covers that, and the
# time the render takes to start and to unwind).
RENDER_GRACE_SECONDS = 1.0
# Abandoned renders (past deadline and grace) still running, beyond which new
# page requests answer 503 at once rather than start another worker thread.
MAX_OVERRUNNING_RENDERS = 8
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # a header or cookie name (RFC 9110 token)


@dataclass
class _Compiled:
    stamp: tuple[int, int]  # (mtime_ns, size) of the file compiled
    source: SourceFile
    module: types.ModuleType | None
    error: AMPscriptError | None  # a compile error, kept until the file changes


class PageCache:
    """Compiled pages by file, recompiled when the file changes."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._pages: dict[Path, _Compiled] = {}
        self._lock = threading.Lock()

    def get(self, file: Path) -> _Compiled:
        status = file.stat()
        stamp = (status.st_mtime_ns, status.st_size)
        with self._lock:
            cached = self._pages.get(file)
        if cached is not None and cached.stamp == stamp:
            return cached
        name = file.relative_to(self.workspace.root).as_posix()
        try:
            # Read through the workspace's resolver, like every other workspace file.
            source = SourceFile(name, self.workspace.read_text(name))
        except AMPscriptError as error:  # not UTF-8, or swapped for a link since it was resolved
            return _Compiled(stamp, SourceFile(name, ""), None, error)
        try:
            module = compile_module(source.text, name, code_file=str(file))
            compiled = _Compiled(stamp, source, module, None)
        except AMPscriptError as error:
            compiled = _Compiled(stamp, source, None, error)
        with self._lock:
            self._pages[file] = compiled
        return compiled


class _Refused(Exception):
    """A path that would leave the workspace or reach hidden files (403)."""


def resolve_page(workspace: Workspace, url_path: str) -> Path | None:
    """The .amp file a URL path names, None if there is none; `_Refused` for paths outside the workspace."""
    relative = url_path.strip("/")
    segments = [segment for segment in relative.split("/") if segment]
    if any(
        segment in (".", "..") or segment.startswith(".") or "\\" in segment or "\0" in segment
        for segment in segments
    ):
        raise _Refused(url_path)
    relative = "/".join(segments)
    if not relative:
        candidates = ["index.amp"]
    elif relative.lower().endswith(".amp"):
        candidates = [relative]
    else:
        candidates = [f"{relative}.amp", f"{relative}/index.amp"]
        mapped = pages(workspace).get(relative)
        if mapped is not None:
            candidates.append(mapped)
    for candidate in candidates:
        try:
            file = workspace.path(*candidate.replace("\\", "/").split("/"))
        except AMPscriptError:
            raise _Refused(url_path) from None
        if file.is_file() and file.suffix.lower() == ".amp":
            return file
    return None


def create_app(workspace: str | Path, state: str | Path | None = None) -> Starlette:
    """The Starlette application serving `workspace`; data writes go to the SQLite file `state`."""
    root = Workspace(workspace)
    cache = PageCache(root)
    renders = _Renders()

    async def wrapped_link(request: HttpRequest) -> Response:
        target = unwrap(request.path_params["link_id"])
        if target is None:
            return _message_page(404, "Unknown link", "This WrapLongURL() link was not made by this server.")
        return RedirectResponse(target, status_code=302)

    async def live_content(request: HttpRequest) -> Response:
        return _message_page(404, "Live content", "Live content coupons are not simulated by ampc.")

    async def page(request: HttpRequest) -> Response:
        try:
            file = resolve_page(root, request.url.path)
        except _Refused:
            return _message_page(403, "Forbidden", "That path is outside the workspace's pages.")
        if file is None:
            return _message_page(
                404,
                "Page not found",
                f"No page for {request.url.path}: pages are the workspace's .amp files "
                '(/signup is signup.amp), or page IDs mapped in ampc.json: {"pages": {"314": "confirm.amp"}}.',
            )
        compiled = await run_in_threadpool(cache.get, file)
        if compiled.error is not None:
            return _error_page(compiled.error, compiled.source)
        try:
            limits = await run_in_threadpool(_limits, root)
        except AMPscriptError as error:
            return _error_page(error, compiled.source)
        if renders.overrunning >= MAX_OVERRUNNING_RENDERS:
            return _message_page(
                503,
                "Server busy",
                f"{renders.overrunning} renders ran past their time limit (renderSeconds = "
                f"{limits.render_seconds:g}) and are still running; new pages render once they end.",
            )
        try:
            page_request = await _page_request(request, limits.request_body_bytes)
        except _BodyTooLarge as error:
            return _too_large(error, limits)
        waited = limits.render_seconds + RENDER_GRACE_SECONDS
        try:
            output = await renders.run(waited, _render, compiled.module, root, state, page_request, limits)
        except _Overran:
            return _message_page(
                503,
                "Render took too long",
                f"{compiled.source.name} did not finish within its time limit (renderSeconds = "
                f"{limits.render_seconds:g}, waited {waited:g} seconds); its render was abandoned. "
                + limits.describe("render_seconds"),
            )
        except AMPscriptError as error:
            attach_source(error, compiled.source)
            timed_out = isinstance(error, LimitExceeded) and error.limit == "render_seconds"
            return _error_page(error, compiled.source, status=503 if timed_out else 500)
        try:
            return _answer(page_request, output, request.method == "HEAD")
        except ScriptError as error:
            return _error_page(error, compiled.source)

    return Starlette(
        routes=[
            Route("/ampc/wrap/{link_id}", wrapped_link),
            Route("/ampc/live-content/{rest:path}", live_content),
            Route("/{path:path}", page, methods=["GET", "HEAD", "POST"]),
        ]
    )


def _limits(workspace: Workspace) -> Limits:
    """The served workspace's limits, as a render on it would get them (ampc.json is re-read)."""
    return Context(workspace=workspace, subscriber={}).limits


def _render(
    module: types.ModuleType,
    workspace: Workspace,
    state: str | Path | None,
    request: Request,
    limits: Limits,
) -> str:
    context = Context(
        workspace=workspace,
        state=state,
        request=request,
        subscriber=request.subscriber(workspace),
        limits=limits,
    )
    return module.render(context)


class _Overran(Exception):
    """A render went on past its deadline and the grace; it was abandoned."""


class _Renders:
    """Runs renders in worker threads, waiting for each no longer than its time limit allows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.overrunning = 0  # abandoned renders whose threads still run

    async def run(self, seconds: float, function, *args):
        finished = False
        abandoned = False

        def work():
            nonlocal finished
            try:
                return function(*args)
            finally:
                with self._lock:
                    finished = True
                    if abandoned:
                        self.overrunning -= 1

        with anyio.move_on_after(seconds):
            # abandon_on_cancel: when the wait ends, the thread runs on, its result ignored.
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        with self._lock:
            if not finished:
                abandoned = True
                self.overrunning += 1
        raise _Overran


def _answer(page_request: Request, output: str, head: bool) -> Response:
    """The HTTP response for a rendered page: its redirect or output, and the headers it set, made safe."""
    answer = page_request.response
    if answer.is_redirect:
        # Response.redirect already encoded it; encoding again changes nothing but guards other callers.
        location = safe_location(answer.location or "")
        response: Response = Response(status_code=answer.status, headers={"Location": location})
    else:
        response = HTMLResponse("" if head else output, status_code=answer.status)
    for name, value in answer.headers.items_multi():
        response.headers.append(_header_name(name, "header"), safe_header_value(value))
    for name, value in answer.cookies.items():
        response.set_cookie(_header_name(name, "cookie"), safe_header_value(value))
    return response


def _header_name(name: str, kind: str) -> str:
    if not _TOKEN.match(name):
        raise ScriptError(f"the page set a response {kind} whose name is not valid in HTTP: {name!r}")
    return name


class _BodyTooLarge(Exception):
    """A request body over requestBodyBytes; `declared` is its Content-Length, if it said one."""

    def __init__(self, declared: int | None) -> None:
        super().__init__(declared)
        self.declared = declared


async def _read_body(request: HttpRequest, limit: int) -> bytes:
    """The request's body, refused (`_BodyTooLarge`) as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge(int(declared))  # nothing read
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # a chunked upload: counted as it comes
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge(None)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(error: _BodyTooLarge, limits: Limits) -> HTMLResponse:
    said = f" (Content-Length {error.declared:,})" if error.declared is not None else ""
    response = _message_page(
        413,
        "Request body too large",
        f"The request body is larger than requestBodyBytes = {limits.request_body_bytes:,} bytes{said}. "
        + limits.describe("request_body_bytes"),
    )
    response.headers["Connection"] = "close"  # the rest of the body is not read
    return response


async def _page_request(request: HttpRequest, body_limit: int) -> Request:
    body = await _read_body(request, body_limit)
    form = None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data = await HttpRequest(request.scope, _replay(body)).form()  # parsed from the body read above
        form = [(name, getattr(value, "filename", value)) for name, value in data.multi_items()]
    return Request(
        method=request.method,
        url=str(request.url),
        form=form,
        headers=request.headers.items(),
        body=body,
    )


def _replay(body: bytes):
    """An ASGI receive channel that hands over a body already read, in one message."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _message_page(status: int, title: str, message: str) -> HTMLResponse:
    body = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{status} {html.escape(title)}</title></head>'
        f"<body><h1>{status} {html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>\n"
    )
    return HTMLResponse(body, status_code=status)


def _error_page(
    error: AMPscriptError, source: SourceFile, context_lines: int = 3, status: int = 500
) -> HTMLResponse:
    """500 (or `status`): the error as the CLI prints it, and the source lines around it, all HTML-escaped."""
    where = error.filename or source.name
    if error.line is not None:
        where += f", line {error.line}" + (f", column {error.column}" if error.column else "")
    excerpt = ""
    if error.line is not None and error.filename in (None, source.name):
        last = min(error.line + context_lines, source.text.count("\n") + 1)
        rows = []
        for number in range(max(1, error.line - context_lines), last + 1):
            marker = ' class="error"' if number == error.line else ""
            rows.append(f"<tr{marker}><th>{number}</th><td>{html.escape(source.line(number))}</td></tr>")
        excerpt = '<table class="source">' + "".join(rows) + "</table>"
    body = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>AMPscript error</title>'
        "<style>body{font-family:sans-serif} pre,table{font-family:monospace}"
        " th{color:#888;text-align:right;padding-right:1em} tr.error{background:#fdd}</style></head><body>"
        f'<h1>AMPscript error</h1><p class="where">{html.escape(where)}</p>'
        f'<pre class="message">{html.escape(str(error))}</pre>{excerpt}</body></html>\n'
    )
    return HTMLResponse(body, status_code=status)


def serve(
    workspace: str | Path, *, host: str = "127.0.0.1", port: int = 8000, state: str | Path | None = None
) -> None:
    """Serve the workspace until interrupted (Ctrl+C)."""
    import uvicorn

    temporary = None
    if state is None:  # writes persist while the server runs, and vanish with it
        temporary = tempfile.mkdtemp(prefix="ampc-serve-")
        state = os.path.join(temporary, "state.db")
    try:
        print(
            f"ampc serve: {Path(workspace).resolve()} at http://{host}:{port}/ (Ctrl+C stops)",
            file=sys.stderr,
        )
        uvicorn.run(create_app(workspace, state), host=host, port=port, log_level="warning")
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
