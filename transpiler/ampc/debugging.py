"""``ampc debug FILE.amp``: render a script under pdb, in the script's own lines.

The module is compiled by the fast emitter, whose code objects carry the
``.amp`` file and its line numbers, so pdb shows and steps through the
AMPscript itself.  The debugger here differs from plain pdb in two ways:

* it never stops inside ampc or its runtime (pdb's `skip`): ``step`` goes
  from one AMPscript statement to the next instead of into ``Page.start``;
* a breakpoint on a line of the script without a statement of its own (a
  line of text inside an output block, a comment; `ampc.script_lines`)
  moves to the next line that has one, and says so; plain pdb would
  accept it and never stop (or stop in the generated set-up at line 1).
"""

from __future__ import annotations

import bdb
import pdb
import sys
import types
from typing import Any

# Frames of these modules are stepped over, never stopped in.
_SKIPPED = ["ampscript", "ampscript.*", "ampc", "ampc.*", "contextlib"]

_INTRODUCTION = (
    "ampc debug: stopped at the start of {name}.  Commands are pdb's: 'b LINE' sets a breakpoint on a line "
    "of the script, 'n' runs to the next statement, 'c' continues, 'p var' shows the AMPscript variables, "
    "'p var[\"@name\"]' one of them, 'q' quits."
)


class ScriptDebugger(pdb.Pdb):
    """pdb for one compiled AMPscript file (see the module docstring)."""

    def __init__(self, script_file: str, lines: set[int], **options: Any) -> None:
        super().__init__(skip=_SKIPPED, **options)
        self.script_file = self.canonic(script_file)
        self.script_lines = sorted(lines)

    def checkline(self, filename: str, lineno: int) -> int:
        if self.canonic(filename) != self.script_file:
            return super().checkline(filename, lineno)
        if lineno in self.script_lines:
            return lineno
        later = [line for line in self.script_lines if line > lineno]
        if not later:
            self.error(f"line {lineno}: no AMPscript statement on it or after it")
            return 0
        self.message(f"line {lineno} has no AMPscript statement of its own; the breakpoint is on line {later[0]}")
        return later[0]


def debug_render(
    module: types.ModuleType, context: Any, breaks: list[int], source: str, **options: Any
) -> str | None:
    """Render `module` (compiled from `source`) under the debugger; the output, or None if the user quit first.

    With `breaks` (script lines), run to the first of them; without, stop
    at the script's first line.  `options` go to pdb (stdin, stdout).
    """
    from .script_lines import executable_lines

    script_file = module.AMPSCRIPT_FILE
    debugger = ScriptDebugger(script_file, executable_lines(source, script_file), **options)
    for line in breaks:
        found = debugger.checkline(script_file, line)
        if found:
            debugger.set_break(debugger.script_file, found)
    if breaks:
        debugger.rcLines.append("continue")
    else:
        print(_INTRODUCTION.format(name=script_file), file=sys.stderr)
    try:
        return debugger.runcall(module.render, context)
    except bdb.BdbQuit:
        return None
