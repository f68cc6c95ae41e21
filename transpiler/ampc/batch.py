"""Render a script for a whole audience: ``ampc batch``, and the pieces ``ampc diff`` and Dask share.

A batch renders one compiled script once per row of an audience (CSV,
JSON Lines, Parquet, or a data extension of the workspace), the row being
the subscriber's attributes.  It streams: rows are read, rendered and
written a chunk at a time, so memory stays flat whatever the audience's
size.

* **What identifies a message**: the ``--key`` column, else the row's
  SubscriberKey, _subscriberkey, EmailAddress or emailaddr (names ignore
  case).
* **A failed render** is recorded (its message and the AMPscript
  ``file:line:col``) and the batch goes on; ``max_errors`` stops it early.
* **State** (choice, as the issue leaves it to us): without a state file,
  every render starts from the workspace's seed, as ``ampc run`` does, so
  what one subscriber's render writes (InsertData, API objects) no other
  sees and the output does not depend on the order or the number of
  workers.  With ``state``, the renders share one state file in the order
  they run, as a send shares its account: writes accumulate and survive
  the batch (with several workers, that order is the workers').
* **Determinism**: ``now`` fixes the clock of every render; ``seed`` seeds
  Random() and GUID() per subscriber with the seed and the key, so two runs
  give the same outputs.
* **Workers**: the script is compiled once, here; workers get its code
  object (marshalled), not the AMPscript to compile again, and the
  workspace's seeded database is made before they start (a forked worker
  inherits the copy; others read the cache folder's).

`render_rows` is what every engine runs on its share of the rows: the local
pool here, and Dask's partitions (`ampc.batch_dask`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import linecache
import marshal
import multiprocessing
import re
import sys
import time
import types
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .collecting import collecting_less

KEY_COLUMNS = ("SubscriberKey", "_subscriberkey", "EmailAddress", "emailaddr")
CHUNK_ROWS = 200  # rows a worker renders per task: big enough that sending them costs little
AUDIENCE_SUFFIXES = (".csv", ".jsonl", ".parquet")


class BatchError(Exception):
    """A batch cannot start or go on (a bad audience, an output it cannot write): the message says why."""


# ---- the compiled script ------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledScript:
    """A script compiled once, in a form any process with the runtime can load (no compiler needed there)."""

    filename: str  # as errors show it
    source: str
    code: bytes  # marshal of the module's code object
    code_file: str  # the code object's file name, which linecache must know

    @classmethod
    def compile(cls, source: str, filename: str, *, kind: str | None = None) -> CompiledScript:
        from .compiler import compile_code

        code = compile_code(source, filename, kind=kind)
        return cls(filename, source, marshal.dumps(code), code.co_filename)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.code).hexdigest()[:16]

    def load(self) -> types.ModuleType:
        """The module, made once per process (workers keep it for every chunk)."""
        module = _loaded.get(self.digest)
        if module is None:
            lines = self.source.split("\n")
            linecache.cache[self.code_file] = (len(self.source), None, [line + "\n" for line in lines], self.code_file)
            module = types.ModuleType(f"ampc_batch_{self.digest}")
            module.__file__ = self.code_file
            exec(marshal.loads(self.code), module.__dict__)  # noqa: S102 (our own compiled code)
            _loaded[self.digest] = module
        return module


_loaded: dict[str, types.ModuleType] = {}


# ---- settings and results --------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSettings:
    workspace: str = "."
    key: str | None = None
    now: _dt.datetime | None = None
    seed: str | None = None
    state: str | None = None
    kind: str | None = None


@dataclass(slots=True)
class Rendered:
    """One subscriber's message, or the error that stopped it."""

    key: str
    output: str | None
    error: str | None = None
    error_location: str | None = None
    render_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = ("key", "output", "error", "error_location", "render_seconds")


def message_key(row: Mapping[str, Any], key: str | None, number: int) -> str:
    """The row's key: the ``key`` column, else the first of KEY_COLUMNS it has; `BatchError` when it has none."""
    names = {str(name).lower(): name for name in row}
    wanted = [key] if key else list(KEY_COLUMNS)
    for name in wanted:
        found = names.get(name.lower())
        if found is not None and row[found] not in (None, ""):
            return str(row[found])
    if key:
        raise BatchError(f"row {number} of the audience has no value in its key column {key!r}")
    raise BatchError(
        f"row {number} of the audience has no SubscriberKey, _subscriberkey, EmailAddress or emailaddr; "
        "name the column that identifies each message with --key"
    )


