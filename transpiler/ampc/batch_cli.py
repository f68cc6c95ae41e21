"""The ``ampc batch`` and ``ampc diff`` commands (`ampc.batch`, `ampc.audience_diff`)."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a batch runs: `ampc --help` stays quick
    from .batch import BatchSettings, CompiledScript


def _default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def add_commands(commands: Any, kinds: Iterable[str]) -> None:
    run = commands.add_parser(
        "batch", help="render a script for every subscriber of an audience (CSV, JSON Lines, Parquet, a data extension)"
    )
    run.add_argument("file", type=Path, metavar="FILE.amp")
    _audience_options(run, kinds)
    run.add_argument(
        "--out", type=Path, metavar="DIR|FILE.jsonl|FILE.parquet",
        help="a folder (one file per subscriber), a JSON Lines or a Parquet file ('-': JSON Lines on stdout)",
    )
    run.add_argument("--suffix", default=".html", help="the file suffix in an --out folder (default .html)")
    run.add_argument("--max-errors", type=int, metavar="N", help="stop after N failed renders")
    run.add_argument(
        "--state", type=Path, metavar="FILE.db",
        help="renders share this state file, writes accumulating as in a send (default: each render starts from the seed)",
    )
    run.add_argument("--engine", choices=("local", "dask"), default="local", help="local processes (default) or a Dask cluster")
    run.add_argument("--scheduler", metavar="tcp://HOST:8786", help="the Dask scheduler (--engine dask; default: a local cluster)")
    run.set_defaults(command=_batch)

    diff = commands.add_parser(
        "diff", help="render two versions of a template for an audience and report which messages changed"
    )
    diff.add_argument("old", type=Path, metavar="OLD.amp")
    diff.add_argument("new", type=Path, nargs="?", metavar="NEW.amp")
    _audience_options(diff, kinds)
    diff.add_argument("--against", type=Path, metavar="PREVIOUS.jsonl", help="compare with an earlier ampc batch --out FILE.jsonl")
    diff.add_argument("--all", action="store_true", help="show every changed message's diff, not a sample of each kind")
    diff.add_argument("--sample", type=int, default=1, metavar="N", help="diffs shown per kind of change (default 1)")
    diff.set_defaults(command=_diff)


def _audience_options(parser: argparse.ArgumentParser, kinds: Iterable[str]) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--audience", type=Path, metavar="FILE", help="the subscribers: .csv, .jsonl or .parquet")
    where.add_argument("--audience-de", metavar="NAME", help="the subscribers: the rows of a data extension of the workspace")
    parser.add_argument("--key", metavar="COLUMN", help="the column identifying each message (default SubscriberKey or EmailAddress)")
    parser.add_argument("--workspace", type=Path, metavar="DIR", help="the workspace folder (default: the script's folder)")
    parser.add_argument("--jobs", type=int, default=_default_jobs(), metavar="N", help="worker processes (default: every core)")
    parser.add_argument("--now", metavar="ISO", help="the system time of every render, e.g. 2026-12-01T09:00:00")
    parser.add_argument("--seed", metavar="TEXT", help="seed Random() and GUID() per subscriber, so runs repeat")
    parser.add_argument("--context", choices=list(kinds), help="reject what Marketing Cloud rejects in this kind of content")


def _fail(message: str) -> int:
    print(f"ampc: error: {message}", file=sys.stderr)
    return 1


def _settings(arguments: argparse.Namespace, script: Path) -> BatchSettings:
    from .batch import BatchError, BatchSettings

    now = None
    if arguments.now:
        try:
            now = _dt.datetime.fromisoformat(arguments.now)
        except ValueError:
            raise BatchError(f"--now {arguments.now!r} is not an ISO date and time such as 2026-12-01T09:00:00") from None
        if now.tzinfo is not None:
            now = now.astimezone(_dt.timezone(_dt.timedelta(hours=-6))).replace(tzinfo=None)  # system time
    workspace = arguments.workspace if arguments.workspace is not None else script.parent
    state = getattr(arguments, "state", None)
    return BatchSettings(
        workspace=str(workspace), key=arguments.key, now=now, seed=arguments.seed,
        state=str(state) if state is not None else None, kind=arguments.context,
    )


def _compiled(path: Path, kind: str | None) -> CompiledScript:
    from .batch import CompiledScript
    from .cli import _compile_reporting, _read  # the CLI's reading and error reporting

    source = _read(path)
    _compile_reporting(source, str(path), run=True, kind=kind)  # reports compile errors as ampc run does
    return CompiledScript.compile(source, str(path), kind=kind)


def _rows(arguments: argparse.Namespace, settings: BatchSettings) -> tuple[Iterator[dict[str, Any]], int | None]:
    """The audience's rows, and how many there are when that is cheap to know (for the progress bar)."""
    from . import batch

    if arguments.audience_de is not None:
        return batch.data_extension_rows(settings.workspace, arguments.audience_de), None
    return batch.read_audience(arguments.audience), _count_rows(arguments.audience)


