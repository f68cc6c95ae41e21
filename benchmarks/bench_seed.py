#!/usr/bin/env python3
"""Seeding a 100,000-row data extension from CSV, against a baseline measured in the same run.

    python3 benchmarks/bench_seed.py [--rows 100000] [--rounds 5]

Writes a workspace to a temporary folder: ``DataExtensions/Members.csv``
(a Text primary key, Text, EmailAddress, Number, Decimal, Date and Boolean
columns) with its ``Members.schema.json``, and a page that looks a member
up.  Then, in interleaved rounds, times:

* baseline: the bare ``sqlite3`` ``executemany`` of the same rows (the
  CSV's texts) into a fresh in-memory table with no types, checks or
  indexes, which is the least any seeding can cost;
* first seed: a `Context`'s simulator on the workspace with nothing kept
  (the process's copy dropped, an empty cache folder): CSV read, every
  value checked and converted, rows inserted, indexes built, the copy
  written to the cache folder;
* second Context: another context in the same process, which starts from
  a copy of the seeded database (issue 11: at most 50 ms);
* second process: ``ampc run page.amp`` in a new process, the disk copy
  there, against ``ampc run`` of a page in a workspace with no data
  extensions (issue 11: at most 0.5 s more).

Prints the median of each, and its ratio to the baseline.  The issue asks
that the first seed take at most 3 s on the development machine.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ampscript import Context
from ampscript.backends import seeding

FIELDS = [
    {"name": "MemberKey", "type": "Text", "length": 20, "primaryKey": True},
    {"name": "Name", "type": "Text", "length": 100},
    {"name": "Email", "type": "EmailAddress", "length": 254},
    {"name": "Points", "type": "Number", "nullable": False},
    {"name": "Balance", "type": "Decimal", "scale": 2},
    {"name": "Joined", "type": "Date"},
    {"name": "Active", "type": "Boolean", "default": "true"},
]
PAGE = '%%[ set @email = Lookup("Members", "Email", "MemberKey", "m0000042") ]%%Hello %%=v(@email)=%%\n'
PLAIN_PAGE = "Hello %%=Uppercase('world')=%%\n"


def write_workspace(root: Path, row_count: int) -> list[list[str]]:
    """The benchmark's workspace under `root`; returns the CSV's rows (for the baseline)."""
    generator = random.Random(11)
    first_day = dt.date(2020, 1, 1)
    records = [
        [
            f"M{n:07d}",
            f"Member {n}",
            f"m{n}@example.com",
            str(generator.randrange(100_000)),
            f"{generator.randrange(10_000_000) / 100:.2f}",
            (first_day + dt.timedelta(days=generator.randrange(2_000))).isoformat(),
            generator.choice(["true", "false"]),
        ]
        for n in range(row_count)
    ]
    folder = root / "DataExtensions"
    folder.mkdir(parents=True)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([f["name"] for f in FIELDS])
    writer.writerows(records)
    (folder / "Members.csv").write_text(text.getvalue(), encoding="utf-8")
    (folder / "Members.schema.json").write_text(json.dumps({"customerKey": "members", "fields": FIELDS}))
    (root / "page.amp").write_text(PAGE, encoding="utf-8")
    return records


def baseline(records: list[list[str]]) -> float:
    db = sqlite3.connect(":memory:", isolation_level=None)
    columns = ", ".join(f'"{f["name"]}"' for f in FIELDS)
    db.execute(f"CREATE TABLE t ({columns})")
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in FIELDS)})", records)
    db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def context_start(workspace: Path, row_count: int) -> float:
    started = time.perf_counter()
    simulator = Context(workspace=workspace).backend
    elapsed = time.perf_counter() - started
    assert simulator.data_extensions.count("Members") == row_count
    return elapsed


def first_seed(workspace: Path, row_count: int, cache: Path) -> float:
    seeding.forget()
    for kept in cache.glob("seed-*.db"):
        kept.unlink()
    return context_start(workspace, row_count)


def process_run(page: Path, cache: Path, expected: str) -> float:
    environment = {**os.environ, "AMPC_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(page)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    elapsed = time.perf_counter() - started
    assert result.stdout == expected, result.stdout
    return elapsed


def medians(rounds: int, row_count: int = 100_000) -> dict[str, float]:
    """Seconds for each figure (see the module docstring), the median of `rounds` interleaved rounds."""
    with tempfile.TemporaryDirectory(prefix="ampc-bench-seed-") as temporary:
        root = Path(temporary)
        workspace, plain, cache = root / "workspace", root / "plain", root / "cache"
        records = write_workspace(workspace, row_count)
        plain.mkdir()
        (plain / "page.amp").write_text(PLAIN_PAGE, encoding="utf-8")
        cache.mkdir()
        previous = os.environ.get("AMPC_CACHE_DIR")
        os.environ["AMPC_CACHE_DIR"] = str(cache)  # this process's contexts keep their copy there too
        try:
            samples: dict[str, list[float]] = {name: [] for name in FIGURES}
            for _ in range(rounds):
                samples["baseline"].append(baseline(records))
                samples["first"].append(first_seed(workspace, row_count, cache))  # also writes the disk copy
                samples["second"].append(context_start(workspace, row_count))
                samples["process"].append(
                    process_run(workspace / "page.amp", cache, "Hello m42@example.com\n")
                )
                samples["plain"].append(process_run(plain / "page.amp", cache, "Hello WORLD\n"))
        finally:
            seeding.forget()
            if previous is None:
                os.environ.pop("AMPC_CACHE_DIR")
            else:
                os.environ["AMPC_CACHE_DIR"] = previous
    return {name: statistics.median(values) for name, values in samples.items()}


FIGURES = {
    "baseline": "bare sqlite3 executemany",
    "first": "first seed, nothing kept",
    "second": "second Context, same process",
    "process": "ampc run, seeded copy on disk",
    "plain": "ampc run, no data extensions",
}


def rows(rounds: int) -> list[tuple[str, float, str, float, float | None]]:
    """benchmarks/run.py's rows: (figure, seconds, baseline's name, its seconds, the target ratio).

    Issue 11's data targets are times (3 s, 50 ms, 0.5 s more than a run
    without data extensions); each is given as the ratio it comes to against
    the baseline measured in this run.
    """
    found = medians(rounds)
    base, plain = found["baseline"], found["plain"]
    return [
        ("seed 100,000 CSV rows", found["first"], FIGURES["baseline"], base, 3.0 / base),
        (FIGURES["second"], found["second"], FIGURES["baseline"], base, 0.05 / base),
        (FIGURES["process"], found["process"], FIGURES["plain"], plain, (plain + 0.5) / plain),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    found = medians(arguments.rounds, arguments.rows)
    base = found["baseline"]
    print(f"{arguments.rows:,} rows, median of {arguments.rounds} interleaved rounds")
    print(f"baseline ({FIGURES['baseline']}, in memory): {base * 1000:8.1f} ms")
    for name in ("first", "second", "process", "plain"):
        label = f"{FIGURES[name]}:"
        print(f"  {label:<34} {found[name] * 1000:8.1f} ms  ({found[name] / base:6.2f}x baseline)")
    extra = found["process"] - found["plain"]
    print(f"seed at most 3 s: {'yes' if found['first'] <= 3 else 'NO'}")
    print(f"second Context at most 50 ms: {'yes' if found['second'] <= 0.05 else 'NO'}")
    print(
        f"ampc run with the disk copy within 0.5 s of one without data extensions: "
        f"{'yes' if extra <= 0.5 else 'NO'} ({extra * 1000:+.0f} ms)"
    )


if __name__ == "__main__":
    main()
