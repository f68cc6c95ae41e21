"""``ampc batch --engine dask``: render an audience on a Dask cluster, a partition per task.

    ampc batch email.amp --audience s3://bucket/Subscribers.csv --engine dask \\
        --scheduler tcp://10.0.0.5:8786 --out s3://bucket/results/

`render_dask` maps `ampc.batch.render_rows` over the partitions of a Dask
dataframe whose rows are subscribers: each partition (a pandas dataframe)
becomes a pandas dataframe of the result columns (`ampc.batch.COLUMNS`:
key, output, error, error_location, render_seconds), in the same order.
The script is compiled once, by the caller; workers get its code
(`CompiledScript`, a dataclass of texts and bytes) and never compile, so
they need the runtime only.  `run_cli` is the command: it reads the
audience (`dask.dataframe.read_csv` or `read_parquet`, a local path or any
fsspec URL), connects to ``--scheduler`` or starts a local cluster of
``--jobs`` worker processes, and writes one Parquet file per partition,
``part.NNNNN.parquet``, into the ``--out`` folder (local or an fsspec URL).

What differs from the local engine:

* **Row numbers** in the messages of a batch that cannot go on (a row
  without a key) count from the start of the row's partition, which the
  message names: the engine does not read the audience twice to learn
  where each partition starts.
* **The workspace** (and ``--state``) must be at the same path on every
  worker: on a local cluster it is; on a remote one, a shared folder.  The
  seeded database is made before the workers start (`prepare_workspace`);
  each worker process loads it from the cache folder.
* **CSV audiences** are split by bytes (dask's ``blocksize``), so a quoted
  value holding a line break can be split in two: give such an audience as
  Parquet.  Every CSV value is read as text (empty values as ""), as the
  local engine reads them.
* **--max-errors** stops at the first partition whose results reach it:
  partitions already running finish (their files are kept), the others are
  cancelled.
* JSON Lines, an ``--out`` file, stdout and ``--audience-de`` are the local
  engine's only.

Dask is imported here only: ``ampc`` and ``ampc --help`` never import it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .batch import (
    COLUMNS,
    BatchError,
    BatchSettings,
    CompiledScript,
    Rendered,
    Summary,
    prepare_workspace,
    render_rows,
)

PART_NAME = "part.{:05d}.parquet"
PARTITIONS_PER_WORKER = (
    8  # enough that a slow worker or a noisy core does not leave the others idle at the end
)
MIN_BLOCKSIZE = 256 * 1024  # a few thousand subscribers: a task's scheduling costs a millisecond or two
MAX_BLOCKSIZE = 64 * 1024 * 1024

_INSTALL = "the Dask engine needs pandas, pyarrow, dask[dataframe] and distributed: pip install 'ampc[batch]'"


# ---- rendering ----------------------------------------------------------------------------------


def render_dask(
    dataframe: Any, script: CompiledScript, settings: BatchSettings, *, client: Any = None
) -> Any:
    """The results of every row of `dataframe`, a Dask dataframe of subscribers: a lazy Dask dataframe of COLUMNS.

    With `client`, the script is sent to every worker once (scattered)
    rather than with each task.
    """
    shipped: Any = script
    if client is not None:
        shipped = client.scatter([script], broadcast=True, hash=False)[0]
    return dataframe.map_partitions(
        _render_partition,
        shipped,
        settings,
        meta=_result_meta(),
        partition_info=True,
        enforce_metadata=False,
        align_dataframes=False,
    )


def _result_meta() -> Any:
    import pandas as pd

    columns = {name: pd.Series([], dtype=object) for name in COLUMNS}
    columns["render_seconds"] = pd.Series([], dtype="float64")
    return pd.DataFrame(columns)


def _render_partition(
    partition: Any, script: CompiledScript, settings: BatchSettings, partition_info: Any = None
) -> Any:
    """One partition's results (on a worker): `render_rows` over its rows, as plain Python dicts."""
    import pandas as pd

    number = partition_info["number"] if partition_info else None
    try:
        results = render_rows(script, settings, _records(partition), 1)
    except BatchError as error:
        where = f"partition {number}" if number is not None else "a partition"
        raise BatchError(f"{where} (rows counted from its start): {error}") from None
    return _frame(pd, results, partition.index)


def _frame(pd: Any, results: list[Rendered], index: Any = None) -> Any:
    frame = pd.DataFrame(
        {
            "key": pd.Series([r.key for r in results], dtype=object),
            "output": pd.Series([r.output for r in results], dtype=object),
            "error": pd.Series([r.error for r in results], dtype=object),
            "error_location": pd.Series([r.error_location for r in results], dtype=object),
            "render_seconds": pd.Series([r.render_seconds for r in results], dtype="float64"),
        }
    )
    if index is not None and len(index) == len(frame):
        frame.index = index
    return frame


