"""AMPscript line coverage through coverage.py (issue 12): the plugin ampc.coverage_plugin.

The reports are produced the way users produce them: ``python -m coverage``
and ``pytest --cov`` in subprocesses, over a small workspace with its own
coverage configuration.  The plugin's pieces are also checked directly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest
from ampc.coverage_plugin import (
    AmpscriptPlugin,
    AmpscriptReporter,
    AmpscriptTracer,
    TracingCore,
)
from coverage.exceptions import ConfigError

# Line numbers on the right (not in the file).  Silver and Other are the branches not taken.
SCRIPT_LINES = [
    "<h1>Hello</h1>",                # 1  text: written
    "%%[",                           # 2
    'set @tier = "gold"',            # 3
    "set @count = 0",                # 4
    'if @tier == "silver" then',     # 5
    '  set @msg = "Silver"',         # 6  not run
    'elseif @tier == "gold" then',   # 7
    '  set @msg = "Gold"',           # 8
    "else",                          # 9
    '  set @msg = "Other"',          # 10 not run
    "endif",                         # 11
    "for @i = 1 to 3 do",            # 12
    "  set @count = Add(@count, 1)",  # 13
    "next @i",                       # 14
    "]%%",                           # 15
    "<p>%%=v(@msg)=%%</p>",          # 16
]
SCRIPT = "\n".join(SCRIPT_LINES) + "\n"
EXECUTED = [1, 3, 4, 5, 7, 8, 12, 13, 16]
MISSING = [6, 10]

UNUSED_SCRIPT = '%%[\nset @a = "never"\n]%%\n<p>%%=v(@a)=%%</p>\n'  # statements on lines 2 and 4
BROKEN_SCRIPT = "%%[ if @a == 1 then ]%%\n"  # no endif

RENDER_WELCOME = """
from pathlib import Path

import ampc

path = Path(__file__).parent / "templates" / "welcome.amp"
print(ampc.render(path.read_text(encoding="utf-8"), filename=str(path)))
"""

PYPROJECT = """
[tool.coverage.run]
plugins = ["ampc.coverage_plugin"]
source = ["templates"]
"""

COVERAGERC = """
[run]
plugins = ampc.coverage_plugin
include = *.amp
"""


# ---- helpers ---------------------------------------------------------------------------


def _environment() -> dict[str, str]:
    """This environment without coverage's and pytest-cov's variables, in case this run is itself measured."""
    return {
        name: value for name, value in os.environ.items()
        if not name.startswith(("COV_", "COVERAGE_", "PYTEST_ADDOPTS"))
    }


def _python(folder: Path, *arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """``python -m <arguments>`` in `folder`, with `environment` added; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=folder, env={**_environment(), **environment}, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, f"{arguments} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n") if name.endswith((".py", ".toml", "rc")) else text,
                        encoding="utf-8")
    return folder


def _json_report(folder: Path) -> dict[str, dict]:
    """coverage's JSON report, keyed by file paths relative to `folder` in POSIX form."""
    _python(folder, "coverage", "json", "-o", "coverage.json")
    files = json.loads((folder / "coverage.json").read_text(encoding="utf-8"))["files"]
    return {Path(name).as_posix(): data for name, data in files.items()}


def _lines(report: dict[str, dict], name: str) -> tuple[list[int], list[int]]:
    return report[name]["executed_lines"], report[name]["missing_lines"]


