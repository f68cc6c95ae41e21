"""The `ampc` command line.

    ampc compile FILE.amp [-o OUT.py]     write the generated Python module
    ampc run FILE.amp [--workspace DIR] [--subscriber FILE.json] [--state FILE.db]
                      [--backend simulator|soap] [--config FILE.json]
    ampc check FILE.amp...               report every problem; exit 1 if any
    ampc functions [--json]              list the supported AMPscript functions

Problems are printed as `FILE.amp:LINE:COL: error: MESSAGE`, with the source
line and a caret, on stderr, and the exit code is 1.  Internal errors are
reported the same way, without a traceback unless AMPC_DEBUG=1 is set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from ampscript import Context
from ampscript.errors import AMPscriptError
from ampscript.registry import all_functions

from .compiler import attach_source, compile_source, load_module
from .errors import CompileError, SourceFile


class _Failure(Exception):
    """A problem already reported on stderr; exit with status 1."""


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments().parse_args(argv)
    try:
        return arguments.command(arguments)
    except _Failure:
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ampc functions | head`: the reader has gone; nothing to report
        sys.stderr.close()
        return 0
    except AMPscriptError as error:
        _report(error)
        return 1
    except Exception as error:  # an ampc bug: say so plainly, keep the traceback for those who ask
        if os.environ.get("AMPC_DEBUG"):
            traceback.print_exc()
        print(
            f"ampc: internal error: {type(error).__name__}: {error}\n"
            "this is a bug in ampc; set AMPC_DEBUG=1 to see the Python traceback",
            file=sys.stderr,
        )
        return 1


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ampc", description="Compile AMPscript to Python, and run it.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    compile_ = commands.add_parser("compile", help="compile an AMPscript file into a Python module")
    compile_.add_argument("file", type=Path, metavar="FILE.amp")
    compile_.add_argument("-o", "--output", metavar="OUT.py", help="where to write the module ('-' for stdout)")
    compile_.set_defaults(command=_compile)

    run = commands.add_parser("run", help="compile and render an AMPscript file, printing its output")
    run.add_argument("file", type=Path, metavar="FILE.amp")
    run.add_argument("--workspace", type=Path, metavar="DIR", help="the workspace folder (default: the file's folder)")
    run.add_argument("--subscriber", type=Path, metavar="FILE.json", help="subscriber attributes as a JSON object")
    run.add_argument(
        "--state", type=Path, metavar="FILE.db", help="keep the simulator's state in this SQLite file across runs"
    )
    run.add_argument(
        "--backend",
        choices=("simulator", "soap"),
        default="simulator",
        help="where API calls go: the embedded simulator (default) or a real tenant over SOAP",
    )
    run.add_argument(
        "--config",
        type=Path,
        metavar="FILE.json",
        help="SOAP backend settings (default: the AMPC_MC_* environment variables)",
    )
    run.set_defaults(command=_run)

    check = commands.add_parser("check", help="report every problem in AMPscript files")
    check.add_argument("files", type=Path, nargs="+", metavar="FILE.amp")
    check.set_defaults(command=_check)

    functions = commands.add_parser("functions", help="list the supported AMPscript functions")
    functions.add_argument("--json", action="store_true", help="machine-readable output")
    functions.set_defaults(command=_functions)
    return parser


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        print(f"{path}: error: no such file", file=sys.stderr)
    except IsADirectoryError:
        print(f"{path}: error: is a folder, not an AMPscript file", file=sys.stderr)
    except UnicodeDecodeError as error:
        print(f"{path}: error: not UTF-8 text (byte {error.start}); save the file as UTF-8", file=sys.stderr)
    except OSError as error:
        print(f"{path}: error: cannot read: {error.strerror}", file=sys.stderr)
    raise _Failure


def _report(error: AMPscriptError) -> None:
    print(str(error), file=sys.stderr)


def _compile(arguments: argparse.Namespace) -> int:
    source = _read(arguments.file)
    module = compile_source(source, str(arguments.file))
    if arguments.output == "-":
        sys.stdout.write(module)
        return 0
    target = Path(arguments.output) if arguments.output else arguments.file.with_suffix(".py")
    if target.resolve() == arguments.file.resolve():
        print(f"{target}: error: refusing to overwrite the AMPscript source", file=sys.stderr)
        return 1
    target.write_text(module, encoding="utf-8")
    return 0


def _run(arguments: argparse.Namespace) -> int:
    source = _read(arguments.file)
    filename = str(arguments.file)
    module = load_module(compile_source(source, filename), filename)
    subscriber = None
    if arguments.subscriber is not None:
        subscriber = _load_subscriber(arguments.subscriber)
    workspace = arguments.workspace if arguments.workspace is not None else arguments.file.parent
    context = Context(
        workspace=workspace, subscriber=subscriber, state=arguments.state, backend=_backend(arguments)
    )
    try:
        output = module.render(context)
    except AMPscriptError as error:
        attach_source(error, SourceFile(filename, source))
        raise
    sys.stdout.write(output)
    sys.stdout.flush()
    return 0


def _backend(arguments: argparse.Namespace):
    """The SOAP backend when asked for (configured from a file or the environment), else None."""
    if arguments.backend != "soap":
        if arguments.config is not None:
            print("ampc run: error: --config applies to --backend soap only", file=sys.stderr)
            raise _Failure
        return None
    from ampscript.backends.soap import SoapBackend, SoapConfig, SoapConfigError

    try:
        config = SoapConfig.from_file(arguments.config) if arguments.config else SoapConfig.from_env()
    except (SoapConfigError, OSError) as error:
        print(f"ampc run: error: {error}", file=sys.stderr)
        raise _Failure from None
    return SoapBackend(config)


def _load_subscriber(path: Path) -> dict:
    text = _read(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        print(f"{path}:{error.lineno}:{error.colno}: error: invalid JSON: {error.msg}", file=sys.stderr)
        raise _Failure from None
    if not isinstance(data, dict):
        print(f"{path}: error: expected a JSON object of attribute names to values", file=sys.stderr)
        raise _Failure
    return data


def _check(arguments: argparse.Namespace) -> int:
    failed = False
    for path in arguments.files:
        try:
            compile_source(_read(path), str(path))
        except _Failure:
            failed = True
        except CompileError as error:
            _report(error)
            failed = True
    return 1 if failed else 0


def _functions(arguments: argparse.Namespace) -> int:
    specs = all_functions()
    if arguments.json:
        rows = [
            {
                "name": spec.name,
                "category": spec.category,
                "minArgs": spec.min_args,
                "maxArgs": spec.max_args,
                "outParams": sorted(position + 1 for position in spec.out_params),
            }
            for spec in specs
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        plural = "" if spec.max_args == 1 and spec.min_args == 1 else "s"
        print(f"{spec.name:<{width}}  {spec.category:<22}  {spec.arity_text()} argument{plural}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
