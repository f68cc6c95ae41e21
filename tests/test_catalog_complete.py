"""`ampc functions` lists every function of the shared catalog but the three it deliberately leaves out.

The catalog (``../shared/reference/ampscript-functions.json``) is a
checklist: RatingStars is refused at compile time (it works only inside
Einstein Email Recommendations, `ampc.calls`), and GetValue/SetValue are
server-side JavaScript's Platform.Variable functions, not AMPscript's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ampc import cli

CATALOG = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ampscript-functions.json"
LEFT_OUT = {"ratingstars", "getvalue", "setvalue"}


@pytest.mark.skipif(not CATALOG.exists(), reason=f"the shared reference catalog is absent ({CATALOG})")
def test_ampc_functions_lists_the_whole_catalog(capsys):
    catalog = {entry["name"].lower(): entry["name"] for entry in json.loads(CATALOG.read_text())["functions"]}
    assert cli.main(["functions"]) == 0
    listed = {line.split()[0].lower() for line in capsys.readouterr().out.splitlines() if line.strip()}
    missing = sorted(name for key, name in catalog.items() if key not in listed and key not in LEFT_OUT)
    assert missing == [], f"catalog functions ampc functions does not list: {missing}"
    assert not (LEFT_OUT & listed)