def _records(partition: Any) -> list[dict[str, Any]]:
    """The partition's rows as dicts of plain Python values: None for NaN, NA and NaT; numpy and pandas scalars unwrapped."""
    names = [str(name) for name in partition.columns]
    columns = [_plain_column(partition.iloc[:, position]) for position in range(len(names))]
    if not names:
        return [{} for _ in range(len(partition))]
    return [dict(zip(names, values)) for values in zip(*columns)]


def _plain_column(series: Any) -> list[Any]:
    missing = series.isna().to_numpy()
    values = series.tolist()  # numpy numbers become Python's; objects stay as they are
    if getattr(series.dtype, "kind", "O") in "biuf" and not missing.any():
        return values  # already plain: numbers without gaps
    return [None if gap else _plain(value) for value, gap in zip(values, missing)]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)  # numpy's float64 is a float too
    import pandas as pd

    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    item = getattr(value, "item", None)  # a numpy scalar
    if callable(item) and type(value).__module__ == "numpy":
        return item()
    return value


# ---- the command ----------------------------------------------------------------------------------


def run_cli(arguments: Any, script: CompiledScript, settings: BatchSettings) -> int:
    """``ampc batch --engine dask``: the summary on stderr; 1 when a render failed (`BatchError` when it cannot run)."""
    if getattr(arguments, "audience_de", None) is not None:
        raise BatchError(
            "--audience-de is not supported with --engine dask: export the data extension to CSV or Parquet "
            "and give it with --audience, or use the local engine"
        )
    out = _out_url(getattr(arguments, "out", None))
    audience = url_of(arguments.audience)
    try:
        import dask  # noqa: F401
        import distributed
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise BatchError(_INSTALL) from None
    settings = dataclasses.replace(
        settings,
        workspace=str(Path(settings.workspace).resolve()),  # the workers' folder may not be ours
        state=None if settings.state is None else str(Path(settings.state).resolve()),
    )
    prepare_workspace(settings)
    max_errors = getattr(arguments, "max_errors", None)
    started = time.perf_counter()
    with _cluster(
        distributed, getattr(arguments, "scheduler", None), getattr(arguments, "jobs", 1)
    ) as client:
        ready = time.perf_counter()
        workers = max(1, sum(client.nthreads().values()))
        dataframe = read_audience(audience, workers=workers)
        results = render_dask(dataframe, script, settings, client=client)
        summary = _write(client, results, out, max_errors)
        summary.seconds = time.perf_counter() - ready
    for line in summary.lines():
        print(line, file=sys.stderr)
    where = arguments.scheduler or "a local cluster"
    print(
        f"on {where}: {workers} worker thread(s), {dataframe.npartitions} partition(s), "
        f"cluster ready in {ready - started:.1f} s; Parquet partitions in {out}",
        file=sys.stderr,
    )
    return 1 if summary.failed else 0


class _cluster:
    """A client of the scheduler at `address`, else of a local cluster of `jobs` worker processes (closed after)."""

    def __init__(self, distributed: Any, address: str | None, jobs: int) -> None:
        self.distributed, self.address, self.jobs = distributed, address, max(1, int(jobs or 1))
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> Any:
        try:
            if self.address:
                self.client = self.distributed.Client(self.address, timeout="30s")
            else:
                self.cluster = self.distributed.LocalCluster(
                    n_workers=self.jobs,
                    processes=True,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,  # a failed task is reported once, as ampc: error
                )
                self.client = self.distributed.Client(self.cluster)
        except OSError as error:
            self.__exit__(None, None, None)
            raise BatchError(f"--scheduler {self.address}: cannot connect: {error}") from None
        return self.client

    def __exit__(self, *exc: Any) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def url_of(path: Any) -> str:
    """A path or URL as given: argparse's `Path` makes ``s3://b/k`` into ``s3:/b/k``, which this undoes."""
    text = str(path)
    found = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", text)
    if found and not isinstance(path, str):
        protocol = found.group(1)
        rest = text[len(protocol) + 2 :]
        return f"{protocol}:///{rest}" if protocol == "file" else f"{protocol}://{rest}"
    return text


def _out_url(out: Any) -> str:
    if out is None or str(out) == "-":
        raise BatchError(
            "--engine dask writes a folder of Parquet partitions: give --out FOLDER (a local folder, or an "
            "fsspec URL such as s3://bucket/results)"
        )
    url = url_of(out)
    if url.lower().endswith(".jsonl"):
        raise BatchError(
            f"--out {url}: JSON Lines is not supported with --engine dask, which writes Parquet partitions: "
            "give --out FOLDER, or use the local engine"
        )
    return url


# ---- audiences ------------------------------------------------------------------------------------


