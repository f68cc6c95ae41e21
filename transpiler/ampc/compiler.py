"""The compiler's entry points: source -> module source, and compile-and-render."""

from __future__ import annotations

import ast
import hashlib
import linecache
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ampscript import Context
from ampscript.contexts import check_kind
from ampscript.errors import AMPscriptError
from ampscript.values import clean_text

from . import nodes as n
from .calls import check_calls
from .codegen import generate, generate_tree
from .collecting import collecting_less
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
    """Compile AMPscript source into the source of a Python module (what ``ampc compile`` writes).

    The passes: parse (syntax and structure), check (nesting depth, ``var``
    declarations, calls: `ampc.calls`), emit (`ampc.codegen`, which only
    emits).  Every problem found is reported together in one `CompileError`.

    `readable` formats the module with black, for people to read (this
    function's default); without it the source is libcst's, unformatted.
    Code compiled only to be run should use `compile_module`, which skips
    Python source altogether.

    What does not stop compilation goes to `diagnostics` when one is given:
    calls with the wrong number of arguments, which fail only if they run
    (see `ampc.diagnostics`).  `kind` ("email", "page", "sms") makes calls
    Marketing Cloud rejects in that kind of content errors.
    """
    with collecting_less():
        template = checked_template(source, filename, diagnostics, kind)
        return _guarded(lambda: generate(template, readable=readable), filename, source)


def compile_module(
    source: str,
    filename: str = "<ampscript>",
    *,
    diagnostics: Diagnostics | None = None,
    kind: str | None = None,
    code_file: str | None = None,
) -> types.ModuleType:
    """Compile AMPscript into a loaded module, ready to ``render()``: what `render`, ``ampc run`` and ``serve`` use.

    The same passes as `compile_source`, then the fast emitter
    (`ampc.emitters.fast`): the syntax tree goes to ``compile()`` as it is,
    without libcst, black or Python source.  The code objects' file is
    `filename` when it names a file (else a pseudo-file name), their line
    numbers are AMPscript lines, and linecache holds the AMPscript source,
    so tracebacks and debuggers show the AMPscript itself.  `code_file`,
    the script's full path, names the code objects' file when `filename`
    is the name errors should show (a content block's ``Content/Footer.amp``,
    a served page's), so that debuggers and coverage find the file from
    any folder.
    """
    with collecting_less():
        template = checked_template(source, filename, diagnostics, kind)
        tree = _guarded(lambda: generate_tree(template), filename, source)
        return load_tree(tree, filename, source, code_file)


def compile_code(source: str, filename: str, *, kind: str | None = None) -> types.CodeType:
    """The module's code object, not executed: what the import hook (`ampc.importer`) caches like a ``.pyc``.

    Its file is `filename` when that names a file (as `compile_module`'s).
    """
    with collecting_less():
        template = checked_template(source, filename, None, kind)
        tree = _guarded(lambda: generate_tree(template), filename, source)
        code_file = _code_file(filename, clean_text(source))
        return _guarded(lambda: compile(tree, code_file, "exec"), filename, source)


def load_tree(tree: ast.Module, filename: str, source: str, code_file: str | None = None) -> types.ModuleType:
    """Compile and execute a module of the fast emitter (`ampc.codegen.generate_tree`) of `source`."""
    code_file = _code_file(code_file if code_file is not None else filename, clean_text(source))
    return _guarded(lambda: _execute(compile(tree, code_file, "exec"), code_file, filename), filename, source)


def checked_template(source: str, filename: str, diagnostics: Diagnostics | None, kind: str | None) -> n.Template:
    """Parse and check: the template, or one `CompileError` with every problem found."""
    problems: list[CompileError] = []
    source = clean_text(source)  # a lone surrogate (only Python strings hold them) becomes U+FFFD

    def passes() -> n.Template:
        template = parse(source, filename, problems)
        if not check_nesting(template, problems):
            raise CompileError.collect(problems)
        check_declarations(template, problems)
        check_calls(template, problems, diagnostics if diagnostics is not None else Diagnostics(), check_kind(kind))
        if problems:
            problems.sort(key=lambda problem: (problem.line or 0, problem.column or 0))
            raise CompileError.collect(problems)
        return template

    return _guarded(passes, filename, source)


