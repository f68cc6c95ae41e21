"""Running a compiled script: the `Page` a render writes into.

A generated module's ``render()`` opens a `Page` for the duration of the
render; runtime functions find it through `current_page()` (a context
variable, so concurrent renders in threads or tasks stay apart).  When an
error escapes, the page works out which AMPscript line was running: from
the positions of the code objects, which are AMPscript positions in what the
compiler compiles to run, or from the ``# file.amp:LINE:COL`` comments it
puts above every statement of a module written for people to read.

A render started while another one runs on the same context (a content
block, TreatAsContent) is nested in it: it shares the outer render's
variables and `render_data`, writes into its own output buffer, and knows
its `depth` and `outer` page, so content functions can stop runaway
recursion and say where content was included from.
"""

from __future__ import annotations

import bisect
import contextvars
import linecache
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .context import Context
from .contexts import rejection
from .errors import AMPscriptError, ScriptError
from .limits import Budget, Limits
from .values import to_text
from .variables import Variables

_active: contextvars.ContextVar[Page | None] = contextvars.ContextVar("ampscript_page", default=None)

# The comment above each statement of a module ``ampc compile`` wrote: ``# file.amp:LINE:COL``
# (read here to locate errors; ampc.formatting reads it to build the source map).
POSITION_COMMENT = re.compile(r"^\s*# .*:(\d+):(\d+)\s*$")
_AFTER_ANY = float("inf")  # sorts after any line and column, for bisect


class Page:
    """One render in progress: its output, its variables, its context."""

    def __init__(
        self, context: Context, filename: str, variables: Variables | None = None, outer: Page | None = None
    ) -> None:
        self.context = context
        self.filename = filename
        self.outer = outer  # the render this one is nested in, or None for a top-level render
        self.depth = outer.depth + 1 if outer is not None else 0
        if variables is None:
            variables = outer.var if outer is not None else Variables()
        self.var = variables
        # Per-render state the runtime keeps for the whole top-level render and
        # every render nested in it (TreatAsContentArea's content areas, the
        # message's attachments...).  A top-level render starts it afresh and
        # leaves it on the context, where callers read it after the render.
        if outer is not None:
            self.render_data: dict[str, Any] = outer.render_data
            self.budget: Budget = outer.budget
        else:
            self.render_data = context.render_data = {}
            self.budget = Budget(context.limits)
        self._parts: list[str] = []
        self._size = 0
        limits = self.budget.limits
        self._max_size = limits.output_characters
        self._max_string = limits.string_characters

    def write(self, *values: Any) -> None:
        """Output values as Marketing Cloud prints them (the compiler merges adjacent output into one call)."""
        parts, size = self._parts, self._size
        for value in values:
            text = value if type(value) is str else to_text(value)
            size += len(text)
            parts.append(text)
        if size > self._max_size:
            raise self.budget.exceeded("output_characters", "the render's output is too large")
        self._size = size

    # What the compiler writes with: text it has as a literal, and a value
    # with the literal text around it (`ampc.codegen` merges adjacent output
    # into that shape).  Fixed parameters instead of `write`'s tuple and loop.

    def write_text(self, text: str) -> None:
        """Output text the compiler knows is text."""
        self._parts.append(text)
        self._size += len(text)
        if self._size > self._max_size:
            raise self.budget.exceeded("output_characters", "the render's output is too large")

    def write_value(self, before: str, value: Any, after: str) -> None:
        """Output a value as Marketing Cloud prints it, between two texts (either may be empty)."""
        # One joined part rather than three: an f-string of three short texts
        # costs less than appending them (a quarter of this call's time).
        text = f"{before}{value if type(value) is str else to_text(value)}{after}"
        self._parts.append(text)
        self._size += len(text)
        if self._size > self._max_size:
            raise self.budget.exceeded("output_characters", "the render's output is too large")

    @property
    def output(self) -> str:
        return "".join(self._parts)

    @classmethod
    def start(
        cls,
        context: Context | None,
        filename: str,
        calls: Mapping[str, tuple[int, int]] | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> Page:
        """A page for a render, to use as ``with Page.start(...) as page:``; nested renders share its variables.

        `calls` maps each function the script calls to where it is first
        called; a context of a given kind (`Context(kind="email")`) refuses,
        before anything renders, a script calling a function Marketing Cloud
        rejects in that kind of content (`ampscript.contexts`).  `variables`
        presets AMPscript variables by name (``{"@name": "Ana"}``), as
        ``render(context, variables=...)`` passes them.
        """
        outer = _active.get()
        if context is None:
            if outer is not None:
                context = outer.context
            else:
                context = Context(workspace=script_folder(filename, sys._getframe(1).f_globals.get("__file__")))
        if calls and context.kind is not None:
            _check_calls(context.kind, calls, filename)
        nested_in = outer if outer is not None and outer.context is context else None
        page = cls(context, filename, None, nested_in)  # positional: a keyword costs a class call a dict
        if variables:
            _preset(page.var, variables)
        return page

    # The page is its own context manager (a plain object, not a generator:
    # entering and leaving it is part of every render's cost).

    def __enter__(self) -> Page:
        self._token = _active.set(self)
        self._outermost = self.context.begin_render()
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: Any) -> bool:
        try:
            if isinstance(error, AMPscriptError):
                _locate(error, self)
            if isinstance(error, Exception):
                hide_runtime_frames(error)
            if self._outermost:
                self.context.end_render(kind, error, traceback)
        finally:
            _active.reset(self._token)
        return False