def _key_column(row: Mapping[str, Any], key: str | None) -> str | None:
    """The column `message_key` read the key from, as the row spells it."""
    names = {str(name).lower(): name for name in row}
    for name in [key] if key else KEY_COLUMNS:
        found = names.get(name.lower())
        if found is not None and row[found] not in (None, ""):
            return found
    return None


class _Renderer:
    """Renders rows with one loaded module in one process (a worker, or the batch itself with one job)."""

    def __init__(self, script: CompiledScript, settings: BatchSettings) -> None:
        global _Context, _AMPscriptError
        from ampscript import AMPscriptError, Context, Workspace

        _Context, _AMPscriptError = Context, AMPscriptError  # once: the render loop looks them up for every row

        self.module = script.load()
        self.settings = settings
        self.workspace = Workspace(settings.workspace)
        self._backend: Any = None
        self._limits: Any = None  # the workspace's ampc.json limits, read by the first render (not one per render)
        self._key_column: str | None = None  # the column the last row's key came from: rows share their columns

    @property
    def backend(self) -> Any:
        """This process's simulator, made at the first render that asks for data (most scripts never do).

        With a state file, one connection to it for every render; without,
        one copy of the seed whose every render's writes are rolled back
        (`_FreshStart`), which costs nothing per render where a copy per
        render would cost a deserialization each.
        """
        if self._backend is None:
            from ampscript.backends.simulator import Simulator

            if self.settings.state is not None:
                self._backend = Simulator.from_workspace(self.workspace, self.settings.state)
            else:
                self._backend = _FreshStart(lambda: Simulator.from_workspace(self.workspace, ":memory:"))
        return self._backend

    def render(self, row: Mapping[str, Any], number: int) -> Rendered:
        column = self._key_column
        value = row.get(column) if column is not None else None
        if value is not None and value != "":
            key = str(value)
        else:
            key = message_key(row, self.settings.key, number)
            self._key_column = _key_column(row, self.settings.key)
        seed = None if self.settings.seed is None else f"{self.settings.seed}\x00{key}"
        started = time.perf_counter()
        backend = self.backend
        try:
            context = _Context(
                workspace=self.workspace, subscriber=row, now=self.settings.now, backend=backend,
                kind=self.settings.kind, seed=seed, limits=self._limits,
            )
            if self._limits is None:
                self._limits = context.limits  # an invalid ampc.json fails this render, and the next tries again
            output = self.module.render(context)
        except _AMPscriptError as error:
            where = None
            if error.line is not None:
                where = f"{error.filename or '?'}:{error.line}:{error.column or 1}"
            return Rendered(key, None, error.message, where, time.perf_counter() - started)
        finally:
            if type(backend) is _FreshStart:
                backend.end_render()
        return Rendered(key, output, None, None, time.perf_counter() - started)


class _FreshStart:
    """The simulator, made when a render first asks for a capability; each render's writes rolled back when it ends.

    The rollback scope opens at a render's first use of the simulator, and
    `_Renderer.render` closes it (`end_render`): a render that uses no data
    (most emails) touches no database and opens no scope, where a scope per
    render costs a tenth of a short email's render.
    """

    name = "the embedded simulator"

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self.simulator: Any = None
        self._scope: Any = None  # the data extensions' render scope, while a render that used them runs

    def capability(self, kind: type) -> Any:
        if self.simulator is None:
            self.simulator = self._make()
        if self._scope is None:
            scope = self.simulator.data_extensions.render(keep=lambda error: False, discard=True)
            scope.__enter__()
            self._scope = scope
        return self.simulator.capability(kind)

    def render_scope(self) -> None:
        return None  # opened by `capability`, closed by `end_render`

    def end_render(self) -> None:
        """Roll back what the render wrote, if it used the simulator at all."""
        scope, self._scope = self._scope, None
        if scope is not None:
            scope.__exit__(None, None, None)


def render_rows(
    script: CompiledScript, settings: BatchSettings, rows: Iterable[Mapping[str, Any]], first_number: int = 1
) -> list[Rendered]:
    """Render every row (numbered from `first_number`, for messages) in this process: what each engine runs."""
    renderer = _renderer(script, settings)
    with collecting_less():  # renders make many short-lived objects and few cycles, as compiles do
        return [renderer.render(row, number) for number, row in enumerate(rows, start=first_number)]


_renderers: dict[tuple[str, BatchSettings], _Renderer] = {}
_Context: Any = None  # ampscript.Context and AMPscriptError, imported by the first _Renderer
_AMPscriptError: Any = None


