"""The samples in samples/ print their expected output, seeds included.

`<GUID>` in an expected file stands for a fresh request ID.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import ampc

SAMPLES = Path(__file__).parents[1] / "samples"
# Content blocks (Content/ folders) are included by the samples, not run on their own.
SCRIPTS = sorted(path for path in SAMPLES.rglob("*.amp") if "Content" not in path.relative_to(SAMPLES).parts)
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def expected_pattern(script: Path) -> re.Pattern[str]:
    expected = script.with_suffix(".expected").read_bytes().decode("utf-8")  # byte-exact: CRLF stays CRLF
    return re.compile(re.escape(expected).replace(re.escape("<GUID>"), GUID))


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(s.relative_to(SAMPLES)) for s in SCRIPTS])
def test_sample_renders_expected_output(script):
    output = ampc.render(script.read_text(encoding="utf-8"), workspace=script.parent, filename=script.name)
    assert expected_pattern(script).fullmatch(output), output


def test_every_sample_has_an_expected_output():
    assert SCRIPTS
    assert all(script.with_suffix(".expected").is_file() for script in SCRIPTS)


def test_invoke_perform_seed_prints_the_documented_output():
    # ../shared/seeds/000_*.txt (InvokePerform), "Output" section, as a browser shows it:
    # the <br> tags and newlines both break or space the text.
    documented = (
        "rrStatus: OK rrRequestID: <GUID> queryDefinitions: 1 performStatusCode: OK "
        "performStatusMessage: QueryDefinition perform called successfully"
    )
    script = SAMPLES / "invoke-perform" / "invoke_perform.amp"
    output = ampc.render(script.read_text(), workspace=script.parent, filename=script.name)
    shown = " ".join(re.sub(r"<br\s*/?>", " ", output).split())
    assert re.fullmatch(re.escape(documented).replace(re.escape("<GUID>"), GUID), shown), shown


def test_request_ids_are_fresh_guids():
    script = SAMPLES / "invoke-execute" / "log_unsub_event.amp"
    outputs = {
        ampc.render(script.read_text(), workspace=script.parent, filename=script.name) for _ in range(2)
    }
    assert len(outputs) == 2


def test_ampc_run_command_prints_the_sample(tmp_path):
    script = SAMPLES / "welcome-email" / "welcome.amp"
    result = subprocess.run(
        [sys.executable, "-m", "ampc", "run", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == script.with_suffix(".expected").read_bytes().decode("utf-8")
