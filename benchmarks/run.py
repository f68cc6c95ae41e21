#!/usr/bin/env python3
"""Every performance figure of issue 11, as ratios against baselines timed in the same run.

    python3 benchmarks/run.py [--rounds 7] [--only render,compile,startup,data,memory,batch]

Each figure is timed in interleaved rounds (the figure, then its baseline,
then again...) and the median of each is taken; the table shows the ratio
and the target.  The machine is shared and noisy: the ratios mean more than
the times.

* render: `benchmarks/email/email.amp` against the same email in Jinja2
  (`email.jinja2`) and written by hand in Python (`email_python.py`); the
  three outputs are compared first, and the benchmark fails if they differ.
* compile: the email's AMPscript repeated to 30, 300 and 3,000 lines,
  compiled as `ampc run` does (no black) and as `ampc compile` does (black),
  against Jinja2 compiling its equivalent.
* startup, data, batch: `bench_startup.py`, `bench_seed.py` and `bench_batch.py`
  (each also runs alone; batch renders 20,000 subscribers here, 100,000 alone).
* memory: resident memory before and after 20,000 renders.

Jinja2 is a benchmark dependency only: ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
EMAIL = HERE / "email"
sys.path[:0] = [str(HERE), str(EMAIL)]

SUBSCRIBER = {"FirstName": "Ana", "Tier": "silver", "Total": 1234.5}


@dataclass
class Row:
    figure: str
    value: float  # seconds, or a size
    baseline_name: str
    baseline: float
    target: float | None  # the ratio to stay under; None: shown only
    unit: str = "s"

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")


def interleaved(first: Callable[[], float], second: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Medians of two timings taken in alternation."""
    samples = [(first(), second()) for _ in range(rounds)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def per_call(function: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


# ---- render ---------------------------------------------------------------------------------


def _email_renderers():
    import ampc
    import email_python
    import jinja2
    from ampscript import Context

    source = (EMAIL / "email.amp").read_text(encoding="utf-8")
    module = ampc.compile_module(source, "email.amp")
    context = Context(subscriber=SUBSCRIBER, workspace=EMAIL)
    template = jinja2.Environment(keep_trailing_newline=True).from_string(
        (EMAIL / "email.jinja2").read_text(encoding="utf-8")
    )
    renderers = {
        "ampc": lambda: module.render(context),
        "Jinja2": lambda: template.render(**SUBSCRIBER),
        "Python": lambda: email_python.render(SUBSCRIBER),
    }
    outputs = {name: render() for name, render in renderers.items()}
    if len(set(outputs.values())) != 1:
        raise SystemExit(f"the three emails differ; fix the benchmark before timing it: {outputs}")
    return renderers


def render_rows(rounds: int) -> list[Row]:
    renderers = _email_renderers()
    calls = 2_000
    ampc_vs_jinja = interleaved(
        lambda: per_call(renderers["ampc"], calls), lambda: per_call(renderers["Jinja2"], calls), rounds
    )
    ampc_vs_python = interleaved(
        lambda: per_call(renderers["ampc"], calls), lambda: per_call(renderers["Python"], calls), rounds
    )
    return [
        Row("render the email", ampc_vs_jinja[0], "Jinja2", ampc_vs_jinja[1], 1.0),
        Row("render the email", ampc_vs_python[0], "hand-written Python", ampc_vs_python[1], 6.0),
    ]


# ---- compile --------------------------------------------------------------------------------


def _sources(lines: int) -> tuple[str, str]:
    """The email's AMPscript and Jinja2 repeated to about `lines` lines (whole copies)."""
    amp = (EMAIL / "email.amp").read_text(encoding="utf-8")
    jinja = (EMAIL / "email.jinja2").read_text(encoding="utf-8")
    copies = max(1, round(lines / amp.count("\n")))
    return amp * copies, jinja * copies


def compile_rows(rounds: int) -> list[Row]:
    import jinja2
    environment = jinja2.Environment(keep_trailing_newline=True)
    rows = []
    for lines in (30, 300, 3_000):
        rows.extend(_compile_rows_for(lines, environment, rounds))
    return rows


def _compile_rows_for(lines: int, environment, rounds: int) -> list[Row]:
    """`ampc run`'s compile (the fast emitter, to a loaded module) and `ampc compile`'s (libcst and black)."""
    from ampc.compiler import compile_module, compile_source

    amp, jinja = _sources(lines)
    calls = max(1, 300 // lines)

    def jinja_time() -> float:
        return per_call(lambda: environment.compile(jinja), calls)

    def run_time() -> float:
        return per_call(lambda: compile_module(amp, "email.amp"), calls)

    def readable_time() -> float:
        return per_call(lambda: compile_source(amp, "email.amp"), calls)

    fast, baseline = interleaved(run_time, jinja_time, rounds)
    readable, readable_baseline = interleaved(readable_time, jinja_time, max(3, rounds // 2))
    return [
        Row(f"compile {lines:,} lines (run)", fast, "Jinja2", baseline, 2.0),
        Row(f"compile {lines:,} lines (ampc compile)", readable, "Jinja2", readable_baseline, 5.0),
    ]


# ---- memory ---------------------------------------------------------------------------------


def _resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096


def memory_rows(rounds: int) -> list[Row]:
    render = _email_renderers()["ampc"]
    for _ in range(1_000):  # warm: caches fill once
        render()
    before = _resident_bytes()
    for _ in range(20_000):
        render()
    after = _resident_bytes()
    return [Row("resident memory after 20,000 renders", after, "before them", before, 1.05, unit="B")]


# ---- the table ------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[int], list[Row]]] = {
    "render": render_rows,
    "compile": compile_rows,
    "memory": memory_rows,
}


def _external(module_name: str) -> Callable[[int], list[Row]] | None:
    """A section kept in its own benchmark script (`rows(rounds)` returning (figure, value, baseline name, baseline, target))."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    rows = getattr(module, "rows", None)
    if rows is None:
        return None
    return lambda rounds: [Row(*row) for row in rows(rounds)]


def _shown(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value / 1e6:.1f} MB"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.1f} µs"


def main() -> int:
    try:
        import jinja2  # noqa: F401  (the render and compile baselines)
    except ImportError:
        print('benchmarks/run.py needs Jinja2, its baseline: python3 -m pip install -e ".[bench]"', file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", help="comma-separated sections: render, compile, startup, data, memory, batch")
    arguments = parser.parse_args()
    sections = dict(SECTIONS)
    for name, module in (("startup", "bench_startup"), ("data", "bench_seed"), ("batch", "bench_batch")):
        external = _external(module)
        if external is not None:
            sections[name] = external
    wanted = arguments.only.split(",") if arguments.only else list(sections)
    unknown = [name for name in wanted if name not in sections]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}; there are: {', '.join(sections)}")
    rows: list[Row] = []
    for name in wanted:
        rows.extend(sections[name](arguments.rounds))
    width = max(len(row.figure) for row in rows)
    print(f"{'figure':<{width}}  {'ampc':>10}  {'baseline':<22} {'':>10}  {'ratio':>7}  target")
    missed = 0
    for row in rows:
        target = "" if row.target is None else f"<= {row.target:g}x"
        ok = row.target is None or row.ratio <= row.target
        missed += not ok
        print(
            f"{row.figure:<{width}}  {_shown(row.value, row.unit):>10}  {row.baseline_name:<22} "
            f"{_shown(row.baseline, row.unit):>10}  {row.ratio:6.2f}x  {target}{'' if ok else '  (missed)'}"
        )
    print(f"median of {arguments.rounds} interleaved rounds; {missed} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
