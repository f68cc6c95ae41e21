"""A fuzzer for ampc: ``python -m ampc.fuzz [--seconds N] [--seed N] [--corpus DIR] [--save DIR]``.

It runs for as long as you let it (CI runs the same checks briefly, in
``tests/robustness/``) and looks for the three things ampc promises never
happen, whatever the input:

* an internal error: compiling or rendering raises anything but an
  `AMPscriptError` (a compile error, a runtime error, a limit);
* a changed module: the generated Python does not have the one shape
  (`ampc.shape`), so input could have become code;
* a hang: a case takes longer than ``--case-seconds`` (the render limits
  are set low, so no legitimate case comes close).

Three kinds of case, in turn:

* scripts generated from the grammar, with random nesting, every function
  of the registry and odd argument values (`ODD_LITERALS`);
* mutations of seed scripts (built-in ones, plus every ``.amp``/``.txt``
  file under ``--corpus``): tokens inserted, spans deleted or repeated;
* direct calls of every registered function with odd Python values for its
  arguments (`ODD_VALUES`, `call_function`), as compiled code would make them.

Cases run in a worker process that the fuzzer replaces when one hangs (a
hang in C code cannot be interrupted from inside).  Each finding is written
to ``--save`` (default ``fuzz-findings/``) as a file that reproduces it, and
the exit code is 1 if there were any.  Same seed, same cases.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import multiprocessing
import random
import re
import sys
import time
import traceback
from decimal import Decimal
from pathlib import Path
from typing import Any

from ampscript import Context, Limits
from ampscript.errors import AMPscriptError
from ampscript.registry import FunctionSpec, all_functions
from ampscript.values import Row, Rowset
from ampscript.variables import Ref

# Values as AMPscript literals can spell them (source text).
ODD_LITERALS: list[str] = [
    '""', '" "', '"1E+999999999"', '"-1E+999999999"', '"1E-999999999"', '"1e309"', '"1E+5000"',
    '"9223372036854775808"', '"-9223372036854775809"', "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "1" + "0" * 400, '"NaN"', '"Infinity"', '"-0"', "0", "-1", "0.5", "1.5",
    '"0x1F"', '"1,000,000"', '"abc"', '"%%=Now()=%%"', "'ß İ ǅ ﬃ ΐ'", '"\u0000\u001f"', '"😀 👩‍👧"',
    '"\ufeff\u202e"', '"(((((((((((((((a"', '"[[[[[[[[[[[[[[["', '"<a><a><a><a>"', '"(a|aa)+$"',
    '"' + "a" * 36 + '!"', '"N999999999"', '"yyyy-MM-dd HH:mm:ss"', '"12/31/9999 23:59:59"',
    '"1/1/0001"', '"2024-02-30"', "true", "false", "@unset", "Now()", '"2147483648"',
]

# Values as compiled code can pass them (Python objects), for direct calls.
ODD_VALUES: list[Any] = [
    None, "", " ", "1E+999999999", "-1E+999999999", "1E-999999999", "1e309", "1E+5000", "1E+28",
    "79228162514264337593543950336", "9223372036854775808", "-9223372036854775809",
    9223372036854775807, -9223372036854775808, 10**400, Decimal("1E+999999999"),
    Decimal("-0.000000000000000000000000000001"), "NaN", "Infinity", "-Infinity", "-0", "0", -1,
    "0x1F", "1,000,000", "abc", "%%=Now()=%%", "ß İ ǅ ﬃ ΐ", "\u0000\u0001\u001f",
    "\U0001F600 \U0001F469\u200d\U0001F467", "\ufeff\u202e\ufffd", "a" * 10_000,
    "((((((((((((((((((((((((((((((((((((((((((a", "[" * 5_000, '{"a":' * 3_000, "<a>" * 3_000,
    "(a|aa)+$", "a" * 36 + "!", "%d %s %n {0} {1:N999999999}", "N999999999",
    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", "2147483648", "12/31/9999 23:59:59", "1/1/0001",
    "2024-02-30", True, False, _dt.datetime(9999, 12, 31, 23, 59, 59), _dt.datetime(1, 1, 1),
    Rowset([Row({"a": "1"})]), Row({"a": "1"}),
]

# Limits low enough that no legitimate case comes near the case timeout.
FUZZ_LIMITS = Limits(
    render_seconds=3.0,
    output_characters=1_000_000,
    string_characters=1_000_000,
    loop_iterations=100_000,
    included_blocks=200,
    fragment_compiles=50,
    regex_seconds=0.5,
    http_request_seconds=1.0,
    http_response_bytes=1_000_000,
    state_lock_seconds=1.0,
)

_SEEDS = [
    '%%[ set @name = AttributeValue("FirstName") if Empty(@name) then set @name = "friend" endif ]%%'
    "<p>Hello %%=ProperCase(@name)=%%!</p>",
    '%%[ set @rows = BuildRowsetFromString("a,b,c", ",") for @i = 1 to RowCount(@rows) do '
    "set @row = Row(@rows, @i) ]%%<li>%%=Field(@row, 1)=%%</li>%%[ next @i ]%%",
    '%%=Format(Now(), "yyyy-MM-dd")=%% %%=FormatNumber(1234.5, "N2")=%% %%=Iif(1 < 2, "a", "b")=%%',
    '<script runat="server" language="ampscript">set @x = Concat("a", 1) Output(v(@x))</script>',
    '%%[ var @a, @b set @a = 1 elseif @b then ]%% %%= Add(@a, "2") =%% %%FirstName%% [Last Name]',
]
_TOKENS = [
    "%%[", "]%%", "%%=", "=%%", "%%", "<script runat=server>", "</script>", "if", "then", "elseif", "else",
    "endif", "for", "to", "downto", "do", "next", "set", "var", "and", "or", "not", "==", "!=", "<", ">=",
    "(", ")", ",", '"', "'", "@x", "@y", "[", "]", "/*", "*/", "\n", " ", "1", "-1.5", "true",
]


# ---- cases -----------------------------------------------------------------------------------


class _Generator:
    """Random AMPscript from the grammar, with every registered function and odd values."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.functions = all_functions()

    def script(self) -> str:
        parts = []
        for _ in range(self.rng.randint(1, 6)):
            choice = self.rng.random()
            if choice < 0.2:
                parts.append(self.rng.choice(["<p>", "text ", "\n", "%%FirstName%%", "[x]", "é"]))
            elif choice < 0.4:
                parts.append(f"%%={self.expression(0)}=%%")
            else:
                parts.append("%%[ " + " ".join(self.statement(0) for _ in range(self.rng.randint(1, 4))) + " ]%%")
        return "".join(parts)

    def statement(self, depth: int) -> str:
        choice = self.rng.random()
        if depth < 4 and choice < 0.15:
            branches = " ".join(
                f"elseif {self.expression(1)} then {self.statement(depth + 1)}" for _ in range(self.rng.randint(0, 3))
            )
            return f"if {self.expression(1)} then {self.statement(depth + 1)} {branches} else {self.statement(depth + 1)} endif"
        if depth < 4 and choice < 0.25:
            start, stop = self.rng.choice(["1", "0", "-1", "@n", "3"]), self.rng.choice(["3", "0", "@n", "10"])
            direction = self.rng.choice(["to", "downto"])
            return f"for @i = {start} {direction} {stop} do {self.statement(depth + 1)} next @i"
        if choice < 0.3:
            return f"var @{self.rng.choice('abxyn')}"
        if choice < 0.7:
            return f"set @{self.rng.choice('abxyn')} = {self.expression(0)}"
        return self.call(0)

    def expression(self, depth: int) -> str:
        choice = self.rng.random()
        if depth > 3 or choice < 0.35:
            return self.rng.choice(ODD_LITERALS + ["@a", "@b", "@x", "FirstName", "[Last Name]"])
        if choice < 0.55:
            operator = self.rng.choice(["==", "!=", "<", ">", "<=", ">="])
            return f"{self.expression(depth + 1)} {operator} {self.expression(depth + 1)}"
        if choice < 0.65:
            joiner = self.rng.choice([" and ", " or "])
            return "(" + joiner.join(self.expression(depth + 1) for _ in range(self.rng.randint(2, 4))) + ")"
        if choice < 0.7:
            return f"not {self.expression(depth + 1)}"
        return self.call(depth)

    def call(self, depth: int) -> str:
        spec = self.rng.choice(self.functions)
        top = spec.max_args if spec.max_args is not None else spec.min_args + 3
        count = self.rng.randint(spec.min_args, max(spec.min_args, min(top, spec.min_args + 4)))
        arguments = [
            f"@out{position}" if position in spec.out_params else self.expression(depth + 1)
            for position in range(count)
        ]
        return f"{spec.name}({', '.join(arguments)})"


