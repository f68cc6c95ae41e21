"""The seeded database kept between contexts and runs (issue 11), and the quick CSV seeding path.

No timings here: what is shown is that a kept copy is used (seeding is not
called), when it is not, and that a copy changes nothing a render can see.
benchmarks/bench_seed.py measures the speed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import ampc
import pytest
from ampscript import Context, ScriptError, Workspace, content
from ampscript.backends import seeding
from ampscript.backends.simulator import Simulator
from ampscript.data_extensions import (
    DataExtensionSpec,
    DataExtensionStore,
    FieldSpec,
    _CsvRows,
)

MEMBERS_CSV = "MemberKey,Points,Joined,Active\nm1,10,2026-01-05,true\nm2,20,2026-02-01,false\n"
MEMBERS_SCHEMA = {
    "fields": [
        {"name": "MemberKey", "type": "Text", "primaryKey": True},
        {"name": "Points", "type": "Number"},
        {"name": "Joined", "type": "Date"},
        {"name": "Active", "type": "Boolean"},
    ]
}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Each test: nothing kept in the process, its own cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("AMPC_CACHE_DIR", str(folder))
    seeding.forget()
    yield folder
    seeding.forget()


@pytest.fixture
def workspace(tmp_path) -> Path:
    root = tmp_path / "workspace"
    (root / "DataExtensions").mkdir(parents=True)
    (root / "DataExtensions" / "Members.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    (root / "DataExtensions" / "Members.schema.json").write_text(json.dumps(MEMBERS_SCHEMA))
    return root


@pytest.fixture
def seeds(monkeypatch) -> list[Path]:
    """The workspaces seeded from their files (not copied), in order."""
    calls: list[Path] = []
    real = Simulator._seed

    def counting(self, workspace):
        calls.append(workspace.root)
        return real(self, workspace)

    monkeypatch.setattr(Simulator, "_seed", counting)
    return calls


def _start(workspace: Path | Workspace, **options) -> Simulator:
    """A context's simulator, created (seeded, or copied) as a render's first data call would."""
    return Context(workspace=workspace, **options).backend


def _members(context: Context) -> list[tuple]:
    return [
        (r["MemberKey"], r["Points"])
        for r in context.backend.data_extensions.rows("Members", order_by="MemberKey")
    ]


def _kept(cache: Path) -> list[Path]:
    return sorted(cache.glob("seed-*.db"))


# ---- in the process -----------------------------------------------------------------------


def test_a_second_context_starts_from_the_kept_copy(workspace, seeds):
    assert _members(Context(workspace=workspace)) == [("m1", 10), ("m2", 20)]
    assert _members(Context(workspace=workspace)) == [("m1", 10), ("m2", 20)]
    assert seeds == [Workspace(workspace).root]  # the second one was a copy


def test_contexts_never_see_each_others_writes(workspace, seeds):
    first = Context(workspace=workspace)
    first.backend.data_extensions.insert("Members", {"MemberKey": "m3", "Points": 30})
    first.backend.data_extensions.delete("Members", [("MemberKey", "m1")])
    second = Context(workspace=workspace)
    assert _members(second) == [("m1", 10), ("m2", 20)]
    second.backend.data_extensions.update("Members", [("MemberKey", "m2")], {"Points": 99})
    assert _members(first) == [("m2", 20), ("m3", 30)]  # its own writes, and not the second's
    assert _members(Context(workspace=workspace)) == [("m1", 10), ("m2", 20)]
    assert len(seeds) == 1


def test_renders_write_into_their_own_contexts_copy(workspace):
    script = (
        '%%[ InsertDE("Members", "MemberKey", "m9", "Points", 9) ]%%%%=DataExtensionRowCount("Members")=%%'
    )
    context = Context(workspace=workspace)
    assert ampc.render(script, context=context) == "3"
    with pytest.raises(ScriptError):  # the same key again, in the same context: it kept the row
        ampc.render(script, context=context)
    assert ampc.render(script, context=Context(workspace=workspace)) == "3"


def test_a_copy_keeps_the_definitions_and_indexes(workspace):
    _start(workspace)  # seeds
    store = Context(workspace=workspace).backend.data_extensions  # a copy
    assert store.names() == ["Members"]
    assert store.spec("members").primary_key[0].name == "MemberKey"
    assert store.rows("Members", [("MemberKey", "M1")])[0]["Active"] is True  # text matched folded
    indexes = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'Members'"
    assert store.db.execute(indexes).fetchone()[0] == 5  # one per field, and the primary key's
    with pytest.raises(ScriptError, match="primary key"):
        store.insert("Members", {"MemberKey": "M2"})  # the unique index came along


def test_a_changed_file_is_seeded_again_and_a_touched_one_is_not(workspace, seeds, cache):
    _start(workspace)
    csv_file = workspace / "DataExtensions" / "Members.csv"
    os.utime(csv_file, (1, 1))  # touched, same bytes
    seeding.forget()  # as a new process would
    _start(workspace)
    assert len(seeds) == 1
    csv_file.write_text(MEMBERS_CSV.replace("m2,20", "m2,21"), encoding="utf-8")  # same size, new content
    assert _members(Context(workspace=workspace)) == [("m1", 10), ("m2", 21)]
    assert len(seeds) == 2
    assert len(_kept(cache)) == 2  # one file per content


def test_objects_and_the_subscriber_are_part_of_the_seed(workspace, seeds):
    (workspace / "subscriber.json").write_text('{"SubscriberKey": "sk", "EmailAddress": "a@example.com"}')
    first = Context(workspace=workspace).backend
    assert [row["SubscriberKey"] for _, row in first.objects("Subscriber")] == ["sk"]
    (workspace / "subscriber.json").write_text('{"SubscriberKey": "sk2", "EmailAddress": "b@example.com"}')
    second = Context(workspace=workspace).backend
    assert [row["SubscriberKey"] for _, row in second.objects("Subscriber")] == ["sk2"]
    assert len(seeds) == 2


def test_a_seed_that_fails_is_not_kept_and_fails_again(workspace, seeds, cache):
    (workspace / "DataExtensions" / "Members.csv").write_text("MemberKey,Points\nm1,x\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ScriptError, match=r"Members.csv:2: invalid value 'x'"):
            _start(workspace)
    assert len(seeds) == 2
    assert _kept(cache) == []


def test_dates_read_relative_to_the_clock_are_not_kept(workspace, seeds, cache):
    (workspace / "DataExtensions" / "Members.csv").write_text(
        "MemberKey,Points,Joined,Active\nm1,1,10:30,true\n", encoding="utf-8"
    )
    _start(workspace)
    _start(workspace)
    assert len(seeds) == 2  # "10:30" is today at 10:30: seeded tomorrow it is another date
    assert _kept(cache) == []


def test_a_state_file_is_seeded_into_the_file_and_persists(workspace, tmp_path, seeds):
    state = tmp_path / "state.db"
    _start(workspace)  # an in-memory seed kept for the workspace
    first = Context(workspace=workspace, state=state)
    first.backend.data_extensions.insert("Members", {"MemberKey": "m3", "Points": 30})
    assert len(seeds) == 2  # the state file was seeded itself, not given the kept copy
    assert [key for key, _ in _members(Context(workspace=workspace, state=state))] == ["m1", "m2", "m3"]
    assert [key for key, _ in _members(Context(workspace=workspace))] == ["m1", "m2"]
    assert len(seeds) == 2


# ---- on disk ------------------------------------------------------------------------------


def test_a_new_process_loads_the_disk_copy(workspace, seeds, cache, monkeypatch):
    _start(workspace)
    (kept,) = _kept(cache)
    seeding.forget()  # a new process: nothing in memory
    monkeypatch.setattr(
        Simulator, "_seed", lambda self, workspace: pytest.fail("seeded despite the disk copy")
    )
    assert _members(Context(workspace=workspace)) == [("m1", 10), ("m2", 20)]
    assert _kept(cache) == [kept]


def test_a_second_ampc_run_does_not_seed(workspace, cache):
    page = workspace / "page.amp"
    page.write_text('%%=Lookup("Members", "Points", "MemberKey", "M2")=%%', encoding="utf-8")
    environment = {**os.environ, "AMPC_CACHE_DIR": str(cache)}
    first = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(page)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert (first.returncode, first.stdout) == (0, "20"), first.stderr
    assert len(_kept(cache)) == 1
    # The same run in a new process where seeding from the files would fail.
    no_seeding = textwrap.dedent(f"""
        import sys
        from ampscript.backends.simulator import Simulator
        def refuse(self, workspace):
            raise SystemExit("seeded from the files")
        Simulator._seed = refuse
        from ampc.cli import main
        sys.exit(main(["run", {str(page)!r}]))
        """)
    second = subprocess.run(
        [sys.executable, "-c", no_seeding], capture_output=True, text=True, env=environment, check=False
    )
    assert (second.returncode, second.stdout) == (0, "20"), second.stderr


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b""),
        lambda path: path.write_bytes(b"not a cache file at all"),
        lambda path: path.write_bytes(path.read_bytes()[:-100]),  # truncated
        lambda path: path.write_bytes(path.read_bytes()[:-1] + b"\x00"),  # one byte changed
        lambda path: (path.unlink(), path.mkdir()),  # cannot be read (nor replaced)
    ],
    ids=["empty", "garbage", "truncated", "altered", "a-folder"],
)
def test_a_corrupt_or_unreadable_disk_copy_is_ignored(workspace, seeds, cache, damage):
    _start(workspace)
    (kept,) = _kept(cache)
    damage(kept)
    seeding.forget()
    assert _members(Context(workspace=workspace)) == [("m1", 10), ("m2", 20)]  # seeded again, no error
    assert len(seeds) == 2
    if kept.is_file():  # replaced by a good copy: the next process loads it
        seeding.forget()
        _start(workspace)
        assert len(seeds) == 2
    assert not list(cache.glob(".seed-*"))  # no temporary file left behind


def test_the_cache_folder_is_never_inside_the_workspace(workspace, seeds, monkeypatch):
    monkeypatch.setenv("AMPC_CACHE_DIR", str(workspace / "cache"))
    _start(workspace)
    seeding.forget()
    _start(workspace)
    assert len(seeds) == 2
    assert sorted(p.name for p in workspace.iterdir()) == ["DataExtensions"]


def test_the_default_cache_folder_is_the_user_cache_folder(workspace, tmp_path, monkeypatch):
    monkeypatch.delenv("AMPC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform not in ("win32", "darwin"):
        assert seeding.cache_folder() == (tmp_path / "xdg" / "ampc").resolve()
        _start(workspace)
        assert len(_kept(tmp_path / "xdg" / "ampc")) == 1
    monkeypatch.setenv("XDG_CACHE_HOME", str(workspace / "xdg"))  # inside the workspace: not used
    assert seeding.cache_folder(Workspace(workspace)) is None


@pytest.mark.parametrize("switch", ["off", "OFF"])
def test_ampc_cache_dir_off_turns_the_disk_copy_off(workspace, tmp_path, seeds, monkeypatch, switch):
    monkeypatch.setenv("AMPC_CACHE_DIR", switch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert seeding.cache_folder() is None
    _start(workspace)
    seeding.forget()
    _start(workspace)
    assert len(seeds) == 2
    assert not (tmp_path / "xdg").exists()
    assert not (tmp_path / "off").exists() and not Path(switch).exists()


def test_a_workspace_without_data_extensions_writes_no_disk_copy(tmp_path, cache):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "subscriber.json").write_text(
        '{"SubscriberKey": "sk", "EmailAddress": "a@example.com"}'
    )
    _start(tmp_path / "plain")
    assert _kept(cache) == []


def test_racing_writers_leave_one_whole_file(workspace, cache):
    """Two processes seeding at once each write their copy; the last rename wins, and it is whole."""
    key, _ = seeding._key(Workspace(workspace))
    seeding._to_disk(Workspace(workspace), key, b"first image")
    seeding._to_disk(Workspace(workspace), key, b"second image")
    assert seeding._from_disk(Workspace(workspace), key) == b"second image"
    assert seeding._from_disk(Workspace(workspace), "0" * 64) is None  # another key's file is not this one
    assert len(_kept(cache)) == 1 and not list(cache.glob(".seed-*"))


def test_the_folder_keeps_the_most_recently_used_files(workspace, cache, monkeypatch):
    monkeypatch.setattr(seeding, "DISK_ENTRIES", 2)
    for number in range(4):
        seeding._to_disk(Workspace(workspace), f"{number:064d}", b"image")
        os.utime(seeding._file(cache, f"{number:064d}"), (number, number))
    seeding._to_disk(Workspace(workspace), "9" * 64, b"image")
    assert [p.name for p in _kept(cache)] == [f"seed-{3:064d}.db", f"seed-{'9' * 64}.db"]


# ---- seeding a CSV: column by column, as row by row ----------------------------------------

# fmt: off
VALUES = {
    "Text": ["a", "A", "x" * 50, "x" * 51, " sp ", "Straße"],
    "Number": ["1", "-0", "007", "+5", " 5 ", "1.0", "1.5", "2147483647", "2147483648", "-2147483649", "1e3",
               "abc", "١٢", "999999999", "1000000000", "1_000"],
    "Decimal": ["1.005", "-0", "-0.00", "1234567890123.5", "12345678901234.5", "1.1", "1e2", ".5", "5.", "0.125",
                "abc", "99999999999999999999999999999", "1.23456789012345678", "-5", "+1.5"],
    "EmailAddress": ["a@b.co", "bad", "A@B.CO", "x@y", "a" * 300 + "@b.co", "a b@c.de", "a@b.c\n"],
    "Date": ["2026-01-05", "1/5/2026", "2026-13-01", "2026-01-05 10:30", "August 5, 2024", "notadate",
             "2024-02-29T12:00:00Z"],
    "Boolean": ["true", "FALSE", "1", "0", "yes", " True "],
}
# fmt: on
GOOD = {
    "Text": "a",
    "Number": "1",
    "Decimal": "1.5",
    "EmailAddress": "a@b.c",
    "Date": "2026-01-05",
    "Boolean": "true",
}
FIELD_OPTIONS = [{}, {"scale": 2}, {"scale": 0}, {"length": 5}, {"nullable": False}]


def _both_ways(spec: DataExtensionSpec, header: list[str], rows: list[list[str]]):
    """The records (or the error) of the column by column and of the row by row way."""
    store = DataExtensionStore(sqlite3.connect(":memory:", isolation_level=None))
    results = []
    for way in ("columns", "rows"):
        seeded = _CsvRows(store, spec, header, rows, "T.csv")
        try:
            if way == "columns":
                positions = seeded._positions()
                assert positions is not None
                records = seeded._by_columns(positions)
                assert records is not None
            else:
                records = seeded._by_rows()
            results.append(("ok", records))
        except Exception as error:
            results.append(("error", type(error).__name__, str(error)))
    return results


@pytest.mark.parametrize("kind", list(VALUES))
@pytest.mark.parametrize("options", FIELD_OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_column_by_column_converts_as_row_by_row(kind, options):
    spec = DataExtensionSpec("T", [FieldSpec("K", primary_key=True), FieldSpec("V", kind, **options)])
    values = VALUES[kind] + [""]
    for value in values:  # each value alone, after a good row: its stored value, or its error, the same
        columns, rows = _both_ways(spec, ["K", "V"], [["k0", GOOD[kind]], ["k1", value]])
        assert columns == rows, value
    columns, rows = _both_ways(spec, ["K", "V"], [[f"k{n}", value] for n, value in enumerate(values)])
    assert columns == rows  # all together: the first bad row reported, as row by row


def test_a_field_without_a_column_takes_its_default_either_way():
    spec = DataExtensionSpec(
        "T",
        [
            FieldSpec("K"),
            FieldSpec("Active", "Boolean", default="true"),
            FieldSpec("Must", "Number", nullable=False, default="7"),
        ],
    )
    columns, rows = _both_ways(spec, ["K"], [["a"], ["b"]])
    assert columns == rows == ("ok", [("a", 1, 7), ("b", 1, 7)])


def test_irregular_files_go_row_by_row_with_the_same_errors(tmp_path):
    folder = tmp_path / "DataExtensions"
    folder.mkdir()
    (folder / "Short.csv").write_text("K,V\n1,2\n3\n", encoding="utf-8")  # a short row: V takes its default
    (folder / "Short.schema.json").write_text(
        json.dumps({"fields": [{"name": "K"}, {"name": "V", "default": "d"}]})
    )
    store = DataExtensionStore(sqlite3.connect(":memory:", isolation_level=None))
    store.seed_from_folder(Workspace(tmp_path))
    assert [(r["K"], r["V"]) for r in store.rows("Short")] == [("1", "2"), ("3", "d")]
    (folder / "Unknown.csv").write_text("K,Nope\n1,2\n", encoding="utf-8")
    (folder / "Unknown.schema.json").write_text(json.dumps({"fields": [{"name": "K"}]}))
    with pytest.raises(ScriptError, match=r"Unknown.csv:2: data extension 'Unknown' has no field 'Nope'"):
        store.seed_from_folder(Workspace(tmp_path))


def test_a_duplicate_primary_key_in_a_csv_is_reported_and_nothing_is_defined(tmp_path):
    folder = tmp_path / "DataExtensions"
    folder.mkdir()
    (folder / "N.csv").write_text("K,V\na,1\nb,2\nA,3\n", encoding="utf-8")  # 'a' and 'A' clash
    (folder / "N.schema.json").write_text(
        json.dumps({"fields": [{"name": "K", "primaryKey": True}, {"name": "V"}]})
    )
    store = DataExtensionStore(sqlite3.connect(":memory:", isolation_level=None))
    with pytest.raises(
        ScriptError,
        match=r"N.csv: violation of the primary key of data extension 'N': a row with the same K exists",
    ):
        store.seed_from_folder(Workspace(tmp_path))
    assert not store.exists("N")
    assert store.db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'N'").fetchall() == []


# ---- the Content/ index ---------------------------------------------------------------------


def test_the_content_index_is_built_once_per_folder_and_rebuilt_after_a_change(tmp_path):
    (tmp_path / "Content").mkdir()
    (tmp_path / "Content" / "Footer.amp").write_text("footer", encoding="utf-8")
    store = content.store_for(Workspace(tmp_path))
    assert content.store_for(Workspace(tmp_path)) is store  # another context, the same index
    (tmp_path / "Content" / "Footer.amp").write_text("edited", encoding="utf-8")
    assert content.store_for(Workspace(tmp_path)) is store  # a block's text is not part of the index
    (tmp_path / "Content" / "Header.amp").write_text("header", encoding="utf-8")
    rebuilt = content.store_for(Workspace(tmp_path))
    assert rebuilt is not store and rebuilt.block_by_key("Header") is not None
    (tmp_path / "Content" / "index.json").write_text('{"blocks": [{"file": "Header.amp", "key": "top"}]}')
    assert content.store_for(Workspace(tmp_path)).block_by_key("top") is not None
    (tmp_path / "Content" / "index.json").write_text('{"blocks": [{"file": "Header.amp", "key": "TOP2"}]}')
    assert content.store_for(Workspace(tmp_path)).block_by_key("top2") is not None  # index.json by its text


def test_one_workspace_object_sees_new_content_as_ampc_serve_does(tmp_path):
    (tmp_path / "Content").mkdir()
    workspace = Workspace(tmp_path)
    script = '%%=ContentBlockByKey("Late", "", false)=%%'
    assert ampc.render(script, context=Context(workspace=workspace)) == ""
    (tmp_path / "Content" / "Late.amp").write_text("here now", encoding="utf-8")
    assert ampc.render(script, context=Context(workspace=workspace)) == "here now"


def test_the_content_folder_is_checked_once_per_render(tmp_path, monkeypatch):
    (tmp_path / "Content").mkdir()
    (tmp_path / "Content" / "A.amp").write_text("a", encoding="utf-8")
    checks = []
    real = content._index_inputs
    monkeypatch.setattr(content, "_index_inputs", lambda workspace: checks.append(1) or real(workspace))
    script = '%%=ContentBlockByKey("A")=%%%%=ContentBlockByKey("A")=%%%%=ContentBlockByName("A")=%%'
    assert ampc.render(script, context=Context(workspace=tmp_path)) == "aaa"
    assert len(checks) == 1
    assert ampc.render(script, context=Context(workspace=tmp_path)) == "aaa"
    assert len(checks) == 2