def script_folder(ampscript_file: str, module_file: str | None) -> Path | None:
    """The default workspace of a compiled module rendered without a context: its `.amp` file's folder.

    As ``ampc run`` takes the script's folder.  The `.amp` is looked for
    where the name it was compiled from leads (absolute, or from the
    current folder), then beside the module itself (where ``ampc compile``
    writes it); None (the current folder) if neither has it.
    """
    candidates = [Path(ampscript_file)]
    if module_file and not module_file.startswith("<"):
        candidates.append(Path(module_file).parent / Path(ampscript_file).name)
    for candidate in candidates:
        try:
            if candidate.suffix.lower() in SCRIPT_SUFFIXES and candidate.is_file():
                return candidate.parent
        except (OSError, ValueError):
            continue
    return None


# What an AMPscript file's name ends with (ampc compile and check look for these in folders).
SCRIPT_SUFFIXES = (".amp", ".ampscript")


_VARIABLE_NAME = re.compile(r"@[A-Za-z0-9_]+\Z")


def _preset(into: Variables, variables: Mapping[str, Any]) -> None:
    """Set the variables a caller gave `render`; a name that is not an AMPscript variable is refused."""
    for name, value in variables.items():
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise ValueError(
                f"render(variables=...): {name!r} is not an AMPscript variable name; write it as '@name'"
            )
        into.set(name, value)


def _check_calls(kind: str, calls: Mapping[str, tuple[int, int]], filename: str) -> None:
    for function, (line, column) in calls.items():
        rejected = rejection(kind, function)
        if rejected is not None:
            message, hint = rejected
            raise ScriptError(message, filename=filename, line=line, column=column, hint=hint)


def current_page() -> Page:
    page = _active.get()
    if page is None:
        raise ScriptError("this AMPscript function can only be called while a script renders")
    return page


def current_budget() -> Budget:
    """The budget of the render in progress; outside renders, a fresh one under the default limits."""
    page = _active.get()
    return page.budget if page is not None else Budget(Limits())


_DEFAULT_STRING_LIMIT = Limits().string_characters


def check_string(size: int, function: str) -> None:
    """Refuse a string of `size` characters that `function` is about to make (or made) past stringCharacters.

    Called for many results, so it does the least it can when the size is fine.
    """
    page = _active.get()
    limit = page._max_string if page is not None else _DEFAULT_STRING_LIMIT
    if size > limit:
        current_budget().check_string(size, function)


def current_context() -> Context:
    """The context of the render in progress, or a default one outside renders."""
    page = _active.get()
    return page.context if page is not None else Context()


def seeded_random() -> Any:
    """The render's seeded generator (`Context(seed=...)`), or None: Random() and GUID() then draw freely."""
    page = _active.get()
    return page.context.random if page is not None else None


def _locate(error: AMPscriptError, page: Page) -> None:
    """Give an error the AMPscript line of the innermost generated statement that raised it."""
    if error.line is not None:
        return
    traceback = error.__traceback__
    found: tuple[Any, int, int] | None = None
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_globals.get("AMPSCRIPT_FILE") is not None:
            found = (frame, traceback.tb_lineno, traceback.tb_lasti)
        traceback = traceback.tb_next
    if found is not None:
        location = _source_location(*found)
        if location is not None:
            error.locate(*location, _script_line(found[0], location[1]))


def _script_line(frame: Any, line: int) -> str | None:
    """Line `line` of the AMPscript a generated module's frame runs, for the error's excerpt.

    From the module's own copy (``AMPSCRIPT_SOURCE``, what ``ampc compile``
    writes) or, for the fast emitter's code, from linecache, which holds the
    source under the code objects' file.
    """
    source = frame.f_globals.get("AMPSCRIPT_SOURCE")
    if isinstance(source, str):
        lines = source.split("\n")  # AMPscript lines end at \n only (not at \u2028, \x0c...)
        return lines[line - 1].removesuffix("\r") if 0 < line <= len(lines) else None
    if frame.f_globals.get("AMPSCRIPT_LINES"):
        text = linecache.getline(frame.f_code.co_filename, line)
        return text.removesuffix("\n").removesuffix("\r") if text else None
    return None