def _mutate(rng: random.Random, source: str) -> str:
    text = source
    for _ in range(rng.randint(1, 4)):
        position = rng.randint(0, len(text))
        choice = rng.random()
        if choice < 0.5:
            text = text[:position] + rng.choice(_TOKENS) + text[position:]
        elif choice < 0.75 and text:
            end = min(len(text), position + rng.randint(1, 8))
            text = text[:position] + text[end:]
        else:
            end = min(len(text), position + rng.randint(1, 30))
            text = text[:position] + text[position:end] * rng.randint(2, 50) + text[end:]
    return text


def call_function(spec: FunctionSpec, arguments: tuple[Any, ...]) -> Any:
    """Call a function's implementation as compiled code would: out-parameters get `Ref` cells."""
    prepared = [Ref() if position in spec.out_params else value for position, value in enumerate(arguments)]
    return spec.implementation(*prepared)


def _direct_call(rng: random.Random) -> tuple[FunctionSpec, tuple[Any, ...]]:
    spec = rng.choice(all_functions())
    top = spec.max_args if spec.max_args is not None else spec.min_args + 3
    count = rng.randint(spec.min_args, max(spec.min_args, min(top, spec.min_args + 4)))
    return spec, tuple(rng.choice(ODD_VALUES) for _ in range(count))


