"""`ampc compile` and `ampc check` over many files: a progress bar on a terminal, and the summary line."""

from __future__ import annotations

import io
import re

import pytest

from ampc import cli


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as rich needs to draw its bar."""

    def isatty(self) -> bool:
        return True


def _scripts(folder, count):
    for number in range(count):
        (folder / f"s{number:02}.amp").write_text(f'%%=Uppercase("a{number}")=%%', encoding="utf-8")
    (folder / "broken.amp").write_text("%%[ set @a = ]%%", encoding="utf-8")


@pytest.mark.parametrize("command, summary", [
    ("compile", "compiled 12 of 13 files, 1 failed"),
    ("check", "checked 13 files: 1 error"),
])
def test_a_long_run_on_a_terminal_shows_a_progress_bar(tmp_path, monkeypatch, command, summary):
    _scripts(tmp_path, cli.PROGRESS_FROM + 2)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli.main([command, str(tmp_path)]) == 1
    shown = terminal.getvalue()
    assert re.search(r"\b\d+/13\b", shown) and "━" in shown  # rich's bar and its count column
    assert summary in shown
    assert "broken.amp:1:14: error: expected a value" in shown  # messages still appear


def test_a_run_not_on_a_terminal_has_no_bar(tmp_path, monkeypatch):
    _scripts(tmp_path, cli.PROGRESS_FROM + 2)
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    assert cli.main(["compile", str(tmp_path)]) == 1
    assert "13/13" not in plain.getvalue() and "\x1b[" not in plain.getvalue()
    assert "compiled 12 of 13 files, 1 failed" in plain.getvalue()


def test_a_short_run_has_no_bar(tmp_path, monkeypatch):
    _scripts(tmp_path, 2)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    cli.main(["compile", str(tmp_path)])
    assert "3/3" not in terminal.getvalue()