def _renderer(script: CompiledScript, settings: BatchSettings) -> _Renderer:
    key = (script.digest, settings)
    renderer = _renderers.get(key)
    if renderer is None:
        renderer = _renderers[key] = _Renderer(script, settings)
    return renderer


# ---- audiences ------------------------------------------------------------------------------------------


def read_audience(path: str | Path) -> Iterator[dict[str, Any]]:
    """The rows of a CSV (header row), JSON Lines (one object per line) or Parquet file, one at a time."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in AUDIENCE_SUFFIXES:
        raise BatchError(f"{path}: an audience is a .csv, .jsonl or .parquet file")
    if not path.is_file():
        raise BatchError(f"{path}: no such audience file")
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix == ".jsonl":
        return _jsonl_rows(path)
    return _parquet_rows(path)


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise BatchError(f"{path}: the audience has no header row")
        header = [name.strip() for name in header]
        for line, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != len(header):
                raise BatchError(f"{path}, line {line}: {len(values)} values for {len(header)} columns")
            yield dict(zip(header, values))


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as error:
                raise BatchError(f"{path}, line {line}: invalid JSON: {error.msg}") from None
            if not isinstance(row, dict):
                raise BatchError(f"{path}, line {line}: expected a JSON object of attributes")
            yield row


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise BatchError("reading a Parquet audience needs pyarrow: pip install 'ampc[batch]'") from None
    for batch in parquet.ParquetFile(path).iter_batches(batch_size=1024):
        yield from batch.to_pylist()


def data_extension_rows(workspace: str | Path, name: str) -> Iterator[dict[str, Any]]:
    """The rows of a data extension of the workspace's simulator, a page at a time."""
    from ampscript import AMPscriptError, Context

    try:
        store = Context(workspace=workspace, subscriber={}).backend.data_extensions
        yield from (dict(row) for row in store.iter_rows(name))
    except AMPscriptError as error:
        raise BatchError(f"--audience-de {name}: {error.message}") from None


# ---- outputs -------------------------------------------------------------------------------------------


class Output:
    """Where results go: `write` each, `close` at the end."""

    def write(self, result: Rendered) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


class DirectoryOutput(Output):
    """One file per subscriber, named by the key.

    A key of letters, digits and ``._@+-`` alone (not starting with a dot)
    is the file's name as it is.  Any other key has those other characters
    made ``_`` and ``~`` and a hash of the whole key added
    (``../evil`` is ``_evil~1c2d3e4f5a6b``): such names contain ``~``,
    which no name kept as it is can, so two keys never share a file, and
    nothing needs to be remembered per key.  A failed render writes
    ``<name>.error.txt`` with its message.
    """

    def __init__(self, folder: Path, suffix: str = ".html") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.suffix = folder, suffix

    @staticmethod
    def _name(key: str) -> str:
        name = _UNSAFE.sub("_", key)[:100]
        if name == key and not key.startswith(".") and key:
            return key
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f"{name.lstrip('.') or '_'}~{digest}"

    def write(self, result: Rendered) -> None:
        name = self._name(result.key)
        if result.error is None:
            (self.folder / f"{name}{self.suffix}").write_text(result.output or "", encoding="utf-8", newline="")
        else:
            where = f"{result.error_location}: " if result.error_location else ""
            (self.folder / f"{name}.error.txt").write_text(f"{where}{result.error}\n", encoding="utf-8")


class JsonlOutput(Output):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("w", encoding="utf-8", newline="\n")

    def write(self, result: Rendered) -> None:
        self.handle.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


