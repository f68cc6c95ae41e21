#!/usr/bin/env python3
"""The value core's comparisons and conversions, against baselines timed in the same run.

    python3 benchmarks/bench_values.py [--rounds 7] [--calls 200000]

Two views, both as ratios (interleaved rounds, median of the rounds):

1. per call: `eq`/`lt` (the comparison rules) and the argument conversions
   of a typed function (`Substring`'s Text and Integer parameters) on the
   common cases (two integers, two equal strings, two strings differing in
   case, a numeric string and a number), against a Python function doing the
   plain operation (``a == b``, a slice);
2. per render: an email-like script that compares and converts in a loop,
   against a hand-written Python function printing the same output.

The fast paths (same-type integers and equal strings decided before the
rules are walked; text parameters passed through when they already are
text) are what keep the ratios low.
"""

from __future__ import annotations

import argparse
import statistics
import time

import ampc
from ampscript import Context
from ampscript.functions import Substring
from ampscript.rendering import Page
from ampscript.values.compare import eq, lt

CASES = {
    "int == int": (41, 42),
    "str == str (equal)": ("Gold", "Gold"),
    "str == str (case)": ("gold", "GOLD"),
    "'10' == 10": ("10", 10),
}

SCRIPT = """%%[ set @count = 0 for @i = 1 to 50 do
  if @i == 25 then set @count = Add(@count, 1) endif
  if "Gold" == "gold" then set @tier = Substring("Gold member", 1, 4) endif
  if @i < "30" then set @low = 1 endif
next ]%%%%=v(@count)=%% %%=v(@tier)=%%"""


def hand_written() -> str:
    count, tier = 0, ""
    for i in range(1, 51):
        if i == 25:
            count += 1
        if "Gold".upper() == "gold".upper():
            tier = "Gold member"[0:4]
        if i < 30:
            pass
    return f"{count} {tier}"


def _time(function, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200_000)
    arguments = parser.parse_args()
    rounds, calls = arguments.rounds, arguments.calls

    print("per call (median of rounds)           ampc        baseline   ratio")
    for label, (a, b) in CASES.items():
        plain = lambda a=a, b=b: a == b  # noqa: E731
        ours = lambda a=a, b=b: eq(a, b)  # noqa: E731
        samples = [(_time(ours, calls), _time(plain, calls)) for _ in range(rounds)]
        ampc_time = statistics.median(s[0] for s in samples)
        base = statistics.median(s[1] for s in samples)
        print(f"  eq {label:<30} {ampc_time * 1e9:7.0f} ns  {base * 1e9:7.0f} ns  {ampc_time / base:5.1f}x")
    samples = [(_time(lambda: lt(3, 7), calls), _time(lambda: 3 < 7, calls)) for _ in range(rounds)]
    ours, base = (statistics.median(s[i] for s in samples) for i in (0, 1))
    print(f"  lt int < int{'':<25} {ours * 1e9:7.0f} ns  {base * 1e9:7.0f} ns  {ours / base:5.1f}x")

    with Page.start(Context(), "bench_values.amp"):
        samples = [
            (_time(lambda: Substring("Gold member", 1, 4), calls), _time(lambda: "Gold member"[0:4], calls))
            for _ in range(rounds)
        ]
    ours, base = (statistics.median(s[i] for s in samples) for i in (0, 1))
    print(f"  Substring (Text, Integer params){'':<5} {ours * 1e9:7.0f} ns  {base * 1e9:7.0f} ns  {ours / base:5.1f}x")

    module = ampc.load_module(ampc.compile_source(SCRIPT, "bench_values.amp"), "bench_values.amp")
    context = Context()
    assert module.render(context) == hand_written(), (module.render(context), hand_written())
    renders = max(calls // 500, 50)
    samples = [(_time(lambda: module.render(context), renders), _time(hand_written, renders)) for _ in range(rounds)]
    ours, base = (statistics.median(s[i] for s in samples) for i in (0, 1))
    print(f"\nper render: script {ours * 1e6:.0f} µs, hand-written Python {base * 1e6:.1f} µs ({ours / base:.0f}x)")


if __name__ == "__main__":
    main()
