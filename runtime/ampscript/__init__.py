"""ampscript: the runtime that modules compiled by ampc import.

It mirrors Marketing Cloud: the value model (`values`), how operators behave
(`operators`), the functions by AMPscript category (`functions`), and the
world a script sees (`Context`: workspace, subscriber, backend).  It never
imports the compiler, Lark, libcst or black.
"""

from .context import Context
from .errors import AMPscriptError, RaisedError, ScriptError
from .limits import LimitExceeded, Limits
from .variables import Ref, Variables
from .workspace import Workspace

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