class ParquetOutput(Output):
    """A Parquet file written a thousand rows at a time (columns: COLUMNS)."""

    BATCH = 1000

    def __init__(self, path: Path) -> None:
        try:
            import pyarrow as arrow
            import pyarrow.parquet as parquet
        except ImportError:
            raise BatchError("writing Parquet needs pyarrow: pip install 'ampc[batch]'") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        self.arrow = arrow
        self.schema = result_schema(arrow)
        self.writer = parquet.ParquetWriter(path, self.schema)
        self.pending: list[dict[str, Any]] = []

    def write(self, result: Rendered) -> None:
        self.pending.append(result.as_dict())
        if len(self.pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(self.arrow.Table.from_pylist(self.pending, schema=self.schema))
            self.pending = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


def result_schema(arrow: Any) -> Any:
    """The columns of a batch's Parquet output (and of each Dask partition)."""
    return arrow.schema(
        [("key", arrow.string()), ("output", arrow.string()), ("error", arrow.string()),
         ("error_location", arrow.string()), ("render_seconds", arrow.float64())]
    )


def output_for(path: Path | None, suffix: str = ".html") -> Output | None:
    """The output `--out` names: a .jsonl or .parquet file, else a folder (files ending in `suffix`); None writes nothing."""
    if path is None:
        return None
    kind = path.suffix.lower()
    if kind == ".jsonl":
        return JsonlOutput(path)
    if kind == ".parquet":
        return ParquetOutput(path)
    if path.exists() and not path.is_dir():
        raise BatchError(f"--out {path}: a file that is not .jsonl or .parquet; give a folder, FILE.jsonl or FILE.parquet")
    return DirectoryOutput(path, suffix)


# ---- running ---------------------------------------------------------------------------------------------


@dataclass
class Summary:
    rendered: int = 0
    failed: int = 0
    errors: Counter = field(default_factory=Counter)  # message -> count
    stopped_early: bool = False
    seconds: float = 0.0

    def add(self, result: Rendered) -> None:
        self.rendered += 1
        if result.error is not None:
            self.failed += 1
            self.errors[result.error] += 1

    def lines(self) -> list[str]:
        rate = self.rendered / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{self.rendered:,} rendered, {self.rendered - self.failed:,} OK, {self.failed:,} failed "
            f"in {self.seconds:.1f} s ({rate:,.0f} per second)"
            + (" (stopped at --max-errors)" if self.stopped_early else "")
        ]
        for message, count in self.errors.most_common():
            lines.append(f"  {count:,} x {message}")
        return lines


def chunks(rows: Iterable[Mapping[str, Any]], size: int = CHUNK_ROWS) -> Iterator[list[Mapping[str, Any]]]:
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepare_workspace(settings: BatchSettings) -> None:
    """Seed the workspace's database once, before workers start, so that none seeds it again."""
    from ampscript import Context, Workspace
    from ampscript.backends import seeding

    workspace = Workspace(settings.workspace)
    if settings.state is None and next(iter(seeding.seed_files(workspace)), None) is not None:
        Context(workspace=workspace, subscriber={}).backend  # noqa: B018 (made for the seed copy it keeps)


def run(
    script: CompiledScript,
    settings: BatchSettings,
    rows: Iterable[Mapping[str, Any]],
    *,
    jobs: int = 1,
    max_errors: int | None = None,
    on_result: Callable[[Rendered], None] | None = None,
    keep_output: bool = True,
    on_count: Callable[[int], None] | None = None,
) -> Summary:
    """Render every row, in order, with `jobs` processes; `on_result` gets each result as it is ready.

    Without `keep_output` only the failures come back (a run that only
    counts, as ``ampc batch`` without ``--out``), which spares the workers
    sending every message back: `on_result` then gets the failures, and
    `on_count(n)` the number of successes of each chunk.
    """
    summary = Summary()
    started = time.perf_counter()
    prepare_workspace(settings)
    task = render_rows if keep_output else render_rows_counting
    try:
        for chunk in _chunk_results(task, (script, settings), rows, jobs):
            for result in chunk:
                if isinstance(result, Counted):
                    summary.rendered += result.rendered - len(result.failures)
                    if on_count is not None:
                        on_count(result.rendered - len(result.failures))
                    failures = result.failures
                else:
                    failures = [result]
                for failure in failures:
                    summary.add(failure)
                    if on_result is not None:
                        on_result(failure)
                    if max_errors is not None and summary.failed >= max_errors:
                        summary.stopped_early = True
                        return summary
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class Counted:
    """A chunk rendered only to be counted: how many, and the failures (`run(keep_output=False)`)."""

    rendered: int
    failures: list[Rendered]


def render_rows_counting(
    script: CompiledScript, settings: BatchSettings, rows: Iterable[Mapping[str, Any]], first_number: int = 1
) -> list[Counted]:
    """`render_rows`, kept to a count and the failures: a run that only counts needs no more back."""
    results = render_rows(script, settings, rows, first_number)
    return [Counted(len(results), [result for result in results if result.error is not None])]


def render_pairs(
    new: CompiledScript, old: CompiledScript | None, settings: BatchSettings, rows: Iterable[Mapping[str, Any]],
    first_number: int = 1,
) -> list[tuple[Rendered, Rendered | None]]:
    """Each row rendered by the new script and, when given, the old one (``ampc diff``)."""
    new_renderer = _renderer(new, settings)
    old_renderer = _renderer(old, settings) if old is not None else None
    return [
        (new_renderer.render(row, number), old_renderer.render(row, number) if old_renderer is not None else None)
        for number, row in enumerate(rows, start=first_number)
    ]


