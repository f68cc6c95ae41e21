"""The `ampc` command line.

    ampc compile FILE.amp [-o OUT.py]     write the generated Python module
    ampc run FILE.amp [--workspace DIR] [--subscriber FILE.json] [--state FILE.db]
                      [--backend simulator|soap] [--config FILE.json]
                      [--method GET|POST] [--param NAME=VALUE]... [--header 'NAME: VALUE']...
                      [--cookie NAME=VALUE]... [--url URL]      render as a page, for a request
    ampc debug FILE.amp [-b LINE]... [the options of run]   render under pdb, stepping through .amp lines
    ampc serve WORKSPACE [--port N] [--host 127.0.0.1] [--state FILE.db]   a local CloudPages server
    ampc check FILE.amp... [--format text|json] [--strict] [--context email|page|sms] [--workspace DIR]
                                         report every error and warning; exit 1 on errors
    ampc functions [--json]              list the supported AMPscript functions

Problems are printed as `FILE.amp:LINE:COL: error: MESSAGE`, with the source
line and a caret, on stderr, and the exit code is 1.  Internal errors are
reported the same way, without a traceback unless AMPC_DEBUG=1 is set.

With any of --method, --param, --header, --cookie or --url, `ampc run`
renders the file as a landing page for that request (`ampscript.request`):
--param values go in the query string of a GET and in the form fields of a
POST (default method GET; default URL http://127.0.0.1:8000/<file stem>).
The body goes to stdout; a page that redirects also prints the status and
the Location on stderr (`HTTP 302 Found` / `Location: URL`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ampscript.contexts import KINDS
from ampscript.errors import AMPscriptError

# The compiler (Lark, libcst, black), the runtime's context and the function
# registry are imported by the commands that use them, so that `ampc --help`
# answers without them.
if TYPE_CHECKING:
    from ampscript.request import Request


class _Failure(Exception):
    """A problem already reported on stderr; exit with status 1."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments().parse_args(argv)
    try:
        return arguments.command(arguments)
    except _Failure:
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ampc functions | head`: the reader has gone; nothing to report
        sys.stderr.close()
        return 0
    except AMPscriptError as error:
        _report(error)
        return 1
    except Exception as error:  # an ampc bug: say so plainly, keep the traceback for those who ask
        if os.environ.get("AMPC_DEBUG"):
            traceback.print_exc()
        print(
            f"ampc: internal error: {type(error).__name__}: {error}\n"
            "this is a bug in ampc; set AMPC_DEBUG=1 to see the Python traceback",
            file=sys.stderr,
        )
        return 1


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ampc", description="Compile AMPscript to Python, and run it.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show ampc's version and exit")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    compile_ = commands.add_parser(
        "compile", help="compile AMPscript files (or every .amp/.ampscript in folders) into Python modules"
    )
    compile_.add_argument("files", type=Path, nargs="+", metavar="FILE.amp|DIR")
    compile_.add_argument(
        "-o", "--output", metavar="OUT.py", help="where to write the module of one file ('-' for stdout)"
    )
    compile_.set_defaults(command=_compile)

    run = commands.add_parser("run", help="compile and render an AMPscript file, printing its output")
    _render_options(run)
    run.set_defaults(command=_run)

    debug = commands.add_parser(
        "debug", help="render an AMPscript file under pdb, stopping at its first line (breakpoints on .amp lines)"
    )
    _render_options(debug)
    debug.add_argument(
        "-b", "--break", dest="breaks", action="append", type=int, default=[], metavar="LINE",
        help="stop at this line of the script (repeatable); without any, stop at its first line",
    )
    debug.set_defaults(command=_debug)

    serve = commands.add_parser("serve", help="serve a workspace's .amp pages as local CloudPages")
    serve.add_argument("workspace", type=Path, metavar="WORKSPACE")
    serve.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument(
        "--state", type=Path, metavar="FILE.db",
        help="keep data extension writes in this SQLite file (default: a temporary one, for this run)",
    )
    serve.set_defaults(command=_serve)

    check = commands.add_parser(
        "check", help="report every error, and warnings for what Marketing Cloud accepts silently"
    )
    check.add_argument("files", type=Path, nargs="+", metavar="FILE.amp|DIR")
    check.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument(
        "--context", choices=KINDS, help="report what Marketing Cloud rejects in this kind of content"
    )
    check.add_argument(
        "--workspace", type=Path, metavar="DIR",
        help="the workspace whose subscriber.json personalization strings are checked against "
        "(default: each file's folder)",
    )
    check.set_defaults(command=_check)

    from .batch_cli import add_commands  # ampc batch, ampc diff

    add_commands(commands, KINDS)

    functions = commands.add_parser("functions", help="list the supported AMPscript functions")
    functions.add_argument("--json", action="store_true", help="machine-readable output")
    functions.set_defaults(command=_functions)
    return parser


def _render_options(parser: argparse.ArgumentParser) -> None:
    """The options of `ampc run`, which `ampc debug` shares: what to render, with what data and request."""
    parser.add_argument("file", type=Path, metavar="FILE.amp")
    parser.add_argument("--workspace", type=Path, metavar="DIR", help="the workspace folder (default: the file's folder)")
    parser.add_argument("--subscriber", type=Path, metavar="FILE.json", help="subscriber attributes as a JSON object")
    parser.add_argument(
        "--state", type=Path, metavar="FILE.db", help="keep the simulator's state in this SQLite file across runs"
    )
    parser.add_argument(
        "--backend",
        choices=("simulator", "tenant", "soap"),
        default="simulator",
        help="where data extensions, content and API calls go: the embedded simulator (default) or a real "
        "Marketing Cloud tenant (its SOAP and REST APIs); soap: the tenant's API objects only",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE.json",
        help="tenant settings, a JSON file outside the workspace (default: the AMPC_MC_* environment variables)",
    )
    parser.add_argument(
        "--salesforce",
        choices=("simulator", "rest"),
        default="simulator",
        help="where the Sales and Service Cloud functions go: the org simulator (default, the workspace's "
        "Salesforce/ folder) or a real org over its REST API (the AMPC_SF_* environment variables)",
    )
    sms = parser.add_argument_group("inbound SMS (render as a MobileConnect reply)")
    sms.add_argument("--sms", metavar="TEXT", help='the message the contact sent, such as "JOIN gold plan": Msg(0)')
    sms.add_argument("--short-code", metavar="CODE", default="", help="the short or long code it was sent to: SHORT_CODE")
    sms.add_argument("--mobile", metavar="NUMBER", default="", help="the contact's phone number: MOBILE_NUMBER")
    sms.add_argument(
        "--mms-url", action="append", default=[], metavar="URL", help="an MMS content item's URL: MMS_Content_URL(0), ...; repeatable"
    )
    page = parser.add_argument_group("page request (render as a CloudPage)")
    page.add_argument("--method", type=str.upper, choices=("GET", "POST"), help="the request method (default GET)")
    page.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="a request parameter (query string for GET, form field for POST); repeatable",
    )
    page.add_argument(
        "--header", action="append", default=[], metavar="'NAME: VALUE'", help="a request header; repeatable"
    )
    page.add_argument("--cookie", action="append", default=[], metavar="NAME=VALUE", help="a cookie; repeatable")
    page.add_argument("--url", metavar="URL", help="the page's URL, e.g. a CloudPagesURL() link with its qs")
    parser.add_argument(
        "--context", choices=KINDS,
        help="reject what Marketing Cloud rejects in this kind of content (default: accept everything)",
    )


def _read(path: Path, *, quiet: bool = False) -> str:
    """The file's text; or print why it cannot be read (unless `quiet`) and raise _Failure saying why."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        message = "no such file"
    except IsADirectoryError:
        message = "is a folder, not an AMPscript file"
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text (byte {error.start}); save the file as UTF-8"
    except OSError as error:
        message = f"cannot read: {error.strerror}"
    if not quiet:
        print(f"{path}: error: {message}", file=sys.stderr)
    raise _Failure(message)


def _report(error: AMPscriptError) -> None:
    print(str(error), file=sys.stderr)


def _compile_reporting(source: str, filename: str, *, run: bool, kind: str | None = None) -> Any:
    """Compile (to a loaded module if `run`, else to readable source); print the calls that will fail if they run.

    Those are calls with the wrong number of arguments, printed as warnings.
    """
    from .compiler import compile_module, compile_source
    from .diagnostics import Diagnostics

    diagnostics = Diagnostics()
    if run:
        compiled = compile_module(source, filename, diagnostics=diagnostics, kind=kind)
    else:
        compiled = compile_source(source, filename, diagnostics=diagnostics, kind=kind)
    for item in diagnostics.sorted():
        if item.deferred:
            print(item.format("warning") + "\nnote: this call fails when it runs", file=sys.stderr)
    return compiled


def _compile(arguments: argparse.Namespace) -> int:
    """Compile each file (folders: their .amp and .ampscript files, recursively) to a module beside it."""
    files, empty = _script_files(arguments.files)
    if arguments.output is not None and (len(files) != 1 or arguments.files[0].is_dir()):
        print("ampc compile: error: -o/--output takes one AMPscript file, not several or a folder", file=sys.stderr)
        return 2
    for folder in empty:
        print(f"{folder}: error: {_NO_SCRIPTS}", file=sys.stderr)
    failed = len(empty)
    with _progress(files, "compiling") as advance:
        for path in files:
            try:
                _compile_one(path, arguments.output)
            except _Failure:
                failed += 1
            except AMPscriptError as error:
                _report(error)
                failed += 1
            advance(path)
    if len(files) > 1:  # one file: its own messages say it all
        compiled = len(files) + len(empty) - failed
        print(f"compiled {compiled} of {_count(len(files), 'file')}"
              + (f", {failed} failed" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


def _compile_one(path: Path, output: str | None) -> None:
    module = _compile_reporting(_read(path), str(path), run=False)
    if output == "-":
        sys.stdout.write(module)
        return
    target = Path(output) if output else path.with_suffix(".py")
    if target.resolve() == path.resolve():
        print(f"{target}: error: refusing to overwrite the AMPscript source", file=sys.stderr)
        raise _Failure("refusing to overwrite the AMPscript source")
    target.write_text(module, encoding="utf-8")


_NO_SCRIPTS = "a folder without .amp or .ampscript files"


def _script_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The files named, each folder replaced by its .amp and .ampscript files (recursively, sorted); and the
    folders that have none (an error: nothing there would be compiled or checked)."""
    from ampscript.rendering import SCRIPT_SUFFIXES

    files: list[Path] = []
    empty: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SCRIPT_SUFFIXES and p.is_file())
            files.extend(found)
            if not found:
                empty.append(path)
        else:
            files.append(path)
    return files, empty


# Runs over at least this many files show a progress bar (on a terminal only).
PROGRESS_FROM = 10


@contextmanager
def _progress(files: list[Path], verb: str) -> Iterator[Callable[[Path], None]]:
    """An `advance(path)` to call once per file: a rich progress bar on stderr for long runs on a terminal.

    Messages printed to stderr meanwhile appear above the bar (rich
    redirects them); the bar goes away when the run ends, leaving the
    messages and the summary line.  rich is imported only then.
    """
    if len(files) < PROGRESS_FROM or not sys.stderr.isatty():
        yield lambda path: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn(verb), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), TextColumn("{task.description}"))
    # soft_wrap: messages printed meanwhile keep their lines (rich would wrap them at its width).
    with Progress(*columns, console=Console(file=sys.stderr, soft_wrap=True), transient=True) as progress:
        task = progress.add_task("", total=len(files))
        yield lambda path: progress.update(task, advance=1, description=str(path))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _run(arguments: argparse.Namespace) -> int:
    return _render_file(arguments, lambda module, context, source: module.render(context))


def _debug(arguments: argparse.Namespace) -> int:
    from .debugging import debug_render

    return _render_file(
        arguments, lambda module, context, source: debug_render(module, context, arguments.breaks, source)
    )


def _render_file(arguments: argparse.Namespace, render: Any) -> int:
    """Compile the file and render it with `render(module, context, source)` (`ampc run` and `ampc debug`)."""
    from http import HTTPStatus

    from ampscript import Context, Workspace

    from .compiler import attach_source
    from .errors import SourceFile

    source = _read(arguments.file)
    filename = str(arguments.file)
    module = _compile_reporting(source, filename, run=True, kind=arguments.context)
    subscriber = None
    if arguments.subscriber is not None:
        subscriber = _load_subscriber(arguments.subscriber)
    workspace = Workspace(arguments.workspace if arguments.workspace is not None else arguments.file.parent)
    request = _page_request(arguments)
    try:
        if subscriber is None and request is not None:
            subscriber = request.subscriber(workspace)  # the email's subscriber, from a CloudPagesURL link
        context = Context(
            workspace=workspace,
            subscriber=subscriber,
            state=arguments.state,
            backend=_backend(arguments),
            connections=_connections(arguments),
            request=request,
            sms=_inbound_sms(arguments),
            kind=arguments.context,
        )
        output = render(module, context, source)
    except AMPscriptError as error:
        attach_source(error, SourceFile(filename, source))
        raise
    if output is None:  # the debugger was quit before the render ended
        return 1
    if request is not None and request.response.is_redirect:
        answer = request.response
        print(f"HTTP {answer.status} {HTTPStatus(answer.status).phrase}\nLocation: {answer.location}", file=sys.stderr)
    sys.stdout.write(output)
    sys.stdout.flush()
    return 0


def _page_request(arguments: argparse.Namespace) -> Request | None:
    """The request `ampc run` renders the page for, if any request option was given."""
    if not (arguments.method or arguments.param or arguments.header or arguments.cookie or arguments.url):
        return None
    from ampscript.request import DEFAULT_SITE_URL, Request

    method = arguments.method or "GET"
    params = [_pair(text, "=", "--param", "NAME=VALUE") for text in arguments.param]
    headers = [_pair(text, ":", "--header", "'NAME: VALUE'") for text in arguments.header]
    cookies = dict(_pair(text, "=", "--cookie", "NAME=VALUE") for text in arguments.cookie)
    if method == "POST" and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    url = arguments.url or f"{DEFAULT_SITE_URL}/{arguments.file.stem}"
    try:
        return Request(
            method,
            url,
            query=params if method == "GET" else None,
            form=params if method == "POST" else None,
            headers=headers,
            cookies=cookies or None,
        )
    except ValueError as error:
        print(f"ampc run: error: --url: {error}", file=sys.stderr)
        raise _Failure from None


def _pair(text: str, separator: str, option: str, shape: str) -> tuple[str, str]:
    name, found, value = text.partition(separator)
    if not found or not name.strip():
        print(f"ampc run: error: {option} expects {shape}, got {text!r}", file=sys.stderr)
        raise _Failure
    return name.strip(), value.strip() if separator == ":" else value


def _serve(arguments: argparse.Namespace) -> int:
    if not arguments.workspace.is_dir():
        print(f"{arguments.workspace}: error: not a folder (ampc serve takes a workspace folder)", file=sys.stderr)
        return 1
    try:
        from .server import serve
    except ImportError as error:
        print(
            f"ampc serve: error: {error.name or error} is not installed: pip install starlette uvicorn python-multipart",
            file=sys.stderr,
        )
        return 1
    serve(arguments.workspace, host=arguments.host, port=arguments.port, state=arguments.state)
    return 0


def _backend(arguments: argparse.Namespace):
    """The tenant when asked for (configured from a file or the environment), else None (the simulator).

    ``--backend soap`` sends API objects to the tenant and nothing else (data
    extension functions then say the backend lacks them); ``tenant`` sends
    data extensions and content there too.
    """
    if arguments.backend == "simulator":
        if arguments.config is not None:
            print("ampc run: error: --config applies to --backend tenant (or soap) only", file=sys.stderr)
            raise _Failure
        return None
    from ampscript.backends.soap import SoapBackend, SoapConfig, SoapConfigError
    from ampscript.backends.tenant import TenantBackend

    if arguments.config is not None:
        workspace = (arguments.workspace if arguments.workspace is not None else arguments.file.parent).resolve()
        if arguments.config.resolve().is_relative_to(workspace):
            print(
                f"ampc run: error: --config {arguments.config} is inside the workspace ({workspace}), which may be "
                "tracked or shared; keep the tenant's credentials outside it (or in the AMPC_MC_* environment variables)",
                file=sys.stderr,
            )
            raise _Failure
    try:
        config = SoapConfig.from_file(arguments.config) if arguments.config else SoapConfig.from_env()
    except (SoapConfigError, OSError) as error:
        print(f"ampc run: error: {error}", file=sys.stderr)
        raise _Failure from None
    return TenantBackend(config) if arguments.backend == "tenant" else SoapBackend(config)


def _inbound_sms(arguments: argparse.Namespace):
    """The inbound SMS of --sms (with --short-code, --mobile and --mms-url), or None."""
    if arguments.sms is None:
        if arguments.short_code or arguments.mobile or arguments.mms_url:
            print("ampc run: error: --short-code, --mobile and --mms-url describe an --sms message; give --sms too",
                  file=sys.stderr)
            raise _Failure
        return None
    from ampscript.sms import InboundSms

    return InboundSms(arguments.sms, arguments.short_code, arguments.mobile, tuple(arguments.mms_url))


def _connections(arguments: argparse.Namespace) -> list:
    """The connections asked for besides the backend: a Salesforce org over REST."""
    if arguments.salesforce != "rest":
        return []
    from ampscript.backends.salesforce_rest import SalesforceConfig, SalesforceConfigError, SalesforceRest

    try:
        return [SalesforceRest(SalesforceConfig.from_env())]
    except SalesforceConfigError as error:
        print(f"ampc run: error: --salesforce rest: {error} (see the AMPC_SF_* variables in the README)", file=sys.stderr)
        raise _Failure from None


def _load_subscriber(path: Path) -> dict:
    from ampscript.values import parse_json

    text = _read(path)
    try:
        data = parse_json(text)
    except json.JSONDecodeError as error:
        print(f"{path}:{error.lineno}:{error.colno}: error: invalid JSON: {error.msg}", file=sys.stderr)
        raise _Failure from None
    if not isinstance(data, dict):
        print(f"{path}: error: expected a JSON object of attribute names to values", file=sys.stderr)
        raise _Failure
    return data


def _check(arguments: argparse.Namespace) -> int:
    """Report every diagnostic of every file; exit 1 on errors (and on warnings with --strict)."""
    from .check import check_source
    from .diagnostics import Diagnostic

    found: list[Diagnostic] = []
    as_json = arguments.format == "json"
    files, empty = _script_files(arguments.files)
    for folder in empty:
        found.append(Diagnostic("AMP000", _NO_SCRIPTS, str(folder), None, None))
        if not as_json:
            print(f"{folder}: error: {_NO_SCRIPTS}", file=sys.stderr)
    with _progress(files, "checking") as advance:
        for path in files:
            try:
                source = _read(path, quiet=as_json)
            except _Failure as failure:
                found.append(Diagnostic("AMP000", failure.message, str(path), None, None))
                advance(path)
                continue
            diagnostics = check_source(
                source, str(path), subscriber_names=_subscriber_names(arguments.workspace or path.parent),
                kind=arguments.context,
            )
            found.extend(diagnostics)
            if not as_json:
                for item in diagnostics:
                    print(item.format(), file=sys.stderr)
            advance(path)
    errors = sum(item.severity == "error" for item in found)
    warnings = len(found) - errors
    if as_json:
        print(json.dumps([item.as_json() for item in found], indent=2, ensure_ascii=False))
    else:
        print(
            f"checked {_count(len(files), 'file')}: {_count(errors, 'error')}, {_count(warnings, 'warning')}",
            file=sys.stderr,
        )
    return 1 if errors or (arguments.strict and warnings) else 0


def _subscriber_names(folder: Path) -> set[str] | None:
    """The attribute names of a workspace's subscriber.json, or None if it has none (or it is unreadable)."""
    from ampscript import Workspace

    try:
        workspace = Workspace(folder)
        if not workspace.is_file("subscriber.json"):
            return None
        return set(workspace.subscriber())
    except (AMPscriptError, OSError, ValueError):
        return None


def _functions(arguments: argparse.Namespace) -> int:
    from ampscript.registry import all_functions

    specs = all_functions()
    if arguments.json:
        rows = [
            {
                "name": spec.name,
                "category": spec.category,
                "minArgs": spec.min_args,
                "maxArgs": spec.max_args,
                "outParams": sorted(position + 1 for position in spec.out_params),
                "parameters": [
                    {"name": p.name, "type": p.kind, "optional": p.optional, "variadic": p.variadic}
                    for p in spec.parameters
                ],
            }
            for spec in specs
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        plural = "" if spec.max_args == 1 and spec.min_args == 1 else "s"
        print(f"{spec.name:<{width}}  {spec.category:<22}  {spec.arity_text()} argument{plural}")
    return 0


class _Version(argparse.Action):
    """``--version``, looked up only when asked for (argparse's own would read the metadata at every start)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from . import __version__

        print(f"ampc {__version__}")
        parser.exit()


if __name__ == "__main__":
    sys.exit(main())