# ---- one measured run: coverage run, then its reports -----------------------------------------


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose render_welcome.py ran under ``coverage run`` (pyproject.toml: source=templates)."""
    folder = _write(tmp_path_factory.mktemp("measured"), {
        "pyproject.toml": PYPROJECT,
        "render_welcome.py": RENDER_WELCOME,
        "templates/welcome.amp": SCRIPT,
        "templates/emails/unused.amp": UNUSED_SCRIPT,
        "templates/broken.ampscript": BROKEN_SCRIPT,
    })
    run = _python(folder, "coverage", "run", "render_welcome.py")
    assert "<p>Gold</p>" in run.stdout
    return folder


def test_the_report_has_the_lines_run_and_the_branches_not_taken(measured: Path) -> None:
    report = _json_report(measured)
    assert _lines(report, "templates/welcome.amp") == (EXECUTED, MISSING)
    text = _python(measured, "coverage", "report", "-m").stdout
    row = next(line for line in text.splitlines() if "welcome.amp" in line)
    assert row.split()[1:] == ["11", "2", "82%", "6,", "10"]


def test_a_script_under_source_that_never_ran_is_at_zero(measured: Path) -> None:
    report = _json_report(measured)
    assert _lines(report, "templates/emails/unused.amp") == ([], [2, 4])
    assert report["templates/emails/unused.amp"]["summary"]["percent_covered"] == 0


def test_a_script_that_does_not_compile_is_reported_without_lines(measured: Path) -> None:
    report = _json_report(measured)  # _python asserts that the report succeeded
    assert report["templates/broken.ampscript"]["summary"]["num_statements"] == 0
    assert "broken.ampscript" in _python(measured, "coverage", "report").stdout


def test_the_html_report_has_a_page_for_the_script(measured: Path) -> None:
    _python(measured, "coverage", "html", "-d", "htmlcov")
    assert "welcome.amp" in (measured / "htmlcov" / "index.html").read_text(encoding="utf-8")
    [page] = (measured / "htmlcov").glob("*welcome_amp.html")
    html = page.read_text(encoding="utf-8")
    marked = {
        int(line): kind
        for kind, line in re.findall(r'<p class="(\w+)[^"]*"><span class="n"><a id="t(\d+)"', html)
    }
    assert len(marked) == len(SCRIPT_LINES)
    assert sorted(line for line, kind in marked.items() if kind == "run") == EXECUTED
    assert sorted(line for line, kind in marked.items() if kind == "mis") == MISSING
    assert 'elseif @tier == "gold" then' in unescape(html)  # the AMPscript source


# ---- other ways of running -------------------------------------------------------------------


def test_ampc_run_under_coverage_with_a_coveragerc(tmp_path: Path) -> None:
    _write(tmp_path, {".coveragerc": COVERAGERC, "templates/welcome.amp": SCRIPT})
    run = _python(tmp_path, "coverage", "run", "-m", "ampc", "run", "templates/welcome.amp")
    assert "<p>Gold</p>" in run.stdout
    report = _json_report(tmp_path)
    assert list(report) == ["templates/welcome.amp"]  # include = *.amp: the Python files are left out
    assert _lines(report, "templates/welcome.amp") == (EXECUTED, MISSING)


def test_pytest_cov_reports_the_script(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": PYPROJECT,
        "templates/welcome.amp": SCRIPT,
        "test_welcome.py": """
            from pathlib import Path

            import ampc


            def test_welcome():
                path = Path(__file__).parent / "templates" / "welcome.amp"
                assert "<p>Gold</p>" in ampc.render(path.read_text(encoding="utf-8"), filename=str(path))
        """,
    })
    done = _python(
        tmp_path, "pytest", "-q", "-p", "pytest_cov", "-p", "no:cacheprovider", "--cov", "--cov-report=term-missing",
        "--cov-report=json:coverage.json", "test_welcome.py",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # pytest-cov alone: the other plugins installed take seconds to load
    )
    row = next(line for line in done.stdout.splitlines() if "welcome.amp" in line)
    assert row.split()[-3:] == ["82%", "6,", "10"]
    files = json.loads((tmp_path / "coverage.json").read_text(encoding="utf-8"))["files"]
    [data] = [data for name, data in files.items() if name.endswith("welcome.amp")]
    assert (data["executed_lines"], data["missing_lines"]) == (EXECUTED, MISSING)


def test_branch_mode_still_reports_the_lines(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pyproject.toml": PYPROJECT, "render_welcome.py": RENDER_WELCOME, "templates/welcome.amp": SCRIPT,
    })
    _python(tmp_path, "coverage", "run", "--branch", "render_welcome.py")
    data = _json_report(tmp_path)["templates/welcome.amp"]
    assert (data["executed_lines"], data["missing_lines"]) == (EXECUTED, MISSING)
    assert data["summary"]["num_branches"] == 0  # AMPscript files report no arcs


def test_a_script_compiled_but_never_rendered_shows_nothing_run(tmp_path: Path) -> None:
    """The module header runs at line 1 when the script is compiled; line 1 here is text the render writes."""
    _write(tmp_path, {
        "pyproject.toml": PYPROJECT,
        "templates/welcome.amp": SCRIPT,
        "compile_welcome.py": """
            from pathlib import Path

            from ampc import compile_module

            path = Path(__file__).parent / "templates" / "welcome.amp"
            compile_module(path.read_text(encoding="utf-8"), str(path))
        """,
    })
    _python(tmp_path, "coverage", "run", "compile_welcome.py")
    assert _lines(_json_report(tmp_path), "templates/welcome.amp") == ([], sorted(EXECUTED + MISSING))


# ---- the plugin's pieces ---------------------------------------------------------------------


def _script(tmp_path: Path, source: str, name: str = "page.amp") -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(source.encode("utf-8"))
    return str(path)


def test_executable_lines_are_the_statements_lines(tmp_path: Path) -> None:
    assert AmpscriptReporter(_script(tmp_path, SCRIPT)).lines() == set(EXECUTED + MISSING)


def test_line_one_is_executable_only_when_it_holds_a_statement(tmp_path: Path) -> None:
    """The generated scaffolding (with Page.start, var = page.var, return) sits at line 1 too."""
    assert AmpscriptReporter(_script(tmp_path, '%%[\nset @a = 1\n]%%')).lines() == {2}
    assert AmpscriptReporter(_script(tmp_path, '%%[ set @a = 1\nset @b = 2 ]%%')).lines() == {1, 2}


def test_a_script_that_does_not_compile_has_no_executable_lines(tmp_path: Path) -> None:
    assert AmpscriptReporter(_script(tmp_path, BROKEN_SCRIPT)).lines() == set()
    assert AmpscriptReporter(_script(tmp_path, "%%[ set @a = Nonsense(1) ]%%")).lines() == set()


def test_the_html_source_lines_are_numbered_as_the_compiler_numbers_them(tmp_path: Path) -> None:
    """At \\n alone: no line break at a form feed; \\r\\n and a BOM read as ampc run reads them."""
    path = _script(tmp_path, "\ufeffa\r\nb\x0cc\n%%[ set @x = 1 ]%%\n")
    reporter = AmpscriptReporter(path)
    assert list(reporter.source_token_lines()) == [
        [("txt", "a")], [("txt", "b\x0cc")], [("txt", "%%[ set @x = 1 ]%%")],
    ]
    assert reporter.lines() == {1, 3}  # the text (lines 1-2, written at line 1) and the set


def test_the_tracer_claims_existing_ampscript_files_only(tmp_path: Path) -> None:
    plugin = AmpscriptPlugin()
    for name in ("page.amp", "page.ampscript", "PAGE.AMP"):
        tracer = plugin.file_tracer(_script(tmp_path, SCRIPT, name))
        assert tracer is not None and tracer.source_filename() == str(tmp_path / name)
    assert plugin.file_tracer(_script(tmp_path, "x = 1\n", "module.py")) is None
    assert plugin.file_tracer(str(tmp_path / "missing.amp")) is None
    assert plugin.file_tracer("<ampc:<ampscript>:0123456789ab>") is None


def test_executable_files_are_found_in_subfolders_but_not_hidden_ones(tmp_path: Path) -> None:
    for name in ("a.amp", "emails/b.ampscript", "emails/deep/c.AMP", ".git/d.amp", "emails/.e.amp", "f.html"):
        _script(tmp_path, SCRIPT, name)
    found = {
        Path(path).relative_to(tmp_path).as_posix()
        for path in AmpscriptPlugin().find_executable_files(str(tmp_path))
    }
    assert found == {"a.amp", "emails/b.ampscript", "emails/deep/c.AMP"}


def test_the_module_header_is_never_recorded() -> None:
    tracer = AmpscriptTracer("page.amp")
    def frame(line: int | None, function: str) -> SimpleNamespace:
        return SimpleNamespace(f_lineno=line, f_code=SimpleNamespace(co_name=function))

    assert tracer.line_number_range(frame(7, "render")) == (7, 7)
    assert tracer.line_number_range(frame(1, "<module>")) == (-1, -1)
    assert tracer.line_number_range(frame(None, "render")) == (-1, -1)  # no line: coverage needs integers


class _Config:
    def __init__(self, core: str | None) -> None:
        self.options = {"run:core": core}

    def get_option(self, name: str) -> str | None:
        if name not in self.options:
            raise ConfigError(f"No such option: {name!r}")
        return self.options[name]

    def set_option(self, name: str, value: str) -> None:
        self.options[name] = value


@pytest.mark.parametrize(("chosen", "used"), [(None, "ctrace"), ("sysmon", "sysmon"), ("pytrace", "pytrace")])
def test_the_c_tracer_is_chosen_unless_the_user_chose_a_core(chosen: str | None, used: str) -> None:
    config = _Config(chosen)
    TracingCore().configure(config)
    assert config.options["run:core"] == used


def test_a_coverage_without_the_core_setting_is_left_alone() -> None:
    """Coverage before 7.9 has no ``[run] core``: asking for it raises ConfigError."""
    config = _Config(None)
    del config.options["run:core"]
    TracingCore().configure(config)
    assert config.options == {}


def test_content_blocks_count_when_coverage_runs_outside_the_workspace(tmp_path: Path) -> None:
    # Content blocks' code names their file in full (ampscript.content.ContentStore.file_path),
    # so coverage finds them whatever folder it runs in.
    workspace = _write(tmp_path / "ws", {
        "email.amp": 'Hi %%=ContentBlockByName("Footer")=%%\n',
        "Content/Footer.amp": '%%[\nset @a = "x"\n]%%<p>%%=v(@a)=%%</p>\n',
    })
    _write(tmp_path, {".coveragerc": COVERAGERC})
    _python(tmp_path, "coverage", "run", "-m", "ampc", "run", str(workspace / "email.amp"))
    files = _json_report(tmp_path)
    assert files["ws/Content/Footer.amp"]["executed_lines"] == [2, 3]
    assert files["ws/email.amp"]["executed_lines"] == [1]