# ---- running a case ---------------------------------------------------------------------------


# What may differ between two renders of one script: draws, clocks, the time limit.
_NONDETERMINISTIC = re.compile(r"random|guid|now|date|time", re.IGNORECASE)


def check_source(source: str, workspace: Path | None = None) -> str | None:
    """Compile and render one script through both emitters; a description of what went wrong, or None.

    Both generated modules must keep the one shape (`ampc.shape`) and render
    the same output or the same error.
    """
    from . import codegen
    from .compiler import checked_template, load_module, load_tree
    from .shape import ShapeError, check_module_shape

    filename = "fuzz.amp"
    try:
        template = checked_template(source, filename, None, None)
        readable, tree = codegen.generate(template, readable=False), codegen.generate_tree(template)
    except AMPscriptError:
        return None
    except Exception:  # noqa: BLE001 (that is the finding)
        return "internal error while compiling:\n" + traceback.format_exc()
    for emitted in (readable, tree):
        try:
            check_module_shape(emitted, filename)
        except ShapeError as error:
            return f"the generated module changed shape: {error}\n\n{readable}"
    outcomes = []
    for load in (lambda: load_module(readable, filename), lambda: load_tree(tree, filename, source)):
        try:
            outcomes.append(load().render(
                Context(workspace=workspace, subscriber={"FirstName": "Ana"}, limits=FUZZ_LIMITS)
            ))
        except AMPscriptError as error:
            outcomes.append(f"error: {error.message} at {error.line}:{error.column}")
        except Exception:  # noqa: BLE001
            return "internal error while rendering:\n" + traceback.format_exc()
    if outcomes[0] != outcomes[1] and not _NONDETERMINISTIC.search(source + "".join(outcomes)):
        return f"the two emitters disagree:\nreadable: {outcomes[0][:500]!r}\nfast: {outcomes[1][:500]!r}"
    if sum(map(ord, source)) % FORMATTING_SHARE == 0:  # black is slow: one script in FORMATTING_SHARE
        return check_formatting(template)
    return None


# One script in this many also has its `ampc compile` formatting compared with black's (`check_formatting`).
FORMATTING_SHARE = 8


def check_formatting(template: Any) -> str | None:
    """`ampc compile`'s layout (ampc.formatting, black only where it changes something) must be black's own."""
    from .codegen import _Generator
    from .emitters.readable import ReadableEmitter
    from .formatting import format_module, format_python

    module = _Generator(template, ReadableEmitter(template.filename), standalone=True).module()
    ours, blacks = format_module(module), format_python(module.code)
    if ours != blacks:
        return f"ampc.formatting differs from black's formatting of the whole module:\n{ours}\n---\n{blacks}"
    return None


def check_call(spec: FunctionSpec, arguments: tuple[Any, ...], workspace: Path | None = None) -> str | None:
    """Call one function inside a render; a description of what went wrong, or None."""
    from ampscript.rendering import Page

    context = Context(workspace=workspace, limits=FUZZ_LIMITS)
    try:
        with Page.start(context, "fuzz.amp"):
            result = call_function(spec, arguments)
    except AMPscriptError:
        return None
    except Exception:  # noqa: BLE001
        return f"internal error in {spec.name}():\n" + traceback.format_exc()
    if isinstance(result, str) and len(result) > FUZZ_LIMITS.string_characters:
        return f"{spec.name}() made a string of {len(result):,} characters, past stringCharacters"
    return None


def _case(index: int, seed: int, seeds: list[str]) -> tuple[str, Any]:
    """Case number `index` of a run: ('script', source) or ('call', (spec, arguments))."""
    rng = random.Random(f"{seed}:{index}")
    kind = index % 3
    if kind == 0:
        return "script", _Generator(rng).script()
    if kind == 1:
        return "script", _mutate(rng, rng.choice(seeds))
    return "call", _direct_call(rng)


