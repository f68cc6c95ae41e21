"""The pytest plugin: AMPscript golden files as tests, and fixtures to render AMPscript in tests.

Installing ampc registers it (the ``pytest11`` entry point ``ampc``; ``-p
no:ampc`` turns it off).  Any pytest run then collects each ``X.amp`` (or
``X.ampscript``) that has an ``X.expected`` beside it as one test: the script
renders with its folder as the workspace and its output must equal the
expected file byte for byte, except that ``<GUID>`` in the expected file
stands for any GUID (a GUID() or a request ID is fresh on every render).
Files beside the script, all optional, set up the render:

* ``X.subscriber.json``: the subscriber's attributes (default: the
  workspace's own ``subscriber.json``);
* ``X.params.json``: makes the render a CloudPage request, a JSON object of
  `ampscript.request.Request`'s arguments (``method``, ``url``, ``query``,
  ``form``, ``headers``, ``cookies``, ``body``, ``authenticated``);
* ``X.now``: the system time Now() gives, ISO 8601 (``2024-05-01T09:30:00``).

``--ampc-update`` rewrites the expected files that differ instead of failing.

Fixtures: `ampscript_render` renders a file or a source text (each render on
a fresh `ampscript.Context`, so no simulator state leaks between renders or
tests); `ampscript_context` makes contexts a test shares between renders.

Every pytest run in an environment with ampc imports this module, so it
imports nothing but pytest and the standard library up front: the compiler
(Lark, libcst, black) and the runtime load when an AMPscript test runs.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import types

    from ampscript import Context

# ampscript.rendering.SCRIPT_SUFFIXES, spelled out here: importing the runtime
# to read it would cost every pytest run ~70 ms (tests/test_pytest_plugin.py
# checks that the two agree).
SCRIPT_SUFFIXES = (".amp", ".ampscript")
EXPECTED_SUFFIX = ".expected"
SUBSCRIBER_SUFFIX = ".subscriber.json"
PARAMS_SUFFIX = ".params.json"
NOW_SUFFIX = ".now"
GUID_PLACEHOLDER = "<GUID>"
ENTRY_POINT = "ampc"  # the plugin's name in pyproject.toml's pytest11 entry points
REQUEST_KEYS = ("method", "url", "query", "form", "headers", "cookies", "body", "authenticated")

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_GUID_LENGTH = 36

_updated_key = pytest.StashKey[list[Path]]()
_modules_key = pytest.StashKey[dict[tuple[str, str], "types.ModuleType"]]()


class GoldenFileError(Exception):
    """A golden script's own files are wrong (bad JSON, a bad date): reported as this message alone."""


class OutputMismatch(Exception):
    """The render's output is not the expected file's; the message is the whole report."""


# Hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ampc", "AMPscript golden files (ampc)")
    group.addoption(
        "--ampc-update",
        action="store_true",
        default=False,
        help="rewrite the .expected file of each AMPscript golden script whose output differs, "
        "instead of failing (never when the render raises an error)",
    )


def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """Let ``-p ampc.pytest_plugin`` work where ampc is installed.

    That option registers this module under its module name; the installed
    entry point would then register it again as "ampc", which pytest refuses
    ("Plugin already registered under a different name").  The module is
    loaded, so the entry point's name is marked as done (blocked).
    """
    loaded_by_module_name = plugin is sys.modules[__name__] and manager.get_name(plugin) != ENTRY_POINT
    if (
        loaded_by_module_name
        and manager.get_plugin(ENTRY_POINT) is None
        and not manager.is_blocked(ENTRY_POINT)
    ):
        manager.set_blocked(ENTRY_POINT)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_updated_key] = []
    config.stash[_modules_key] = {}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_golden_script(file_path):
        return AmpscriptFile.from_parent(parent, path=file_path)
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    updated = config.stash.get(_updated_key, [])
    if updated:
        files = "file" if len(updated) == 1 else "files"
        terminalreporter.write_sep("-", f"ampc: updated {len(updated)} expected {files}")
        for path in updated:
            terminalreporter.write_line(f"ampc: updated {path}")


def is_golden_script(path: Path) -> bool:
    """An AMPscript file with its expected output beside it; a bare script (a content block) is no test."""
    return path.suffix.lower() in SCRIPT_SUFFIXES and path.with_suffix(EXPECTED_SUFFIX).is_file()


# Golden-file items


