"""The compiler's entry points: source -> module source, and compile-and-render."""

from __future__ import annotations

import hashlib
import linecache
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ampscript import Context
from ampscript.errors import AMPscriptError

from .codegen import generate
from .errors import CompileError, SourceFile
from .parser import parse


def compile_source(source: str, filename: str = "<ampscript>") -> str:
    """Compile AMPscript source into the source of a Python module (black-formatted)."""
    problems: list[CompileError] = []
    return generate(parse(source, filename, problems), problems)


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
    module = load_module(compile_source(source, filename), filename)
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
