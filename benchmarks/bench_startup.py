#!/usr/bin/env python3
"""Start-up: the time to a first answer, as ratios against ``python3 -c pass`` (interleaved rounds, median).

    python3 benchmarks/bench_startup.py [--rounds 9]

Each round runs, one after the other in fresh processes: ``python3 -c pass``
(the baseline: the interpreter and its site packages), ``python3 -c "import
ampscript"`` (the runtime a compiled module imports), ``ampc --help`` and
``ampc run samples/welcome-email/welcome.amp``.  Every command's median over
the rounds is printed with its ratio to the baseline's median; issue 11
wants ``ampc run`` of the welcome email within 8x.

What keeps them low: `ampscript.functions` imports a category of functions
only when one of its functions is first asked for, the heavy libraries
(httpx, lxml, cryptography, sqlglot, jsonpath, babel) are imported by the
functions that use them, and ``ampc --help`` imports no compiler.  To see
where the rest goes: ``python -X importtime -m ampc run FILE.amp``.

Bytecode is cached in a temporary folder (``PYTHONPYCACHEPREFIX``), whatever
``PYTHONDONTWRITEBYTECODE`` says, so that the figures are those of an
installed ampc, which has its ``.pyc`` files, and the checkout gets none.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revisions import ROOT

WELCOME = ROOT / "samples" / "welcome-email" / "welcome.amp"
BASELINE = "python3 -c pass"
TARGETS = {"ampc run welcome.amp": 8.0}  # issue 11: at most 8x the baseline


def _ampc() -> list[str]:
    """The `ampc` command installed beside this interpreter, or ``python -m ampc`` if there is none."""
    script = shutil.which("ampc", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "ampc"]


def commands() -> dict[str, list[str]]:
    ampc = _ampc()
    return {
        BASELINE: [sys.executable, "-c", "pass"],
        'python3 -c "import ampscript"': [sys.executable, "-c", "import ampscript"],
        "ampc --help": [*ampc, "--help"],
        "ampc run welcome.amp": [*ampc, "run", str(WELCOME)],
    }


def _environment(bytecode: str) -> dict[str, str]:
    """This environment, with bytecode written to (and read from) the folder `bytecode`."""
    environment = {**os.environ, "PYTHONPYCACHEPREFIX": bytecode}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def _seconds(command: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=environment)
    return time.perf_counter() - started


def medians(rounds: int) -> dict[str, float]:
    """Each command's median time; every round runs them all, so that all see the same machine noise."""
    runs = commands()
    with tempfile.TemporaryDirectory(prefix="ampc-bytecode-") as bytecode:
        environment = _environment(bytecode)
        for command in runs.values():  # warm up: the file system cache, the bytecode cache
            _seconds(command, environment)
        samples: dict[str, list[float]] = {label: [] for label in runs}
        for _ in range(rounds):
            for label, command in runs.items():
                samples[label].append(_seconds(command, environment))
    return {label: statistics.median(times) for label, times in samples.items()}


def rows(rounds: int) -> list[tuple[str, float, str, float, float | None]]:
    """benchmarks/run.py's rows: (figure, seconds, baseline's name, its seconds, the target ratio or None)."""
    found = medians(rounds)
    baseline = found.pop(BASELINE)
    return [(label, seconds, BASELINE, baseline, TARGETS.get(label)) for label, seconds in found.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    arguments = parser.parse_args()
    found = medians(arguments.rounds)
    baseline = found[BASELINE]
    print(f"{'median of ' + str(arguments.rounds) + ' interleaved rounds':<36}{'time':>9}{'ratio':>8}")
    for label, seconds in found.items():
        target = f"  (target <= {TARGETS[label]:g}x)" if label in TARGETS else ""
        print(f"  {label:<34}{seconds * 1e3:6.0f} ms{seconds / baseline:7.1f}x{target}")


if __name__ == "__main__":
    main()
