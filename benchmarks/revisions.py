"""Shared by the benchmarks: another git revision in a temporary worktree, and interleaved medians."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The tree of `revision`, checked out in a temporary git worktree for the duration."""
    worktree = Path(tempfile.mkdtemp(prefix="ampc-bench-"))
    shutil.rmtree(worktree)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), revision], check=True,
                   capture_output=True)
    try:
        yield worktree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False,
                       capture_output=True)


def median_pair(first: Callable[[], float], second: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Medians of `first()` and `second()`, timed in alternation so that both see the same machine noise."""
    samples = [(first(), second()) for _ in range(rounds)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)
