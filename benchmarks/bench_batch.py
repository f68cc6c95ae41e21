#!/usr/bin/env python3
"""``ampc batch``: renders per second, one process, two, and a Dask cluster, against baselines timed in the same run.

    python3 benchmarks/bench_batch.py [--rows 100000] [--rounds 3] [--memory [--memory-rows 1000000]]

The email is `benchmarks/email/email.amp` (and its Jinja2 twin), rendered
for N varied subscribers (a first name, a tier among gold, silver, bronze
and none, a total), held in memory as dicts so that no figure includes
reading an audience.  In interleaved rounds (median of each), it times:

* Jinja2: `email.jinja2` rendered for every row in a plain Python loop, the
  output dropped (the baseline of the single process; issue 14: ampc's
  time at most 1.0x Jinja2's);
* ampc, one process: `ampc.batch.run` with ``jobs=1`` and no output
  (``keep_output=False``, as ``ampc batch`` without ``--out``: each
  render a fresh `Context`, as ``ampc batch`` makes one; ``--seed`` shows
  the same with ``--now T --seed S``, which seed a generator per render);
* ampc, two processes: ``jobs=2`` (target: at least 1.7x the rate of one
  process, i.e. at most 0.59x its time);
* Dask: `ampc.batch_dask.render_dask` over the same rows (``from_pandas``,
  eight partitions per worker) on a `LocalCluster` of two worker processes
  started once, each partition's results reduced to their count on its
  worker (no output, as above; target at least 1.4x one process's rate);
* Dask's scheduling overhead per partition: a trivial ``map_partitions``
  (``len``) over as many partitions of a one-row-per-partition frame,
  divided by the number of partitions.

Before timing, every row's output from ampc is compared with Jinja2's and
the benchmark stops if any differs.

``--memory`` (not part of the default run; a few minutes) streams
``--memory-rows`` rows (1,000,000) from a generated CSV through
`ampc.batch.run` with ``jobs=2`` into a JSON Lines file, sampling the
resident memory (/proc) of this process and of its workers twice a second,
and reports the largest growth, after the first 100,000 rows, over the
sample taken when those were done (flat: within about 10%).

`rows(rounds)` gives benchmarks/run.py's table its rows, over the same
100,000 subscribers (with 20,000, the start-up of the pools and the cluster
weighs enough to miss the targets).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
EMAIL = HERE / "email"

from ampc import batch  # noqa: E402
from ampc.batch import BatchSettings, CompiledScript  # noqa: E402

NOW = dt.datetime(2026, 12, 1, 9, 0)
ROWS_IN_RUN = 100_000  # benchmarks/run.py's table: the audience (fewer would be mostly start-up)
TARGETS = {"Jinja2": 1.0, "jobs=2": 1 / 1.7, "dask": 1 / 1.4}
FIRST_NAMES = ["Ana", "Bo", "Chen", "Dee", "Émile", "Farah", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena"]
TIERS = ["gold", "silver", "bronze", ""]


def subscribers(count: int, seed: int = 14) -> list[dict]:
    """Varied subscribers: every tier, small and large totals (both sides of the email's > 100)."""
    generator = random.Random(seed)
    return [
        {
            "SubscriberKey": f"sk-{n:07d}",
            "FirstName": generator.choice(FIRST_NAMES),
            "Tier": generator.choice(TIERS),
            "Total": round(generator.uniform(0, 5_000), 2),
        }
        for n in range(count)
    ]


def _script() -> CompiledScript:
    return CompiledScript.compile((EMAIL / "email.amp").read_text(encoding="utf-8"), str(EMAIL / "email.amp"))


def _settings(seed: str | None = None) -> BatchSettings:
    """``ampc batch``'s defaults (the clock and randomness unfixed); `seed` as ``--now T --seed S`` do."""
    if seed is None:
        return BatchSettings(workspace=str(EMAIL))
    return BatchSettings(workspace=str(EMAIL), now=NOW, seed=seed)


def _template():
    import jinja2

    return jinja2.Environment(keep_trailing_newline=True).from_string(
        (EMAIL / "email.jinja2").read_text(encoding="utf-8")
    )


def check_outputs(script: CompiledScript, settings: BatchSettings, rows: list[dict]) -> None:
    """ampc's messages must be Jinja2's, row for row, before either is timed."""
    template = _template()
    for result, row in zip(batch.render_rows(script, settings, rows), rows):
        expected = template.render(**row)
        if result.error is not None or result.output != expected:
            raise SystemExit(
                f"ampc and Jinja2 differ for {row}: {result.output or result.error!r} != {expected!r}"
            )


# ---- the timings -------------------------------------------------------------------------------


def time_jinja(rows: list[dict]) -> float:
    render = _template().render
    started = time.perf_counter()
    for row in rows:
        render(**row)
    return time.perf_counter() - started


def time_batch(script: CompiledScript, settings: BatchSettings, rows: list[dict], jobs: int) -> float:
    started = time.perf_counter()
    summary = batch.run(script, settings, rows, jobs=jobs, keep_output=False)  # dropped, as Jinja2's and Dask's are
    elapsed = time.perf_counter() - started
    assert summary.rendered == len(rows) and not summary.failed, summary.lines()
    return elapsed


class DaskRun:
    """A LocalCluster of two worker processes, started once for every round."""

    PARTITIONS_PER_WORKER = 8

    def __init__(self, workers: int = 2) -> None:
        import distributed

        started = time.perf_counter()
        self.cluster = distributed.LocalCluster(
            n_workers=workers,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        self.client = distributed.Client(self.cluster)
        self.workers = workers
        self.startup = time.perf_counter() - started

    def close(self) -> None:
        self.client.close()
        self.cluster.close()

    def partitions(self) -> int:
        return self.workers * self.PARTITIONS_PER_WORKER

    def time_render(self, script: CompiledScript, settings: BatchSettings, rows: list[dict]) -> float:
        import dask.dataframe as dd
        import pandas as pd

        from ampc.batch_dask import render_dask

        started = time.perf_counter()
        frame = dd.from_pandas(pd.DataFrame(rows), npartitions=self.partitions(), sort=False)
        results = render_dask(frame, script, settings, client=self.client)
        counted = results.map_partitions(
            len, meta=(None, "int64")
        ).compute()  # the outputs stay on the workers
        elapsed = time.perf_counter() - started
        assert int(counted.sum()) == len(rows), counted
        return elapsed

    def overhead_per_partition(self) -> float:
        """A trivial map_partitions over as many partitions (one row each): the scheduling cost of one."""
        import dask.dataframe as dd
        import pandas as pd

        count = self.partitions()
        frame = dd.from_pandas(pd.DataFrame({"n": range(count)}), npartitions=count, sort=False)
        started = time.perf_counter()
        counted = frame.map_partitions(len, meta=(None, "int64")).compute()
        elapsed = time.perf_counter() - started
        assert int(counted.sum()) == count and frame.npartitions == count
        return elapsed / count


def medians(rounds: int, count: int, dask: bool = True, seed: str | None = None) -> dict[str, float]:
    rows = subscribers(count)
    script, settings = _script(), _settings(seed)
    check_outputs(script, settings, rows[:2_000])
    timings: dict[str, Callable[[], float]] = {
        "Jinja2": lambda: time_jinja(rows),
        "jobs=1": lambda: time_batch(script, settings, rows, 1),
        "jobs=2": lambda: time_batch(script, settings, rows, 2),
    }
    runner = None
    if dask:
        runner = DaskRun()
        runner.time_render(script, settings, rows[: runner.partitions() * 10])  # workers load the script once
        timings["dask"] = lambda: runner.time_render(script, settings, rows)
        timings["dask overhead"] = runner.overhead_per_partition
    try:
        samples: dict[str, list[float]] = {name: [] for name in timings}
        for _ in range(rounds):
            for name, timing in timings.items():  # interleaved: each round times every figure once
                samples[name].append(timing())
    finally:
        if runner is not None:
            runner.close()
    found = {name: statistics.median(values) for name, values in samples.items()}
    if runner is not None:
        found["dask startup"] = runner.startup
        found["partitions"] = runner.partitions()
    return found


def rows(rounds: int) -> list[tuple[str, float, str, float, float | None]]:
    """benchmarks/run.py's rows: (figure, seconds, baseline's name, its seconds, the target ratio or None)."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
        import pandas  # noqa: F401
    except ImportError:
        have_dask = False
    else:
        have_dask = True
    count = ROWS_IN_RUN
    found = medians(max(3, rounds // 2), count, dask=have_dask)
    one = found["jobs=1"]
    table = [
        (f"batch of {count:,}, one process", one, "Jinja2 loop", found["Jinja2"], TARGETS["Jinja2"]),
        (f"batch of {count:,}, jobs=2", found["jobs=2"], "one process", one, TARGETS["jobs=2"]),
    ]
    if have_dask:
        table.append(
            (f"batch of {count:,}, Dask 2 workers", found["dask"], "one process", one, TARGETS["dask"])
        )
        per_partition = one / found["partitions"]  # one partition's rows rendered in one process
        table.append(
            (
                "Dask overhead per partition",
                found["dask overhead"],
                "a partition's renders",
                per_partition,
                None,
            )
        )
    return table


# ---- memory ---------------------------------------------------------------------------------------


def _resident(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                found.extend(int(child) for child in children.read().split())
    except OSError:
        pass
    return found


def write_audience(path: Path, count: int) -> None:
    generator = random.Random(14)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["SubscriberKey", "FirstName", "Tier", "Total"])
        for n in range(count):
            writer.writerow(
                [
                    f"sk-{n:07d}",
                    generator.choice(FIRST_NAMES),
                    generator.choice(TIERS),
                    f"{generator.uniform(0, 5_000):.2f}",
                ]
            )


def memory(count: int, interval: float = 0.5, warm: int = 100_000) -> dict[str, float]:
    """Stream `count` CSV rows through ``batch.run(jobs=2)`` into JSON Lines; resident memory, sampled as it goes."""
    script, settings = _script(), _settings()
    with tempfile.TemporaryDirectory(prefix="ampc-bench-batch-") as folder:
        audience = Path(folder) / "audience.csv"
        write_audience(audience, count)
        output = batch.JsonlOutput(Path(folder) / "out.jsonl")
        done = 0
        samples: list[tuple[int, int, int]] = []  # (rows done, this process's bytes, its workers' bytes)
        stop = threading.Event()

        def sample() -> None:
            me = os.getpid()
            while not stop.wait(interval):
                workers = sum(_resident(child) for child in _children(me))
                samples.append((done, _resident(me), workers))

        def keep(result: batch.Rendered) -> None:
            nonlocal done
            output.write(result)
            done += 1

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        try:
            summary = batch.run(script, settings, batch.read_audience(audience), jobs=2, on_result=keep)
        finally:
            stop.set()
            sampler.join()
            output.close()
        seconds = time.perf_counter() - started
        written = (Path(folder) / "out.jsonl").stat().st_size
    assert summary.rendered == count and not summary.failed, summary.lines()
    warmed = [s for s in samples if s[0] >= warm and s[2] > 0]
    if not warmed:
        raise SystemExit(
            f"no sample after {warm:,} rows with workers running; more rows or a shorter interval"
        )
    first, earliest = warmed[0], next(s for s in samples if s[2] > 0)
    return {
        "earliest rows": earliest[0],
        "earliest parent": earliest[1],
        "earliest workers": earliest[2],
        "rows": count,
        "seconds": seconds,
        "samples": len(warmed),
        "output bytes": written,
        "parent first": first[1],
        "parent max": max(s[1] for s in warmed),
        "workers first": first[2],
        "workers max": max(s[2] for s in warmed),
        "total first": first[1] + first[2],
        "total max": max(s[1] + s[2] for s in warmed),
    }


def print_memory(found: dict[str, float]) -> None:
    print(
        f"{found['rows']:,} rows through batch.run(jobs=2) to JSON Lines ({found['output bytes'] / 1e6:,.0f} MB) "
        f"in {found['seconds']:.1f} s; {found['samples']} samples after the first 100,000 rows"
    )
    print(
        f"  (the first sample, at {found['earliest rows']:,} rows: parent {found['earliest parent'] / 1e6:.1f} MB, "
        f"workers {found['earliest workers'] / 1e6:.1f} MB)"
    )
    for who in ("parent", "workers", "total"):
        first, most = found[f"{who} first"], found[f"{who} max"]
        print(
            f"  {who:<8} resident {first / 1e6:7.1f} MB at 100,000 rows, at most {most / 1e6:7.1f} MB after "
            f"({(most / first - 1) * 100:+.1f}%)"
        )


# ---- the command --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask figures")
    parser.add_argument("--seed", help="render as ampc batch --now 2026-12-01T09:00 --seed SEED does")
    parser.add_argument(
        "--memory", action="store_true", help="the memory-flatness run instead (a few minutes)"
    )
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    arguments = parser.parse_args()
    if arguments.memory:
        print_memory(memory(arguments.memory_rows))
        return 0
    found = medians(arguments.rounds, arguments.rows, dask=not arguments.no_dask, seed=arguments.seed)
    count = arguments.rows
    one = found["jobs=1"]
    seeded = f", --seed {arguments.seed}" if arguments.seed else ""
    print(f"{count:,} subscribers{seeded}, median of {arguments.rounds} interleaved rounds")
    print(f"  {'Jinja2 loop':<26}{found['Jinja2']:7.2f} s {count / found['Jinja2']:9,.0f}/s")
    rows_shown = [("one process (jobs=1)", "jobs=1", "Jinja2", found["Jinja2"])]
    rows_shown.append(("two processes (jobs=2)", "jobs=2", "jobs=2", one))
    if "dask" in found:
        rows_shown.append(("Dask, 2 workers", "dask", "dask", one))
    for label, name, target, baseline in rows_shown:
        ratio = found[name] / baseline
        goal = TARGETS[target]
        versus = "Jinja2" if target == "Jinja2" else "one process"
        print(
            f"  {label:<26}{found[name]:7.2f} s {count / found[name]:9,.0f}/s  {ratio:5.2f}x {versus}'s time "
            f"(target <= {goal:.2f}x){'' if ratio <= goal else '  (missed)'}"
        )
    if "dask" in found:
        print(
            f"  Dask: {found['partitions']:.0f} partitions, overhead {found['dask overhead'] * 1e3:.2f} ms per "
            f"partition (trivial map_partitions), cluster start-up {found['dask startup']:.1f} s (not in the times)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