def _worker(connection, seed: int, first: int, seeds: list[str], workspace: str | None) -> None:
    root = Path(workspace) if workspace else None
    index = first
    while True:
        kind, case = _case(index, seed, seeds)
        connection.send(("start", index))
        problem = check_source(case, root) if kind == "script" else check_call(*case, root)
        connection.send(("done", index, problem))
        index += 1


def _describe(kind: str, case: Any) -> str:
    if kind == "script":
        return case
    spec, arguments = case
    return f"{spec.name}{tuple(arguments)!r}"


def run(seconds: float, seed: int, case_seconds: float, seeds: list[str], save: Path, workspace: str | None) -> int:
    """Fuzz for `seconds`; returns the number of findings."""
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    deadline = started + seconds
    index = findings = cases = 0
    while time.monotonic() < deadline:
        index, found, ran = _one_worker(context, seed, index, seeds, workspace, deadline, case_seconds, save)
        findings, cases = findings + found, cases + ran
    print(f"ampc.fuzz: {cases} cases in {time.monotonic() - started:.0f} s (seed {seed}), {findings} findings")
    return findings


def _one_worker(context, seed, first, seeds, workspace, deadline, case_seconds, save) -> tuple[int, int, int]:
    """Run cases from `first` in a worker until the deadline or a hang: (next case, findings, cases run)."""
    parent, child = context.Pipe()
    worker = context.Process(target=_worker, args=(child, seed, first, seeds, workspace), daemon=True)
    worker.start()
    index, findings, cases = first, 0, 0
    running: int | None = None
    try:
        while time.monotonic() < deadline:
            wait = case_seconds if running is not None else case_seconds + 60  # the first start imports ampc
            if not parent.poll(wait):
                if running is None:
                    raise RuntimeError("the fuzzing worker did not start")
                findings += _report(save, seed, running, seeds, f"hang: no result within {case_seconds:g} s")
                return running + 1, findings, cases + 1
            message = parent.recv()
            if message[0] == "start":
                running = message[1]
                continue
            _, done, problem = message
            cases += 1
            if problem is not None:
                findings += _report(save, seed, done, seeds, problem)
            index, running = done + 1, None
        return index, findings, cases
    finally:
        worker.kill()
        worker.join()


def _report(save: Path, seed: int, index: int, seeds: list[str], problem: str) -> int:
    kind, case = _case(index, seed, seeds)
    save.mkdir(parents=True, exist_ok=True)
    target = save / f"seed{seed}-case{index}.txt"
    target.write_text(
        f"# ampc.fuzz finding: python -m ampc.fuzz --seed {seed} --replay {index}\n"
        f"# {problem.splitlines()[0]}\n\n{_describe(kind, case)}\n\n{problem}\n",
        encoding="utf-8",
        errors="replace",
    )
    print(f"finding: {problem.splitlines()[0]} (case {index}, written to {target})", file=sys.stderr)
    return 1


def _seed_files(corpus: Path | None) -> list[str]:
    seeds = list(_SEEDS)
    if corpus is not None:
        for path in sorted(corpus.rglob("*")):
            if path.suffix in (".amp", ".ampscript", ".txt") and path.is_file():
                seeds.append(path.read_text(encoding="utf-8", errors="replace")[:20_000])
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ampc.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="the run's seed (default: random, printed)")
    parser.add_argument("--case-seconds", type=float, default=20, help="a case taking longer is a hang (default 20)")
    parser.add_argument("--corpus", type=Path, help="a folder of .amp/.txt files to mutate besides the built-in seeds")
    parser.add_argument("--workspace", type=Path, help="the workspace scripts render against (default: none)")
    parser.add_argument("--save", type=Path, default=Path("fuzz-findings"), help="where findings are written")
    parser.add_argument("--replay", type=int, metavar="CASE", help="run one case of --seed in this process and show it")
    arguments = parser.parse_args(argv)
    seed = arguments.seed if arguments.seed is not None else random.SystemRandom().randrange(10**9)
    seeds = _seed_files(arguments.corpus)
    workspace = str(arguments.workspace) if arguments.workspace else None
    if arguments.replay is not None:
        kind, case = _case(arguments.replay, seed, seeds)
        print(_describe(kind, case))
        root = Path(workspace) if workspace else None
        problem = check_source(case, root) if kind == "script" else check_call(*case, root)
        print(problem or "no problem")
        return 1 if problem else 0
    found = run(arguments.seconds, seed, arguments.case_seconds, seeds, arguments.save, workspace)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
