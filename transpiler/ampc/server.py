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

Built on Starlette (the application) and uvicorn (the HTTP server).
"""

from __future__ import annotations

import html
import os
import shutil
import sys
import tempfile
import threading
import types
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ampscript import Context, Workspace
from ampscript.errors import AMPscriptError
from ampscript.functions.sites import unwrap
from ampscript.request import Request, pages

from .compiler import attach_source, compile_source, load_module
from .errors import SourceFile


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
        source = SourceFile(name, file.read_text(encoding="utf-8-sig"))
        try:
            compiled = _Compiled(stamp, source, load_module(compile_source(source.text, name), name), None)
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
        page_request = await _page_request(request)
        try:
            output = await run_in_threadpool(_render, compiled.module, root, state, page_request)
        except AMPscriptError as error:
            attach_source(error, compiled.source)
            return _error_page(error, compiled.source)
        answer = page_request.response
        if answer.is_redirect:
            response: Response = Response(status_code=answer.status, headers={"Location": answer.location})
        else:
            body = "" if request.method == "HEAD" else output
            response = HTMLResponse(body, status_code=answer.status)
        for name, value in answer.headers.items_multi():
            response.headers.append(name, value)
        for name, value in answer.cookies.items():
            response.set_cookie(name, value)
        return response

    return Starlette(
        routes=[
            Route("/ampc/wrap/{link_id}", wrapped_link),
            Route("/ampc/live-content/{rest:path}", live_content),
            Route("/{path:path}", page, methods=["GET", "HEAD", "POST"]),
        ]
    )


def _render(
    module: types.ModuleType, workspace: Workspace, state: str | Path | None, request: Request
) -> str:
    context = Context(
        workspace=workspace, state=state, request=request, subscriber=request.subscriber(workspace)
    )
    return module.render(context)


async def _page_request(request: HttpRequest) -> Request:
    body = await request.body()  # read first: Starlette then parses the form from the cached body
    form = None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data = await request.form()
        form = [(name, getattr(value, "filename", value)) for name, value in data.multi_items()]
    return Request(
        method=request.method,
        url=str(request.url),
        form=form,
        headers=request.headers.items(),
        body=body,
    )


def _message_page(status: int, title: str, message: str) -> HTMLResponse:
    body = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{status} {html.escape(title)}</title></head>'
        f"<body><h1>{status} {html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>\n"
    )
    return HTMLResponse(body, status_code=status)


def _error_page(error: AMPscriptError, source: SourceFile, context_lines: int = 3) -> HTMLResponse:
    """500: the error as the CLI prints it, and the source lines around it, everything HTML-escaped."""
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
    return HTMLResponse(body, status_code=500)


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