class AmpscriptFile(pytest.File):
    """An AMPscript file with an expected output: one item, named after the expected file."""

    def collect(self):
        yield AmpscriptItem.from_parent(self, name=self.path.with_suffix(EXPECTED_SUFFIX).name)


class AmpscriptItem(pytest.Item):
    """Render the script as its side files say and compare the output with the expected file."""

    def runtest(self) -> None:
        script = self.path
        expected_file = script.with_suffix(EXPECTED_SUFFIX)
        expected = read_utf8(expected_file, strip_bom=False)  # byte-exact: CRLF stays CRLF
        source, module = load_script(self.config, script)
        actual = render_module(module, source, str(script), golden_context(script))
        difference = first_difference(expected, actual)
        if difference is None:
            return
        if self.config.getoption("ampc_update"):
            self.update_expected(expected_file, expected, actual)
            return
        writer = locate_writer(module, lambda: golden_context(script), source, actual, difference[0])
        raise OutputMismatch(mismatch_report(script, expected_file, expected, actual, difference, writer))

    def update_expected(self, expected_file: Path, expected: str, actual: str) -> None:
        expected_file.write_bytes(output_for_expected_file(actual, expected).encode("utf-8"))
        self.config.stash[_updated_key].append(expected_file)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        error = excinfo.value
        if isinstance(error, (OutputMismatch, GoldenFileError)):
            return str(error)
        if is_ampscript_error(error):
            return f"{self.path}: {error_summary(error)}\n{error}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"ampscript: {self.path.name} vs {self.name}"


def is_ampscript_error(error: BaseException) -> bool:
    """An AMPscript (runtime or compile) error; the runtime is loaded by then, so the check costs nothing."""
    from ampscript.errors import AMPscriptError

    return isinstance(error, AMPscriptError)


def error_summary(error: BaseException) -> str:
    from ampc.errors import CompileError

    if isinstance(error, CompileError):
        return "the script does not compile"
    return "the render raised an AMPscript error"


# Rendering


def load_script(config: pytest.Config, path: Path) -> tuple[str, types.ModuleType]:
    """The script's source (read as ``ampc run`` reads it: a BOM dropped, newlines as "\\n") and its module."""
    source = read_utf8(path).replace("\r\n", "\n").replace("\r", "\n")
    return source, compiled(config, source, str(path))


def read_utf8(path: Path, *, strip_bom: bool = True) -> str:
    """A file's text, decoded exactly (newlines as they are); not UTF-8 is the file's problem, said so."""
    try:
        return path.read_bytes().decode("utf-8-sig" if strip_bom else "utf-8")
    except UnicodeDecodeError as error:
        raise GoldenFileError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None


def compiled(config: pytest.Config, source: str, filename: str) -> types.ModuleType:
    """`ampc.compile_module`, once per file name and source in a session (renders never change a module)."""
    from ampc import compile_module

    modules = config.stash[_modules_key]
    key = (filename, source)
    if key not in modules:
        modules[key] = compile_module(source, filename)
    return modules[key]


def render_module(
    module: types.ModuleType,
    source: str,
    filename: str,
    context: Context,
    variables: Mapping[str, Any] | None = None,
) -> str:
    """Render; an AMPscript error carries its source line, so its message shows the line and a caret."""
    __tracebackhide__ = True
    from ampscript.errors import AMPscriptError

    from ampc.compiler import attach_source
    from ampc.errors import SourceFile

    try:
        return module.render(context, variables)
    except AMPscriptError as error:
        attach_source(error, SourceFile(filename, source))
        raise


def golden_context(script: Path) -> Context:
    """A fresh context for a golden script, from the optional files beside it."""
    return make_context(
        workspace=script.parent,
        subscriber=read_json_object(script.with_suffix(SUBSCRIBER_SUFFIX)),
        params=read_json_object(script.with_suffix(PARAMS_SUFFIX)),
        now=read_now(script.with_suffix(NOW_SUFFIX)),
    )


def make_context(
    *,
    workspace: str | Path | None,
    subscriber: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    now: _dt.datetime | str | None = None,
    **context_kwargs: Any,
) -> Context:
    """An `ampscript.Context`; `params` make it a CloudPage request, `now` may be an ISO 8601 text."""
    from ampscript import Context

    if params is not None:
        context_kwargs["request"] = make_request(params)
    return Context(workspace=workspace, subscriber=subscriber, now=parse_now(now), **context_kwargs)