def _count_rows(path: Path) -> int | None:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as parquet

            return parquet.ParquetFile(path).metadata.num_rows
        with path.open("rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        return max(lines - (1 if suffix == ".csv" else 0), 0)
    except (OSError, ImportError):
        return None


@contextmanager
def _progress(total: int | None, verb: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr (rate, ETA) on a terminal; a no-op elsewhere."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(verb), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=Console(file=sys.stderr, soft_wrap=True), transient=True) as progress:
        task = progress.add_task("", total=total, rate="")
        done = 0

        def advance() -> None:
            nonlocal done
            done += 1
            if done % 100 == 0 or done == total:
                rate = done / max(time.perf_counter() - started, 1e-9)
                progress.update(task, completed=done, rate=f"{rate:,.0f}/s")

        yield advance


def _batch(arguments: argparse.Namespace) -> int:
    from . import batch
    from .batch import BatchError, Rendered

    try:
        settings = _settings(arguments, arguments.file)
        script = _compiled(arguments.file, arguments.context)
        if arguments.engine == "dask":
            from .batch_dask import run_cli

            return run_cli(arguments, script, settings)
        rows, total = _rows(arguments, settings)
        stdout = arguments.out is not None and str(arguments.out) == "-"
        output = None if stdout else batch.output_for(arguments.out, arguments.suffix)
        with _progress(total, "rendering") as advance:

            def advance_by(count: int) -> None:
                for _ in range(count):
                    advance()

            def keep(result: Rendered) -> None:
                if stdout:
                    sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
                elif output is not None:
                    output.write(result)
                advance()

            try:
                keeping = stdout or output is not None
                summary = batch.run(
                    script, settings, rows, jobs=arguments.jobs, max_errors=arguments.max_errors, on_result=keep,
                    keep_output=keeping, on_count=None if keeping else advance_by,
                )
            finally:
                if output is not None:
                    output.close()
    except BatchError as error:
        return _fail(str(error))
    for line in summary.lines():
        print(line, file=sys.stderr)
    return 1 if summary.failed else 0


def _diff(arguments: argparse.Namespace) -> int:
    from . import batch
    from .audience_diff import DiffReport
    from .batch import BatchError, Rendered

    if (arguments.new is None) == (arguments.against is None):
        return _fail("ampc diff compares OLD.amp with NEW.amp, or a script with --against PREVIOUS.jsonl: give one of them")
    try:
        settings = _settings(arguments, arguments.old)  # the workspace: the old script's folder by default
        current = _compiled(arguments.new or arguments.old, arguments.context)
        previous = None if arguments.against is None else batch.load_previous(arguments.against)
        old = None if previous is not None else _compiled(arguments.old, arguments.context)
        rows, total = _rows(arguments, settings)
        report = DiffReport()
        kept: dict[str, Mapping[str, Any]] = {}
        with _progress(total, "comparing") as advance:
            rows = _remembering(rows, kept, settings)
            new_results = batch.run_pairs(current, old, settings, rows, jobs=arguments.jobs)
            for pair in new_results:
                new_result, old_result = pair
                if previous is not None:
                    old_result = previous.pop(new_result.key, Rendered(new_result.key, None, "not in the earlier batch"))
                row = kept.pop(new_result.key, {})
                old_name = str(arguments.against or arguments.old)
                report.add(row, old_result, new_result, old_name, str(arguments.new or arguments.old))
                advance()
        if previous:
            for key, result in previous.items():  # subscribers the earlier batch had and this audience lacks
                report.add({}, result, Rendered(key, None, "not in the audience"), str(arguments.against), str(arguments.old))
    except BatchError as error:
        return _fail(str(error))
    for line in report.lines(shown=arguments.sample, everything=arguments.all):
        print(line)
    return 1 if report.changed else 0


def _remembering(
    rows: Iterable[Mapping[str, Any]], kept: dict[str, Mapping[str, Any]], settings: BatchSettings
) -> Iterator[Mapping[str, Any]]:
    """The rows as they are, each kept by key until its results come back (for masking in the diff's kinds)."""
    from .batch import message_key

    for number, row in enumerate(rows, start=1):
        kept[message_key(row, settings.key, number)] = row
        yield row