_RUNTIME_FOLDER = os.path.dirname(os.path.abspath(__file__)) + os.sep
_HIDDEN_NOTE = "(frames inside ampc and its runtime are hidden: set AMPC_DEBUG=1 to see them)"


def hide_runtime_frames(error: BaseException) -> None:
    """Drop the frames of ampc and its runtime from `error`'s traceback, unless AMPC_DEBUG is set.

    What is left are the frames of the scripts involved (the main script,
    the content blocks and fragments it included, each at its own line) and
    of the caller's code, as Jinja2 shows templates.  An error that is not
    an AMPscript one (a bug) gets a note saying how to see the hidden frames.
    """
    if os.environ.get("AMPC_DEBUG"):
        return
    entries = []
    hidden = False
    traceback = error.__traceback__
    while traceback is not None:
        if _is_internal(traceback.tb_frame.f_code.co_filename) and entries:
            hidden = True
        else:
            entries.append(traceback)
        traceback = traceback.tb_next
    if not hidden:
        return
    for entry, following in zip(entries, entries[1:] + [None]):
        entry.tb_next = following
    if not isinstance(error, AMPscriptError) and _HIDDEN_NOTE not in getattr(error, "__notes__", ()):
        error.add_note(_HIDDEN_NOTE)


def _is_internal(filename: str) -> bool:
    if filename.startswith((_RUNTIME_FOLDER, "<ampscript wrapper")):
        return True
    compiler = sys.modules.get("ampc")
    compiler_file = getattr(compiler, "__file__", None)
    return compiler_file is not None and filename.startswith(os.path.dirname(compiler_file) + os.sep)


def calling_location() -> tuple[str, int, int] | None:
    """(file, line, column) of the AMPscript statement running now, from the live call stack.

    Content functions use it to say where content was included from.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("AMPSCRIPT_FILE") is not None:
            return _source_location(frame, frame.f_lineno, frame.f_lasti)
        frame = frame.f_back
    return None


def _source_location(frame: Any, python_line: int, instruction: int) -> tuple[str, int, int] | None:
    """The AMPscript position of the statement a generated module's frame is running.

    A module of the fast emitter (``AMPSCRIPT_LINES``) has AMPscript
    positions in its code objects: the instruction's line and byte offset,
    whose statement ``AMPSCRIPT_STATEMENTS`` gives (line, column).  A
    module ``ampc compile`` wrote has a source map (``AMPSCRIPT_POSITIONS``:
    the first Python line of each statement, with its AMPscript line and
    column), which holds where the source is not at
    hand (a ``.pyc`` alone); one without it (compiled unformatted, by an
    older ampc, or reformatted since, which the comment above the mapped
    statement tells) has a ``# file.amp:LINE:COL`` comment above each
    statement: the nearest one above the line.
    """
    ampscript_file = frame.f_globals["AMPSCRIPT_FILE"]
    if frame.f_globals.get("AMPSCRIPT_LINES"):
        positions = list(frame.f_code.co_positions())
        index = instruction // 2  # co_positions has one entry per 2-byte code unit
        if 0 <= index < len(positions) and positions[index][0] is not None and positions[index][2] is not None:
            line, _, offset, _ = positions[index]
            # The instruction may be a call's, positioned at the call: the statement
            # is the last one starting at or before it.
            statements = frame.f_globals.get("AMPSCRIPT_STATEMENTS")
            if statements:
                found = bisect.bisect_right(statements, (line, offset, _AFTER_ANY)) - 1
                if found >= 0:
                    return ampscript_file, statements[found][0], statements[found][2]
            return ampscript_file, line, offset + 1
        return ampscript_file, python_line, 1
    python_file = frame.f_code.co_filename
    positions = frame.f_globals.get("AMPSCRIPT_POSITIONS")
    if positions:  # the source map ampc compile writes: the last statement starting at or above the line
        index = bisect.bisect_right(positions, (python_line, _AFTER_ANY, _AFTER_ANY)) - 1
        if index >= 0:
            start, line, column = positions[index]
            # Trusted unless the module's source is at hand and its comment above
            # that statement says otherwise (someone reformatted the module).
            above = POSITION_COMMENT.match(linecache.getline(python_file, start - 1))
            if not linecache.getline(python_file, start) or (
                above is not None and (int(above.group(1)), int(above.group(2))) == (line, column)
            ):
                return ampscript_file, line, column
    # A module without a source map, or reformatted since: the comment above the line.
    for number in range(python_line, 0, -1):
        match = POSITION_COMMENT.match(linecache.getline(python_file, number))
        if match:
            return ampscript_file, int(match.group(1)), int(match.group(2))
    return None
