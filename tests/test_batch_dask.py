"""ampc batch --engine dask: the same messages as the local engine, rendered on a real (local) Dask cluster."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

dd = pytest.importorskip("dask.dataframe")  # the batch extra: CI installs it with .[test]
distributed = pytest.importorskip("distributed")
pyarrow = pytest.importorskip("pyarrow")
parquet = pytest.importorskip("pyarrow.parquet")

from ampc import batch, batch_dask, cli  # noqa: E402
from ampc.batch import BatchSettings, CompiledScript  # noqa: E402

SCRIPT = """%%[
  set @tier = Lookup("Loyalty", "Tier", "SubscriberKey", _subscriberkey)
  if [FirstName] == "boom" then
    set @x = Lookup("NoSuchDE", "A", "B", "c")
  endif
]%%Hi %%=ProperCase([FirstName])=%% (%%=IIf(Empty(@tier), "new", @tier)=%%) city=%%=v([City])=%% \
points=%%=v([Points])=%% %%=GUID()=%% %%=FormatDate(Now(), "yyyy-MM-dd")=%%
"""
ROWS = 300
NOW = dt.datetime(2026, 12, 1, 9, 0)


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield local, client


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dask-batch")
    (root / "DataExtensions").mkdir()
    loyalty = ["SubscriberKey,Tier"] + [f"sk-{i},{('Gold', 'Silver')[i % 2]}" for i in range(1, ROWS, 7)]
    (root / "DataExtensions/Loyalty.csv").write_text("\n".join(loyalty) + "\n")
    (root / "email.amp").write_text(SCRIPT)
    lines = ["SubscriberKey,EmailAddress,FirstName,City,Points"]
    for i in range(1, ROWS + 1):
        city = "" if i % 5 == 0 else f"City {i % 13}"  # empty values stay "" as the local engine reads them
        lines.append(f"sk-{i},p{i}@example.com,{'boom' if i == 123 else f'name{i}'},{city},{i * 10}")
    (root / "audience.csv").write_text("\n".join(lines) + "\n")
    table = pyarrow.table(
        {
            "SubscriberKey": [f"sk-{i}" for i in range(1, ROWS + 1)],
            "FirstName": [None if i % 9 == 0 else f"name{i}" for i in range(1, ROWS + 1)],
            "City": [f"City {i}" for i in range(1, ROWS + 1)],
            "Points": pyarrow.array([None if i % 4 == 0 else i for i in range(1, ROWS + 1)], pyarrow.int64()),
        }
    )
    parquet.write_table(table, root / "audience.parquet", row_group_size=50)
    return root


def _script(workspace: Path) -> CompiledScript:
    return CompiledScript.compile(SCRIPT, str(workspace / "email.amp"))


def _settings(workspace: Path) -> BatchSettings:
    return BatchSettings(workspace=str(workspace), now=NOW, seed="s1")


def _local(workspace: Path, audience: str) -> list[tuple]:
    results: list = []
    batch.run(
        _script(workspace),
        _settings(workspace),
        batch.read_audience(workspace / audience),
        jobs=1,
        on_result=results.append,
    )
    return sorted((r.key, r.output, r.error, r.error_location) for r in results)


def _compared(records) -> list[tuple]:
    return sorted((r["key"], r["output"], r["error"], r["error_location"]) for r in records)


def test_render_dask_gives_the_local_engines_messages_row_for_row(cluster, workspace):
    _, client = cluster
    audience = dd.read_csv(
        workspace / "audience.csv", dtype=str, keep_default_na=False, na_filter=False, blocksize=3_000
    )
    assert audience.npartitions > 2
    results = batch_dask.render_dask(audience, _script(workspace), _settings(workspace), client=client)
    assert list(results.columns) == list(batch.COLUMNS)
    frame = results.compute()
    assert len(frame) == ROWS and list(frame["key"][:3]) == [
        "sk-1",
        "sk-2",
        "sk-3",
    ]  # partitions keep their order
    found = _compared(frame.to_dict("records"))
    assert found == _local(workspace, "audience.csv")
    failed = [row for row in found if row[2] is not None]
    assert [row[0] for row in failed] == ["sk-123"]
    assert failed[0][2] == "data extension 'NoSuchDE' does not exist" and failed[0][3].endswith(
        "email.amp:4:5"
    )
    assert (frame["render_seconds"] > 0).all()
    by_key = {row[0]: row[1] for row in found}
    assert by_key["sk-1"].startswith("Hi Name1 (Silver) city=City 1 points=10 ")
    assert by_key["sk-5"].startswith("Hi Name5 (new) city= points=50 ")
    # The workers rendered from the shipped code: none imported the compiler or its libraries.
    compiler = "sorted(m for m in __import__('sys').modules if m == 'ampc.compiler' or m.split('.')[0] in ('lark', 'libcst', 'black'))"
    assert client.run(eval, compiler) == {address: [] for address in client.scheduler_info()["workers"]}


def test_parquet_audiences_keep_their_types_and_gaps_as_the_local_engine_reads_them(cluster, workspace):
    _, client = cluster
    audience = batch_dask.read_audience(str(workspace / "audience.parquet"), workers=2)
    assert audience.npartitions > 1
    frame = batch_dask.render_dask(
        audience, _script(workspace), _settings(workspace)
    ).compute()  # script in each task
    found = _compared(frame.to_dict("records"))
    assert found == _local(workspace, "audience.parquet")
    by_key = {row[0]: row[1] for row in found}
    assert "points=3 " in by_key["sk-3"] and "points= " in by_key["sk-4"]  # an int, not 3.0; a gap, not nan


def _cli(workspace: Path, *options: str) -> int:
    return cli.main(
        ["batch", str(workspace / "email.amp"), "--now", NOW.isoformat(), "--seed", "s1", *options]
    )


def test_ampc_batch_engine_dask_writes_parquet_partitions_equal_to_the_local_batch(
    cluster, workspace, tmp_path, capsys, monkeypatch
):
    local, _ = cluster
    monkeypatch.setattr(batch_dask, "MIN_BLOCKSIZE", 2_000)  # several partitions of the small audience
    out = tmp_path / "results"
    out.mkdir()
    (out / "part.00099.parquet").write_text("a previous batch's")  # removed: not this batch's
    audience = str(workspace / "audience.csv")
    code = _cli(
        workspace,
        "--audience",
        audience,
        "--engine",
        "dask",
        "--scheduler",
        local.scheduler_address,
        "--out",
        str(out),
    )
    summary = capsys.readouterr().err
    assert code == 1, summary
    assert f"{ROWS} rendered, {ROWS - 1} OK, 1 failed" in summary
    assert "1 x data extension 'NoSuchDE' does not exist" in summary
    parts = sorted(path.name for path in out.iterdir())
    assert (
        len(parts) > 1
        and all(name.startswith("part.") for name in parts)
        and "part.00099.parquet" not in parts
    )
    table = parquet.read_table(out)
    assert table.schema.names == list(batch.COLUMNS)
    jsonl = tmp_path / "local.jsonl"
    assert _cli(workspace, "--audience", audience, "--jobs", "1", "--out", str(jsonl)) == 1
    expected = _compared(json.loads(line) for line in jsonl.read_text().splitlines())
    assert _compared(table.to_pylist()) == expected


@pytest.mark.parametrize(
    "options, message",
    [
        (["--audience-de", "Loyalty", "--out", "OUT"], "--audience-de is not supported with --engine dask"),
        (
            ["--audience", "AUDIENCE", "--out", "OUT/results.jsonl"],
            "JSON Lines is not supported with --engine dask",
        ),
        (["--audience", "AUDIENCE"], "give --out FOLDER"),
        (["--audience", "AUDIENCE", "--out", "-"], "give --out FOLDER"),
    ],
)
def test_what_the_dask_engine_does_not_do_is_a_clear_error(workspace, tmp_path, capsys, options, message):
    options = [
        o.replace("AUDIENCE", str(workspace / "audience.csv")).replace("OUT", str(tmp_path)) for o in options
    ]
    assert _cli(workspace, *options, "--engine", "dask") == 1
    assert message in capsys.readouterr().err


def test_a_jsonl_audience_is_a_clear_error():
    with pytest.raises(batch.BatchError, match="JSON Lines audience is not supported with --engine dask"):
        batch_dask.read_audience("subscribers.jsonl")


def test_urls_survive_argparse_paths():
    assert batch_dask.url_of(Path("s3://bucket/a/b.csv")) == "s3://bucket/a/b.csv"
    assert batch_dask.url_of(Path("file:///tmp/a.csv")) == "file:///tmp/a.csv"
    assert batch_dask.url_of(Path("/tmp/a.csv")) == "/tmp/a.csv"
    assert batch_dask.url_of("gcs://b/k") == "gcs://b/k"


def test_max_errors_stops_the_dask_batch_and_a_row_without_a_key_names_its_partition(
    cluster, workspace, tmp_path, capsys, monkeypatch
):
    local, _ = cluster
    monkeypatch.setattr(batch_dask, "MIN_BLOCKSIZE", 2_000)
    dask_options = [
        "--engine",
        "dask",
        "--scheduler",
        local.scheduler_address,
        "--out",
        str(tmp_path / "out"),
    ]
    assert (
        _cli(workspace, "--audience", str(workspace / "audience.csv"), "--max-errors", "1", *dask_options)
        == 1
    )
    assert "(stopped at --max-errors)" in capsys.readouterr().err
    keyless = tmp_path / "keyless.csv"
    lines = (workspace / "audience.csv").read_text().splitlines()
    lines[200] = ",,nameless,City,1"  # no SubscriberKey, no EmailAddress: the batch cannot go on
    keyless.write_text("\n".join(lines) + "\n")
    assert _cli(workspace, "--audience", str(keyless), *dask_options) == 1
    message = capsys.readouterr().err
    assert "ampc: error: partition " in message and "(rows counted from its start): row " in message
    assert "has no SubscriberKey, _subscriberkey, EmailAddress or emailaddr" in message
