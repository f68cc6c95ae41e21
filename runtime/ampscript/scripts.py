"""What a module written by ``ampc compile`` does besides rendering: run as a script, and notice a changed `.amp`.

    python welcome.py [--workspace DIR] [--subscriber FILE]

renders the script to standard output (`run_module`), with the workspace
defaulting to the `.amp` file's folder as ``ampc run`` does.  Importing such
a module whose `.amp` has changed since it was compiled warns
(`check_compiled_from`), since the module still renders the old script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import AMPscriptError


class StaleModuleWarning(UserWarning):
    """The `.amp` a compiled module came from has changed since it was compiled: compile it again."""


def source_digest(source: str) -> str:
    """The digest a compiled module keeps of its AMPscript source (``AMPSCRIPT_SHA256``)."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def check_compiled_from(ampscript_file: str, digest: str, module_file: str | None) -> None:
    """Warn if the module's `.amp` (found as `ampscript.rendering.script_folder` finds it) is not what was compiled."""
    from .rendering import script_folder

    folder = script_folder(ampscript_file, module_file)
    if folder is None:
        return  # the .amp is not here (a module deployed alone): nothing to compare
    path = folder / Path(ampscript_file).name
    try:
        current = source_digest(path.read_text(encoding="utf-8-sig"))  # as ampc compile reads it
    except (OSError, UnicodeDecodeError):
        return
    if current != digest:
        warnings.warn(
            f"{path} has changed since {module_file or 'this module'} was compiled from it; "
            f"run 'ampc compile {path}' again",
            StaleModuleWarning,
            stacklevel=3,
        )


def run_module(render: Callable[..., str], ampscript_file: str, module_file: str | None,
               argv: Sequence[str] | None = None) -> int:
    """``python module.py``: render to standard output; AMPscript errors go to standard error (exit code 1)."""
    from .context import Context
    from .rendering import script_folder
    from .values import parse_json

    parser = argparse.ArgumentParser(prog=Path(module_file or "module.py").name,
                                     description=f"Render {ampscript_file} (compiled by ampc).")
    parser.add_argument("--workspace", type=Path, help="the workspace folder (default: the .amp file's folder)")
    parser.add_argument("--subscriber", type=Path, help="a JSON file of the subscriber's attributes")
    arguments = parser.parse_args(argv)
    subscriber = None
    if arguments.subscriber is not None:
        try:
            subscriber = parse_json(arguments.subscriber.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            print(f"{arguments.subscriber}: error: {error}", file=sys.stderr)
            return 1
        if not isinstance(subscriber, dict):
            print(f"{arguments.subscriber}: error: expected a JSON object of attribute names to values", file=sys.stderr)
            return 1
    workspace = arguments.workspace if arguments.workspace is not None else script_folder(ampscript_file, module_file)
    try:
        sys.stdout.write(render(Context(workspace=workspace, subscriber=subscriber)))
    except AMPscriptError as error:
        print(str(error), file=sys.stderr)
        return 1
    return 0


def run_if_main(module_name: str, render: Callable[..., str], ampscript_file: str, module_file: str | None) -> None:
    """The last line of a compiled module: when Python runs it as a script (``__main__``), render and exit."""
    if module_name == "__main__":
        sys.exit(run_module(render, ampscript_file, module_file))
