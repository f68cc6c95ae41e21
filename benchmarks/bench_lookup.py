#!/usr/bin/env python3
"""Lookup() on a large data extension, against a baseline measured in the same run.

    python3 benchmarks/bench_lookup.py [--rows 1000000] [--lookups 5000]

Builds a data extension of N rows in the simulator's store (in memory), then
times, for random keys:

* baseline: the bare indexed SQLite query a hand-written program would run
  on the same connection (``SELECT ... WHERE ampc_fold(key) = ?``, the
  case-folded index);
* Lookup(): the AMPscript function as generated code calls it, through the
  runtime (argument checks, type conversion, case-insensitive collation).

Prints the time per call and the ratio to the baseline.  The issue asks that
a Lookup on a 1,000,000-row data extension take well under a millisecond.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time

from ampscript import Context
from ampscript.backends.simulator import Simulator
from ampscript.data_extensions import DataExtensionSpec, FieldSpec
from ampscript.functions import Lookup
from ampscript.rendering import Page
from ampscript.values.case import fold


def build(rows: int) -> Simulator:
    simulator = Simulator()
    store = simulator.data_extensions
    store.define(
        DataExtensionSpec(
            "Members",
            [FieldSpec("MemberKey", primary_key=True), FieldSpec("Email", "EmailAddress", length=254),
             FieldSpec("Points", "Number")],
        )
    )
    batch = 50_000
    for start in range(0, rows, batch):
        store.insert_many(
            "Members",
            ({"MemberKey": f"M{n:07d}", "Email": f"m{n}@example.com", "Points": n % 997}
             for n in range(start, min(start + batch, rows))),
        )
    return simulator


def per_call(function, keys: list[str]) -> float:
    started = time.perf_counter()
    for key in keys:
        function(key)
    return (time.perf_counter() - started) / len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    arguments = parser.parse_args()

    started = time.perf_counter()
    simulator = build(arguments.rows)
    print(f"built {arguments.rows:,} rows in {time.perf_counter() - started:.1f} s")

    generator = random.Random(7)
    keys = [f"M{generator.randrange(arguments.rows):07d}" for _ in range(arguments.lookups)]
    # Mixed case: Lookup matches text case-insensitively, as Marketing Cloud does.
    keys = [key.lower() if i % 2 else key for i, key in enumerate(keys)]

    db: sqlite3.Connection = simulator.db
    # The same index search Lookup() makes: text is indexed on its case-folded value.
    baseline_sql = 'SELECT "Email" FROM "Members" WHERE ampc_fold("MemberKey") = ? LIMIT 1'
    baseline = per_call(lambda key: db.execute(baseline_sql, (fold(key),)).fetchone(), keys)

    context = Context(backend=simulator)
    with Page.start(context, "bench_lookup.amp"):
        assert Lookup("Members", "Email", "MemberKey", keys[1]) == f"m{int(keys[1][1:])}@example.com"
        lookup = per_call(lambda key: Lookup("Members", "Email", "MemberKey", key), keys)

    print(f"baseline (indexed SQLite query): {baseline * 1e6:8.1f} µs per lookup")
    print(f"Lookup() through the runtime:   {lookup * 1e6:8.1f} µs per lookup  ({lookup / baseline:.1f}x baseline)")
    print(f"Lookup() under 1 ms: {'yes' if lookup < 1e-3 else 'NO'}")


if __name__ == "__main__":
    main()
