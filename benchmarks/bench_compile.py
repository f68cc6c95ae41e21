#!/usr/bin/env python3
"""Compiling the sample scripts, against another git revision, as a ratio (interleaved rounds, median).

    python3 benchmarks/bench_compile.py --against REV [--rounds 7]

Compiles every ``samples/*/*.amp`` as ``ampc run`` does (no black), many
times, with this checkout and with the git revision REV (checked out in a
temporary worktree), in alternating subprocesses, and prints the time per
round of all samples for each and their ratio.  It shows what a change to
the grammar or the code generator costs the compile (issue 10 allows 10%).
The same sources are compiled by both trees: the samples of this checkout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from revisions import ROOT, checkout, median_pair

SAMPLES = sorted((ROOT / "samples").glob("*/*.amp"))


def _compile_time(tree: Path, repeats: int) -> float:
    """Seconds to compile all samples once, with the ampc in `tree` (its packages first on sys.path)."""
    sys.path[:0] = [str(tree / "runtime"), str(tree / "transpiler")]
    from ampc import compiler

    if hasattr(compiler, "compile_module"):  # what ampc run compiles with (the fast emitter)
        compile_to_run = compiler.compile_module
    else:  # revisions before it: unformatted libcst source, loaded
        def compile_to_run(source: str, name: str) -> object:
            return compiler.load_module(compiler.compile_source(source, name, readable=False), name)

    sources = [(path.read_text(encoding="utf-8"), path.name) for path in SAMPLES]
    for source, name in sources:  # warm up: the parser tables, the function registry
        compile_to_run(source, name)
    started = time.perf_counter()
    for _ in range(repeats):
        for source, name in sources:
            compile_to_run(source, name)
    return (time.perf_counter() - started) / repeats


def _subprocess_compile(tree: Path, repeats: int) -> float:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(tree), "--repeats", str(repeats)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", required=False, help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # a subprocess of --against
    parser.add_argument("--repeats", type=int, default=20, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure is not None:
        print(json.dumps({"seconds": _compile_time(arguments.measure, arguments.repeats)}))
        return
    if not arguments.against:
        parser.error("give --against REV (for example --against HEAD~1)")
    with checkout(arguments.against) as worktree:
        ours, theirs = median_pair(
            lambda: _subprocess_compile(ROOT, arguments.repeats),
            lambda: _subprocess_compile(worktree, arguments.repeats),
            arguments.rounds,
        )
    print(f"compiling the {len(SAMPLES)} samples, median of {arguments.rounds} interleaved rounds:")
    print(f"  this checkout: {ours * 1e3:7.1f} ms")
    print(f"  {arguments.against}: {theirs * 1e3:7.1f} ms")
    print(f"  ratio: {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
