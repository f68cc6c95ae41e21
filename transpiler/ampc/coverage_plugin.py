"""A coverage.py plugin: line coverage of AMPscript files (``.amp``, ``.ampscript``).

Enabled in the coverage configuration, which is the only thing that imports
this module (the runtime never imports coverage)::

    [tool.coverage.run]
    plugins = ["ampc.coverage_plugin"]

Nothing is instrumented.  `ampc.compiler.compile_module` gives the code it
runs its AMPscript file's name and AMPscript line numbers (the fast emitter,
`ampc.emitters.fast`), so Python's tracer already reports AMPscript lines;
the plugin only claims those files (`AmpscriptTracer`) and tells the
reports which lines hold code (`AmpscriptReporter`).

The executable lines are the lines of the compiled ``render`` function's
instructions that belong to the script's own statements.  The generated
scaffolding (``with Page.start(...) as page``, ``var = page.var``, ``return
page.output``) and the module header (imports, constants, ``def render``)
sit at line 1: line 1 counts only when it holds a statement of the script,
and the header's execution is never recorded (`AmpscriptTracer.line_number_range`),
so a script compiled but not rendered shows nothing run.

Branch coverage (``--branch``) is not measured for AMPscript files: they
report no possible arcs, so no branches; their lines are still reported,
which says which ``if`` bodies ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import FrameType
from typing import Any

from coverage import CoveragePlugin, FileReporter, FileTracer
from coverage.exceptions import ConfigError

# The runtime and the compiler are imported when first needed, not here:
# coverage loads this module when it starts, before it measures anything,
# and the module-level code of whatever is imported then is never measured
# (ampc's own coverage), besides the compiler's import time for every run.

# What a line number range of nothing looks like to coverage's C tracer: nothing is recorded.
_NOTHING_RECORDED = (-1, -1)


def coverage_init(reg: Any, options: dict[str, Any]) -> None:
    """Coverage's entry point: register the file tracer and the configurer that keeps it working."""
    reg.add_file_tracer(AmpscriptPlugin())
    reg.add_configurer(TracingCore())


class AmpscriptPlugin(CoveragePlugin):
    """Claims AMPscript files when their compiled code runs, and reports on them."""

    def file_tracer(self, filename: str) -> FileTracer | None:
        # Offered every file whose code runs: pseudo-file names of scripts
        # compiled from strings (``<ampc:...>``) are not files and stay unclaimed.
        return AmpscriptTracer(filename) if is_script_file(filename) else None

    def file_reporter(self, filename: str) -> FileReporter:
        return AmpscriptReporter(filename)

    def find_executable_files(self, src_dir: str) -> Iterator[str]:
        """The AMPscript files under `src_dir`: under ``source``, those never run show at 0%."""
        for folder, subfolders, files in os.walk(src_dir):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]  # .git, .venv, .tox
            for name in files:
                if has_script_suffix(name) and not name.startswith("."):
                    yield os.path.join(folder, name)

    def sys_info(self) -> list[tuple[str, Any]]:
        return [("script suffixes", ", ".join(script_suffixes()))]


class TracingCore(CoveragePlugin):
    """Chooses coverage's C tracer unless the user chose a core, since file tracer plugins need it.

    Coverage disables file tracer plugins under its sys.monitoring core, its
    default from Python 3.14; the C tracer works on every Python version.
    A core the user set (``[run] core``, ``COVERAGE_CORE``) is left alone.
    """

    def configure(self, config: Any) -> None:
        try:
            chosen = config.get_option("run:core")
        except ConfigError:
            return  # coverage before 7.9 has no such setting; its default core is the C tracer
        if chosen is None:
            config.set_option("run:core", "ctrace")


class AmpscriptTracer(FileTracer):
    """The file of a compiled script is its AMPscript file, already at AMPscript lines."""

    def __init__(self, filename: str) -> None:
        self._filename = filename

    def source_filename(self) -> str:
        return self._filename

    def line_number_range(self, frame: FrameType) -> tuple[int, int]:
        """The line running in `frame`; nothing for the module header (line 1, run when compiled).

        Only ``render`` runs the script's statements: recording the header
        would mark line 1 as run for a script that was compiled, never rendered.
        """
        line = frame.f_lineno
        if line is None or frame.f_code.co_name == "<module>":
            return _NOTHING_RECORDED
        return line, line


class AmpscriptReporter(FileReporter):
    """An AMPscript file's text and executable lines, for coverage's reports."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self._source: str | None = None
        self._lines: set[int] | None = None

    def source(self) -> str:
        if self._source is None:
            self._source = read_script(self.filename)
        return self._source

    def lines(self) -> set[int]:
        if self._lines is None:
            from .script_lines import executable_lines

            self._lines = executable_lines(self.source(), self.filename)
        return self._lines

    def source_token_lines(self) -> Iterator[list[tuple[str, str]]]:
        """One plain-text token per line, the lines counted as the compiler counts them (at ``\\n`` alone).

        ``str.splitlines`` also splits at form feeds, ``\\u2028`` and others,
        which would shift every following line against the line numbers.
        """
        for line in script_lines(self.source()):
            yield [("txt", line)]


def script_suffixes() -> tuple[str, ...]:
    from ampscript.rendering import SCRIPT_SUFFIXES

    return SCRIPT_SUFFIXES


def has_script_suffix(filename: str) -> bool:
    return os.path.splitext(filename)[1].lower() in script_suffixes()


def is_script_file(filename: str) -> bool:
    """Whether `filename` names an existing AMPscript file (the suffix is checked first: it costs nothing)."""
    return has_script_suffix(filename) and os.path.isfile(filename)


def read_script(filename: str) -> str:
    """The file's text, read as ``ampc run`` reads it (UTF-8, an optional BOM).

    Undecodable bytes become U+FFFD rather than failing the report: they
    never hold a line break, so the lines stay where they were.
    """
    with open(filename, encoding="utf-8-sig", errors="replace") as file:
        return file.read()


def script_lines(source: str) -> list[str]:
    """The source's lines as the compiler numbers them: split at ``\\n``, a ``\\r`` before it dropped."""
    lines = source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line break ends the last line, it starts none
    return [line.removesuffix("\r") for line in lines]