def _guarded(step: Callable[[], Any], filename: str, source: str) -> Any:
    """Run a compiler step; a script nested past what Python's recursion allows is the user's error."""
    try:
        return step()
    except RecursionError:
        # The nesting check keeps the recursive passes far from Python's
        # limit; this is the last line of defence, not the plan.
        raise SourceFile(filename, source).error(
            "the script is nested too deeply to compile", 1, 1,
            hint="split deeply nested code into content blocks or intermediate variables", code="AMP003",
        ) from None


def _code_file(filename: str, source: str) -> str:
    """The file name a fast-compiled module's code objects carry, with `source` registered for it in linecache.

    A real file keeps its own name (debuggers and tracebacks find it); any
    other name (``<ampscript>``, a content block's) becomes a unique
    pseudo-file name, so that two sources never share one linecache entry.
    """
    digest = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    name = filename if _is_file(filename) else f"<ampc:{filename.replace(chr(0), '?')}:{digest}>"
    # Lines as AMPscript counts them, at \n only (splitlines() would also break at \u2028, \x0c...).
    lines = [line + "\n" for line in source.split("\n")]
    lines[-1] = lines[-1][:-1]
    linecache.cache[name] = (len(source), None, [line for line in lines if line], name)
    return name


def _is_file(filename: str) -> bool:
    try:
        return "\0" not in filename and Path(filename).is_file()
    except (OSError, ValueError):
        return False


def load_module(python_source: str, filename: str = "<ampscript>") -> types.ModuleType:
    """Execute a generated module's source (from `compile_source`) in a fresh module object.

    The source is registered with linecache under a unique pseudo-file name,
    so tracebacks, debuggers and the runtime's line lookup can read it.
    """
    digest = hashlib.sha1(python_source.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    pseudo_file = f"<ampc:{filename.replace(chr(0), '?')}:{digest}>"  # compile() refuses NUL in names
    linecache.cache[pseudo_file] = (len(python_source), None, python_source.splitlines(True), pseudo_file)
    return _execute(compile(python_source, pseudo_file, "exec"), pseudo_file, filename)


def _execute(code: types.CodeType, code_file: str, filename: str) -> types.ModuleType:
    digest = hashlib.sha1(f"{code_file}\0{filename}".encode("utf-8", "surrogatepass")).hexdigest()[:12]
    module = types.ModuleType(f"ampc_compiled_{digest}")
    module.__file__ = code_file
    exec(code, module.__dict__)  # noqa: S102 (our own generated code)
    return module


def render(
    source: str,
    *,
    workspace: str | Path | None = None,
    subscriber: Mapping[str, Any] | None = None,
    filename: str = "<ampscript>",
    context: Context | None = None,
    variables: Mapping[str, Any] | None = None,
) -> str:
    """Compile and render AMPscript in one call; returns the output.

    `variables` presets AMPscript variables (``{"@name": "Ana"}``), as
    Jinja2's ``render(**vars)`` does; the script can still set them.
    Runtime errors come back with the AMPscript line and the source excerpt.
    """
    module = compile_module(source, filename)
    if context is None:
        context = Context(workspace=workspace, subscriber=subscriber)
    try:
        return module.render(context, variables)
    except AMPscriptError as error:
        attach_source(error, SourceFile(filename, source))
        raise


def attach_source(error: AMPscriptError, file: SourceFile) -> None:
    """Add the source line to a runtime error located in `file`."""
    if error.line is not None and error.source_line is None and error.filename == file.name:
        error.source_line = file.line(error.line)
