#!/usr/bin/env python3
"""The value core's comparisons and conversions, as ratios against baselines timed in the same run.

    python3 benchmarks/bench_values.py [--rounds 7]
    python3 benchmarks/bench_values.py --against REV [--rounds 7]

The first form times, interleaved and as the median of the rounds:

1. per call: `eq`/`lt` (the comparison rules) on the common cases, and a
   typed function (`Substring`, a Text and two Integer parameters), against
   a Python function doing the plain operation (``a == b``, a slice);
2. per render: an email-like script that compares and converts in a loop
   (the one in `SCRIPT`), against a hand-written Python function that
   prints the same output.

With ``--against REV`` it renders the same script with this checkout and
with the git revision REV (checked out in a temporary worktree), in
alternating subprocesses, and prints their ratio: the way to show that a
change to the value core does not slow a render down.

The fast paths that keep the ratios low: same-type integers and equal
strings are decided before the rules are walked; text that cannot be a
number is told from a number by its first character; a typed function's
arguments that already have their types pass with one type check
(`ampscript.converting`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revisions import ROOT, checkout, median_pair

SCRIPT = """%%[ set @count = 0 set @total = 0 for @i = 1 to 20 do
  if @i == 10 then set @count = Add(@count, 1) endif
  if "Gold" == "gold" then set @tier = Substring("Gold member", 1, 4) endif
  set @total = Add(@total, @i)
  set @label = Concat("Item ", @i, " ", Uppercase(@tier))
next ]%%<p>%%=v(@count)=%% %%=v(@tier)=%% %%=FormatNumber(@total, "N2")=%% %%=v(@label)=%%</p>
%%[ if @total > 100 then ]%%big%%[ elseif @total > 10 then ]%%mid%%[ else ]%%small%%[ endif ]%%"""


def hand_written() -> str:
    count, total, tier, label = 0, 0, "", ""
    for i in range(1, 21):
        if i == 10:
            count += 1
        if "Gold".upper() == "gold".upper():
            tier = "Gold member"[0:4]
        total += i
        label = f"Item {i} {tier.upper()}"
    size = "big" if total > 100 else "mid" if total > 10 else "small"
    return f"<p>{count} {tier} {total:,.2f} {label}</p>\n{size}"


def _per_call(function, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def _render_time(tree: Path, renders: int) -> float:
    """Seconds per render of SCRIPT with the ampc in `tree` (its runtime and transpiler on sys.path first)."""
    sys.path[:0] = [str(tree / "runtime"), str(tree / "transpiler")]
    import ampc
    from ampscript import Context

    module = ampc.load_module(ampc.compile_source(SCRIPT, "bench_values.amp"), "bench_values.amp")
    context = Context(workspace=tempfile.gettempdir())
    assert module.render(context) == hand_written(), module.render(context)
    for _ in range(20):
        module.render(context)
    return _per_call(lambda: module.render(context), renders)


def _in_process(rounds: int) -> None:
    sys.path[:0] = [str(ROOT / "runtime"), str(ROOT / "transpiler")]
    from ampscript import Context
    from ampscript.functions import Substring
    from ampscript.rendering import Page
    from ampscript.values.compare import eq, lt

    calls = 100_000
    cases = {
        "eq int == int": (lambda: eq(41, 42), lambda: 41 == 42),
        "eq equal strings": (lambda: eq("Gold", "Gold"), lambda: "Gold" == "Gold"),
        "eq strings differing in case": (lambda: eq("gold", "GOLD"), lambda: "gold".upper() == "GOLD".upper()),
        "eq '10' == 10": (lambda: eq("10", 10), lambda: int("10") == 10),
        "lt int < int": (lambda: lt(3, 7), lambda: 3 < 7),
    }
    print(f"{'per call (median of ' + str(rounds) + ' rounds)':<40}{'ampc':>10}{'baseline':>11}{'ratio':>8}")
    for label, (ours, plain) in cases.items():
        a, b = median_pair(lambda: _per_call(ours, calls), lambda: _per_call(plain, calls), rounds)
        print(f"  {label:<38}{a * 1e9:8.0f} ns{b * 1e9:8.0f} ns{a / b:7.1f}x")
    with Page.start(Context(), "bench_values.amp"):
        a, b = median_pair(
            lambda: _per_call(lambda: Substring("Gold member", 1, 4), calls),
            lambda: _per_call(lambda: "Gold member"[0:4], calls),
            rounds,
        )
    print(f"  {'Substring (Text, Integer parameters)':<38}{a * 1e9:8.0f} ns{b * 1e9:8.0f} ns{a / b:7.1f}x")
    renders = 300
    a, b = median_pair(
        lambda: _render_time(ROOT, renders), lambda: _per_call(hand_written, renders * 50), rounds
    )
    print(f"\nper render: script {a * 1e6:.0f} µs, hand-written Python {b * 1e6:.1f} µs ({a / b:.0f}x)")


def _subprocess_render(tree: Path, renders: int) -> float:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(tree), "--renders", str(renders)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)["seconds_per_render"]


def _against(revision: str, rounds: int) -> None:
    with checkout(revision) as worktree:
        renders = 2_000
        ours, theirs = median_pair(
            lambda: _subprocess_render(ROOT, renders), lambda: _subprocess_render(worktree, renders), rounds
        )
        print(f"per render, median of {rounds} interleaved rounds:")
        print(f"  this checkout: {ours * 1e6:7.1f} µs")
        print(f"  {revision}: {theirs * 1e6:7.1f} µs")
        print(f"  ratio: {ours / theirs:.2f}x ({'faster' if ours < theirs else 'slower'} than {revision})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--against", metavar="REV", help="compare renders with this git revision")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # a subprocess of --against
    parser.add_argument("--renders", type=int, default=2_000, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure is not None:
        print(json.dumps({"seconds_per_render": _render_time(arguments.measure, arguments.renders)}))
    elif arguments.against:
        _against(arguments.against, arguments.rounds)
    else:
        _in_process(arguments.rounds)


if __name__ == "__main__":
    main()
