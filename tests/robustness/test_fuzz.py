"""The fuzzer (`python -m ampc.fuzz`): a short run finds nothing, and its findings reproduce.

Developers run it for longer than CI allows:
``python -m ampc.fuzz --seconds 3600 --corpus tests/corpus --workspace tests/corpus``.
"""

from __future__ import annotations

from pathlib import Path

from ampc import fuzz

CORPUS = Path(__file__).parent.parent / "corpus"


def test_a_short_run_over_the_corpus_finds_nothing(tmp_path, capsys):
    found = fuzz.run(
        seconds=15,
        seed=20261201,
        case_seconds=30,
        seeds=fuzz._seed_files(CORPUS),
        save=tmp_path,
        workspace=str(CORPUS),
    )
    findings = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    assert found == 0, findings
    assert "0 findings" in capsys.readouterr().out


def test_cases_are_the_same_for_the_same_seed():
    seeds = fuzz._seed_files(None)
    assert [fuzz._case(i, 5, seeds)[1] for i in (0, 1)] == [fuzz._case(i, 5, seeds)[1] for i in (0, 1)]
    assert fuzz._case(0, 5, seeds) != fuzz._case(0, 6, seeds)


def test_replay_runs_one_case_in_process(capsys):
    assert fuzz.main(["--seed", "3", "--replay", "1"]) == 0
    assert "no problem" in capsys.readouterr().out


def test_check_source_reports_internal_errors_and_accepts_ampscript_errors(monkeypatch):
    assert fuzz.check_source("%%=Add('a', 1)=%%") is None  # an AMPscript error is fine
    assert fuzz.check_source("%%=Concatt(1)=%%") is None  # so is a compile error

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr("ampc.codegen.generate_tree", broken)
    assert fuzz.check_source("x").startswith("internal error while compiling")


def test_check_source_reports_emitters_that_disagree(monkeypatch):
    real = __import__("ampc.codegen").codegen.generate_tree

    def different_text(template):
        template.body[0].value = "changed"
        return real(template)

    monkeypatch.setattr("ampc.codegen.generate_tree", different_text)
    assert fuzz.check_source("same").startswith("the two emitters disagree")


def test_a_finding_is_written_with_how_to_reproduce_it(tmp_path):
    assert fuzz._report(tmp_path, 9, 4, fuzz._seed_files(None), "internal error while rendering:\nTrace") == 1
    [written] = tmp_path.iterdir()
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# ampc.fuzz finding: python -m ampc.fuzz --seed 9 --replay 4")


def test_check_formatting_reports_a_layout_that_is_not_blacks(monkeypatch):
    from ampc.compiler import checked_template

    template = checked_template('%%[ set @a = Concat("x", @b) ]%%%%=v(@a)=%%', "fuzz.amp", None, None)
    assert fuzz.check_formatting(template) is None
    monkeypatch.setattr("ampc.formatting._is_black_line", lambda line, body: True)
    monkeypatch.setattr("ampc.emitters.readable.black_string", lambda text: repr(text))
    assert fuzz.check_formatting(template).startswith("ampc.formatting differs from black's")
