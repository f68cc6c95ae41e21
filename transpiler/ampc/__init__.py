"""ampc: compile AMPscript into Python.

    >>> import ampc
    >>> ampc.render('%%[ set @name = "World" ]%%Hello, %%=v(@name)=%%!')
    'Hello, World!'

`compile_source` gives the generated module's source (what ``ampc compile``
writes); `compile_module` compiles straight to a loaded module, ready to
``render(context)``; `render` compiles and renders in one call; `install`
(or ``import ampc.importer``) lets ``import welcome`` load ``welcome.amp``
(`ampc.importer`).  The generated code runs on the `ampscript` runtime.

The names below are imported on first use (PEP 562's module
``__getattr__``): the command line (``ampc --help``, ``ampc functions``)
runs without the compiler, whose libraries (Lark, libcst, black) take most
of a start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ampscript.lazy import lazy_exports

if TYPE_CHECKING:
    from .compiler import compile_module, compile_source, load_module, render
    from .errors import CompileError
    from .importer import install

# name -> the submodule that defines it
_EXPORTS = {
    "CompileError": "errors",
    "compile_module": "compiler",
    "compile_source": "compiler",
    "install": "importer",
    "load_module": "compiler",
    "render": "compiler",
}

__all__ = ["CompileError", "compile_module", "compile_source", "install", "load_module", "render"]

_lazy_getattr, __dir__ = lazy_exports(globals(), _EXPORTS)


def __getattr__(name: str) -> object:
    # __version__ too is found on first use: importlib.metadata costs every start-up ~15 ms.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("ampc")  # pyproject.toml's, as pip installed it
        except PackageNotFoundError:
            found = "unknown"  # a plain checkout on sys.path
        globals()["__version__"] = found
        return found
    return _lazy_getattr(name)
