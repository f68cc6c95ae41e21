"""ampscript: the runtime that modules compiled by ampc import.

It mirrors Marketing Cloud: the value model (`values`), how operators behave
(`operators`), the functions by AMPscript category (`functions`), and the
world a script sees (`Context`: workspace, subscriber, backend).  It never
imports the compiler, Lark, libcst or black.

The names below are imported on first use (PEP 562's module
``__getattr__``): ``import ampscript.contexts`` (``ampc --help``) does not
pay for the value model and the context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .context import Context
    from .errors import AMPscriptError, RaisedError, ScriptError
    from .limits import LimitExceeded, Limits
    from .variables import Ref, Variables
    from .workspace import Workspace

# name -> the submodule that defines it
_EXPORTS = {
    "AMPscriptError": "errors",
    "Context": "context",
    "LimitExceeded": "limits",
    "Limits": "limits",
    "RaisedError": "errors",
    "Ref": "variables",
    "ScriptError": "errors",
    "Variables": "variables",
    "Workspace": "workspace",
}

__all__ = [
    "AMPscriptError",
    "Context",
    "LimitExceeded",
    "Limits",
    "RaisedError",
    "Ref",
    "ScriptError",
    "Variables",
    "Workspace",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