def read_audience(url: str, *, workers: int = 1) -> Any:
    """The audience at `url` (a .csv, a .parquet file or folder, a glob of them; local or fsspec) as a Dask dataframe.

    A CSV is split into about PARTITIONS_PER_WORKER partitions per worker
    (each value read as text, as the local engine does); Parquet keeps its
    files' partitions, split further when they are fewer than that.
    """
    import dask.dataframe as dd

    name = url.lower().rstrip("/")
    wanted = max(1, workers) * PARTITIONS_PER_WORKER
    try:
        if name.endswith(".jsonl"):
            raise BatchError(
                f"{url}: a JSON Lines audience is not supported with --engine dask: give it as CSV or Parquet, "
                "or use the local engine"
            )
        if name.endswith((".csv", ".csv.gz")):
            compressed = name.endswith(".gz")
            size = _size(url)
            blocksize = (
                None
                if compressed
                else (min(MAX_BLOCKSIZE, max(MIN_BLOCKSIZE, size // wanted + 1)) if size else MAX_BLOCKSIZE)
            )
            frame = dd.read_csv(
                url,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
                blocksize=blocksize,
                compression="infer",
            )
            stripped = {column: str(column).strip() for column in frame.columns}
            if any(old != new for old, new in stripped.items()):
                frame = frame.rename(columns=stripped)
            return frame
        if name.endswith(".parquet") or _is_folder(url):
            frame = dd.read_parquet(
                url, dtype_backend="pyarrow"
            )  # ints with gaps stay ints, as pyarrow reads them
            if frame.npartitions < wanted:
                frame = frame.repartition(npartitions=wanted)
            return frame
    except FileNotFoundError:
        raise BatchError(f"{url}: no such audience file") from None
    raise BatchError(
        f"{url}: with --engine dask, an audience is a .csv or .parquet file (or a folder of .parquet files)"
    )


def _size(url: str) -> int:
    """The audience's bytes (every file of a glob), 0 when unknown."""
    try:
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(url)
        paths = filesystem.glob(path) if any(c in path for c in "*?[") else [path]
        if not paths:
            raise FileNotFoundError(url)
        return sum(filesystem.size(p) or 0 for p in paths)
    except FileNotFoundError:
        raise
    except Exception:  # noqa: BLE001 (a filesystem that cannot tell: dask's default blocks)
        return 0


def _is_folder(url: str) -> bool:
    try:
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(url)
        return bool(filesystem.isdir(path))
    except Exception:  # noqa: BLE001
        return False


# ---- outputs ---------------------------------------------------------------------------------------


def _write(client: Any, results: Any, out: str, max_errors: int | None) -> Summary:
    """Write each partition's results to ``out/part.NNNNN.parquet`` on its worker; the summary of their counts."""
    import fsspec
    import pandas as pd
    from distributed import as_completed

    filesystem, folder = fsspec.core.url_to_fs(out)
    if filesystem.exists(folder) and not filesystem.isdir(folder):
        raise BatchError(f"--out {out}: a file; --engine dask writes a folder of Parquet partitions")
    filesystem.makedirs(folder, exist_ok=True)
    for stale in filesystem.glob(
        folder.rstrip("/") + "/part.*.parquet"
    ):  # a previous batch's, maybe more of them
        filesystem.rm(stale)
    meta = pd.DataFrame({"error": pd.Series([], dtype=object), "count": pd.Series([], dtype="int64")})
    counts = results.map_partitions(
        _write_partition, out, meta=meta, partition_info=True, enforce_metadata=False
    )
    futures = client.compute(counts.to_delayed())
    summary = Summary()
    try:
        for future in as_completed(futures):
            _add_counts(summary, future.result())
            if max_errors is not None and summary.failed >= max_errors:
                summary.stopped_early = True
                break
    finally:
        client.cancel(futures)
    return summary


def _add_counts(summary: Summary, counts: Any) -> None:
    for error, count in zip(counts["error"].tolist(), counts["count"].tolist()):
        if error is None:
            summary.rendered += int(count)
        else:
            summary.failed += int(count)
            summary.errors[error] += int(count)


def _write_partition(results: Any, out: str, partition_info: Any = None) -> Any:
    """On a worker: one partition's results as a Parquet file; returns its counts (None: rows, else an error's)."""
    import fsspec
    import pandas as pd
    import pyarrow
    import pyarrow.parquet as parquet

    from .batch import result_schema

    number = partition_info["number"] if partition_info else 0
    schema = result_schema(pyarrow)
    table = pyarrow.Table.from_pandas(results, schema=schema, preserve_index=False)
    path = out.rstrip("/") + "/" + PART_NAME.format(number)
    with fsspec.open(path, "wb") as handle:
        parquet.write_table(table, handle)
    errors = Counter(error for error in results["error"].tolist() if error is not None)
    rows = [(None, len(results))] + list(errors.items())
    return pd.DataFrame(
        {
            "error": pd.Series([row[0] for row in rows], dtype=object),
            "count": pd.Series([row[1] for row in rows], dtype="int64"),
        }
    )