def make_request(params: Mapping[str, Any]) -> Any:
    from ampscript.request import Request

    unknown = sorted(set(params) - set(REQUEST_KEYS))
    if unknown:
        raise GoldenFileError(
            f"request parameters: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"the keys are {', '.join(REQUEST_KEYS)}"
        )
    try:
        return Request(**params)
    except (TypeError, ValueError) as error:
        raise GoldenFileError(f"request parameters: {error}") from None


def parse_now(now: _dt.datetime | str | None) -> _dt.datetime | None:
    """A fixed system time; a text is ISO 8601.

    Marketing Cloud's system time is Central Standard Time (UTC-6) without
    daylight saving, and the runtime keeps it naive: a time with a UTC offset
    is converted to it, one without is taken as system time already.
    """
    if isinstance(now, str):
        try:
            now = _dt.datetime.fromisoformat(now.strip())
        except ValueError:
            raise GoldenFileError(f"not an ISO 8601 date and time: {now.strip()!r}") from None
    if now is not None and now.tzinfo is not None:
        system_time = _dt.timezone(_dt.timedelta(hours=-6))
        now = now.astimezone(system_time).replace(tzinfo=None)
    return now


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None if there is no such file."""
    import json

    if not path.is_file():
        return None
    try:
        value = json.loads(read_utf8(path))
    except json.JSONDecodeError as error:
        raise GoldenFileError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise GoldenFileError(f"{path}: must hold a JSON object ({{...}}), not {type(value).__name__}")
    return value


def read_now(path: Path) -> _dt.datetime | None:
    if not path.is_file():
        return None
    text = read_utf8(path)
    try:
        return parse_now(text)
    except GoldenFileError as error:
        raise GoldenFileError(f"{path}: {error}") from None


# Comparing


def first_difference(expected: str, actual: str) -> tuple[int, int] | None:
    """Where `actual` stops matching `expected`: (offset in actual, offset in expected), or None if it matches.

    `expected` is literal text in which ``<GUID>`` matches any GUID.  GUIDs
    have a fixed length, so walking the pieces between placeholders is an
    exact match, and it says where the match failed.
    """
    position = expected_position = 0
    pieces = expected.split(GUID_PLACEHOLDER)
    for index, piece in enumerate(pieces):
        mismatch = _first_unequal(piece, actual, position)
        if mismatch is not None:
            return mismatch, expected_position + mismatch - position
        position += len(piece)
        expected_position += len(piece)
        if index < len(pieces) - 1:
            if not _GUID.match(actual, position):
                return position, expected_position
            position += _GUID_LENGTH
            expected_position += len(GUID_PLACEHOLDER)
    return (position, expected_position) if position < len(actual) else None


def _first_unequal(piece: str, text: str, start: int) -> int | None:
    """The first offset in `text` from `start` where it differs from `piece` (text running out counts)."""
    if text.startswith(piece, start):
        return None
    for offset, char in enumerate(piece):
        if start + offset >= len(text) or text[start + offset] != char:
            return start + offset
    return None  # unreachable: startswith failed, so some character differs


def output_position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of `offset` in the output (what an editor showing it would say)."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def output_for_expected_file(actual: str, old_expected: str) -> str:
    """What ``--ampc-update`` writes: the output, with its GUIDs as ``<GUID>``.

    A GUID in an output is most often fresh (GUID(), a request ID), and an
    expected file holding one would fail on the next run; a GUID the old
    expected file spelled out itself (a key from the workspace's data) stays.
    """
    return _GUID.sub(lambda match: match[0] if match[0] in old_expected else GUID_PLACEHOLDER, actual)


# Reporting


def mismatch_report(
    script: Path,
    expected_file: Path,
    expected: str,
    actual: str,
    difference: tuple[int, int],
    writer: str,
) -> str:
    in_actual, in_expected = difference
    line, column = output_position(actual, in_actual)
    header = [
        f"{script}: the output differs from {expected_file.name}",
        f"first difference at output line {line}, column {column}: {writer}",
        f"  expected: {_excerpt(expected, in_expected, 'expected file')}",
        f"  actual:   {_excerpt(actual, in_actual, 'output')}",
    ]
    diff = unified_diff(expected, shown_actual(actual, expected), expected_file.name)
    return "\n".join([*header, "", *diff])


def _excerpt(text: str, offset: int, what: str, width: int = 30) -> str:
    return repr(text[offset : offset + width]) if offset < len(text) else f"(end of {what})"


def shown_actual(actual: str, expected: str) -> str:
    """The output as the diff shows it: GUIDs as ``<GUID>`` when the expected file uses the placeholder."""
    if GUID_PLACEHOLDER not in expected:
        return actual
    return output_for_expected_file(actual, expected)


def unified_diff(expected: str, actual: str, expected_name: str) -> list[str]:
    """A unified diff; carriage returns show as ``\\r`` and a missing final newline is said."""
    import difflib

    return list(
        difflib.unified_diff(
            _diff_lines(expected),
            _diff_lines(actual),
            f"{expected_name} (expected)",
            "actual output",
            lineterm="",
        )
    )


def _diff_lines(text: str) -> list[str]:
    lines = []
    for line in text.splitlines(keepends=True):
        body = line.removesuffix("\n").replace("\r", "\\r")
        lines.append(body if line.endswith("\n") else body + "  (no newline at end)")
    return lines


# Which AMPscript wrote the first differing output

# One piece of a write: (start, stop) in the output, what it is ("text": a
# literal the compiler wrote as it stands in the script; "before" / "after":
# the literal text either side of an output expression; "value": what an
# expression or Output() produced), its text for the literal kinds, and the
# AMPscript (file, line, column) of the statement that wrote it.
Segment = tuple[int, int, str, str, "tuple[str, int, int] | None"]


def locate_writer(
    module: types.ModuleType,
    new_context: Callable[[], Context],
    source: str,
    actual: str,
    difference: int,
) -> str:
    """Which AMPscript wrote the output at offset `difference`: a phrase for the report.

    The script renders once more on a tracing page, which records the
    AMPscript position of every write.  That render must write the same
    output up to the difference (GUIDs aside), or the positions would not
    be this output's; when it does not, or raises, the report says so.
    """
    try:
        traced, segments = traced_render(module, new_context())
    except Exception:  # noqa: BLE001 (the report goes on without a position)
        return "its AMPscript position is unknown (a second render, to trace it, raised an error)"
    end = min(difference + 1, len(actual))
    if _masked(traced)[:end] != _masked(actual)[:end]:
        return "its AMPscript position is unknown (a second render, to trace it, wrote different output)"
    for segment in segments:
        if segment[0] <= difference < segment[1] and segment[4] is not None:
            return describe_segment(segment, difference, source, module.AMPSCRIPT_FILE)
    if difference >= len(actual) and segments and segments[-1][4] is not None:
        return f"the output ends early; the last output was written at {_position(segments[-1][4])}"
    return "its AMPscript position is unknown"


def describe_segment(segment: Segment, offset: int, source: str, script_file: str) -> str:
    """Where in the AMPscript the output at `offset` comes from.

    Literal text is found in the script's source, next to the statement's
    position, and its own position given only when the text stands there
    verbatim; otherwise the report names the statement that wrote it.
    """
    start, _, kind, text, location = segment
    assert location is not None
    if kind == "value":
        return f"written by the AMPscript at {_position(location)}"
    filename, line, column = location
    exact = None
    if filename == script_file:
        exact = _literal_offset(source, _source_offset(source, line, column), kind, text, offset - start)
    if exact is not None:
        from ampc.errors import SourceFile

        line, column = SourceFile(filename, source).position(exact)
        return f"from the literal text at {filename}:{line}:{column}"
    side = {"before": "just before", "after": "just after"}.get(kind, "written by")
    return f"in the literal text {side} the AMPscript at {_position(location)}"


def _source_offset(source: str, line: int, column: int) -> int:
    """The offset of a 1-based (line, column) in the source (only "\\n" ends a line, as the compiler counts)."""
    lines = source.split("\n")
    return sum(len(text) + 1 for text in lines[: line - 1]) + column - 1


def _literal_offset(source: str, statement: int, kind: str, text: str, index: int) -> int | None:
    """The source offset of character `index` of literal `text` written by the statement at `statement`."""
    if kind == "text" and source.startswith(text, statement):
        return statement + index
    if kind == "before" and source.endswith(text, 0, statement):
        return statement - len(text) + index
    if kind == "after":
        found = source.find("=%%" + text, statement)  # the text right after the output block's end
        if found >= 0:
            return found + len("=%%") + index
    return None


def _position(location: tuple[str, int, int]) -> str:
    filename, line, column = location
    return f"{filename}:{line}:{column}"


def _masked(text: str) -> str:
    return _GUID.sub("0" * _GUID_LENGTH, text)


def traced_render(module: types.ModuleType, context: Context) -> tuple[str, list[Segment]]:
    """Render with the module's `Page` swapped for one that records every write's segments."""
    segments: list[Segment] = []
    page_class = module.Page
    module.Page = _tracing_page(page_class, segments)
    try:
        return module.render(context), segments
    finally:
        module.Page = page_class


def _tracing_page(page_class: type, segments: list[Segment]) -> type:
    """A `Page` subclass that records the top-level page's writes in `segments`.

    Only the top-level page's offsets are output offsets; what a content
    block renders reaches it through the statement that includes it, whose
    write is recorded.  The page's output length so far is its ``_size``.
    """
    from ampscript.rendering import calling_location

    class TracingPage(page_class):  # type: ignore[misc, valid-type]
        def write(self, *values: Any) -> None:
            start = self._size
            super().write(*values)
            self._record(calling_location(), (start, self._size, "value", ""))

        def write_text(self, text: str) -> None:
            start = self._size
            super().write_text(text)
            self._record(calling_location(), (start, self._size, "text", text))

        def write_value(self, before: str, value: Any, after: str) -> None:
            start = self._size
            super().write_value(before, value, after)
            stop = self._size
            self._record(
                calling_location(),
                (start, start + len(before), "before", before),
                (start + len(before), stop - len(after), "value", ""),
                (stop - len(after), stop, "after", after),
            )

        def _record(self, location: Any, *pieces: tuple[int, int, str, str]) -> None:
            if self.depth == 0:
                segments.extend((*piece, location) for piece in pieces if piece[1] > piece[0])

    return TracingPage


# Fixtures


def _is_script_path(value: str | Path) -> bool:
    if isinstance(value, Path):
        return True
    return value.lower().endswith(SCRIPT_SUFFIXES) and Path(value).is_file()


@pytest.fixture
def ampscript_render(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., str]:
    """Render AMPscript in a test; returns the output.

    ``ampscript_render(path_or_source, *, subscriber=None, params=None,
    now=None, workspace=None, variables=None, context=None)``: a
    `pathlib.Path`, or a text ending in ``.amp``/``.ampscript`` that names
    a file, renders that file, in its folder's workspace; any other text is
    AMPscript source, rendered in the test's `tmp_path`.  Each render gets a
    fresh `ampscript.Context` (its own simulator state) unless `context`
    gives one (from `ampscript_context`), which the other arguments then
    must not try to set up.
    """
    config = request.config

    def render(
        path_or_source: str | Path,
        *,
        subscriber: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        now: _dt.datetime | str | None = None,
        workspace: str | Path | None = None,
        variables: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> str:
        __tracebackhide__ = True
        if _is_script_path(path_or_source):
            path = Path(path_or_source)
            source, module = load_script(config, path)
            filename, default_workspace = str(path), path.parent
        else:
            source, filename, default_workspace = str(path_or_source), "<ampscript>", tmp_path
            module = compiled(config, source, filename)
        if context is None:
            context = make_context(
                workspace=workspace if workspace is not None else default_workspace,
                subscriber=subscriber,
                params=params,
                now=now,
            )
        elif any(given is not None for given in (subscriber, params, now, workspace)):
            raise TypeError(
                "ampscript_render: set subscriber, params, now and workspace up in the context, not both"
            )
        return render_module(module, source, filename, context, variables)

    return render


@pytest.fixture
def ampscript_context(tmp_path: Path) -> Callable[..., Context]:
    """Make contexts for a test: ``ampscript_context(workspace=None, **context_kwargs) -> Context``.

    Renders on one context share its simulator state (an InsertData is seen
    by the next render's Lookup); each test's contexts are its own.  The
    workspace defaults to the test's `tmp_path`; besides `ampscript.Context`'s
    arguments, ``params`` (a request, as in `ampscript_render`) and an ISO
    ``now`` text are accepted.
    """

    def new_context(workspace: str | Path | None = None, **context_kwargs: Any) -> Context:
        return make_context(workspace=workspace if workspace is not None else tmp_path, **context_kwargs)

    return new_context
