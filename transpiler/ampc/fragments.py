"""Compiling AMPscript the runtime meets while rendering (content blocks, TreatAsContent).

The runtime may not import the compiler, so it finds `compile_fragment`
through the ``ampscript.compilers`` entry point declared in pyproject.toml.
"""

from __future__ import annotations

from ampscript import Context
from ampscript.errors import AMPscriptError

from .compiler import attach_source, compile_module
from .errors import SourceFile


class Fragment:
    """A piece of AMPscript compiled to a module, rendered inside the render that includes it."""

    def __init__(self, source: str, filename: str, path: str | None = None) -> None:
        self.file = SourceFile(filename, source)
        self._module = compile_module(source, filename, code_file=path)

    def render(self, context: Context | None = None) -> str:
        """Render in the running render's variable scope (same context) and return the output."""
        try:
            return self._module.render(context)
        except AMPscriptError as error:
            attach_source(error, self.file)  # the line and caret of an error raised inside this fragment
            raise


def compile_fragment(source: str, filename: str, path: str | None = None) -> Fragment:
    """Compile AMPscript into a `Fragment`; a CompileError points into `filename`.

    `path`, the full path of the file the AMPscript came from (a content
    block of the workspace), is what tracebacks, debuggers and coverage see.
    """
    return Fragment(source, filename, path)
