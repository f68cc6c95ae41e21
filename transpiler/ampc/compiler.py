"""The compiler's entry points: source -> module source, and compile-and-render."""

from __future__ import annotations

import hashlib
import linecache
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ampscript import Context
from ampscript.contexts import check_kind
from ampscript.errors import AMPscriptError
from ampscript.values import clean_text

from .calls import check_calls
from .codegen import generate
from .declarations import check_declarations
from .diagnostics import Diagnostics
from .errors import CompileError, SourceFile
from .nesting import check_nesting
from .parser import parse


def compile_source(
    source: str,
    filename: str = "<ampscript>",
    *,
    readable: bool = True,
    diagnostics: Diagnostics | None = None,
    kind: str | None = None,
) -> str:
    """Compile AMPscript source into the source of a Python module.

    The passes: parse (syntax and structure), check (nesting depth, ``var``
    declarations, calls: `ampc.calls`), emit (`ampc.codegen`, which only
    emits).  Every problem found is reported together in one `CompileError`.

    `readable` formats the module with black, for people to read (``ampc
    compile``, this function's default).  What is compiled only to be run
    (`render`, ``ampc run``/``serve``, content rendered at run time) skips
    it: black costs far more than the rest of compiling, and the module
    behaves the same either way.

    What does not stop compilation goes to `diagnostics` when one is given:
    calls with the wrong number of arguments, which fail only if they run
    (see `ampc.diagnostics`).  `kind` ("email", "page", "sms") makes calls
    Marketing Cloud rejects in that kind of content errors.
    """
    problems: list[CompileError] = []
    source = clean_text(source)  # a lone surrogate (only Python strings hold them) becomes U+FFFD
    try:
        template = parse(source, filename, problems)
        if not check_nesting(template, problems):
            raise CompileError.collect(problems)
        check_declarations(template, problems)
        check_calls(template, problems, diagnostics if diagnostics is not None else Diagnostics(), check_kind(kind))
        if problems:
            problems.sort(key=lambda problem: (problem.line or 0, problem.column or 0))
            raise CompileError.collect(problems)
        return generate(template, readable=readable)
    except RecursionError:
        # The nesting check keeps the recursive passes far from Python's
        # limit; this is the last line of defence, not the plan.
        raise SourceFile(filename, source).error(
            "the script is nested too deeply to compile", 1, 1,
            hint="split deeply nested code into content blocks or intermediate variables", code="AMP003",
        ) from None


def load_module(python_source: str, filename: str = "<ampscript>") -> types.ModuleType:
    """Execute a generated module's source in a fresh module object.

    The source is registered with linecache under a unique pseudo-file name,
    so tracebacks, debuggers and the runtime's line lookup can read it.
    """
    digest = hashlib.sha1(python_source.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    pseudo_file = f"<ampc:{filename.replace(chr(0), '?')}:{digest}>"  # compile() refuses NUL in names
    linecache.cache[pseudo_file] = (len(python_source), None, python_source.splitlines(True), pseudo_file)
    module = types.ModuleType(f"ampc_compiled_{digest}")
    module.__file__ = pseudo_file
    exec(compile(python_source, pseudo_file, "exec"), module.__dict__)  # noqa: S102 (our own generated code)
    return module


def render(
    source: str,
    *,
    workspace: str | Path | None = None,
    subscriber: Mapping[str, Any] | None = None,
    filename: str = "<ampscript>",
    context: Context | None = None,
) -> str:
    """Compile and render AMPscript in one call; returns the output.

    Runtime errors come back with the AMPscript line and the source excerpt.
    """
    module = load_module(compile_source(source, filename, readable=False), filename)
    if context is None:
        context = Context(workspace=workspace, subscriber=subscriber)
    try:
        return module.render(context)
    except AMPscriptError as error:
        attach_source(error, SourceFile(filename, source))
        raise


def attach_source(error: AMPscriptError, file: SourceFile) -> None:
    """Add the source line to a runtime error located in `file`."""
    if error.line is not None and error.source_line is None and error.filename == file.name:
        error.source_line = file.line(error.line)