def run_pairs(
    new: CompiledScript, old: CompiledScript | None, settings: BatchSettings, rows: Iterable[Mapping[str, Any]],
    *, jobs: int = 1,
) -> Iterator[tuple[Rendered, Rendered | None]]:
    """`render_pairs` over the whole audience, in order, with `jobs` processes."""
    prepare_workspace(settings)
    for chunk in _chunk_results(render_pairs, (new, old, settings), rows, jobs):
        yield from chunk


def _chunk_results(
    task: Callable[..., list[Any]], arguments: tuple[Any, ...], rows: Iterable[Mapping[str, Any]], jobs: int
) -> Iterator[list[Any]]:
    """`task(*arguments, chunk, first_number)` for each chunk of rows, in order: here, or in `jobs` processes.

    At most a few chunks per worker are in flight, so a huge audience is
    never read ahead into memory.  Workers get the task and its arguments
    (the compiled script) once, when they start; each chunk then travels
    as its columns and rows of values, and comes back as tuples, which
    pickle several times faster than dicts and dataclasses.
    """
    numbered = _numbered_chunks(rows)
    if jobs <= 1:
        for first, chunk in numbered:
            yield task(*arguments, chunk, first)
        return
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_install, initargs=(task, arguments)
    ) as pool:
        pending: deque[Future] = deque()
        ahead = jobs * 3
        try:
            for first, chunk in numbered:
                pending.append(pool.submit(_run_installed, _packed(chunk), first))
                if len(pending) >= ahead:
                    yield _unpacked_results(pending.popleft().result())
            while pending:
                yield _unpacked_results(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()


_installed: tuple[Callable[..., list[Any]], tuple[Any, ...]] | None = None  # a worker's task and its arguments


def _install(task: Callable[..., list[Any]], arguments: tuple[Any, ...]) -> None:
    global _installed
    _installed = (task, arguments)


def _run_installed(packed: Any, first: int) -> list[Any]:
    assert _installed is not None
    task, arguments = _installed
    return [_as_tuple(result) for result in task(*arguments, _unpacked_rows(packed), first)]


def _packed(chunk: list[Mapping[str, Any]]) -> Any:
    """Rows that share their columns as (columns, value tuples); other chunks as they are."""
    columns = tuple(chunk[0])
    if all(tuple(row) == columns for row in chunk):
        return (columns, [tuple(row.values()) for row in chunk])
    return chunk


def _unpacked_rows(packed: Any) -> list[Mapping[str, Any]]:
    if isinstance(packed, tuple):
        columns, values = packed
        return [dict(zip(columns, row)) for row in values]
    return packed


def _as_tuple(result: Any) -> Any:
    if isinstance(result, Counted):
        return (None, result.rendered, [_as_tuple(failure) for failure in result.failures])  # None: no key
    if isinstance(result, Rendered):
        return (result.key, result.output, result.error, result.error_location, result.render_seconds)
    if isinstance(result, tuple):  # render_pairs' (new, old)
        return tuple(_as_tuple(item) if item is not None else None for item in result)
    return result


def _unpacked_results(results: list[Any]) -> list[Any]:
    unpacked: list[Any] = []
    for result in results:
        if result and result[0] is None:  # a Counted (a Rendered tuple starts with its key)
            unpacked.append(Counted(result[1], [Rendered(*failure) for failure in result[2]]))
        elif result and isinstance(result[0], tuple):  # a pair
            unpacked.append(tuple(Rendered(*item) if item is not None else None for item in result))
        else:
            unpacked.append(Rendered(*result))
    return unpacked


def _numbered_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[tuple[int, list[Mapping[str, Any]]]]:
    number = 1
    for chunk in chunks(rows):
        yield number, chunk
        number += len(chunk)


def load_previous(path: Path) -> dict[str, Rendered]:
    """An earlier batch's JSON Lines output, by key (``ampc diff --against``)."""
    previous: dict[str, Rendered] = {}
    for row in _jsonl_rows(path):
        try:
            previous[str(row["key"])] = Rendered(
                str(row["key"]), row.get("output"), row.get("error"), row.get("error_location"),
                float(row.get("render_seconds") or 0.0),
            )
        except KeyError:
            raise BatchError(f"{path}: every line needs a \"key\" (an ampc batch --out FILE.jsonl)") from None
    return previous


def text_of(result: Rendered) -> str:
    """What a diff compares: the output, or the error as a line of its own (its line:col, not the file's name)."""
    if result.error is not None:
        where = (result.error_location or "?").rsplit(":", 2)
        at = ":".join(where[-2:]) if len(where) == 3 else where[0]
        return f"<error at line:column {at}: {result.error}>\n"
    return result.output or ""
