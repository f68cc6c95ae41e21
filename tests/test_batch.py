"""ampc batch and ampc diff: audiences in, one message per subscriber out, on one core or several."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ampc import batch, cli
from ampc.batch import BatchError, BatchSettings, CompiledScript

SCRIPT = """%%[
  set @tier = Lookup("Loyalty", "Tier", "SubscriberKey", _subscriberkey)
  if [FirstName] == "boom" then
    set @x = Lookup("NoSuchDE", "A", "B", "c")
  endif
  InsertData("Visits", "SubscriberKey", _subscriberkey)
]%%Hi %%=ProperCase([FirstName])=%% (%%=IIf(Empty(@tier), "new", @tier)=%%) %%=GUID()=%% %%=FormatDate(Now(), "yyyy-MM-dd")=%% visits=%%=DataExtensionRowCount("Visits")=%%"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "DataExtensions").mkdir()
    (tmp_path / "DataExtensions/Loyalty.csv").write_text("SubscriberKey,Tier\nsk-1,Gold\nsk-3,Silver\n")
    (tmp_path / "DataExtensions/Visits.csv").write_text("SubscriberKey\n")
    (tmp_path / "email.amp").write_text(SCRIPT)
    rows = ["SubscriberKey,EmailAddress,FirstName"] + [f"sk-{i},p{i}@example.com,name{i}" for i in range(1, 41)]
    rows[5] = "sk-5,p5@example.com,boom"
    (tmp_path / "audience.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def _batch(workspace: Path, *options: str) -> int:
    return cli.main(["batch", str(workspace / "email.amp"), "--audience", str(workspace / "audience.csv"), *options])


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_batch_renders_every_subscriber_records_failures_and_exits_1(workspace, capsys):
    out = workspace / "out.jsonl"
    assert _batch(workspace, "--out", str(out), "--now", "2026-12-01T09:00:00", "--jobs", "1") == 1
    results = _jsonl(out)
    assert [r["key"] for r in results] == [f"sk-{i}" for i in range(1, 41)]
    assert results[0]["output"].startswith("Hi Name1 (Gold) ") and results[0]["output"].endswith(" 2026-12-01 visits=1")
    assert results[2]["output"].startswith("Hi Name3 (Silver) ")
    failed = [r for r in results if r["error"]]
    assert [r["key"] for r in failed] == ["sk-5"]
    assert failed[0]["error"] == "data extension 'NoSuchDE' does not exist"
    assert failed[0]["error_location"].endswith("email.amp:4:5") and failed[0]["output"] is None
    summary = capsys.readouterr().err
    assert "40 rendered, 39 OK, 1 failed" in summary and "1 x data extension 'NoSuchDE' does not exist" in summary


def test_without_state_every_render_starts_from_the_seed_and_with_state_writes_accumulate(workspace):
    fresh = workspace / "fresh.jsonl"
    _batch(workspace, "--out", str(fresh), "--jobs", "1")
    assert {r["output"].rsplit("=", 1)[1] for r in _jsonl(fresh) if r["output"]} == {"1"}  # only its own visit
    shared = workspace / "shared.jsonl"
    state = workspace / "state.db"
    _batch(workspace, "--out", str(shared), "--jobs", "1", "--state", str(state))
    counts = [int(r["output"].rsplit("=", 1)[1]) for r in _jsonl(shared) if r["output"]]
    assert counts == sorted(counts) and counts[-1] == 39  # one per successful render, in order; sk-5 rolled back
    again = workspace / "again.jsonl"
    _batch(workspace, "--out", str(again), "--jobs", "1", "--state", str(state))
    assert int(_jsonl(again)[0]["output"].rsplit("=", 1)[1]) == 40  # the state file kept them


def test_two_runs_with_now_and_seed_are_identical_and_workers_do_not_change_the_outputs(workspace):
    runs = []
    for jobs in ("1", "2", "2"):
        out = workspace / f"run{len(runs)}.jsonl"
        _batch(workspace, "--out", str(out), "--jobs", jobs, "--now", "2026-12-01T09:00:00", "--seed", "s1")
        runs.append([(r["key"], r["output"], r["error"]) for r in _jsonl(out)])
    assert runs[0] == runs[1] == runs[2]
    other = workspace / "other.jsonl"
    _batch(workspace, "--out", str(other), "--jobs", "1", "--now", "2026-12-01T09:00:00", "--seed", "s2")
    assert [r["output"] for r in _jsonl(other)] != [output for _, output, _ in runs[0]]


def test_an_out_folder_gets_one_file_per_subscriber_named_by_a_sanitised_key(workspace):
    (workspace / "odd.csv").write_text("SubscriberKey,FirstName\n../evil,a\na/b,b\na_b,c\n")
    out = workspace / "messages"
    code = cli.main(["batch", str(workspace / "email.amp"), "--audience", str(workspace / "odd.csv"), "--out", str(out), "--jobs", "1"])
    assert code == 0
    names = sorted(path.name for path in out.iterdir())
    assert len(names) == 3 and all("/" not in name and not name.startswith(".") for name in names)
    assert "a_b.html" in names  # the key as it is; the others, changed by sanitising, carry ~ and a hash
    assert sum(1 for name in names if "~" in name) == 2
    assert all(path.resolve().parent == out.resolve() for path in out.iterdir())


def test_jsonl_and_parquet_audiences_and_outputs(workspace):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as parquet

    (workspace / "audience.jsonl").write_text(
        "\n".join(json.dumps({"SubscriberKey": f"sk-{i}", "FirstName": f"n{i}"}) for i in range(1, 4)) + "\n"
    )
    table = pyarrow.table({"SubscriberKey": ["sk-1", "sk-2"], "FirstName": ["a", "b"]})
    parquet.write_table(table, workspace / "audience.parquet")
    for audience, count in (("audience.jsonl", 3), ("audience.parquet", 2)):
        out = workspace / f"{audience}.out.parquet"
        code = cli.main(["batch", str(workspace / "email.amp"), "--audience", str(workspace / audience), "--out", str(out), "--jobs", "1"])
        assert code == 0
        written = parquet.read_table(out)
        assert written.column_names == list(batch.COLUMNS) and written.num_rows == count


def test_a_data_extension_as_the_audience(workspace, capsys):
    (workspace / "DataExtensions/Members.csv").write_text("SubscriberKey,FirstName\nsk-1,ana\nsk-3,bo\n")
    code = cli.main(["batch", str(workspace / "email.amp"), "--audience-de", "Members", "--out", "-", "--jobs", "1"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["key"] for line in lines] == ["sk-1", "sk-3"]
    assert lines[1]["output"].startswith("Hi Bo (Silver)")
    assert cli.main(["batch", str(workspace / "email.amp"), "--audience-de", "Nope", "--jobs", "1"]) == 1
    assert "--audience-de Nope: data extension 'Nope' does not exist" in capsys.readouterr().err


def test_max_errors_stops_early(workspace, capsys):
    rows = "SubscriberKey,FirstName\n" + "".join(f"sk-{i},boom\n" for i in range(50))
    (workspace / "bad.csv").write_text(rows)
    code = cli.main(["batch", str(workspace / "email.amp"), "--audience", str(workspace / "bad.csv"), "--max-errors", "3", "--jobs", "1"])
    assert code == 1
    assert "3 rendered, 0 OK, 3 failed" in capsys.readouterr().err


def test_the_key_column(workspace, capsys):
    (workspace / "nokey.csv").write_text("Name,FirstName\nx,a\n")
    code = cli.main(["batch", str(workspace / "email.amp"), "--audience", str(workspace / "nokey.csv"), "--jobs", "1"])
    assert code == 1 and "name the column that identifies each message with --key" in capsys.readouterr().err
    code = cli.main(["batch", str(workspace / "email.amp"), "--audience", str(workspace / "nokey.csv"), "--key", "name", "--out", "-", "--jobs", "1"])
    assert code == 0 and json.loads(capsys.readouterr().out)["key"] == "x"


def test_bad_audiences_are_clear_errors(workspace, capsys):
    (workspace / "ragged.csv").write_text("SubscriberKey,FirstName\nsk-1\n")
    for audience, message in (("missing.csv", "no such audience file"), ("ragged.csv", "line 2: 1 values for 2 columns"),
                              ("email.amp", "an audience is a .csv, .jsonl or .parquet file")):
        assert cli.main(["batch", str(workspace / "email.amp"), "--audience", str(workspace / audience), "--jobs", "1"]) == 1
        assert message in capsys.readouterr().err


def test_a_script_that_does_not_compile_is_reported_as_ampc_run_reports_it(workspace, capsys):
    (workspace / "broken.amp").write_text("%%[ set @a = ]%%")
    assert cli.main(["batch", str(workspace / "broken.amp"), "--audience", str(workspace / "audience.csv")]) == 1
    assert "broken.amp:1:" in capsys.readouterr().err


def test_the_compiled_script_loads_without_the_compiler_and_keeps_its_source_for_errors():
    script = CompiledScript.compile('%%=Lookup("Nope", "A", "B", 1)=%%', "x.amp")
    results = batch.render_rows(script, BatchSettings(), [{"SubscriberKey": "k"}])
    assert results[0].error_location == "x.amp:1:1"
    assert CompiledScript.compile("a", "x.amp").load() is CompiledScript.compile("a", "x.amp").load()


def test_reading_an_audience_streams(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("SubscriberKey\n" + "".join(f"k{i}\n" for i in range(10)))
    rows = batch.read_audience(path)
    assert next(rows) == {"SubscriberKey": "k0"}  # a generator: nothing read past what was asked for
    with pytest.raises(BatchError):
        next(batch.read_audience(tmp_path / "none.csv"))


# ---- ampc diff ----------------------------------------------------------------------------------


def _diff(workspace: Path, *arguments: str) -> int:
    return cli.main(["diff", *arguments, "--audience", str(workspace / "audience.csv"), "--now", "2026-12-01T09:00:00",
                     "--seed", "s", "--jobs", "1"])


def test_diff_groups_changes_by_kind_and_exits_1(workspace, capsys):
    (workspace / "new.amp").write_text(SCRIPT.replace("Hi %%", "Hello %%").replace('"new"', '"welcome"'))
    assert _diff(workspace, str(workspace / "email.amp"), str(workspace / "new.amp")) == 1
    report = capsys.readouterr().out
    # sk-5 fails alike in both; the tier read from the data extension tells Gold's and Silver's change apart
    assert report.startswith("39 of 40 messages changed, 3 kinds of change")
    assert "kind 1: 37 messages (sk-2, sk-4, sk-6, sk-7, sk-8, ...)" in report
    assert "kind 2: 1 message (sk-1)" in report and "kind 3: 1 message (sk-3)" in report
    assert report.count("--- ") == 3  # one sample diff per kind
    assert "-Hi Name1 (Gold)" in report and "+Hello Name1 (Gold)" in report


def test_diff_all_shows_every_changed_message(workspace, capsys):
    (workspace / "new.amp").write_text(SCRIPT.replace("Hi %%", "Hello %%"))
    assert _diff(workspace, str(workspace / "email.amp"), str(workspace / "new.amp"), "--all") == 1
    assert capsys.readouterr().out.count("--- ") == 39


def test_diff_of_an_unchanged_template_exits_0(workspace, capsys):
    assert _diff(workspace, str(workspace / "email.amp"), str(workspace / "email.amp")) == 0
    assert capsys.readouterr().out.startswith("0 of 40 messages changed")


def test_diff_against_an_earlier_batch(workspace, capsys):
    earlier = workspace / "earlier.jsonl"
    _batch(workspace, "--out", str(earlier), "--jobs", "1", "--now", "2026-12-01T09:00:00", "--seed", "s")
    capsys.readouterr()
    assert _diff(workspace, str(workspace / "email.amp"), "--against", str(earlier)) == 0
    (workspace / "email.amp").write_text(SCRIPT.replace("Hi %%", "Hey %%"))
    assert _diff(workspace, str(workspace / "email.amp"), "--against", str(earlier)) == 1
    assert "39 of 40 messages changed, 3 kinds of change" in capsys.readouterr().out


def test_diff_needs_two_scripts_or_an_earlier_batch(workspace, capsys):
    assert _diff(workspace, str(workspace / "email.amp")) == 1
    assert "give one of them" in capsys.readouterr().err


def test_without_out_only_the_failures_come_back_and_the_counts_are_the_same(workspace, capsys):
    for jobs in ("1", "2"):
        assert _batch(workspace, "--jobs", jobs) == 1
        summary = capsys.readouterr().err
        assert "40 rendered, 39 OK, 1 failed" in summary and "1 x data extension 'NoSuchDE' does not exist" in summary
    seen: list[str] = []
    counts: list[int] = []
    counted = batch.run(
        CompiledScript.compile(SCRIPT, "email.amp"), BatchSettings(workspace=str(workspace)),
        batch.read_audience(workspace / "audience.csv"), keep_output=False,
        on_result=lambda result: seen.append(result.key), on_count=counts.append,
    )
    assert counted.rendered == 40 and counted.failed == 1 and seen == ["sk-5"] and sum(counts) == 39


def test_on_a_terminal_a_progress_bar_shows_the_count_and_the_rate(workspace, monkeypatch):
    import io
    import re

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert _batch(workspace, "--jobs", "1", "--out", str(workspace / "out.jsonl")) == 1
    shown = terminal.getvalue()
    assert re.search(r"\d+/40\b", shown) and "━" in shown and "rendering" in shown  # rich's bar, count, ETA
    assert "40 rendered, 39 OK, 1 failed" in shown
